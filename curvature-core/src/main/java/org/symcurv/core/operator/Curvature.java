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
import org.nd4j.linalg.ops.transforms.Transforms;
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
     * {@code S x}.
     *
     * @param x flat vector {@code [P]}; not modified
     * @return a new {@code [P]} vector
     */
    public INDArray multiply(INDArray x) {
        return multiplyRows(x.reshape(1, x.length())).reshape(spec().parameterCount());
    }

    /**
     * {@code S x_i} for every row {@code x_i} at once (one block product per kind for all rows).
     *
     * @param rows {@code [n, P]}; not modified
     * @return a new {@code [n, P]} array
     */
    public INDArray multiplyRows(INDArray rows) {
        INDArray out = Nd4j.zeros(rows.dataType(), rows.size(0), spec().parameterCount());
        for (int k = 0; k < blocks.size(); k++) {
            INDArray z = kinds.copyMatrices(k, rows);
            kinds.scatterAddRows(k, applyBlock(k, z), out);
        }
        return out;
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
     * {@code log det S = Σ_κ d_κ Σ_f log det B_κ,f}.
     *
     * @throws NotPositiveDefiniteException naming the kind if a block has an eigenvalue ≤ 0
     */
    public double logDet() {
        double total = 0.0;
        for (int k = 0; k < blocks.size(); k++) {
            double d = kinds.kinds().get(k).dimension();
            for (INDArray s : eigenvalues(k)) {
                double min = s.minNumber().doubleValue();
                if (!(min > 0.0)) {
                    throw new NotPositiveDefiniteException(kinds.describe(k), min, "logDet");
                }
                total += d * Nd4j.math().log(s.castTo(DataType.DOUBLE)).sumNumber().doubleValue();
            }
        }
        return total;
    }

    /** The eigenvalues of every block of kind {@code k}, one {@code [m]} vector per family member. */
    private List<INDArray> eigenvalues(int k) {
        INDArray b = blocks.get(k);
        List<INDArray> out = new ArrayList<>();
        if (b.rank() == 2 || b.size(1) == 1) {
            INDArray diag = b.rank() == 2 ? b : b.reshape(b.size(0), 1);
            for (long f = 0; f < diag.size(0); f++) {
                out.add(diag.getRow(f).dup());
            }
            return out;
        }
        for (long f = 0; f < b.size(0); f++) {
            out.add(SymmetricEigen.of(b.slice(f)).values());
        }
        return out;
    }

    /** The largest eigenvalue of the whole operator, {@code s_max}. */
    public double maxEigenvalue() {
        double max = Double.NEGATIVE_INFINITY;
        for (int k = 0; k < blocks.size(); k++) {
            max = Math.max(max, maxEigenvalue(k));
        }
        return max;
    }

    private double maxEigenvalue(int k) {
        double max = Double.NEGATIVE_INFINITY;
        for (INDArray s : eigenvalues(k)) {
            max = Math.max(max, s.maxNumber().doubleValue());
        }
        return max;
    }

    /**
     * The damped power {@code S^{p~} = ⊕_κ I ⊗ U_κ diag((λ s_max + s)^p) U_κᵀ}, block by block. Eigenvalues below
     * zero (round-off, or an indefinite input) are treated as zero; a negative power of a damped eigenvalue that
     * is exactly zero is zero.
     *
     * @param p       any real power, e.g. {@code -1}, {@code -1/2}, {@code -1/4}
     * @param damping relative damping and where {@code s_max} is taken
     */
    public Curvature power(double p, Damping damping) {
        boolean global = damping.scope() == Damping.Scope.GLOBAL;
        double globalShift = damping.relative() > 0 && global ? damping.relative() * Math.max(maxEigenvalue(), 0.0) : 0.0;
        boolean perBlock = damping.relative() > 0 && !global;
        List<INDArray> out = new ArrayList<>();
        for (int k = 0; k < blocks.size(); k++) {
            INDArray b = blocks.get(k);
            if (b.rank() == 2 || b.size(1) == 1) {
                // 1×1 blocks and diagonal-only blocks: each entry is its own eigenvalue (and its own block)
                INDArray shift = perBlock
                        ? Transforms.relu(b, true).muli(damping.relative())
                        : Nd4j.valueArrayOf(b.shape(), globalShift, b.dataType());
                if (perBlock && b.rank() == 2) {
                    // a diagonal-only block is one m×m block: its maximum is the row maximum
                    shift = Transforms.relu(b.max(true, 1), true).muli(damping.relative()).repeat(1, b.size(1));
                }
                out.add(SymmetricEigen.dampedPower(b, p, shift));
            } else {
                INDArray result = Nd4j.create(b.dataType(), b.shape());
                for (long f = 0; f < b.size(0); f++) {
                    SymmetricEigen eig = SymmetricEigen.of(b.slice(f));
                    double shift = perBlock ? damping.relative() * Math.max(eig.max(), 0.0) : globalShift;
                    result.slice(f).assign(eig.power(p, shift));
                }
                out.add(result);
            }
        }
        return new Curvature(kinds, out);
    }

    /** {@code S⁻¹} with damping: shorthand for {@code power(-1, damping)}. */
    public Curvature inverse(Damping damping) {
        return power(-1.0, damping);
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

    /** {@code diag((S^{~})⁻¹)}: the diagonal of the damped inverse (OBS saliencies). */
    public INDArray inverseDiagonal(Damping damping) {
        return inverse(damping).diagonal();
    }

    /** The column {@code S e_q}. */
    public INDArray column(long q) {
        return multiply(unitVector(q));
    }

    /** The column {@code (S^{~})⁻¹ e_q} of the damped inverse (the OBS compensating update). */
    public INDArray inverseColumn(long q, Damping damping) {
        return inverse(damping).multiply(unitVector(q));
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
     * A draw from {@code N(0, S⁻¹)}: per block {@code Z ↦ Z B_κ^{-1/2}} on a standard Gaussian {@code Z}
     * ({@code [F, D, m]}), scattered back into parameter space (the scatter projects onto each piece).
     *
     * @param seed seeds the Gaussian draw
     * @throws NotPositiveDefiniteException if a block is not positive definite
     */
    public INDArray sampleInverse(long seed) {
        return sampleWithFactor(precisionInverseSqrt(), seed);
    }

    /** {@code S^{-1/2}} after checking positive definiteness: reuse it for many samples via {@link #sampleWithFactor}. */
    public Curvature precisionInverseSqrt() {
        for (int k = 0; k < blocks.size(); k++) {
            for (INDArray s : eigenvalues(k)) {
                double min = s.minNumber().doubleValue();
                if (!(min > 0.0)) {
                    throw new NotPositiveDefiniteException(kinds.describe(k), min, "sampling N(0, S⁻¹)");
                }
            }
        }
        return power(-0.5, Damping.NONE);
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
