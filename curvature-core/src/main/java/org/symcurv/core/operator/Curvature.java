package org.symcurv.core.operator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.Kind;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Piece;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A structured curvature matrix {@code S = ⊕_κ I_{d_κ} ⊗ B_κ}: any symmetric matrix that commutes with the
 * spec's group, stored as one symmetric {@code m_κ × m_κ} block per kind (symmetry-curvature.md sections 3-4;
 * Artemev et al., ICML 2026). A block family of {@code F} {@code SIGN} characters is stored as {@code [F, m, m]};
 * a block may instead be kept as its diagonal {@code [F, m]} (the budget fallback). Nothing of size
 * {@code d_κ} is ever materialised. Immutable: every operation returns new arrays.
 *
 * <p>Vectors are flat parameter vectors (rank 1, length {@code P}) in the spec's layout; for a DL4J network
 * that is the {@code params()} order.
 */
public final class Curvature {
    private final KindDecomposition kinds;
    private final List<INDArray> blocks;
    /** The product's plan, built on first use (null until then; {@link #NO_PLAN} when the generic route applies). */
    private volatile Object product;
    private static final Object NO_PLAN = new Object();
    /** {@code diag(S)} when {@link #isParameterDiagonal()}, built on first use. */
    private volatile INDArray parameterDiagonal;

    private Curvature(KindDecomposition kinds, List<INDArray> blocks) {
        this.kinds = kinds;
        this.blocks = List.copyOf(blocks);
    }

    /**
     * Wraps blocks (not copied: the caller hands them over and must not modify them).
     *
     * @param blocks per kind, {@code [F, m, m]} symmetric or {@code [F, m]} for a diagonal-only block
     * @throws IllegalArgumentException naming the kind when a block has the wrong shape
     */
    public static Curvature of(KindDecomposition kinds, List<INDArray> blocks) {
        if (blocks.size() != kinds.kinds().size()) {
            throw new IllegalArgumentException("expected " + kinds.kinds().size() + " blocks (one per kind), got " + blocks.size());
        }
        DataType type = null;
        for (int k = 0; k < blocks.size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            INDArray b = blocks.get(k);
            long[] dense = {layout.familySize(), layout.copies(), layout.copies()};
            long[] diagonal = {layout.familySize(), layout.copies()};
            if (!Arrays.equals(b.shape(), dense) && !Arrays.equals(b.shape(), diagonal)) {
                throw new IllegalArgumentException("block for kind " + kinds.describe(k) + " (leaves " + layout.leafNames()
                        + ") must have shape " + Arrays.toString(dense) + " or, diagonal only, " + Arrays.toString(diagonal)
                        + "; got " + Arrays.toString(b.shape()));
            }
            if (type == null) {
                type = b.dataType();
            } else if (type != b.dataType()) {
                throw new IllegalArgumentException("all blocks must share one data type; kind " + kinds.describe(k)
                        + " is " + b.dataType() + " but earlier blocks are " + type);
            }
        }
        return new Curvature(kinds, blocks);
    }

    /** {@code c · I}. */
    public static Curvature scaledIdentity(KindDecomposition kinds, double c, DataType type) {
        List<INDArray> blocks = new ArrayList<>();
        for (KindLayout k : kinds.kinds()) {
            blocks.add(Nd4j.valueArrayOf(new long[] {k.familySize(), k.copies()}, c, type));
        }
        return new Curvature(kinds, blocks);
    }

    public KindDecomposition decomposition() {
        return kinds;
    }

    public SymmetrySpec spec() {
        return kinds.spec();
    }

    public DataType dataType() {
        return blocks.isEmpty() ? DataType.DOUBLE : blocks.get(0).dataType();
    }

    /** The block of kind {@code k}: {@code [F, m, m]}, or {@code [F, m]} when {@link #isDiagonalBlock}. A view: do not modify. */
    public INDArray block(int k) {
        return blocks.get(k);
    }

    public boolean isDiagonalBlock(int k) {
        return blocks.get(k).rank() == 2;
    }

    /** Floats stored: {@code Σ_κ F m²} for dense blocks, {@code F m} for diagonal ones. */
    public long storedFloats() {
        long n = 0;
        for (INDArray b : blocks) {
            n += b.length();
        }
        return n;
    }

    /**
     * {@code S x = Σ_κ Z_κ*(Z_κ(x) B_κ)}, computed in {@code x}'s data type: per kind one gather, one block product and one
     * scatter (an elementwise product when {@code S} is diagonal in parameter coordinates).
     *
     * @param x flat vector of {@code P} elements ({@code [P]}, {@code [1, P]} or {@code [P, 1]}); not modified
     * @return a new {@code [P]} vector
     * @throws IllegalArgumentException if {@code x} does not have {@code P} elements
     */
    public INDArray multiply(INDArray x) {
        long p = spec().parameterCount();
        if (x.length() != p) {
            throw new IllegalArgumentException("the operator acts on " + p + " parameters, but the vector has shape "
                    + Arrays.toString(x.shape()));
        }
        return multiplyRows(x.reshape(1, p)).reshape(p);
    }

    /**
     * {@code S x_i} for every row {@code x_i} at once (one block product per kind for all rows).
     *
     * @param rows {@code [n, P]}; not modified
     * @return a new {@code [n, P]} array in {@code rows}' data type
     * @throws IllegalArgumentException if the rows do not have {@code P} columns
     */
    public INDArray multiplyRows(INDArray rows) {
        long p = spec().parameterCount();
        if (rows.rank() != 2 || rows.size(1) != p) {
            throw new IllegalArgumentException("expected parameter vectors as rows, shape [n, " + p + "], got shape "
                    + Arrays.toString(rows.shape()));
        }
        DataType type = rows.dataType();
        if (p == 0 || rows.size(0) == 0) {
            return Nd4j.zeros(type, rows.size(0), p);
        }
        if (isParameterDiagonal()) {
            return rows.mulRowVector(parameterDiagonal().castTo(type));
        }
        BlockProduct plan = product();
        if (plan != null && (type == DataType.FLOAT || type == DataType.DOUBLE) && rows.length() <= Integer.MAX_VALUE) {
            int n = Math.toIntExact(rows.size(0));
            double[] out = new double[Math.toIntExact(n * p)];
            plan.multiply(n == 0 ? new double[0] : BlockProduct.rowMajorDoubles(rows), n, out, type);
            INDArray result = type == DataType.DOUBLE ? Nd4j.createFromArray(out) : Nd4j.createFromArray(BlockProduct.toFloat(out));
            return result.reshape('c', new long[] {n, p});
        }
        return multiplyRowsByCopyMatrices(rows);
    }

    /** The product through the decomposition's copy matrices (any spec and data type). */
    private INDArray multiplyRowsByCopyMatrices(INDArray rows) {
        INDArray out = Nd4j.zeros(rows.dataType(), rows.size(0), spec().parameterCount());
        for (int k = 0; k < blocks.size(); k++) {
            INDArray z = kinds.copyMatrices(k, rows);
            kinds.scatterAddRows(k, applyBlock(k, z), out);
        }
        return out;
    }

    private BlockProduct product() {
        Object plan = product;
        if (plan == null) {
            BlockProduct compiled = BlockProduct.compile(kinds, blocks, dataType());
            plan = compiled == null ? NO_PLAN : compiled;
            product = plan;
        }
        return plan == NO_PLAN ? null : (BlockProduct) plan;
    }

    /**
     * Whether every operator on this spec is diagonal in parameter coordinates: only {@code SIGN} groups and no free axis
     * (each parameter is then its own kind with one copy, e.g. {@code Presets.diagonal}).
     */
    public boolean isParameterDiagonal() {
        for (Group g : spec().groups()) {
            if (g.type() != org.symcurv.core.symmetry.GroupType.SIGN) {
                return false;
            }
        }
        for (LeafSpec leaf : spec().leaves()) {
            for (int a = 0; a < leaf.rank(); a++) {
                if (leaf.label(a).isFree()) {
                    return false;
                }
            }
        }
        return true;
    }

    private INDArray parameterDiagonal() {
        INDArray d = parameterDiagonal;
        if (d == null) {
            d = diagonal();
            parameterDiagonal = d;
        }
        return d;
    }

    /** {@code Z ↦ Z B_κ} for a {@code [F, D, m]} copy matrix. */
    private INDArray applyBlock(int k, INDArray z) {
        INDArray b = blocks.get(k).castTo(z.dataType());
        if (b.rank() == 2) {
            long[] s = b.shape();
            return z.mul(b.reshape(new long[] {s[0], 1, s[1]}));
        }
        return Nd4j.matmul(z, b);
    }

    /** {@code xᵀ S x = Σ_κ ⟨Z_κ(x), Z_κ(x) B_κ⟩}, without forming {@code S x} in parameter space. */
    public double quadraticForm(INDArray x) {
        double total = 0.0;
        for (int k = 0; k < blocks.size(); k++) {
            INDArray z = kinds.copyMatrix(k, x);
            total += z.mul(applyBlock(k, z)).sumNumber().doubleValue();
        }
        return total;
    }

    /** {@code tr S = Σ_κ d_κ Σ_f tr B_κ,f}. */
    public double trace() {
        double total = 0.0;
        for (int k = 0; k < blocks.size(); k++) {
            total += kinds.kinds().get(k).dimension() * blockDiagonal(k).sumNumber().doubleValue();
        }
        return total;
    }

    /** {@code [F, m]} diagonals of block {@code k}. */
    private INDArray blockDiagonal(int k) {
        INDArray b = blocks.get(k);
        if (b.rank() == 2) {
            return b;
        }
        long f = b.size(0);
        long m = b.size(1);
        if (m == 1) {
            return b.reshape(f, 1).dup();
        }
        // the diagonal of each m×m slice sits at stride m+1 in its row-major storage
        INDArray flat = b.dup('c').reshape(f, m * m);
        return flat.get(NDArrayIndex.all(), NDArrayIndex.interval(0, m + 1, m * m)).dup();
    }

    /**
     * The eigendecomposition of every block, computed once, with its damping: every spectral question (powers, solves,
     * {@code log det}, the diagonal, columns and submatrices of the inverse, samples from {@code N(0, S̃⁻¹)}) is
     * answered from it. Decompose once and ask many questions; each shorthand below decomposes again.
     *
     * @param damping relative damping and where {@code s_max} is taken ({@link Damping#NONE} for {@code S} itself)
     */
    public Factorization factor(Damping damping) {
        return new Factorization(this, java.util.Objects.requireNonNull(damping, "damping"));
    }

    /**
     * {@code log det S = Σ_κ d_κ Σ_f log det B_κ,f}: shorthand for {@code factor(Damping.NONE).logDet()}.
     *
     * @throws NotPositiveDefiniteException naming the kind if a block has an eigenvalue ≤ 0
     */
    public double logDet() {
        return factor(Damping.NONE).logDet();
    }

    /** The largest eigenvalue of the whole operator, {@code s_max}: shorthand for {@code factor(Damping.NONE).maxEigenvalue()}. */
    public double maxEigenvalue() {
        return factor(Damping.NONE).maxEigenvalue();
    }

    /**
     * The damped power {@code S^{p~} = ⊕_κ I ⊗ U_κ diag((λ s_max + s)^p) U_κᵀ}: shorthand for
     * {@code factor(damping).power(p)} ({@link Factorization#power}).
     *
     * @param p       any real power, e.g. {@code -1}, {@code -1/2}, {@code -1/4}
     * @param damping relative damping and where {@code s_max} is taken
     */
    public Curvature power(double p, Damping damping) {
        return factor(damping).power(p);
    }

    /** {@code S⁻¹} with damping: shorthand for {@code factor(damping).inverse()}. */
    public Curvature inverse(Damping damping) {
        return factor(damping).inverse();
    }

    /** {@code S + c·I}: adds {@code c} to the diagonal of every block. */
    public Curvature plusIdentity(double c) {
        return mapBlocks(k -> addToBlockDiagonal(blocks.get(k), Nd4j.valueArrayOf(
                new long[] {blocks.get(k).size(0), blocks.get(k).size(1)}, c, blocks.get(k).dataType())));
    }

    /**
     * {@code S + Σ_leaf c_leaf I_leaf}: a per-leaf multiple of the identity (e.g. per-layer prior precisions),
     * which also commutes with the group; leaves not named get 0.
     *
     * @throws IllegalArgumentException for an unknown leaf name
     */
    public Curvature plusLeafIdentity(Map<String, Double> perLeaf) {
        for (String name : perLeaf.keySet()) {
            spec().leaf(name);
        }
        return mapBlocks(k -> {
            KindLayout layout = kinds.kinds().get(k);
            double[] add = new double[layout.copies()];
            for (KindDecomposition.Contribution c : layout.contributions()) {
                Arrays.fill(add, c.copyOffset(), c.copyOffset() + c.copies(), perLeaf.getOrDefault(c.leaf().name(), 0.0));
            }
            INDArray row = Nd4j.createFromArray(add).castTo(blocks.get(k).dataType()).reshape(1, add.length);
            return addToBlockDiagonal(blocks.get(k), row.repeat(0, blocks.get(k).size(0)));
        });
    }

    private static INDArray addToBlockDiagonal(INDArray b, INDArray diagonal) {
        if (b.rank() == 2) {
            return b.add(diagonal);
        }
        INDArray out = b.dup('c');
        long m = b.size(1);
        for (long f = 0; f < b.size(0); f++) {
            INDArray slice = out.slice(f);
            INDArray d = diagonal.getRow(f);
            for (long i = 0; i < m; i++) {
                slice.putScalar(i, i, slice.getDouble(i, i) + d.getDouble(i));
            }
        }
        return out;
    }

    /** {@code c · S}. */
    public Curvature scale(double c) {
        return mapBlocks(k -> blocks.get(k).mul(c));
    }

    /**
     * {@code S + T} for an operator on the same decomposition. A diagonal-only block plus a dense one is dense.
     *
     * @throws IllegalArgumentException if the decompositions differ
     */
    public Curvature plus(Curvature other) {
        requireSameStructure(other);
        return mapBlocks(k -> {
            INDArray a = blocks.get(k);
            INDArray b = other.blocks.get(k).castTo(a.dataType());
            if (a.rank() == b.rank()) {
                return a.add(b);
            }
            return a.rank() == 3 ? addToBlockDiagonal(a, b) : addToBlockDiagonal(b, a);
        });
    }

    void requireSameStructure(Curvature other) {
        if (!kinds.spec().equals(other.kinds.spec())) {
            throw new IllegalArgumentException("operators act on different parameter layouts or symmetry specs:\n"
                    + kinds.spec() + "\nvs\n" + other.kinds.spec());
        }
    }

    /**
     * The blockwise product {@code A M A} for this operator {@code A} and another {@code M} on the same
     * decomposition (both commute with the group, so the product does too): used for matrix geometric means.
     *
     * @throws IllegalArgumentException if the decompositions differ
     */
    public Curvature sandwich(Curvature middle) {
        requireSameStructure(middle);
        return mapBlocks(k -> {
            INDArray a = blocks.get(k);
            INDArray m = middle.blocks.get(k).castTo(a.dataType());
            if (a.rank() == 2 && m.rank() == 2) {
                return a.mul(m).muli(a);
            }
            INDArray ad = a.rank() == 2 ? diagonalMatrices(a) : a;
            INDArray md = m.rank() == 2 ? diagonalMatrices(m) : m;
            INDArray out = Nd4j.matmul(Nd4j.matmul(ad, md), ad);
            return out.add(out.permute(0, 2, 1).dup()).muli(0.5);
        });
    }

    private static INDArray diagonalMatrices(INDArray diagonals) {
        INDArray out = Nd4j.zeros(diagonals.dataType(), diagonals.size(0), diagonals.size(1), diagonals.size(1));
        for (long f = 0; f < diagonals.size(0); f++) {
            out.slice(f).assign(Nd4j.diag(diagonals.getRow(f)));
        }
        return out;
    }

    /** Each block replaced by {@code f(k)}; the caller returns new arrays of a valid shape. */
    public Curvature mapBlocks(java.util.function.IntFunction<INDArray> f) {
        List<INDArray> out = new ArrayList<>();
        for (int k = 0; k < blocks.size(); k++) {
            out.add(f.apply(k));
        }
        return of(kinds, out);
    }

    /** Every block reduced to its diagonal (the budget fallback applied everywhere). */
    public Curvature diagonalBlocksOnly() {
        return mapBlocks(this::blockDiagonal);
    }

    /** {@code diag(S)} in parameter coordinates, {@code [P]}. */
    public INDArray diagonal() {
        INDArray out = Nd4j.zeros(dataType(), spec().parameterCount());
        for (int k = 0; k < blocks.size(); k++) {
            kinds.addDiagonal(k, blockDiagonal(k), out);
        }
        return out;
    }

    /** {@code diag((S^{~})⁻¹)}: shorthand for {@code factor(damping).inverseDiagonal()}. */
    public INDArray inverseDiagonal(Damping damping) {
        return factor(damping).inverseDiagonal();
    }

    /** The column {@code S e_q}. */
    public INDArray column(long q) {
        return multiply(unitVector(q));
    }

    /** The column {@code (S^{~})⁻¹ e_q}: shorthand for {@code factor(damping).inverseColumn(q)}. */
    public INDArray inverseColumn(long q, Damping damping) {
        return factor(damping).inverseColumn(q);
    }

    private INDArray unitVector(long q) {
        long p = spec().parameterCount();
        if (q < 0 || q >= p) {
            throw new IndexOutOfBoundsException("parameter index " + q + " outside [0, " + p + ")");
        }
        INDArray e = Nd4j.zeros(dataType(), p);
        e.putScalar(q, 1.0);
        return e;
    }

    /**
     * A draw from {@code N(0, S⁻¹)}: shorthand for {@code factor(Damping.NONE).sample(seed)}.
     *
     * @param seed seeds the Gaussian draw
     * @throws NotPositiveDefiniteException if a block is not positive definite
     */
    public INDArray sampleInverse(long seed) {
        return factor(Damping.NONE).sample(seed);
    }

    /** {@code S^{-1/2}} after checking positive definiteness: shorthand for {@code factor(Damping.NONE).inverseSqrt()}. */
    public Curvature precisionInverseSqrt() {
        return factor(Damping.NONE).inverseSqrt();
    }

    /**
     * A draw {@code ⊕_κ Z_κ A_κ} from {@code N(0, A²)} for a square-root factor {@code A} (e.g. {@link #precisionInverseSqrt()}).
     */
    public static INDArray sampleWithFactor(Curvature factor, long seed) {
        return sampleWithFactor(factor, 1, seed).reshape(factor.spec().parameterCount());
    }

    /**
     * {@code count} independent draws {@code ⊕_κ Z_κ A_κ} from {@code N(0, A²)}, one per row.
     *
     * @return {@code [count, P]}
     */
    public static INDArray sampleWithFactor(Curvature factor, int count, long seed) {
        org.nd4j.linalg.api.rng.Random rng = Nd4j.getRandomFactory().getNewRandomInstance(seed);
        INDArray out = Nd4j.zeros(factor.dataType(), count, factor.spec().parameterCount());
        for (int k = 0; k < factor.blocks.size(); k++) {
            KindLayout layout = factor.kinds.kinds().get(k);
            INDArray z = Nd4j.randn(Nd4j.create(factor.dataType(), layout.familySize(),
                    (long) count * layout.representationSize(), layout.copies()), rng);
            factor.kinds.scatterAddRows(k, factor.applyBlock(k, z), out);
        }
        return out;
    }

    /**
     * The principal submatrix {@code E_Qᵀ S E_Q}, formed entry by entry without applying {@code S} to any vector. For a
     * unit vector the copy matrix is rank one, {@code Z_κ(e_a) = u_a v_aᵀ} ({@code u_a} the parameter's coordinate
     * projected on the kind's pieces, {@code v_a} its copy), so with {@code xᵀ S y = Σ_κ ⟨Z_κ(x), Z_κ(y) B_κ⟩}
     * <pre>    S_ab = Σ_κ Π_γ ⟨u_a, u_b⟩_γ · B_κ,f[copy_a, copy_b],</pre>
     * where for each group {@code γ} that the parameters' leaves carry at unit indices {@code i} and {@code i'}:
     * {@code PERM} standard piece {@code δ_ii' − 1/n}, {@code PERM} trivial piece {@code 1/n}, {@code SIGNED_PERM} and
     * {@code ORTH} {@code δ_ii'}, {@code SIGN} character {@code δ_ii'} (which also picks the family member {@code f});
     * when only one of the two leaves carries {@code γ} (trivial piece) the factor is {@code 1/√n}. Costs
     * {@code O(|Q|² · kinds)}, against {@code |Q|} full products through {@code S e_q}.
     *
     * @param indices flat parameter indices {@code Q}
     * @return {@code [|Q|, |Q|]} float64
     * @throws IndexOutOfBoundsException for an index outside {@code [0, P)}
     */
    public INDArray principalSubmatrix(long[] indices) {
        SymmetrySpec spec = spec();
        int q = indices.length;
        int[] leafOf = new int[q];
        long[][] unitIndex = new long[q][];
        for (int a = 0; a < q; a++) {
            long flat = indices[a];
            if (flat < 0 || flat >= spec.parameterCount()) {
                throw new IndexOutOfBoundsException("parameter index " + flat + " outside [0, " + spec.parameterCount() + ")");
            }
            for (int l = 0; l < spec.leaves().size(); l++) {
                LeafSpec leaf = spec.leaves().get(l);
                if (flat >= leaf.offset() && flat < leaf.offset() + leaf.length()) {
                    leafOf[a] = l;
                    unitIndex[a] = multiIndex(leaf, flat - leaf.offset());
                }
            }
        }
        double[][] out = new double[q][q];
        for (int k = 0; k < blocks.size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            INDArray b = blocks.get(k);
            int[] copy = new int[q];
            int[] member = new int[q];
            double[][][] entries = new double[layout.familySize()][][];
            for (int a = 0; a < q; a++) {
                copy[a] = -1;
                LeafSpec leaf = spec.leaves().get(leafOf[a]);
                for (KindDecomposition.Contribution c : layout.contributions()) {
                    if (c.leaf().name().equals(leaf.name())) {
                        copy[a] = c.copyOffset() + (int) freeIndex(leaf, unitIndex[a]);
                        member[a] = familyMember(layout, leaf, unitIndex[a]);
                    }
                }
            }
            for (int a = 0; a < q; a++) {
                if (copy[a] < 0) {
                    continue;
                }
                for (int c = a; c < q; c++) {
                    if (copy[c] < 0 || member[c] != member[a]) {
                        continue;
                    }
                    double[][] m = entries[member[a]];
                    if (m == null) {
                        m = b.rank() == 2 ? new double[][] {b.getRow(member[a]).castTo(DataType.DOUBLE).toDoubleVector()}
                                : b.slice(member[a]).castTo(DataType.DOUBLE).toDoubleMatrix();
                        entries[member[a]] = m;
                    }
                    double entry = b.rank() == 2 ? (copy[a] == copy[c] ? m[0][copy[a]] : 0.0) : m[copy[a]][copy[c]];
                    if (entry == 0.0) {
                        continue;
                    }
                    double product = entry * unitInnerProduct(layout, spec.leaves().get(leafOf[a]), unitIndex[a],
                            spec.leaves().get(leafOf[c]), unitIndex[c]);
                    out[a][c] += product;
                    if (c != a) {
                        out[c][a] += product;
                    }
                }
            }
        }
        return q == 0 ? Nd4j.zeros(DataType.DOUBLE, 0, 0) : Nd4j.createFromArray(out);
    }

    /** {@code Π_γ ⟨u_a, u_b⟩_γ} for the kind's pieces. */
    private double unitInnerProduct(KindLayout layout, LeafSpec leafA, long[] a, LeafSpec leafB, long[] b) {
        double product = 1.0;
        SymmetrySpec spec = spec();
        for (int g = 0; g < spec.groups().size(); g++) {
            Group group = spec.groups().get(g);
            int axisA = axisOf(leafA, group.name());
            int axisB = axisOf(leafB, group.name());
            if (axisA < 0 && axisB < 0) {
                continue;
            }
            long n = group.size();
            if (axisA < 0 || axisB < 0) {
                // only one leaf carries γ, so the kind is trivial on γ: that leaf's coordinate is the sum / √n, the other's 1
                product *= 1.0 / Math.sqrt(n);
                continue;
            }
            boolean same = a[axisA] == b[axisB];
            product *= switch (layout.kind().piece(g)) {
                case STANDARD -> group.type() == org.symcurv.core.symmetry.GroupType.PERM ? (same ? 1.0 : 0.0) - 1.0 / n : (same ? 1.0 : 0.0);
                case TRIVIAL -> 1.0 / n;
                case CHARACTER -> same ? 1.0 : 0.0;
            };
            if (product == 0.0) {
                return 0.0;
            }
        }
        return product;
    }

    /** The family member of a parameter in a kind: row-major over its {@code SIGN} (character) axes in group order. */
    private int familyMember(KindLayout layout, LeafSpec leaf, long[] index) {
        int f = 0;
        SymmetrySpec spec = spec();
        for (int g = 0; g < spec.groups().size(); g++) {
            if (layout.kind().piece(g) == Piece.CHARACTER) {
                f = f * spec.groups().get(g).size() + (int) index[axisOf(leaf, spec.groups().get(g).name())];
            }
        }
        return f;
    }

    private static int axisOf(LeafSpec leaf, String group) {
        for (int a = 0; a < leaf.rank(); a++) {
            if (!leaf.label(a).isFree() && leaf.label(a).group().equals(group)) {
                return a;
            }
        }
        return -1;
    }

    /** Row-major index over the leaf's free axes: the parameter's copy within the leaf. */
    private static long freeIndex(LeafSpec leaf, long[] index) {
        long out = 0;
        for (int a = 0; a < leaf.rank(); a++) {
            if (leaf.label(a).isFree()) {
                out = out * leaf.size(a) + index[a];
            }
        }
        return out;
    }

    /** The multi-index of element {@code r} of a leaf in its own flattening order. */
    private static long[] multiIndex(LeafSpec leaf, long r) {
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
        return index;
    }

    /**
     * The principal sub-operator on some leaves ({@code P_Lᵀ S P_L}, e.g. last-layer Laplace): those leaves,
     * re-laid contiguously in their original order, and only the groups they use.
     *
     * @throws IllegalArgumentException for an unknown leaf name or an empty selection
     */
    public Curvature restrictTo(Collection<String> leafNames) {
        Set<String> keep = new LinkedHashSet<>(leafNames);
        if (keep.isEmpty()) {
            throw new IllegalArgumentException("restriction needs at least one leaf; leaves: " + spec().leaves());
        }
        keep.forEach(spec()::leaf);
        List<LeafSpec> kept = new ArrayList<>();
        Set<String> usedGroups = new LinkedHashSet<>();
        long offset = 0;
        for (LeafSpec leaf : spec().leaves()) {
            if (keep.contains(leaf.name())) {
                kept.add(new LeafSpec(leaf.name(), leaf.shape(), leaf.labels(), offset, leaf.order()));
                offset += leaf.length();
                for (AxisLabel l : leaf.labels()) {
                    if (!l.isFree()) {
                        usedGroups.add(l.group());
                    }
                }
            }
        }
        List<Group> groups = new ArrayList<>();
        for (Group g : spec().groups()) {
            if (usedGroups.contains(g.name())) {
                groups.add(g);
            }
        }
        SymmetrySpec restrictedSpec = new SymmetrySpec(groups, kept);
        KindDecomposition restricted = KindDecomposition.of(restrictedSpec);
        Map<Kind, Integer> oldIndex = new HashMap<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            oldIndex.put(kinds.kinds().get(k).kind(), k);
        }
        List<INDArray> out = new ArrayList<>();
        for (KindLayout layout : restricted.kinds()) {
            List<Piece> pieces = new ArrayList<>();
            for (Group g : spec().groups()) {
                pieces.add(usedGroups.contains(g.name())
                        ? layout.kind().piece(restrictedSpec.groupIndex(g.name())) : Piece.TRIVIAL);
            }
            int k = oldIndex.get(new Kind(pieces));
            KindLayout old = kinds.kinds().get(k);
            long[] index = new long[layout.copies()];
            for (KindDecomposition.Contribution c : layout.contributions()) {
                int oldOffset = old.contributions().stream().filter(o -> o.leaf().name().equals(c.leaf().name()))
                        .findFirst().orElseThrow().copyOffset();
                for (int i = 0; i < c.copies(); i++) {
                    index[c.copyOffset() + i] = oldOffset + i;
                }
            }
            INDArray b = blocks.get(k);
            if (b.rank() == 2) {
                out.add(b.get(NDArrayIndex.all(), NDArrayIndex.indices(index)).dup());
            } else {
                out.add(b.get(NDArrayIndex.all(), NDArrayIndex.indices(index), NDArrayIndex.indices(index)).dup());
            }
        }
        return of(restricted, out);
    }

    /**
     * The dense {@code P × P} matrix, for tests and small exports.
     *
     * @throws IllegalArgumentException above 20,000 parameters
     */
    public INDArray toDense() {
        long p = spec().parameterCount();
        if (p > 20_000) {
            throw new IllegalArgumentException("toDense() is for small operators; this one has " + p + " parameters");
        }
        INDArray dense = Nd4j.create(dataType(), p, p);
        int chunk = 512;
        for (long from = 0; from < p; from += chunk) {
            long to = Math.min(p, from + chunk);
            INDArray unit = Nd4j.zeros(dataType(), to - from, p);
            for (long q = from; q < to; q++) {
                unit.putScalar(q - from, q, 1.0);
            }
            // S is symmetric: the rows S e_q are its columns
            dense.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).assign(multiplyRows(unit));
        }
        return dense;
    }

    /** A summary line per kind: name, family size, {@code d}, {@code m}, and whether stored dense or diagonal. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("Curvature (").append(spec().parameterCount()).append(" parameters, ")
                .append(storedFloats()).append(" stored floats)");
        for (int k = 0; k < blocks.size(); k++) {
            KindLayout l = kinds.kinds().get(k);
            sb.append("\n  ").append(kinds.describe(k)).append(": ");
            if (l.familySize() > 1) {
                sb.append(l.familySize()).append(" × ");
            }
            sb.append("I_").append(l.dimension()).append(" ⊗ B[").append(l.copies()).append('×').append(l.copies()).append(']');
            if (isDiagonalBlock(k)) {
                sb.append(" (diagonal only)");
            }
        }
        return sb.toString();
    }

}
