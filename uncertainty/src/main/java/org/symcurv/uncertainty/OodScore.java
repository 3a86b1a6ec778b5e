package org.symcurv.uncertainty;

/**
 * A score that should be higher for out-of-distribution inputs: from the predicted class probabilities {@code p}
 * ({@link #ENTROPY}, {@link #MAX_PROBABILITY}), or from the posterior's linearised logits {@code f(x) ~ N(μ(x), V(x))}
 * ({@link #VARIANCE}).
 */
public enum OodScore {
    /** Predictive entropy {@code H(p) = −Σ_k p_k log p_k}. */
    ENTROPY("entropy"),
    /** One minus the confidence, {@code 1 − max_k p_k}. */
    MAX_PROBABILITY("max-prob"),
    /**
     * The total variance of the linearised logits, {@code tr V(x) = Σ_c [J(x) Σ J(x)ᵀ]_cc}: how far the posterior lets
     * the outputs move at {@code x}. It needs a posterior's GLM predictive; a predictive without a logit covariance
     * (the MAP, sampled networks) is scored by {@link #ENTROPY} instead.
     */
    VARIANCE("variance");

    private final String cliName;

    OodScore(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** By command-line name: {@code entropy}, {@code max-prob} or {@code variance}. */
    public static OodScore parse(String name) {
        for (OodScore s : values()) {
            if (s.cliName.equalsIgnoreCase(name.trim())) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown OOD score '" + name + "'; choose entropy, max-prob or variance");
    }

    /** The score actually used for a predictive with ({@code true}) or without a logit covariance. */
    public OodScore effective(boolean hasLogitCovariance) {
        return this == VARIANCE && !hasLogitCovariance ? ENTROPY : this;
    }

    /**
     * The score of one distribution {@code p}.
     *
     * @throws IllegalStateException for {@link #VARIANCE}, which is not a function of {@code p}
     */
    public double score(double[] p) {
        switch (this) {
            case ENTROPY -> {
                double h = 0;
                for (double x : p) {
                    if (x > 0) {
                        h -= x * Math.log(x);
                    }
                }
                return h;
            }
            case MAX_PROBABILITY -> {
                double max = 0;
                for (double x : p) {
                    max = Math.max(max, x);
                }
                return 1 - max;
            }
            default -> throw new IllegalStateException("the variance score needs the logit covariance, not probabilities");
        }
    }

    /** Scores of many distributions {@code [n][C]} (not for {@link #VARIANCE}). */
    public double[] scores(double[][] probabilities) {
        double[] out = new double[probabilities.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = score(probabilities[i]);
        }
        return out;
    }

    /**
     * Scores of many examples: from {@code probabilities} {@code [n][C]}, or for {@link #VARIANCE} from the logit
     * covariances of {@code linearized} (entropy of {@code probabilities} when {@code linearized} is {@code null}).
     */
    public double[] scores(double[][] probabilities, LinearizedOutputs linearized) {
        OodScore used = effective(linearized != null);
        if (used != VARIANCE) {
            return used.scores(probabilities);
        }
        double[][] v = linearized.variances();
        double[] out = new double[v.length];
        for (int i = 0; i < out.length; i++) {
            double total = 0;
            for (double x : v[i]) {
                total += x;
            }
            out[i] = total;
        }
        return out;
    }
}
