package org.symcurv.uncertainty;

import java.util.Arrays;

/**
 * The area under the ROC curve of a score that separates out-of-distribution from in-distribution inputs:
 * {@code AUROC = P(s_out > s_in) + ½ P(s_out = s_in)} for independent draws from the two sets (the Mann-Whitney
 * statistic divided by {@code n_in n_out}), computed from average ranks in {@code O((n_in + n_out) log)}. 1 separates
 * perfectly, ½ is chance.
 */
public final class Auroc {
    private Auroc() {
    }

    /**
     * @param inDistribution  scores of in-distribution inputs (lower is better); not modified
     * @param outOfDistribution scores of out-of-distribution inputs; not modified
     * @throws IllegalArgumentException if a set is empty or a score is NaN
     */
    public static double of(double[] inDistribution, double[] outOfDistribution) {
        int a = inDistribution.length;
        int b = outOfDistribution.length;
        if (a == 0 || b == 0) {
            throw new IllegalArgumentException("AUROC needs at least one in- and one out-of-distribution score, got " + a + " and " + b);
        }
        double[][] all = new double[a + b][];
        for (int i = 0; i < a; i++) {
            all[i] = new double[] {inDistribution[i], 0};
        }
        for (int i = 0; i < b; i++) {
            all[a + i] = new double[] {outOfDistribution[i], 1};
        }
        for (double[] x : all) {
            if (Double.isNaN(x[0])) {
                throw new IllegalArgumentException("AUROC scores must not be NaN");
            }
        }
        Arrays.sort(all, (x, y) -> Double.compare(x[0], y[0]));
        double rankSumOut = 0;
        int i = 0;
        while (i < all.length) {
            int j = i;
            while (j + 1 < all.length && all[j + 1][0] == all[i][0]) {
                j++;
            }
            double averageRank = (i + j) / 2.0 + 1;
            for (int k = i; k <= j; k++) {
                if (all[k][1] == 1) {
                    rankSumOut += averageRank;
                }
            }
            i = j + 1;
        }
        return (rankSumOut - (double) b * (b + 1) / 2) / ((double) a * b);
    }
}
