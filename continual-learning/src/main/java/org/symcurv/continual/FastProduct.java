package org.symcurv.continual;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
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
 * {@code S x} for a structured operator {@code S = ⊕_κ I_{d_κ} ⊗ B_κ} (symmetry-curvature.md section 3, "applying an
 * operator"), the same numbers as {@link Curvature#multiply} with fewer array passes, for the specs dense MLPs get: groups of
 * type {@code PERM}, {@code SIGNED_PERM} or {@code ORTH} (no {@code SIGN} families), leaves of rank ≤ 2 with at most one
 * free axis, dense blocks. Per kind and contributing leaf the leaf is read in its own layout, projected along its group axes
 * ({@code PERM}: centring for the standard piece, {@code Σ/√n} for the trivial one; the others unchanged), laid out as the
 * copy matrix {@code Z} (rows: the kind's non-trivial unit indices in group order; columns: the leaf's copies), multiplied
 * by {@code B_κ}, and scattered back with the adjoint projections. {@link #compile} returns null for any other spec, and
 * then the caller uses {@link Curvature#multiply}; tests check both agree. Immutable; computes in the operator's data type.
 */
final class FastProduct {
    /** One leaf's share of one kind. */
    private record Part(LeafSpec leaf, int copyOffset, int copies, int[] groupOfAxis, Piece[] pieceOfAxis, boolean[] permAxis,
                        int[] permutation, long[] permutedShape, int[] groupSizes) {
    }

    private record KindPlan(INDArray block, long rows, int copies, List<Part> parts) {
    }

    private final long parameterCount;
    private final List<KindPlan> plans;

    private FastProduct(long parameterCount, List<KindPlan> plans) {
        this.parameterCount = parameterCount;
        this.plans = plans;
    }

    /** The fast product of {@code operator}, or null when its spec or storage is not one this class handles. */
    static FastProduct compile(Curvature operator) {
        SymmetrySpec spec = operator.spec();
        for (Group g : spec.groups()) {
            if (g.type() == GroupType.SIGN) {
                return null;
            }
        }
        KindDecomposition kinds = operator.decomposition();
        List<KindPlan> plans = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            if (layout.familySize() != 1 || operator.isDiagonalBlock(k)) {
                return null;
            }
            List<Part> parts = new ArrayList<>();
            long rows = -1;
            for (Contribution c : layout.contributions()) {
                LeafSpec leaf = c.leaf();
                int rank = leaf.rank();
                if (rank > 2) {
                    return null;
                }
                int[] groupOf = new int[rank];
                Piece[] pieceOf = new Piece[rank];
                List<Integer> rowAxes = new ArrayList<>();
                List<Integer> trivialAxes = new ArrayList<>();
                List<Integer> freeAxes = new ArrayList<>();
                for (int a = 0; a < rank; a++) {
                    if (leaf.label(a).isFree()) {
                        groupOf[a] = -1;
                        freeAxes.add(a);
                        continue;
                    }
                    int g = spec.groupIndex(leaf.label(a).group());
                    groupOf[a] = g;
                    pieceOf[a] = layout.kind().piece(g);
                    GroupType type = spec.groups().get(g).type();
                    if (pieceOf[a] == Piece.TRIVIAL && type == GroupType.PERM) {
                        trivialAxes.add(a);
                    } else if (pieceOf[a] == Piece.STANDARD) {
                        rowAxes.add(a);
                    } else {
                        return null;
                    }
                }
                if (freeAxes.size() > 1) {
                    return null;
                }
                rowAxes.sort((x, y) -> Integer.compare(groupOf[x], groupOf[y]));
                List<Integer> order = new ArrayList<>(rowAxes);
                order.addAll(trivialAxes);
                order.addAll(freeAxes);
                int[] perm = order.stream().mapToInt(Integer::intValue).toArray();
                long[] permutedShape = new long[rank];
                long r = 1;
                for (int i = 0; i < rank; i++) {
                    int a = perm[i];
                    permutedShape[i] = trivialAxes.contains(a) ? 1 : leaf.size(a);
                    if (rowAxes.contains(a)) {
                        r *= leaf.size(a);
                    }
                }
                long copies = freeAxes.isEmpty() ? 1 : leaf.size(freeAxes.get(0));
                if (copies != c.copies() || rows >= 0 && rows != r) {
                    return null;
                }
                rows = r;
                int[] sizes = new int[rank];
                boolean[] permAxis = new boolean[rank];
                for (int a = 0; a < rank; a++) {
                    sizes[a] = groupOf[a] < 0 ? 0 : spec.groups().get(groupOf[a]).size();
                    permAxis[a] = groupOf[a] >= 0 && spec.groups().get(groupOf[a]).type() == GroupType.PERM;
                }
                parts.add(new Part(leaf, c.copyOffset(), c.copies(), groupOf, pieceOf, permAxis, perm, permutedShape, sizes));
            }
            if (rows != layout.representationSize()) {
                return null;
            }
            INDArray block = operator.block(k).reshape(layout.copies(), layout.copies()).dup('c');
            plans.add(new KindPlan(block, rows, layout.copies(), parts));
        }
        return new FastProduct(spec.parameterCount(), plans);
    }

    /**
     * @param x {@code [P]}, the operator's data type; not modified
     * @return {@code S x}, a new {@code [P]} vector of {@code x}'s type
     */
    INDArray multiply(INDArray x) {
        INDArray out = Nd4j.zeros(x.dataType(), parameterCount);
        for (KindPlan plan : plans) {
            INDArray z = Nd4j.zeros(x.dataType(), plan.rows(), plan.copies());
            for (Part p : plan.parts()) {
                z.get(NDArrayIndex.all(), NDArrayIndex.interval(p.copyOffset(), p.copyOffset() + p.copies())).assign(gather(x, p, plan.rows()));
            }
            INDArray y = z.mmul(plan.block().castTo(x.dataType()));
            for (Part p : plan.parts()) {
                scatter(y.get(NDArrayIndex.all(), NDArrayIndex.interval(p.copyOffset(), p.copyOffset() + p.copies())), p, out);
            }
        }
        return out;
    }

    private static INDArray gather(INDArray x, Part p, long rows) {
        LeafSpec leaf = p.leaf();
        INDArray t = x.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())).dup(leaf.order() == 'f' ? 'f' : 'c')
                .reshape(leaf.order(), leaf.shape());
        for (int a = 0; a < leaf.rank(); a++) {
            if (p.groupOfAxis()[a] < 0) {
                continue;
            }
            if (p.pieceOfAxis()[a] == Piece.TRIVIAL) {
                t = t.sum(true, a).muli(1.0 / Math.sqrt(p.groupSizes()[a]));
            } else if (isCentred(p, a)) {
                t = t.sub(t.mean(true, a));
            }
        }
        if (leaf.rank() == 2) {
            t = t.permute(p.permutation());
        }
        return t.dup('c').reshape('c', new long[] {rows, p.copies()});
    }

    /**
     * Adds the adjoint of {@link #gather} applied to {@code y} into {@code out}. The adjoint of the centring is the centring,
     * and it is left out: {@code y = Z B} is a combination of {@code Z}'s columns, which {@link #gather} centred already, so
     * {@code y}'s columns are centred along the same axes. The trivial piece's adjoint is a broadcast along its axis times
     * {@code 1/√n}, added straight into the leaf's place in {@code out}.
     */
    private static void scatter(INDArray y, Part p, INDArray out) {
        LeafSpec leaf = p.leaf();
        INDArray target = out.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())).reshape(leaf.order(), leaf.shape());
        INDArray t = y.dup('c').reshape('c', p.permutedShape());
        if (leaf.rank() == 2) {
            int[] inverse = new int[2];
            for (int i = 0; i < 2; i++) {
                inverse[p.permutation()[i]] = i;
            }
            t = t.permute(inverse);
        }
        double scale = 1.0;
        int broadcastAxis = -1;
        for (int a = 0; a < leaf.rank(); a++) {
            if (p.groupOfAxis()[a] >= 0 && p.pieceOfAxis()[a] == Piece.TRIVIAL) {
                scale /= Math.sqrt(p.groupSizes()[a]);
                broadcastAxis = broadcastAxis < 0 ? a : -2;
            }
        }
        if (scale != 1.0) {
            t = t.mul(scale);
        }
        if (broadcastAxis == -1) {
            target.addi(t);
        } else if (leaf.rank() == 1 || broadcastAxis == -2) {
            target.addi(t.getDouble(0)); // every axis trivial: one number, the same for every entry
        } else if (broadcastAxis == 1) {
            target.addiColumnVector(t.reshape(t.length(), 1));
        } else {
            target.addiRowVector(t.reshape(1, t.length()));
        }
    }

    /** Whether axis {@code a} is a {@code PERM} axis in its standard piece (centred both ways). */
    private static boolean isCentred(Part p, int a) {
        return p.pieceOfAxis()[a] == Piece.STANDARD && p.permAxis()[a];
    }
}
