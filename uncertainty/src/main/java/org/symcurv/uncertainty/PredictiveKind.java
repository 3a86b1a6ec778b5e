package org.symcurv.uncertainty;

import java.util.Locale;

/** The predictives a posterior can be evaluated with (the MAP is the one without a posterior). */
public enum PredictiveKind {
    /** {@code softmax(z_L(x; θ*))}, no posterior. */
    MAP("map", null),
    /** Linearised network, probit approximation ({@link GlmLink#PROBIT}). */
    GLM_PROBIT("glm-probit", GlmLink.PROBIT),
    /** Linearised network, pairwise probit with the full logit covariance ({@link GlmLink#PAIRWISE_PROBIT}). */
    GLM_PAIRWISE_PROBIT("glm-pairwise", GlmLink.PAIRWISE_PROBIT),
    /** Linearised network, Monte Carlo over the logits ({@link GlmLink#MONTE_CARLO}). */
    GLM_MONTE_CARLO("glm-mc", GlmLink.MONTE_CARLO),
    /** Monte Carlo over sampled networks ({@link LaplacePredictive#sampledNetworks}). */
    SAMPLED_NETWORKS("nn-mc", null);

    private final String cliName;
    private final GlmLink link;

    PredictiveKind(String cliName, GlmLink link) {
        this.cliName = cliName;
        this.link = link;
    }

    public String cliName() {
        return cliName;
    }

    /** The GLM link, or {@code null} for {@link #MAP} and {@link #SAMPLED_NETWORKS}. */
    public GlmLink link() {
        return link;
    }

    /** By command-line name: {@code map}, {@code glm-probit}, {@code glm-pairwise}, {@code glm-mc}, {@code nn-mc}. */
    public static PredictiveKind parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (PredictiveKind k : values()) {
            if (k.cliName.equals(n)) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown predictive '" + name + "'; choose map, glm-probit, glm-pairwise, glm-mc or nn-mc");
    }
}
