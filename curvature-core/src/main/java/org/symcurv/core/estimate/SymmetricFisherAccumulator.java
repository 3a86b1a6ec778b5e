package org.symcurv.core.estimate;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.operator.BlockBudget;
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
 * The symmetry-averaged Fisher {@code F = (1/N) Σ_i R2(g_i, g_i)} of per-example gradients (symmetry-curvature.md
 * section 5.2), accumulated batch by batch from {@link FactoredGradients} without materialising any {@code g_i}.
 *
 * <p>For a leaf whose per-example gradient is {@code ⊗_axis u_axis}, its copy matrix in kind {@code κ} is rank one,
 * {@code Z_{κ,L}(g_i) = s_i χ_{i,f} r_i c_iᵀ}: {@code r_i} the projected factors on the kind's standard pieces,
 * {@code s_i = Π Σ_j u_j/√n} over the leaf's {@code PERM} axes in the trivial piece, {@code χ_{i,f}} the {@code SIGN}
 * characters, and {@code c_i} the Kronecker product of the factors on free axes (the copies). Hence the block between
 * leaves {@code L, L'} is one weighted product {@code C_Lᵀ diag(w_f) C_{L'}} with
 * {@code w_{i,f} = s_i s'_i χ_{i,f} χ'_{i,f} Π_γ ⟨r_{iγ}, r'_{iγ}⟩}: for a {@code PERM} hidden layer,
 * {@code ‖P_c δ_i‖² a_i a_iᵀ}, a K-FAC-like input covariance whose output factor collapsed to one scalar per example.
 *
 * <p>Mutable accumulator; not thread-safe. Whether labels were sampled from the model (Monte Carlo Fisher) or
 * taken from the data (empirical Fisher) is the caller's choice when it computes the factors.
 */
public final class SymmetricFisherAccumulator {
    private final KindDecomposition kinds;
    private final BlockBudget budget;
    private final DataType dataType;
    /**
     * Per kind, per pair of contributing leaves {@code x ≤ y}: the running sum {@code Σ_i C_xᵀ diag(w_i) C_y} as its own
     * contiguous {@code [F, c_x, c_y]} array (or {@code [F, c_x]} diagonals, {@code x = y} only, for diagonal-only
     * blocks). Adding into a sub-block view of one big array was 25× slower in ND4J than into a contiguous array;
     * the blocks are assembled once, in {@link #estimate()}.
     */
    private final List<INDArray[][]> pairSums = new ArrayList<>();
    private final boolean[] dense;
    private long count;

    /**
     * @param budget   largest dense block; larger ones keep their diagonal or fail (at construction)
     * @param dataType the accumulators' type ({@code DOUBLE} for oracles, {@code FLOAT} for speed)
     */
    public SymmetricFisherAccumulator(KindDecomposition kinds, BlockBudget budget, DataType dataType) {
        this.kinds = kinds;
        this.budget = budget;
        this.dataType = dataType;
        this.dense = new boolean[kinds.kinds().size()];
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            dense[k] = budget.dense(layout.copies(), kinds.describe(k), layout.leafNames());
            int leaves = layout.contributions().size();
            INDArray[][] pairs = new INDArray[leaves][leaves];
            for (int x = 0; x < leaves; x++) {
                long cx = layout.contributions().get(x).copies();
                for (int y = x; y < (dense[k] ? leaves : x + 1); y++) {
                    long cy = layout.contributions().get(y).copies();
                    pairs[x][y] = dense[k] ? Nd4j.zeros(dataType, layout.familySize(), cx, cy)
                            : Nd4j.zeros(dataType, layout.familySize(), cx);
                }
            }
            pairSums.add(pairs);
        }
    }

    /** Number of examples accumulated so far. */
    public long count() {
        return count;
    }

    /**
     * Adds {@code Σ_i R2(g_i, g_i)} of one batch.
     *
     * @param batch per-example gradient factors in this estimator's layout; not modified
     * @throws IllegalArgumentException if the batch uses another layout
     * @throws ArithmeticException if a factor holds NaN or infinity (the Fisher would be poisoned)
     */
    public void add(FactoredGradients batch) {
        if (!batch.spec().leaves().equals(kinds.spec().leaves())) {
            throw new IllegalArgumentException("gradient factors follow another parameter layout than this estimator's");
        }
        for (int l = 0; l < batch.factors().size(); l++) {
            for (INDArray f : batch.leafFactors(l)) {
                if (!org.symcurv.core.Finite.all(f)) {
                    throw new ArithmeticException("per-example gradient factor of leaf '" + kinds.spec().leaves().get(l).name()
                            + "' contains NaN or infinity; check the model and data (a diverged model cannot give a Fisher)");
                }
            }
        }
        SymmetrySpec spec = kinds.spec();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            List<LeafTerms> terms = new ArrayList<>();
            for (Contribution c : layout.contributions()) {
                terms.add(leafTerms(spec, layout, c, batch));
            }
            INDArray[][] pairs = pairSums.get(k);
            for (int x = 0; x < terms.size(); x++) {
                for (int y = x; y < (dense[k] ? terms.size() : x + 1); y++) {
                    LeafTerms a = terms.get(x);
                    LeafTerms b = terms.get(y);
                    INDArray w = a.scale.mul(b.scale); // [N, F]
                    for (int g = 0; g < a.representations.size(); g++) {
                        w.muliColumnVector(a.representations.get(g).mul(b.representations.get(g)).sum(1).reshape(batch.count(), 1));
                    }
                    if (dense[k]) {
                        pairs[x][y].addi(weightedGram(a.copies, b.copies, w)); // [F, c_x, c_y]
                    } else {
                        // diagonal only: Σ_i w_{i,f} C[i,a]²  →  [F, c]
                        pairs[x][y].addi(w.transpose().mmul(a.copies.mul(a.copies)));
                    }
                }
            }
        }
        count += batch.count();
    }

    /** {@code C_aᵀ diag(w_f) C_b} for every family member {@code f}: {@code [F, c_a, c_b]}. */
    private static INDArray weightedGram(INDArray ca, INDArray cb, INDArray w) {
        long n = w.size(0);
        long family = w.size(1);
        if (family == 1) {
            INDArray g = ca.transpose().mmul(cb.mulColumnVector(w.reshape(n, 1)));
            return g.reshape(1, g.size(0), g.size(1));
        }
        INDArray weighted = Nd4j.create(cb.dataType(), family, n, cb.size(1));
        for (long f = 0; f < family; f++) {
            weighted.slice(f).assign(cb.mulColumnVector(w.getColumn(f).reshape(n, 1)));
        }
        INDArray caT = ca.transpose();
        INDArray out = Nd4j.create(cb.dataType(), family, ca.size(1), cb.size(1));
        for (long f = 0; f < family; f++) {
            out.slice(f).assign(caT.mmul(weighted.slice(f)));
        }
        return out;
    }

    /** The leaf's rank-one pieces in one kind, for all examples of a batch. */
    private record LeafTerms(INDArray scale, List<INDArray> representations, INDArray copies) {
    }

    private LeafTerms leafTerms(SymmetrySpec spec, KindLayout layout, Contribution c, FactoredGradients batch) {
        LeafSpec leaf = c.leaf();
        int leafIndex = spec.leaves().indexOf(leaf);
        List<INDArray> factors = batch.leafFactors(leafIndex);
        long n = batch.count();
        INDArray scale = Nd4j.ones(dataType, n, 1);
        // standard pieces in group order, so that rows of r line up between leaves
        INDArray[] representationByGroup = new INDArray[spec.groups().size()];
        List<Integer> characterGroups = new ArrayList<>();
        INDArray[] characterByGroup = new INDArray[spec.groups().size()];
        INDArray copies = null;
        for (int a = 0; a < leaf.rank(); a++) {
            INDArray u = factors.get(a).castTo(dataType);
            if (leaf.label(a).isFree()) {
                copies = copies == null ? u : rowKronecker(copies, u);
                continue;
            }
            int g = spec.groupIndex(leaf.label(a).group());
            Group group = spec.groups().get(g);
            Piece piece = layout.kind().piece(g);
            switch (piece) {
                case TRIVIAL -> scale.muli(u.sum(true, 1).muli(1.0 / Math.sqrt(group.size())));
                case STANDARD -> representationByGroup[g] = group.type() == GroupType.PERM
                        ? u.subColumnVector(u.mean(true, 1)) : u;
                case CHARACTER -> {
                    characterGroups.add(g);
                    characterByGroup[g] = u;
                }
            }
        }
        if (copies == null) {
            copies = Nd4j.ones(dataType, n, 1);
        }
        INDArray character = Nd4j.ones(dataType, n, 1);
        characterGroups.sort(Integer::compare);
        for (int g : characterGroups) {
            character = rowKronecker(character, characterByGroup[g]);
        }
        List<INDArray> representations = new ArrayList<>();
        for (INDArray r : representationByGroup) {
            if (r != null) {
                representations.add(r);
            }
        }
        return new LeafTerms(character.mulColumnVector(scale), representations, copies);
    }

    /** Row-wise Kronecker product: row {@code i} of the result is {@code x_i ⊗ y_i} (row-major). */
    public static INDArray rowKronecker(INDArray x, INDArray y) {
        long n = x.size(0);
        long p = x.size(1);
        long q = y.size(1);
        if (p == 1) {
            return y.mulColumnVector(x);
        }
        INDArray out = Nd4j.zeros(x.dataType(), n, p, q).addi(x.reshape(n, p, 1)).muli(y.reshape(n, 1, q));
        return out.reshape(n, p * q);
    }

    /**
     * The estimate {@code F = (1/N) Σ_i R2(g_i, g_i)}: {@code B_κ = Σ_i Z_κ(g_i)ᵀ Z_κ(g_i) / (N d_κ)}.
     *
     * @throws IllegalStateException before any example was added
     */
    public Curvature estimate() {
        if (count == 0) {
            throw new IllegalStateException("no examples accumulated: add at least one batch before estimating the Fisher");
        }
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < pairSums.size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            INDArray[][] pairs = pairSums.get(k);
            INDArray block = dense[k] ? Nd4j.create(dataType, layout.familySize(), layout.copies(), layout.copies())
                    : Nd4j.create(dataType, layout.familySize(), layout.copies());
            List<Contribution> cs = layout.contributions();
            for (int x = 0; x < cs.size(); x++) {
                var rowsX = NDArrayIndex.interval(cs.get(x).copyOffset(), cs.get(x).copyOffset() + cs.get(x).copies());
                if (!dense[k]) {
                    block.get(NDArrayIndex.all(), rowsX).assign(pairs[x][x]);
                    continue;
                }
                for (int y = x; y < cs.size(); y++) {
                    var colsY = NDArrayIndex.interval(cs.get(y).copyOffset(), cs.get(y).copyOffset() + cs.get(y).copies());
                    block.get(NDArrayIndex.all(), rowsX, colsY).assign(pairs[x][y]);
                    if (x != y) {
                        block.get(NDArrayIndex.all(), colsY, rowsX).assign(pairs[x][y].permute(0, 2, 1));
                    }
                }
            }
            blocks.add(block.divi((double) count * layout.dimension()));
        }
        return Curvature.of(kinds, blocks);
    }
}
