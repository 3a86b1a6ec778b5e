package org.symcurv.core.symmetry;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * An independent, dense, plain-Java implementation of the group action on parameter space, for brute-force
 * checks: every element of a finite group (or Haar samples of {@code O(n)}) as an explicit orthogonal matrix
 * {@code Q_γ} per group, applied along every axis that group labels.
 */
public final class BruteForceGroup {
    private final SymmetrySpec spec;

    public BruteForceGroup(SymmetrySpec spec) {
        this.spec = spec;
    }

    /** Every element of the product of the spec's finite groups, as one matrix per group. */
    public List<double[][][]> elements() {
        List<double[][][]> out = new ArrayList<>();
        out.add(new double[spec.groups().size()][][]);
        for (int g = 0; g < spec.groups().size(); g++) {
            Group group = spec.groups().get(g);
            List<double[][]> own = elementsOf(group);
            List<double[][][]> next = new ArrayList<>();
            for (double[][][] partial : out) {
                for (double[][] q : own) {
                    double[][][] e = partial.clone();
                    e[g] = q;
                    next.add(e);
                }
            }
            out = next;
        }
        return out;
    }

    static List<double[][]> elementsOf(Group group) {
        int n = group.size();
        List<int[]> perms = new ArrayList<>();
        if (group.type() == GroupType.SIGN) {
            int[] id = new int[n];
            for (int i = 0; i < n; i++) {
                id[i] = i;
            }
            perms.add(id);
        } else {
            permutations(new int[n], new boolean[n], 0, perms);
        }
        boolean signs = group.type() == GroupType.SIGN || group.type() == GroupType.SIGNED_PERM || group.type() == GroupType.ORTH;
        List<double[][]> out = new ArrayList<>();
        for (int[] p : perms) {
            for (int s = 0; s < (signs ? 1 << n : 1); s++) {
                double[][] q = new double[n][n];
                for (int i = 0; i < n; i++) {
                    q[p[i]][i] = ((s >> i) & 1) == 1 ? -1.0 : 1.0;
                }
                out.add(q);
            }
        }
        return out;
    }

    private static void permutations(int[] current, boolean[] used, int depth, List<int[]> out) {
        if (depth == current.length) {
            out.add(current.clone());
            return;
        }
        for (int i = 0; i < current.length; i++) {
            if (!used[i]) {
                used[i] = true;
                current[depth] = i;
                permutations(current, used, depth + 1, out);
                used[i] = false;
            }
        }
    }

    /** A Haar-random orthogonal matrix: Gram-Schmidt of a Gaussian matrix (equivalent to QR with a sign fix). */
    public static double[][] haarOrthogonal(int n, Random rng) {
        double[][] q = new double[n][n];
        for (int j = 0; j < n; j++) {
            double[] col = new double[n];
            for (int i = 0; i < n; i++) {
                col[i] = rng.nextGaussian();
            }
            for (int k = 0; k < j; k++) {
                double dot = 0;
                for (int i = 0; i < n; i++) {
                    dot += col[i] * q[i][k];
                }
                for (int i = 0; i < n; i++) {
                    col[i] -= dot * q[i][k];
                }
            }
            double norm = 0;
            for (double c : col) {
                norm += c * c;
            }
            norm = Math.sqrt(norm);
            for (int i = 0; i < n; i++) {
                q[i][j] = col[i] / norm;
            }
        }
        return q;
    }

    /** {@code A v}: each leaf transformed by {@code Q_γ} along every axis labelled {@code γ}. */
    public double[] apply(double[][][] element, double[] v) {
        double[] out = v.clone();
        for (LeafSpec leaf : spec.leaves()) {
            for (int a = 0; a < leaf.rank(); a++) {
                if (!leaf.label(a).isFree()) {
                    applyAlongAxis(out, leaf, a, element[spec.groupIndex(leaf.label(a).group())]);
                }
            }
        }
        return out;
    }

    private static void applyAlongAxis(double[] flat, LeafSpec leaf, int axis, double[][] q) {
        long[] shape = leaf.shape();
        int rank = shape.length;
        long[] strides = new long[rank];
        long s = 1;
        if (leaf.order() == 'c') {
            for (int k = rank - 1; k >= 0; k--) {
                strides[k] = s;
                s *= shape[k];
            }
        } else {
            for (int k = 0; k < rank; k++) {
                strides[k] = s;
                s *= shape[k];
            }
        }
        int n = (int) shape[axis];
        long total = leaf.length();
        long[] idx = new long[rank];
        double[] fiber = new double[n];
        for (long lin = 0; lin < total; lin++) {
            long rem = lin;
            for (int k = rank - 1; k >= 0; k--) {
                idx[k] = rem % shape[k];
                rem /= shape[k];
            }
            if (idx[axis] != 0) {
                continue;
            }
            long base = leaf.offset();
            for (int k = 0; k < rank; k++) {
                base += idx[k] * strides[k];
            }
            for (int i = 0; i < n; i++) {
                fiber[i] = flat[(int) (base + i * strides[axis])];
            }
            for (int i = 0; i < n; i++) {
                double acc = 0;
                for (int j = 0; j < n; j++) {
                    acc += q[i][j] * fiber[j];
                }
                flat[(int) (base + i * strides[axis])] = acc;
            }
        }
    }

    /** {@code E_G[(A v)(A v)ᵀ]} averaged over the given vectors too. */
    public double[][] averageOuter(List<double[][][]> elements, List<double[]> vectors) {
        int p = (int) spec.parameterCount();
        double[][] m = new double[p][p];
        for (double[][][] e : elements) {
            for (double[] v : vectors) {
                double[] av = apply(e, v);
                for (int i = 0; i < p; i++) {
                    for (int j = 0; j < p; j++) {
                        m[i][j] += av[i] * av[j];
                    }
                }
            }
        }
        double scale = 1.0 / ((double) elements.size() * vectors.size());
        for (double[] row : m) {
            for (int j = 0; j < p; j++) {
                row[j] *= scale;
            }
        }
        return m;
    }

    /** {@code E_G[A v]}. */
    public double[] averageVector(List<double[][][]> elements, double[] v) {
        double[] out = new double[v.length];
        for (double[][][] e : elements) {
            double[] av = apply(e, v);
            for (int i = 0; i < v.length; i++) {
                out[i] += av[i] / elements.size();
            }
        }
        return out;
    }

    /** {@code E_G[A M Aᵀ]} of a dense matrix. */
    public double[][] averageMatrix(List<double[][][]> elements, double[][] m) {
        int p = m.length;
        double[][] out = new double[p][p];
        for (double[][][] e : elements) {
            double[][] am = new double[p][];
            // A M Aᵀ = A (A Mᵀ)ᵀ: transform columns, then rows
            double[][] cols = new double[p][p];
            for (int j = 0; j < p; j++) {
                double[] col = new double[p];
                for (int i = 0; i < p; i++) {
                    col[i] = m[i][j];
                }
                cols[j] = apply(e, col);
            }
            for (int i = 0; i < p; i++) {
                double[] row = new double[p];
                for (int j = 0; j < p; j++) {
                    row[j] = cols[j][i];
                }
                am[i] = apply(e, row);
            }
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    out[i][j] += am[i][j] / elements.size();
                }
            }
        }
        return out;
    }
}
