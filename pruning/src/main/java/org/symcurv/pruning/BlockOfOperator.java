package org.symcurv.pruning;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.Contribution;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Piece;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A principal submatrix {@code E_Qᵀ S E_Q} of a structured operator {@code S = ⊕_κ I ⊗ B_κ}, formed entry by entry
 * without applying {@code S} to any vector. For unit vectors the copy matrices are rank one,
 * {@code Z_κ(e_a) = u_a v_aᵀ} ({@code u_a} the unit's coordinate projected on the kind's pieces, {@code v_a} its copy),
 * so with {@code xᵀ S y = Σ_κ ⟨Z_κ(x), Z_κ(y) B_κ⟩}:
 *
 * <pre>    S_ab = Σ_κ Π_γ ⟨u_a, u_b⟩_γ · B_κ[copy_a, copy_b],</pre>
 *
 * where for each group {@code γ} on which the parameters' leaves carry axes at indices {@code i} and {@code i'}:
 * {@code PERM} standard piece {@code δ_ii' − 1/n}, {@code PERM} trivial piece {@code 1/n}, {@code SIGNED_PERM} and
 * {@code ORTH} {@code δ_ii'}; a group a leaf does not carry contributes 1 (and the kind must have its trivial piece).
 * Costs {@code O(|Q|² · kinds)} against {@code |Q|} full products for the route through {@code S e_q}. {@code SIGN}
 * groups are not supported.
 */
final class BlockOfOperator {
    private BlockOfOperator() {
    }

    /** Where a flat parameter lives: its leaf and the index along each axis. */
    private record Site(int leaf, long[] index) {
    }

    /**
     * {@code E_Qᵀ S E_Q}.
     *
     * @param s     the operator
     * @param block flat parameter indices {@code Q}
     * @return {@code [|Q|, |Q|]} float64
     * @throws IllegalArgumentException if the spec has a {@code SIGN} group
     */
    static double[][] of(Curvature s, long[] block) {
        SymmetrySpec spec = s.spec();
        for (var g : spec.groups()) {
            if (g.type() == GroupType.SIGN) {
                throw new IllegalArgumentException("submatrices of operators with SIGN groups are not supported (group " + g.name() + ")");
            }
        }
        KindDecomposition kinds = s.decomposition();
        int q = block.length;
        Site[] sites = new Site[q];
        for (int a = 0; a < q; a++) {
            sites[a] = site(spec, block[a]);
        }
        double[][] out = new double[q][q];
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            INDArray b = s.block(k);
            boolean diagonalOnly = b.rank() == 2;
            double[][] blockEntries = diagonalOnly ? null : b.slice(0).castTo(DataType.DOUBLE).toDoubleMatrix();
            double[] diagonalEntries = diagonalOnly ? b.getRow(0).castTo(DataType.DOUBLE).toDoubleVector() : null;
            // copy index of each parameter in this kind, or −1 if its leaf does not contribute
            int[] copy = new int[q];
            List<Contribution> contributions = layout.contributions();
            for (int a = 0; a < q; a++) {
                copy[a] = -1;
                LeafSpec leaf = spec.leaves().get(sites[a].leaf);
                for (Contribution c : contributions) {
                    if (c.leaf().name().equals(leaf.name())) {
                        copy[a] = c.copyOffset() + (int) freeIndex(leaf, sites[a].index);
                    }
                }
            }
            for (int a = 0; a < q; a++) {
                if (copy[a] < 0) {
                    continue;
                }
                for (int c = a; c < q; c++) {
                    if (copy[c] < 0) {
                        continue;
                    }
                    double entry = diagonalOnly ? (copy[a] == copy[c] ? diagonalEntries[copy[a]] : 0.0) : blockEntries[copy[a]][copy[c]];
                    if (entry == 0.0) {
                        continue;
                    }
                    double product = entry * groupInnerProduct(spec, layout, sites[a], sites[c]);
                    out[a][c] += product;
                    if (c != a) {
                        out[c][a] += product;
                    }
                }
            }
        }
        return out;
    }

    /** {@code Π_γ ⟨u_a, u_b⟩_γ} for the kind's pieces. */
    private static double groupInnerProduct(SymmetrySpec spec, KindLayout layout, Site a, Site b) {
        double product = 1.0;
        LeafSpec leafA = spec.leaves().get(a.leaf);
        LeafSpec leafB = spec.leaves().get(b.leaf);
        for (int g = 0; g < spec.groups().size(); g++) {
            var group = spec.groups().get(g);
            int axisA = axisOf(leafA, group.name());
            int axisB = axisOf(leafB, group.name());
            if (axisA < 0 && axisB < 0) {
                continue;
            }
            Piece piece = layout.kind().piece(g);
            long n = group.size();
            if (axisA < 0 || axisB < 0) {
                // only one leaf carries γ, so the kind is trivial on γ: that leaf's coordinate is the sum / √n, the other's 1
                product *= 1.0 / Math.sqrt(n);
                continue;
            }
            long i = a.index[axisA];
            long j = b.index[axisB];
            product *= switch (piece) {
                case STANDARD -> group.type() == GroupType.PERM ? (i == j ? 1.0 : 0.0) - 1.0 / n : (i == j ? 1.0 : 0.0);
                case TRIVIAL -> 1.0 / n;
                case CHARACTER -> throw new IllegalStateException("SIGN groups are refused above");
            };
            if (product == 0.0) {
                return 0.0;
            }
        }
        return product;
    }

    private static int axisOf(LeafSpec leaf, String group) {
        for (int a = 0; a < leaf.rank(); a++) {
            if (!leaf.label(a).isFree() && leaf.label(a).group().equals(group)) {
                return a;
            }
        }
        return -1;
    }

    /** Row-major index over the leaf's free axes. */
    private static long freeIndex(LeafSpec leaf, long[] index) {
        long out = 0;
        for (int a = 0; a < leaf.rank(); a++) {
            if (leaf.label(a).isFree()) {
                out = out * leaf.size(a) + index[a];
            }
        }
        return out;
    }

    private static Site site(SymmetrySpec spec, long q) {
        List<LeafSpec> leaves = spec.leaves();
        for (int l = 0; l < leaves.size(); l++) {
            LeafSpec leaf = leaves.get(l);
            if (q >= leaf.offset() && q < leaf.offset() + leaf.length()) {
                long r = q - leaf.offset();
                long[] index = new long[leaf.rank()];
                if (leaf.order() == 'f') {
                    for (int a = 0; a < leaf.rank(); a++) {
                        index[a] = r % leaf.size(a);
                        r /= leaf.size(a);
                    }
                } else {
                    for (int a = leaf.rank() - 1; a >= 0; a--) {
                        index[a] = r % leaf.size(a);
                        r /= leaf.size(a);
                    }
                }
                return new Site(l, index);
            }
        }
        throw new IndexOutOfBoundsException("parameter " + q + " outside the spec's " + spec.parameterCount() + " parameters");
    }
}
