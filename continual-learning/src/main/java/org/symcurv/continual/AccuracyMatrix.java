package org.symcurv.continual;

import java.util.Arrays;

/**
 * The accuracy matrix of a stream of {@code T} tasks, {@code R[i][j]} = accuracy on task {@code j}'s test set after training
 * on tasks {@code 0 … i} (Lopez-Paz and Ranzato, 2017), and the usual summaries:
 * <pre>
 *   average accuracy   A = (1/T) Σ_j R[T−1][j]
 *   average after i    A_i = (1/(i+1)) Σ_{j≤i} R[i][j]
 *   backward transfer  BWT = (1/(T−1)) Σ_{j<T−1} (R[T−1][j] − R[j][j])          (negative: forgetting)
 *   forgetting         F = (1/(T−1)) Σ_{j<T−1} max_{i<T−1} R[i][j] − R[T−1][j]   (Chaudhry et al., 2018)
 * </pre>
 * Entries above the diagonal (tasks not yet trained) are recorded too. Immutable.
 */
public final class AccuracyMatrix {
    private final double[][] r;

    /**
     * @param r {@code [T][T]}, copied
     * @throws IllegalArgumentException if it is not square or empty
     */
    public AccuracyMatrix(double[][] r) {
        if (r.length == 0) {
            throw new IllegalArgumentException("an accuracy matrix needs at least one task");
        }
        this.r = new double[r.length][];
        for (int i = 0; i < r.length; i++) {
            if (r[i].length != r.length) {
                throw new IllegalArgumentException("the accuracy matrix must be T × T; row " + i + " has " + r[i].length + " entries for T = " + r.length);
            }
            this.r[i] = r[i].clone();
        }
    }

    public int tasks() {
        return r.length;
    }

    /** {@code R[i][j]}. */
    public double get(int i, int j) {
        return r[i][j];
    }

    public double[][] toArray() {
        double[][] out = new double[r.length][];
        for (int i = 0; i < r.length; i++) {
            out[i] = r[i].clone();
        }
        return out;
    }

    /** {@code A}: the mean final accuracy over all tasks. */
    public double averageAccuracy() {
        return averageAfter(r.length - 1);
    }

    /** {@code A_i}: the mean accuracy over the tasks seen after training task {@code i}. */
    public double averageAfter(int i) {
        return Arrays.stream(r[i], 0, i + 1).average().orElseThrow();
    }

    /** {@code BWT}; 0 for a single task. */
    public double backwardTransfer() {
        int t = r.length;
        if (t < 2) {
            return 0;
        }
        double sum = 0;
        for (int j = 0; j < t - 1; j++) {
            sum += r[t - 1][j] - r[j][j];
        }
        return sum / (t - 1);
    }

    /** {@code F}; 0 for a single task. */
    public double forgetting() {
        int t = r.length;
        if (t < 2) {
            return 0;
        }
        double sum = 0;
        for (int j = 0; j < t - 1; j++) {
            double best = Double.NEGATIVE_INFINITY;
            for (int i = j; i < t - 1; i++) {
                best = Math.max(best, r[i][j]);
            }
            sum += best - r[t - 1][j];
        }
        return sum / (t - 1);
    }
}
