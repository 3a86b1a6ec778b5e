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
 * <p>A leaf whose gradient factors only over runs of axes ({@link FactoredGradients}: the flattened dense weight
 * {@code A_i ⊗ δ_i}, a convolution's kernel as one factor) is handled kind by kind. Where each of its factors keeps at most
 * one axis after the kind's projections (a trivial {@code PERM} axis is summed away: {@code A_i} of {@code [H·W, C, nOut]}
 * in a kind trivial on the channels is the vector {@code Σ_c A_i[·, c]/√C}), it is rank one there like any other leaf.
 * Otherwise, alone in its kind, its copy matrix is {@code Z_i = T_i ⊗ (rank-one rest)} with {@code T_i} the one projected
 * factor over several axes, and the block is {@code Σ_i w_i T_iᵀ T_i} with {@code w_i} the squared norms of the rest (for the
 * flattened dense weight in a kind standard on channels and units, {@code T_i} is the centred {@code [C, H·W]} activation
 * and {@code w_i = ‖P_c δ_i‖²}): one batched product, nothing of size {@code C·H·W·nOut} per example. Sharing a kind with
 * other leaves (a convolution's kernel and bias, the flattened weight with its units trivial), every contribution's copy
 * matrix is written out from its projected factors ({@link KindDecomposition#projectFactor},
 * {@link KindDecomposition#copyMatricesOfProjected}), which in these kinds is at most the size of the layer's input
 * activation per example, and the block is {@code Zᵀ Z}, again one product per batch.
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
    /**
     * Per kind, the running sum of the whole block {@code Σ_i Z_κ(g_i)ᵀ Z_κ(g_i)} ({@code [F, m, m]}, or {@code [F, m]}
     * diagonals) from batches in which a contribution to the kind is not rank one; {@code null} until one is added.
     */
    private final INDArray[] wholeSums;
    private final long perExampleGramElements;
    private long count;

    /**
     * @param budget   largest dense block; larger ones keep their diagonal or fail (at construction)
     * @param dataType the accumulators' type ({@code DOUBLE} for oracles, {@code FLOAT} for speed)
     */
    public SymmetricFisherAccumulator(KindDecomposition kinds, BlockBudget budget, DataType dataType) {
        this(kinds, budget, dataType, PER_EXAMPLE_GRAM_ELEMENTS);
    }

    /** With another threshold of {@link #weightedGram}'s one-product path (0: always one product per family member), for tests. */
    SymmetricFisherAccumulator(KindDecomposition kinds, BlockBudget budget, DataType dataType, long perExampleGramElements) {
        this.perExampleGramElements = perExampleGramElements;
        this.kinds = kinds;
        this.budget = budget;
        this.dataType = dataType;
        this.dense = new boolean[kinds.kinds().size()];
        this.wholeSums = new INDArray[kinds.kinds().size()];
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
            boolean rankOne = true;
            for (Contribution c : layout.contributions()) {
                rankOne &= rankOneIn(layout, c.leaf(), batch.leafFactors(spec.leaves().indexOf(c.leaf())));
            }
            if (!rankOne) {
                addWhole(k, layout, batch);
                continue;
            }
            List<LeafTerms> terms = new ArrayList<>();
            for (Contribution c : layout.contributions()) {
                terms.add(leafTerms(k, spec, layout, c, batch));
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

    /**
     * Largest {@code N·c_a·c_b} for which {@link #weightedGram} of a family writes out the per-example outer products and
     * weights them with one product instead of one product per family member (16 MB in float32).
     */
    static final long PER_EXAMPLE_GRAM_ELEMENTS = 1L << 22;

    /** {@code C_aᵀ diag(w_f) C_b} for every family member {@code f}: {@code [F, c_a, c_b]}. */
    private INDArray weightedGram(INDArray ca, INDArray cb, INDArray w) {
        long n = w.size(0);
        long family = w.size(1);
        if (family == 1) {
            INDArray g = ca.transpose().mmul(cb.mulColumnVector(w.reshape(n, 1)));
            return g.reshape(1, g.size(0), g.size(1));
        }
        if (n * ca.size(1) * cb.size(1) <= perExampleGramElements) {
            // Σ_i w_{i,f} (C_a[i] ⊗ C_b[i]) = Wᵀ G with G the per-example outer products [N, c_a·c_b]: one product for all f
            INDArray g = rowKronecker(ca, cb);
            return w.transpose().mmul(g).reshape('c', family, ca.size(1), cb.size(1));
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

    private LeafTerms leafTerms(int kindIndex, SymmetrySpec spec, KindLayout layout, Contribution c, FactoredGradients batch) {
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
        int first = 0;
        for (INDArray factor : factors) {
            int run = factor.rank() - 1;
            int a = first;
            INDArray u;
            boolean projected = run > 1;
            if (!projected) {
                u = factor.castTo(dataType);
            } else {
                // a factor over several axes that keeps at most one of them in this kind: project it, keep that axis
                INDArray q = kinds.projectFactor(kindIndex, leaf, first, factor.castTo(dataType));
                a = -1;
                for (int b = first; b < first + run; b++) {
                    if (!trivial(layout, leaf, b)) {
                        a = b;
                    }
                }
                u = q.dup('c').reshape('c', n, a < 0 ? 1 : leaf.size(a));
            }
            first += run;
            if (a < 0) {
                scale.muli(u);
                continue;
            }
            if (leaf.label(a).isFree()) {
                copies = copies == null ? u : rowKronecker(copies, u);
                continue;
            }
            int g = spec.groupIndex(leaf.label(a).group());
            Group group = spec.groups().get(g);
            Piece piece = layout.kind().piece(g);
            switch (piece) {
                case TRIVIAL -> scale.muli(u.sum(true, 1).muli(1.0 / Math.sqrt(group.size())));
                case STANDARD -> representationByGroup[g] = group.type() == GroupType.PERM && !projected
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

    /** Whether leaf axis {@code a} is summed away in the kind (the trivial piece of a {@code PERM} group). */
    private boolean trivial(KindLayout layout, LeafSpec leaf, int a) {
        return !leaf.label(a).isFree() && layout.kind().piece(kinds.spec().groupIndex(leaf.label(a).group())) == Piece.TRIVIAL;
    }

    /** Axes of factor run {@code [first, first + run)} that the kind keeps (not summed away). */
    private List<Integer> kept(KindLayout layout, LeafSpec leaf, int first, int run) {
        List<Integer> axes = new ArrayList<>();
        for (int a = first; a < first + run; a++) {
            if (!trivial(layout, leaf, a)) {
                axes.add(a);
            }
        }
        return axes;
    }

    /** Whether every factor of the leaf keeps at most one axis in the kind, so that its copy matrix there is rank one. */
    private boolean rankOneIn(KindLayout layout, LeafSpec leaf, List<INDArray> factors) {
        int first = 0;
        for (INDArray f : factors) {
            int run = f.rank() - 1;
            if (run > 1 && kept(layout, leaf, first, run).size() > 1) {
                return false;
            }
            first += run;
        }
        return true;
    }

    /**
     * Adds one batch's {@code Σ_i Z_κ(g_i)ᵀ Z_κ(g_i)} for a kind with a contribution that is not rank one: the structured
     * product when that leaf is alone in the kind and its rank-one factors carry no copies ({@link #addAlone}), else the
     * written-out copy matrices of every contribution.
     */
    private void addWhole(int k, KindLayout layout, FactoredGradients batch) {
        SymmetrySpec spec = kinds.spec();
        long n = batch.count();
        List<List<INDArray>> projected = new ArrayList<>();
        for (Contribution c : layout.contributions()) {
            List<INDArray> factors = batch.leafFactors(spec.leaves().indexOf(c.leaf()));
            List<INDArray> q = new ArrayList<>();
            int first = 0;
            for (INDArray f : factors) {
                q.add(kinds.projectFactor(k, c.leaf(), first, f.castTo(dataType)));
                first += f.rank() - 1;
            }
            projected.add(q);
        }
        INDArray sum = layout.contributions().size() == 1 ? alone(k, layout, layout.contributions().get(0).leaf(), projected.get(0), n) : null;
        if (sum == null) {
            INDArray z = Nd4j.create(dataType, layout.familySize(), n * layout.representationSize(), layout.copies());
            for (int x = 0; x < layout.contributions().size(); x++) {
                Contribution c = layout.contributions().get(x);
                z.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(c.copyOffset(), c.copyOffset() + c.copies()))
                        .assign(kinds.copyMatricesOfProjected(k, x, multiplyOut(c.leaf(), projected.get(x), n, layout)));
            }
            sum = dense[k] ? Nd4j.matmul(z, z, true, false, false) : z.mul(z).sum(1);
        }
        wholeSums[k] = wholeSums[k] == null ? sum : wholeSums[k].addi(sum);
    }

    /** The projected factors multiplied out into the projected leaf tensors {@code [n, shape…]} (trivial axes of size 1). */
    private INDArray multiplyOut(LeafSpec leaf, List<INDArray> projected, long n, KindLayout layout) {
        INDArray t = null;
        for (INDArray q : projected) {
            INDArray flat = q.dup('c').reshape('c', n, q.length() / n);
            t = t == null ? flat : rowKronecker(t, flat);
        }
        long[] shape = new long[leaf.rank() + 1];
        shape[0] = n;
        for (int a = 0; a < leaf.rank(); a++) {
            shape[a + 1] = trivial(layout, leaf, a) ? 1 : leaf.size(a);
        }
        return t.reshape('c', shape);
    }

    /**
     * {@code Σ_i Z_κ(g_i)ᵀ Z_κ(g_i)} of a leaf alone in its kind whose gradient is {@code T_i ⊗ (rest)}: {@code T_i} the
     * one projected factor keeping several axes, the rest factors keeping at most one axis each, none of them free. With
     * {@code T_i} laid out as {@code [F_T, D_T, c]} (its family, representation and copy axes) and {@code w_{i,f}} the product
     * of the rest's squared norms (a trivial factor's square, a standard piece's {@code ‖r‖²}, a character's {@code u_f²}),
     * the block is {@code Σ_i w_{i,f_R} T_i[f_T]ᵀ T_i[f_T]}: for {@code F_R = 1} one batched product of the stacked
     * {@code T}s, else the per-example Grams of {@code T} weighted by one product {@code Wᵀ G}; family axes then put in group
     * order. {@code null} when the leaf does not have that form (then its copy matrix is written out).
     */
    private INDArray alone(int k, KindLayout layout, LeafSpec leaf, List<INDArray> projected, long n) {
        SymmetrySpec spec = kinds.spec();
        int big = -1;
        int first = 0;
        int[] firsts = new int[projected.size()];
        for (int p = 0; p < projected.size(); p++) {
            int run = projected.get(p).rank() - 1;
            firsts[p] = first;
            List<Integer> keep = kept(layout, leaf, first, run);
            if (keep.size() > 1) {
                if (big >= 0) {
                    return null;
                }
                big = p;
            } else if (keep.size() == 1 && leaf.label(keep.get(0)).isFree()) {
                return null;
            }
            first += run;
        }
        if (big < 0) {
            return null;
        }
        // the rest: weights [n, F_R] over their character groups, in order of appearance (null: all ones)
        INDArray w = null;
        List<Integer> restCharacters = new ArrayList<>();
        for (int p = 0; p < projected.size(); p++) {
            if (p == big) {
                continue;
            }
            INDArray q = projected.get(p);
            List<Integer> keep = kept(layout, leaf, firsts[p], q.rank() - 1);
            INDArray v = q.dup('c').reshape('c', n, q.length() / n);
            INDArray squared = v.mul(v);
            if (keep.isEmpty()) {
                w = w == null ? squared : w.muliColumnVector(squared);
            } else {
                int g = spec.groupIndex(leaf.label(keep.get(0)).group());
                if (layout.kind().piece(g) == Piece.CHARACTER) {
                    restCharacters.add(g);
                    w = w == null ? squared : rowKronecker(w, squared);
                } else {
                    INDArray norms = squared.sum(true, 1);
                    w = w == null ? norms : w.muliColumnVector(norms);
                }
            }
        }
        // T: [n, F_T, D_T, c] with its character axes in group order, standard (and size-1 trivial) axes, free axes in leaf order
        INDArray t = projected.get(big);
        int run = t.rank() - 1;
        List<Integer> characters = new ArrayList<>();
        List<Integer> representation = new ArrayList<>();
        List<Integer> free = new ArrayList<>();
        for (int a = firsts[big]; a < firsts[big] + run; a++) {
            if (leaf.label(a).isFree()) {
                free.add(a);
            } else if (layout.kind().piece(spec.groupIndex(leaf.label(a).group())) == Piece.CHARACTER) {
                characters.add(a);
            } else {
                representation.add(a);
            }
        }
        characters.sort(java.util.Comparator.comparingInt(a -> spec.groupIndex(leaf.label(a).group())));
        int[] perm = new int[run + 1];
        int i = 0;
        perm[i++] = 0;
        long familyT = 1;
        long representationT = 1;
        long copies = 1;
        List<Integer> tCharacterGroups = new ArrayList<>();
        for (int a : characters) {
            perm[i++] = a - firsts[big] + 1;
            familyT *= t.size(a - firsts[big] + 1);
            tCharacterGroups.add(spec.groupIndex(leaf.label(a).group()));
        }
        for (int a : representation) {
            perm[i++] = a - firsts[big] + 1;
            representationT *= t.size(a - firsts[big] + 1);
        }
        for (int a : free) {
            perm[i++] = a - firsts[big] + 1;
            copies *= t.size(a - firsts[big] + 1);
        }
        boolean identity = true;
        for (int j = 0; j < perm.length; j++) {
            identity &= perm[j] == j;
        }
        INDArray tt = (identity && t.ordering() == 'c' && !t.isView() ? t : t.permute(perm).dup('c')).reshape('c', n, familyT, representationT, copies);
        long familyR = w == null ? 1 : w.size(1);
        INDArray sum;
        if (familyR == 1) {
            // Σ_i w_i T_i[f]ᵀ T_i[f]: [F_T, n·D_T, c] stacked, one batched product
            INDArray stacked = familyT == 1 ? tt.reshape('c', 1, n * representationT, copies)
                    : tt.permute(1, 0, 2, 3).dup('c').reshape('c', familyT, n * representationT, copies);
            INDArray weighted = stacked;
            if (w != null) {
                INDArray scaled = tt.reshape('c', n, familyT * representationT * copies).mulColumnVector(w);
                weighted = familyT == 1 ? scaled.reshape('c', 1, n * representationT, copies)
                        : scaled.reshape('c', n, familyT, representationT, copies).permute(1, 0, 2, 3).dup('c')
                                .reshape('c', familyT, n * representationT, copies);
            }
            sum = dense[k] ? Nd4j.matmul(stacked, weighted, true, false, false) : stacked.mul(weighted).sum(1);
        } else {
            // per-example Grams G_i[f_T] = T_i[f_T]ᵀ T_i[f_T], then Wᵀ G: [F_R, F_T·c·c]
            INDArray perExample = tt.reshape('c', n * familyT, representationT, copies);
            INDArray grams = dense[k] ? Nd4j.matmul(perExample, perExample, true, false, false) : perExample.mul(perExample).sum(1);
            sum = w.transpose().mmul(grams.reshape('c', n, grams.length() / n));
        }
        // family axes [rest characters…, T characters…] into group order
        List<Integer> order = new ArrayList<>(restCharacters);
        order.addAll(tCharacterGroups);
        int tail = dense[k] ? 2 : 1;
        long[] shape = new long[order.size() + tail];
        for (int j = 0; j < order.size(); j++) {
            shape[j] = spec.groups().get(order.get(j)).size();
        }
        for (int j = 0; j < tail; j++) {
            shape[order.size() + j] = copies;
        }
        Integer[] sorted = new Integer[order.size()];
        for (int j = 0; j < sorted.length; j++) {
            sorted[j] = j;
        }
        java.util.Arrays.sort(sorted, java.util.Comparator.comparingInt(order::get));
        int[] back = new int[shape.length];
        for (int j = 0; j < sorted.length; j++) {
            back[j] = sorted[j];
        }
        for (int j = 0; j < tail; j++) {
            back[sorted.length + j] = sorted.length + j;
        }
        INDArray arranged = order.isEmpty() ? sum : sum.reshape('c', shape).permute(back).dup('c');
        long[] target = dense[k] ? new long[] {layout.familySize(), copies, copies} : new long[] {layout.familySize(), copies};
        return arranged.reshape('c', target);
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
            if (wholeSums[k] != null) {
                block.addi(wholeSums[k]);
            }
            blocks.add(block.divi((double) count * layout.dimension()));
        }
        return Curvature.of(kinds, blocks);
    }
}
