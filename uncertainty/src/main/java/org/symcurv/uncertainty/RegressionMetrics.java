package org.symcurv.uncertainty;

/**
 * How well a Gaussian predictive {@code N(μ_i, diag(v_i))} fits real targets {@code y_i ∈ ℝ^t} on {@code n} examples:
 * <ul>
 *   <li>root mean squared error {@code RMSE = √((1/(n t)) Σ_i Σ_k (y_ik − μ_ik)²)};</li>
 *   <li>Gaussian negative log likelihood per example {@code NLL = (1/n) Σ_i Σ_k [½ log(2π v_ik) + (y_ik − μ_ik)² / (2 v_ik)]};</li>
 *   <li>the coverage of the central {@code q} predictive intervals {@code μ_ik ± z_q √v_ik}, {@code z_q = Φ⁻¹((1 + q)/2)}:
 *       the fraction of the {@code n t} target values inside, for {@code q = 50%, 90%, 95%} (a calibrated predictive
 *       covers {@code q}).</li>
 * </ul>
 * Targets standardised for training are compared in their own units: {@link #of(double[][], double[][], double[][],
 * double[], double[])} maps {@code μ ↦ s μ + m} and {@code v ↦ s² v} first.
 *
 * @param rmse       root mean squared error, in the targets' units
 * @param nll        mean Gaussian negative log likelihood per example (nats)
 * @param coverage50 fraction of targets inside the central 50% interval
 * @param coverage90 inside the 90% interval
 * @param coverage95 inside the 95% interval
 * @param count      {@code n}
 */
public record RegressionMetrics(double rmse, double nll, double coverage50, double coverage90, double coverage95, int count) {
    /** {@code Φ⁻¹(0.75)}, {@code Φ⁻¹(0.95)}, {@code Φ⁻¹(0.975)}: the half-widths of the 50/90/95% intervals in standard deviations. */
    static final double[] Z = {0.6744897501960817, 1.6448536269514722, 1.959963984540054};

    /**
     * @param mean     {@code [n][t]} predictive means; not modified
     * @param variance {@code [n][t]} predictive variances, each {@code > 0}; not modified
     * @param targets  {@code [n][t]}; not modified
     * @throws IllegalArgumentException for mismatched sizes, an empty set or a variance that is not positive
     */
    public static RegressionMetrics of(double[][] mean, double[][] variance, double[][] targets) {
        int n = mean.length;
        if (n == 0 || variance.length != n || targets.length != n) {
            throw new IllegalArgumentException("need the same positive number of means, variances and targets, got " + n + ", "
                    + variance.length + " and " + targets.length);
        }
        double squared = 0;
        double nll = 0;
        int[] inside = new int[Z.length];
        long values = 0;
        for (int i = 0; i < n; i++) {
            int t = targets[i].length;
            if (mean[i].length != t || variance[i].length != t) {
                throw new IllegalArgumentException("example " + i + " has " + mean[i].length + " means, " + variance[i].length
                        + " variances and " + t + " targets");
            }
            for (int k = 0; k < t; k++) {
                double v = variance[i][k];
                if (!(v > 0) || Double.isInfinite(v)) {
                    throw new IllegalArgumentException("example " + i + " output " + k + " has predictive variance " + v);
                }
                double r = targets[i][k] - mean[i][k];
                squared += r * r;
                nll += 0.5 * Math.log(2 * Math.PI * v) + r * r / (2 * v);
                double sd = Math.sqrt(v);
                for (int q = 0; q < Z.length; q++) {
                    if (Math.abs(r) <= Z[q] * sd) {
                        inside[q]++;
                    }
                }
                values++;
            }
        }
        return new RegressionMetrics(Math.sqrt(squared / values), nll / n, inside[0] / (double) values, inside[1] / (double) values,
                inside[2] / (double) values, n);
    }

    /**
     * The metrics in the targets' own units when the model predicts standardised targets {@code (y − m) / s}: the
     * predictive is mapped to {@code N(s μ + m, s² v)} and compared with the raw {@code targets}.
     *
     * @param offset {@code m}, one per output
     * @param scale  {@code s > 0}, one per output
     */
    public static RegressionMetrics of(double[][] mean, double[][] variance, double[][] targets, double[] offset, double[] scale) {
        double[][] m = new double[mean.length][];
        double[][] v = new double[variance.length][];
        for (int i = 0; i < mean.length; i++) {
            m[i] = new double[mean[i].length];
            v[i] = new double[mean[i].length];
            for (int k = 0; k < mean[i].length; k++) {
                m[i][k] = scale[k] * mean[i][k] + offset[k];
                v[i][k] = scale[k] * scale[k] * variance[i][k];
            }
        }
        return of(m, v, targets);
    }
}
