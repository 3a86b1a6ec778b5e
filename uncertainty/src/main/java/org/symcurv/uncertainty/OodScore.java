package org.symcurv.uncertainty;

/**
 * A score that should be higher for out-of-distribution inputs, from predicted class probabilities {@code p}.
 */
public enum OodScore {
    /** Predictive entropy {@code H(p) = −Σ_k p_k log p_k}. */
    ENTROPY("entropy"),
    /** One minus the confidence, {@code 1 − max_k p_k}. */
    MAX_PROBABILITY("max-prob");

    private final String cliName;

    OodScore(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** By command-line name: {@code entropy} or {@code max-prob}. */
    public static OodScore parse(String name) {
        for (OodScore s : values()) {
            if (s.cliName.equalsIgnoreCase(name.trim())) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown OOD score '" + name + "'; choose entropy or max-prob");
    }

    /** The score of one distribution {@code p}. */
    public double score(double[] p) {
        if (this == ENTROPY) {
            double h = 0;
            for (double x : p) {
                if (x > 0) {
                    h -= x * Math.log(x);
                }
            }
            return h;
        }
        double max = 0;
        for (double x : p) {
            max = Math.max(max, x);
        }
        return 1 - max;
    }

    /** Scores of many distributions {@code [n][C]}. */
    public double[] scores(double[][] probabilities) {
        double[] out = new double[probabilities.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = score(probabilities[i]);
        }
        return out;
    }
}
