package org.symcurv.uncertainty;

import java.util.Random;

/**
 * How the linearised (GLM) predictive {@code p(y | x) = E_{f ~ N(μ, V)}[softmax(f)]} is evaluated from the mean
 * {@code μ = z_L(x; θ*)} and covariance {@code V = J Σ Jᵀ} of the logits (Laplace Redux, Daxberger et al. 2021, section 3).
 */
public enum GlmLink {
    /**
     * The probit approximation, per logit: {@code p ≈ softmax(κ ⊙ μ)}, {@code κ_c = (1 + π V_cc / 8)^{-1/2}} (MacKay 1992;
     * its multi-class form is the "extended probit" of Gibbs 1997 that laplace-torch calls {@code probit}). Uses only
     * the variances.
     */
    PROBIT("probit"),
    /**
     * The pairwise probit (mean-field, Lu, Ie and Sha 2020), which uses the whole covariance: with
     * {@code v_ck = V_cc + V_kk − 2 V_ck} the variance of {@code f_c − f_k},
     * {@code p_c ∝ 1 / (1 + Σ_{k≠c} exp(−(μ_c − μ_k) (1 + π v_ck / 8)^{-1/2}))}, normalised. Invariant to a random shift
     * common to all logits (which leaves the softmax unchanged); equal to {@code softmax(μ)} when {@code V = 0}.
     */
    PAIRWISE_PROBIT("pairwise-probit"),
    /** Linearised Monte Carlo: the average of {@code softmax(μ + L ε_s)} over seeded draws {@code ε_s ~ N(0, I)}, {@code L Lᵀ = V}. */
    MONTE_CARLO("mc");

    private final String cliName;

    GlmLink(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** By command-line name ({@code probit}, also {@code extended-probit}; {@code pairwise-probit}; {@code mc}). */
    public static GlmLink parse(String name) {
        String n = name.trim().toLowerCase(java.util.Locale.ROOT);
        if (n.equals("extended-probit")) {
            return PROBIT;
        }
        for (GlmLink l : values()) {
            if (l.cliName.equals(n)) {
                return l;
            }
        }
        throw new IllegalArgumentException("unknown GLM link '" + name + "'; choose probit (extended-probit), pairwise-probit or mc");
    }

    /**
     * Class probabilities of one example.
     *
     * @param mu      {@code μ}, length {@code C}; not modified
     * @param v       {@code V}, {@code C × C} symmetric positive semi-definite; not modified
     * @param samples Monte Carlo draws ({@link #MONTE_CARLO} only)
     * @param random  the draws' source ({@link #MONTE_CARLO} only); advanced
     * @return probabilities summing to 1
     */
    public double[] probabilities(double[] mu, double[][] v, int samples, Random random) {
        int c = mu.length;
        double[] p = new double[c];
        switch (this) {
            case PROBIT -> {
                double[] z = new double[c];
                for (int k = 0; k < c; k++) {
                    z[k] = mu[k] / Math.sqrt(1 + Math.PI * Math.max(v[k][k], 0) / 8);
                }
                return softmax(z);
            }
            case PAIRWISE_PROBIT -> {
                double total = 0;
                for (int a = 0; a < c; a++) {
                    double s = 1;
                    for (int k = 0; k < c; k++) {
                        if (k != a) {
                            double var = Math.max(v[a][a] + v[k][k] - 2 * v[a][k], 0);
                            s += Math.exp(-(mu[a] - mu[k]) / Math.sqrt(1 + Math.PI * var / 8));
                        }
                    }
                    p[a] = 1 / s;
                    total += p[a];
                }
                for (int a = 0; a < c; a++) {
                    p[a] /= total;
                }
                return p;
            }
            case MONTE_CARLO -> {
                if (samples < 1) {
                    throw new IllegalArgumentException("Monte Carlo needs at least one sample, got " + samples);
                }
                double[][] l = choleskyOfPsd(v);
                double[] e = new double[c];
                double[] f = new double[c];
                for (int s = 0; s < samples; s++) {
                    for (int k = 0; k < c; k++) {
                        e[k] = random.nextGaussian();
                    }
                    for (int i = 0; i < c; i++) {
                        double acc = mu[i];
                        for (int k = 0; k <= i; k++) {
                            acc += l[i][k] * e[k];
                        }
                        f[i] = acc;
                    }
                    double[] q = softmax(f);
                    for (int k = 0; k < c; k++) {
                        p[k] += q[k];
                    }
                }
                for (int k = 0; k < c; k++) {
                    p[k] /= samples;
                }
                return p;
            }
            default -> throw new AssertionError(this);
        }
    }

    /** {@code softmax(z)}, computed stably. */
    public static double[] softmax(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double x : z) {
            max = Math.max(max, x);
        }
        double[] p = new double[z.length];
        double s = 0;
        for (int k = 0; k < z.length; k++) {
            p[k] = Math.exp(z[k] - max);
            s += p[k];
        }
        for (int k = 0; k < z.length; k++) {
            p[k] /= s;
        }
        return p;
    }

    /**
     * A lower-triangular {@code L} with {@code L Lᵀ = V} for a positive semi-definite {@code V}: a pivot that round-off
     * made ≤ 0 (a direction of zero variance) gives a zero column.
     */
    static double[][] choleskyOfPsd(double[][] v) {
        int c = v.length;
        double[][] l = new double[c][c];
        double scale = 0;
        for (int i = 0; i < c; i++) {
            scale = Math.max(scale, Math.abs(v[i][i]));
        }
        double floor = 1e-12 * scale;
        for (int j = 0; j < c; j++) {
            double d = v[j][j];
            for (int k = 0; k < j; k++) {
                d -= l[j][k] * l[j][k];
            }
            if (d <= floor) {
                continue;
            }
            double root = Math.sqrt(d);
            l[j][j] = root;
            for (int i = j + 1; i < c; i++) {
                double s = v[i][j];
                for (int k = 0; k < j; k++) {
                    s -= l[i][k] * l[j][k];
                }
                l[i][j] = s / root;
            }
        }
        return l;
    }
}
