package org.symcurv.pruning;

import org.symcurv.core.operator.Curvature;
import org.symcurv.core.testing.DenseMatrices;

/**
 * A float64 dense oracle for OBS on small operators: {@code F̃ = F + c I} formed densely from {@code F.toDense()},
 * its inverse by Gauss-Jordan elimination with partial pivoting (independent of the blockwise eigendecompositions of
 * {@link Curvature#power}), and the textbook formulas on it.
 */
final class DenseObs {
    final double[][] dampedFisher;
    final double[][] inverse;

    DenseObs(Curvature fisher, double shift) {
        double[][] f = DenseMatrices.toMatrix(fisher.toDense());
        for (int i = 0; i < f.length; i++) {
            f[i][i] += shift;
        }
        this.dampedFisher = f;
        this.inverse = invert(f);
    }

    /** {@code w_q² / (2 [F̃⁻¹]_qq)}. */
    double saliency(double[] w, int q) {
        return w[q] * w[q] / (2 * inverse[q][q]);
    }

    /** {@code −w_q F̃⁻¹ e_q / [F̃⁻¹]_qq}. */
    double[] update(double[] w, int q) {
        double[] out = new double[w.length];
        for (int i = 0; i < w.length; i++) {
            out[i] = -w[q] * inverse[i][q] / inverse[q][q];
        }
        return out;
    }

    /** {@code Σ_{q∈Q}} of the single updates. */
    double[] summedUpdate(double[] w, long[] removed) {
        double[] out = new double[w.length];
        for (long q : removed) {
            double[] u = update(w, (int) q);
            for (int i = 0; i < w.length; i++) {
                out[i] += u[i];
            }
        }
        return out;
    }

    /** {@code ½ δᵀ F̃ δ}. */
    double quadratic(double[] delta) {
        double[] fd = DenseMatrices.multiply(dampedFisher, delta);
        double s = 0;
        for (int i = 0; i < delta.length; i++) {
            s += delta[i] * fd[i];
        }
        return 0.5 * s;
    }

    static double[][] invert(double[][] a) {
        int n = a.length;
        double[][] m = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], 0, m[i], 0, n);
            m[i][n + i] = 1.0;
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(m[r][c]) > Math.abs(m[pivot][c])) {
                    pivot = r;
                }
            }
            double[] t = m[c];
            m[c] = m[pivot];
            m[pivot] = t;
            double d = m[c][c];
            for (int j = 0; j < 2 * n; j++) {
                m[c][j] /= d;
            }
            for (int r = 0; r < n; r++) {
                if (r != c && m[r][c] != 0.0) {
                    double factor = m[r][c];
                    for (int j = 0; j < 2 * n; j++) {
                        m[r][j] -= factor * m[c][j];
                    }
                }
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(m[i], n, inv[i], 0, n);
        }
        return inv;
    }
}
