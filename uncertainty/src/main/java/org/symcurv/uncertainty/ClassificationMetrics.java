package org.symcurv.uncertainty;

import java.util.List;

/**
 * How well predicted class probabilities {@code p_i} fit labels {@code y_i} on {@code n} examples:
 * <ul>
 *   <li>accuracy {@code (1/n) Σ_i [argmax_k p_ik = y_i]} (ties go to the lowest class index);</li>
 *   <li>negative log likelihood {@code −(1/n) Σ_i log p_{i,y_i}}, with {@code p} floored at {@value #PROBABILITY_FLOOR};</li>
 *   <li>Brier score {@code (1/n) Σ_i Σ_k (p_ik − [k = y_i])²} (summed over classes, in [0, 2]);</li>
 *   <li>expected calibration error {@code ECE = Σ_b (n_b / n) |acc_b − conf_b|} over {@value #ECE_BINS} equal-width bins
 *       of the confidence {@code max_k p_ik}, bin {@code b} holding confidences in {@code (b/B, (b+1)/B]} (the first
 *       bin also holds 0), with {@code acc_b} and {@code conf_b} the bin's accuracy and mean confidence.</li>
 * </ul>
 *
 * @param accuracy  fraction correct
 * @param nll       mean negative log likelihood (nats)
 * @param brier     mean Brier score
 * @param ece       expected calibration error
 * @param bins      the reliability diagram's bins ({@value #ECE_BINS})
 * @param count     {@code n}
 */
public record ClassificationMetrics(double accuracy, double nll, double brier, double ece, List<Bin> bins, int count) {
    /** Number of confidence bins of the ECE and the reliability diagram. */
    public static final int ECE_BINS = 15;
    /** Smallest probability the log likelihood sees. */
    public static final double PROBABILITY_FLOOR = 1e-12;

    public ClassificationMetrics {
        bins = List.copyOf(bins);
    }

    /**
     * One confidence bin.
     *
     * @param lower          the bin's lower edge (exclusive except for the first bin)
     * @param upper          its upper edge (inclusive)
     * @param count          examples in it
     * @param meanConfidence their mean {@code max_k p_k} (NaN when empty)
     * @param accuracy       their accuracy (NaN when empty)
     */
    public record Bin(double lower, double upper, int count, double meanConfidence, double accuracy) {
    }

    /**
     * @param probabilities {@code [n][C]}, each row a distribution; not modified
     * @param labels        {@code n} class indices in {@code [0, C)}
     * @throws IllegalArgumentException for mismatched sizes, an empty set or a label out of range
     */
    public static ClassificationMetrics of(double[][] probabilities, int[] labels) {
        int n = probabilities.length;
        if (n == 0 || labels.length != n) {
            throw new IllegalArgumentException("need the same positive number of predictions and labels, got " + n + " and " + labels.length);
        }
        int correct = 0;
        double nll = 0;
        double brier = 0;
        int[] binCount = new int[ECE_BINS];
        double[] binConfidence = new double[ECE_BINS];
        int[] binCorrect = new int[ECE_BINS];
        for (int i = 0; i < n; i++) {
            double[] p = probabilities[i];
            int y = labels[i];
            if (y < 0 || y >= p.length) {
                throw new IllegalArgumentException("label " + y + " of example " + i + " is outside [0, " + p.length + ")");
            }
            int best = 0;
            for (int k = 1; k < p.length; k++) {
                if (p[k] > p[best]) {
                    best = k;
                }
            }
            boolean hit = best == y;
            correct += hit ? 1 : 0;
            nll -= Math.log(Math.max(p[y], PROBABILITY_FLOOR));
            for (int k = 0; k < p.length; k++) {
                double d = p[k] - (k == y ? 1 : 0);
                brier += d * d;
            }
            double confidence = p[best];
            int b = Math.min(ECE_BINS - 1, Math.max(0, (int) Math.ceil(confidence * ECE_BINS) - 1));
            binCount[b]++;
            binConfidence[b] += confidence;
            binCorrect[b] += hit ? 1 : 0;
        }
        double ece = 0;
        Bin[] bins = new Bin[ECE_BINS];
        for (int b = 0; b < ECE_BINS; b++) {
            double conf = binCount[b] == 0 ? Double.NaN : binConfidence[b] / binCount[b];
            double acc = binCount[b] == 0 ? Double.NaN : (double) binCorrect[b] / binCount[b];
            if (binCount[b] > 0) {
                ece += (double) binCount[b] / n * Math.abs(acc - conf);
            }
            bins[b] = new Bin((double) b / ECE_BINS, (double) (b + 1) / ECE_BINS, binCount[b], conf, acc);
        }
        return new ClassificationMetrics((double) correct / n, nll / n, brier / n, ece, List.of(bins), n);
    }
}
