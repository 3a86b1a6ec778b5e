package org.symcurv.core.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.Contribution;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Piece;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The dense float64 matrix of a structured operator built from the definition, independently of {@code Curvature}'s
 * own products: {@code S = Σ_κ Σ_f V_κ,f (I_{d_κ} ⊗ B_κ,f) V_κ,fᵀ} (symmetry-curvature.md section 3), where column
 * {@code (j, a)} of {@code V_κ,f} is the parameter vector of basis vector {@code j} of the kind's piece in copy
 * {@code a}: per leaf the explicit Kronecker product of one vector per axis — a Helmert basis of {@code 1⊥} for a
 * {@code PERM} standard piece, {@code 1/√n} for its trivial piece, unit vectors for {@code SIGNED_PERM}/{@code ORTH}
 * and for a {@code SIGN} character (the family member's unit), the copy's unit vector on a free axis — flattened in
 * the leaf's order ({@code 'c'}: {@code v_0 ⊗ v_1 ⊗ …}; {@code 'f'}: {@code … ⊗ v_1 ⊗ v_0}). Only the layout (kinds,
 * pieces, which leaf gives which copies) and the block values are read from the operator.
 */
public final class KroneckerOracle {
    private KroneckerOracle() {
    }

    /** {@code S} as {@code [P][P]}. */
    public static double[][] dense(Curvature s) {
        return dense(s, UnaryOperator.identity());
    }

    /** {@code Σ_κ Σ_f V_κ,f (I ⊗ g(B_κ,f)) V_κ,fᵀ}: the operator with every block replaced by {@code g} of it (dense {@code m × m}). */
    public static double[][] dense(Curvature s, UnaryOperator<double[][]> g) {
        SymmetrySpec spec = s.spec();
        int p = (int) spec.parameterCount();
        double[][] out = new double[p][p];
        KindDecomposition kinds = s.decomposition();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            for (int f = 0; f < layout.familySize(); f++) {
                double[][] block = g.apply(block(s, k, f));
                for (double[][] v : embedding(spec, layout, f)) {
                    // v: [m][P], the copies' parameter vectors for one basis vector j
                    int m = v.length;
                    for (int a = 0; a < m; a++) {
                        for (int b = 0; b < m; b++) {
                            double w = block[a][b];
                            if (w == 0.0) {
                                continue;
                            }
                            for (int i = 0; i < p; i++) {
                                if (v[a][i] == 0.0) {
                                    continue;
                                }
                                for (int q = 0; q < p; q++) {
                                    out[i][q] += v[a][i] * w * v[b][q];
                                }
                            }
                        }
                    }
                }
            }
        }
        return out;
    }

    /** Block {@code f} of kind {@code k} as a dense float64 {@code m × m} matrix (a diagonal-only block expanded). */
    public static double[][] block(Curvature s, int k, int f) {
        INDArray b = s.block(k).castTo(DataType.DOUBLE);
        int m = (int) b.size(1);
        double[][] out = new double[m][m];
        for (int a = 0; a < m; a++) {
            if (b.rank() == 2) {
                out[a][a] = b.getDouble(f, a);
            } else {
                for (int c = 0; c < m; c++) {
                    out[a][c] = b.getDouble(f, a, c);
                }
            }
        }
        return out;
    }

    /** For each basis vector {@code j} of the kind's piece: the {@code [m][P]} parameter vectors of its copies. */
    static List<double[][]> embedding(SymmetrySpec spec, KindLayout layout, int member) {
        List<Group> groups = spec.groups();
        // basis vectors of each group's piece (for STANDARD groups: all of them; otherwise one)
        List<List<double[]>> basis = new ArrayList<>();
        int[] characterUnit = characterUnits(spec, layout, member);
        int d = 1;
        List<Integer> standard = new ArrayList<>();
        for (int g = 0; g < groups.size(); g++) {
            Group group = groups.get(g);
            Piece piece = layout.kind().piece(g);
            List<double[]> vectors = new ArrayList<>();
            switch (piece) {
                case STANDARD -> {
                    vectors.addAll(group.type() == GroupType.PERM ? helmert(group.size()) : units(group.size()));
                    standard.add(g);
                    d *= vectors.size();
                }
                case TRIVIAL -> {
                    double[] v = new double[group.size()];
                    java.util.Arrays.fill(v, 1.0 / Math.sqrt(group.size()));
                    vectors.add(v);
                }
                case CHARACTER -> vectors.add(unit(group.size(), characterUnit[g]));
            }
            basis.add(vectors);
        }
        int p = (int) spec.parameterCount();
        List<double[][]> out = new ArrayList<>();
        for (int j = 0; j < d; j++) {
            // the basis index of each standard group, row-major over them
            int[] choice = new int[groups.size()];
            int rest = j;
            for (int i = standard.size() - 1; i >= 0; i--) {
                int g = standard.get(i);
                choice[g] = rest % basis.get(g).size();
                rest /= basis.get(g).size();
            }
            double[][] v = new double[layout.copies()][p];
            for (Contribution c : layout.contributions()) {
                LeafSpec leaf = c.leaf();
                for (int a = 0; a < c.copies(); a++) {
                    int[] free = freeIndex(leaf, a);
                    double[] tensor = {1.0};
                    int rank = leaf.rank();
                    for (int i = 0; i < rank; i++) {
                        int axis = leaf.order() == 'c' ? i : rank - 1 - i;
                        double[] factor = leaf.label(axis).isFree()
                                ? unit((int) leaf.size(axis), free[axis])
                                : basis.get(spec.groupIndex(leaf.label(axis).group())).get(choice[spec.groupIndex(leaf.label(axis).group())]);
                        tensor = kron(tensor, factor);
                    }
                    System.arraycopy(tensor, 0, v[c.copyOffset() + a], (int) leaf.offset(), tensor.length);
                }
            }
            out.add(v);
        }
        return out;
    }

    /** The unit index of each {@code SIGN} group for a family member (row-major over the kind's character groups). */
    private static int[] characterUnits(SymmetrySpec spec, KindLayout layout, int member) {
        int[] out = new int[spec.groups().size()];
        int rest = member;
        for (int g = spec.groups().size() - 1; g >= 0; g--) {
            if (layout.kind().piece(g) == Piece.CHARACTER) {
                out[g] = rest % spec.groups().get(g).size();
                rest /= spec.groups().get(g).size();
            }
        }
        return out;
    }

    /** The leaf's free-axis indices of copy {@code a} (row-major over its free axes); other axes 0. */
    private static int[] freeIndex(LeafSpec leaf, int a) {
        int[] index = new int[leaf.rank()];
        int rest = a;
        for (int axis = leaf.rank() - 1; axis >= 0; axis--) {
            if (leaf.label(axis).isFree()) {
                index[axis] = (int) (rest % leaf.size(axis));
                rest /= (int) leaf.size(axis);
            }
        }
        return index;
    }

    /** An orthonormal basis of {@code 1⊥ ⊂ R^n}: {@code h_j = (1, …, 1, −j, 0, …)/√(j(j+1))}, {@code j = 1 … n−1}. */
    static List<double[]> helmert(int n) {
        List<double[]> out = new ArrayList<>();
        for (int j = 1; j < n; j++) {
            double[] h = new double[n];
            double scale = 1.0 / Math.sqrt(j * (j + 1.0));
            for (int i = 0; i < j; i++) {
                h[i] = scale;
            }
            h[j] = -j * scale;
            out.add(h);
        }
        return out;
    }

    private static List<double[]> units(int n) {
        List<double[]> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(unit(n, i));
        }
        return out;
    }

    private static double[] unit(int n, int i) {
        double[] e = new double[n];
        e[i] = 1.0;
        return e;
    }

    /** {@code a ⊗ b}. */
    static double[] kron(double[] a, double[] b) {
        double[] out = new double[a.length * b.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                out[i * b.length + j] = a[i] * b[j];
            }
        }
        return out;
    }
}
