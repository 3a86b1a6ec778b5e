package org.symcurv.uncertainty;

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
import org.symcurv.core.model.OutputJacobian;
import org.symcurv.core.model.JacobianFactors;

/**
 * The covariance of the linearised network outputs, {@code V(x) = J(x) Σ J(x)ᵀ} ({@code C × C} per example), for a
 * structured {@code Σ = ⊕_κ I_{d_κ} ⊗ B_κ} and the factored Jacobian of {@link OutputJacobian}, without forming a
 * Jacobian row or {@code Σ J} in parameter space.
 *
 * <p>Each Jacobian row {@code g_c = ∂z_{L,c}/∂θ} is, leaf by leaf, a rank-one tensor {@code a ⊗ δ_c}. Its copy matrix in a
 * kind without {@code SIGN} characters is therefore {@code Z_κ(g_c) = Σ_x s_{x,c} (⊗_γ r_{x,c,γ}) c_{x,c}ᵀ} over the
 * kind's leaves {@code x} ({@code s}: products of unit sums over the leaf's trivial {@code PERM} axes, divided by
 * {@code √n}; {@code r}: the factors on the kind's standard pieces, centred for {@code PERM}; {@code c}: the Kronecker
 * product of the factors on free axes, i.e. the copies), as in the Fisher estimator. Hence
 * <pre>
 *   g_cᵀ Σ g_c' = Σ_κ Σ_{x,y} s_{x,c} s_{y,c'} Π_γ ⟨r_{x,c,γ}, r_{y,c',γ}⟩ · c_{x,c}ᵀ B_κ[x, y] c_{y,c'}
 * </pre>
 * at a cost of {@code m_κ²} per example and leaf pair (the copies of a hidden weight are the layer input, shared by all
 * {@code C} outputs, so {@code c B} is formed once per example, not per output). Two other routes:
 * <ul>
 *   <li>{@code Σ} diagonal in parameter coordinates (only {@code SIGN} groups and diagonal or {@code 1 × 1} blocks, e.g.
 *       the diagonal Laplace): {@code V = Σ_l Δ_l diag((a² ) Σ_{W_l} + σ_{b_l}) Δ_lᵀ}, exact and cheap;</li>
 *   <li>a kind with {@code SIGN} characters otherwise: the Jacobian rows are formed for that batch and the kind is
 *       applied through its copy matrices (exact, memory {@code n C P}).</li>
 * </ul>
 */
public final class LinearizedCovariance {
    private LinearizedCovariance() {
    }

    /**
     * {@code J Σ Jᵀ} for every example of the batch.
     *
     * @param sigma    {@code Σ} on some leaves {@code "l_W"}, {@code "l_b"} of the network
     * @param jacobian the batch's Jacobian factors, covering every layer {@code sigma} has leaves in
     * @return {@code [n, C, C]}, float64, symmetric per example
     */
    public static INDArray of(Curvature sigma, JacobianFactors jacobian) {
        SymmetrySpec spec = sigma.spec();
        long n = jacobian.examples();
        int c = jacobian.outputCount();
        INDArray v = Nd4j.zeros(DataType.DOUBLE, n, c, c);
        if (isParameterDiagonal(sigma)) {
            addParameterDiagonal(sigma, jacobian, v);
            return v;
        }
        KindDecomposition kinds = sigma.decomposition();
        INDArray rows = null;
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            if (layout.familySize() == 1) {
                addFactoredKind(spec, layout, sigma.block(k).castTo(DataType.DOUBLE), jacobian, v);
            } else {
                if (rows == null) {
                    rows = jacobianRows(spec, jacobian);
                }
                addMaterialisedKind(kinds, k, sigma.block(k).castTo(DataType.DOUBLE), rows, n, c, v);
            }
        }
        return v;
    }

    /** Only {@code SIGN} groups, and every block diagonal-only or {@code 1 × 1}: then each copy is one parameter. */
    static boolean isParameterDiagonal(Curvature sigma) {
        for (Group g : sigma.spec().groups()) {
            if (g.type() != GroupType.SIGN) {
                return false;
            }
        }
        for (int k = 0; k < sigma.decomposition().kinds().size(); k++) {
            if (!sigma.isDiagonalBlock(k) && sigma.block(k).size(1) != 1) {
                return false;
            }
        }
        return true;
    }

    private static void addParameterDiagonal(Curvature sigma, JacobianFactors jacobian, INDArray v) {
        INDArray diagonal = sigma.diagonal().castTo(DataType.DOUBLE);
        long n = jacobian.examples();
        for (LeafSpec leaf : sigma.spec().leaves()) {
            JacobianFactors.Leaf parsed = JacobianFactors.Leaf.parse(leaf);
            INDArray s = KindDecomposition.leafTensor(diagonal, leaf).dup('c');
            INDArray delta = jacobian.error(parsed.layer()); // [n, C, nOut]
            INDArray u;
            if (parsed.weight()) {
                INDArray a = jacobian.input(parsed.layer());
                u = a.mul(a).mmul(s); // [n, nOut]
            } else {
                u = Nd4j.zeros(DataType.DOUBLE, n, s.length()).addiRowVector(s.reshape(1, s.length()));
            }
            INDArray scaled = delta.mul(u.reshape('c', new long[] {n, 1, u.size(1)}).broadcast(delta.shape()));
            v.addi(Nd4j.matmul(scaled, delta.permute(0, 2, 1).dup('c')));
        }
    }

    /** A leaf's rank-one pieces in one kind: {@code scale [n, C, 1]}, {@code representations [n, C, n_γ]}, copies {@code [n, K, m_x]} ({@code K} 1 or C). */
    private record Terms(INDArray scale, List<INDArray> representations, INDArray copies) {
    }

    private static void addFactoredKind(SymmetrySpec spec, KindLayout layout, INDArray block, JacobianFactors jacobian, INDArray v) {
        long n = jacobian.examples();
        int c = jacobian.outputCount();
        List<Terms> terms = new ArrayList<>();
        for (Contribution contribution : layout.contributions()) {
            terms.add(terms(spec, layout, contribution, jacobian));
        }
        boolean diagonal = block.rank() == 2;
        INDArray b = diagonal ? block.getRow(0) : block.slice(0);
        List<Contribution> cs = layout.contributions();
        for (int x = 0; x < cs.size(); x++) {
            for (int y = x; y < (diagonal ? x + 1 : cs.size()); y++) {
                Terms tx = terms.get(x);
                Terms ty = terms.get(y);
                var rowsX = NDArrayIndex.interval(cs.get(x).copyOffset(), cs.get(x).copyOffset() + cs.get(x).copies());
                var colsY = NDArrayIndex.interval(cs.get(y).copyOffset(), cs.get(y).copyOffset() + cs.get(y).copies());
                long kx = tx.copies.size(1);
                long cx = tx.copies.size(2);
                INDArray g; // c_x B_xy: [n, Kx, c_y]
                if (diagonal) {
                    g = tx.copies.mul(b.get(rowsX).reshape(1, 1, cx).broadcast(tx.copies.shape()));
                } else {
                    INDArray bxy = b.get(rowsX, colsY);
                    g = tx.copies.reshape('c', new long[] {n * kx, cx}).mmul(bxy).reshape('c', new long[] {n, kx, bxy.size(1)});
                }
                INDArray m = Nd4j.matmul(g, ty.copies.permute(0, 2, 1).dup('c')); // [n, Kx, Ky]
                if (m.size(1) != c || m.size(2) != c) {
                    m = m.broadcast(n, c, c);
                }
                INDArray w = Nd4j.matmul(tx.scale, ty.scale.permute(0, 2, 1).dup('c')); // [n, C, C]
                for (int r = 0; r < tx.representations.size(); r++) {
                    w.muli(Nd4j.matmul(tx.representations.get(r), ty.representations.get(r).permute(0, 2, 1).dup('c')));
                }
                INDArray term = w.muli(m);
                v.addi(term);
                if (x != y) {
                    v.addi(term.permute(0, 2, 1));
                }
            }
        }
    }

    private static Terms terms(SymmetrySpec spec, KindLayout layout, Contribution contribution, JacobianFactors jacobian) {
        LeafSpec leaf = contribution.leaf();
        JacobianFactors.Leaf parsed = JacobianFactors.Leaf.parse(leaf);
        long n = jacobian.examples();
        int c = jacobian.outputCount();
        List<INDArray> axisFactors = new ArrayList<>();
        if (parsed.weight()) {
            INDArray a = jacobian.input(parsed.layer());
            axisFactors.add(a.reshape('c', new long[] {n, 1, a.size(1)}));
        }
        axisFactors.add(jacobian.error(parsed.layer()));
        INDArray scale = Nd4j.ones(DataType.DOUBLE, n, c, 1);
        INDArray[] representationByGroup = new INDArray[spec.groups().size()];
        INDArray copies = null;
        for (int axis = 0; axis < leaf.rank(); axis++) {
            INDArray u = axisFactors.get(axis); // [n, K, size]
            if (leaf.label(axis).isFree()) {
                copies = copies == null ? u : rowKronecker(copies, u);
                continue;
            }
            int g = spec.groupIndex(leaf.label(axis).group());
            Group group = spec.groups().get(g);
            Piece piece = layout.kind().piece(g);
            switch (piece) {
                case TRIVIAL -> scale.muli(u.sum(true, 2).muli(1.0 / Math.sqrt(group.size())).broadcast(n, c, 1));
                case STANDARD -> {
                    INDArray r = group.type() == GroupType.PERM ? u.sub(u.mean(true, 2).broadcast(u.shape())) : u.dup();
                    representationByGroup[g] = r.size(1) == c ? r : r.broadcast(n, c, r.size(2));
                }
                case CHARACTER -> throw new IllegalStateException("kind " + layout.kind() + " has SIGN characters: not a factored kind");
            }
        }
        if (copies == null) {
            copies = Nd4j.ones(DataType.DOUBLE, n, 1, 1);
        }
        List<INDArray> representations = new ArrayList<>();
        for (INDArray r : representationByGroup) {
            if (r != null) {
                representations.add(r);
            }
        }
        return new Terms(scale, representations, copies);
    }

    /** Per example and output, {@code x ⊗ y} (row-major): {@code [n, Kx, p]} and {@code [n, Ky, q]} give {@code [n, K, p q]}. */
    private static INDArray rowKronecker(INDArray x, INDArray y) {
        long n = x.size(0);
        long k = Math.max(x.size(1), y.size(1));
        INDArray xs = x.size(1) == k ? x : x.broadcast(n, k, x.size(2));
        INDArray ys = y.size(1) == k ? y : y.broadcast(n, k, y.size(2));
        INDArray outer = Nd4j.matmul(xs.reshape('c', new long[] {n * k, x.size(2), 1}), ys.reshape('c', new long[] {n * k, 1, y.size(2)}));
        return outer.reshape('c', new long[] {n, k, x.size(2) * y.size(2)});
    }

    /** The Jacobian rows {@code [n·C, P]} (row {@code e·C + c}) in {@code spec}'s layout. */
    static INDArray jacobianRows(SymmetrySpec spec, JacobianFactors jacobian) {
        long n = jacobian.examples();
        int c = jacobian.outputCount();
        INDArray rows = Nd4j.zeros(DataType.DOUBLE, n * c, spec.parameterCount());
        for (LeafSpec leaf : spec.leaves()) {
            JacobianFactors.Leaf parsed = JacobianFactors.Leaf.parse(leaf);
            INDArray delta = jacobian.error(parsed.layer()).reshape('c', new long[] {n * c, leaf.size(leaf.rank() - 1)});
            INDArray flat;
            if (parsed.weight()) {
                INDArray a = jacobian.input(parsed.layer());
                long in = a.size(1);
                long out = delta.size(1);
                INDArray aRows = Nd4j.zeros(DataType.DOUBLE, n, c, in).addi(a.reshape('c', new long[] {n, 1, in})).reshape('c', new long[] {n * c, in});
                INDArray outer = Nd4j.matmul(aRows.reshape('c', new long[] {n * c, in, 1}), delta.reshape('c', new long[] {n * c, 1, out}));
                // flatten each [in, out] tensor in the leaf's order
                flat = leaf.order() == 'f' ? outer.permute(0, 2, 1).dup('c').reshape('c', new long[] {n * c, in * out})
                        : outer.reshape('c', new long[] {n * c, in * out});
            } else {
                flat = delta;
            }
            rows.get(NDArrayIndex.all(), NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())).assign(flat);
        }
        return rows;
    }

    private static void addMaterialisedKind(KindDecomposition kinds, int k, INDArray block, INDArray rows, long n, int c, INDArray v) {
        INDArray z = kinds.copyMatrices(k, rows); // [F, n·C·D, m]
        INDArray y = block.rank() == 2
                ? z.mul(block.reshape(new long[] {block.size(0), 1, block.size(1)}).broadcast(z.shape()))
                : Nd4j.matmul(z, block);
        long f = z.size(0);
        long d = z.size(1) / (n * c);
        long m = z.size(2);
        // ⟨Z_i, Y_j⟩ summed over family, representation and copies, for the rows i, j of one example
        INDArray zs = z.reshape('c', new long[] {f, n, c, d * m}).permute(1, 2, 0, 3).dup('c').reshape('c', new long[] {n, c, f * d * m});
        INDArray ys = y.reshape('c', new long[] {f, n, c, d * m}).permute(1, 0, 3, 2).dup('c').reshape('c', new long[] {n, f * d * m, c});
        v.addi(Nd4j.matmul(zs, ys));
    }
}
