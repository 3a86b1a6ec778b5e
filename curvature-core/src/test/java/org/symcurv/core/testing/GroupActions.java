package org.symcurv.core.testing;

import java.util.LinkedHashMap;
import java.util.Map;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Group elements as dense orthogonal matrices and their action on flat parameter vectors, for brute-force
 * tests: an element {@code g = (M_γ)_γ} assigns an {@code n_γ × n_γ} orthogonal matrix to every group, and
 * acts on a leaf by {@code x ↦ M_γ x} along every axis labelled {@code γ} (free axes untouched). For a dense
 * layer this is {@code W ↦ M_prev W M_γᵀ}, {@code b ↦ M_γ b}: the transformation under which the network
 * function is unchanged when each {@code M} commutes with the activation.
 */
public final class GroupActions {
    private GroupActions() {
    }

    /** A uniformly random element of the group of {@code type} acting on {@code n} units. */
    public static double[][] randomElement(GroupType type, int n, SeededRandom random) {
        return switch (type) {
            case PERM -> permutation(randomPermutation(n, random), null);
            case SIGN -> permutation(identityPermutation(n), randomSigns(n, random));
            case SIGNED_PERM -> permutation(randomPermutation(n, random), randomSigns(n, random));
            case ORTH -> haarOrthogonal(n, random);
        };
    }

    /** One random element per group of {@code spec}, keyed by group name. */
    public static Map<String, double[][]> randomElements(SymmetrySpec spec, SeededRandom random) {
        Map<String, double[][]> elements = new LinkedHashMap<>();
        for (Group g : spec.groups()) {
            elements.put(g.name(), randomElement(g.type(), g.size(), random));
        }
        return elements;
    }

    /** The matrix {@code M} with {@code M[i][π(i)] = s_i} ({@code s = null} for all ones). */
    public static double[][] permutation(int[] pi, double[] signs) {
        int n = pi.length;
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            m[i][pi[i]] = signs == null ? 1.0 : signs[i];
        }
        return m;
    }

    /** A Haar-random orthogonal matrix: Gram-Schmidt on the rows of a Gaussian matrix (a QR factorisation with positive diagonal). */
    public static double[][] haarOrthogonal(int n, SeededRandom random) {
        double[][] q = random.gaussianMatrix(n, n, 1.0);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < i; j++) {
                double dot = 0;
                for (int k = 0; k < n; k++) {
                    dot += q[i][k] * q[j][k];
                }
                for (int k = 0; k < n; k++) {
                    q[i][k] -= dot * q[j][k];
                }
            }
            double norm = DenseMatrices.norm(q[i]);
            for (int k = 0; k < n; k++) {
                q[i][k] /= norm;
            }
        }
        return q;
    }

    /**
     * {@code g · θ}: every leaf of {@code spec} transformed along its labelled axes.
     *
     * @param elements one {@code n_γ × n_γ} matrix per group named in the spec's labels
     * @param theta    flat parameters of length {@code spec.parameterCount()}; not modified
     */
    public static double[] act(SymmetrySpec spec, Map<String, double[][]> elements, double[] theta) {
        if (theta.length != spec.parameterCount()) {
            throw new IllegalArgumentException("theta has length " + theta.length + " but the spec has " + spec.parameterCount() + " parameters");
        }
        double[] out = theta.clone();
        for (LeafSpec leaf : spec.leaves()) {
            int rank = leaf.rank();
            long[] shape = leaf.shape();
            int length = Math.toIntExact(leaf.length());
            double[] values = new double[length];
            int[] flatIndex = new int[length];
            for (int e = 0; e < length; e++) {
                flatIndex[e] = Math.toIntExact(leaf.offset()) + flatPosition(cIndex(e, shape), shape, leaf.order());
                values[e] = theta[flatIndex[e]];
            }
            for (int a = 0; a < rank; a++) {
                if (leaf.label(a).isFree()) {
                    continue;
                }
                double[][] m = elements.get(leaf.label(a).group());
                if (m == null) {
                    throw new IllegalArgumentException("no group element for '" + leaf.label(a).group() + "' (leaf " + leaf.name() + " axis " + a + ")");
                }
                values = alongAxis(values, shape, a, m);
            }
            for (int e = 0; e < length; e++) {
                out[flatIndex[e]] = values[e];
            }
        }
        return out;
    }

    /** {@code x ↦ M x} along axis {@code a} of a tensor stored row-major in {@code values}. */
    private static double[] alongAxis(double[] values, long[] shape, int a, double[][] m) {
        double[] out = new double[values.length];
        for (int e = 0; e < values.length; e++) {
            int[] index = cIndex(e, shape);
            int i = index[a];
            double s = 0;
            for (int j = 0; j < shape[a]; j++) {
                index[a] = j;
                s += m[i][j] * values[cPosition(index, shape)];
            }
            out[e] = s;
        }
        return out;
    }

    private static int[] cIndex(int e, long[] shape) {
        int[] index = new int[shape.length];
        for (int a = shape.length - 1; a >= 0; a--) {
            index[a] = (int) (e % shape[a]);
            e /= (int) shape[a];
        }
        return index;
    }

    private static int cPosition(int[] index, long[] shape) {
        int p = 0;
        for (int a = 0; a < shape.length; a++) {
            p = p * (int) shape[a] + index[a];
        }
        return p;
    }

    private static int flatPosition(int[] index, long[] shape, char order) {
        if (order == 'c') {
            return cPosition(index, shape);
        }
        int p = 0;
        for (int a = shape.length - 1; a >= 0; a--) {
            p = p * (int) shape[a] + index[a];
        }
        return p;
    }

    private static int[] identityPermutation(int n) {
        int[] pi = new int[n];
        for (int i = 0; i < n; i++) {
            pi[i] = i;
        }
        return pi;
    }

    private static int[] randomPermutation(int n, SeededRandom random) {
        int[] pi = identityPermutation(n);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = pi[i];
            pi[i] = pi[j];
            pi[j] = t;
        }
        return pi;
    }

    private static double[] randomSigns(int n, SeededRandom random) {
        double[] s = new double[n];
        for (int i = 0; i < n; i++) {
            s[i] = random.nextInt(2) == 0 ? -1.0 : 1.0;
        }
        return s;
    }
}
