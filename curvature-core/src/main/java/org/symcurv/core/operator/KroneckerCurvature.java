package org.symcurv.core.operator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A K-FAC curvature (Martens and Grosse, 2015), block diagonal over layers with one Kronecker product per layer,
 * {@code S = ⊕_l A_l ⊗ G_l}, the standard baseline structure beside the symmetry-averaged one
 * (symmetry-curvature.md section 5.3). For a dense layer with weight {@code W} ({@code [nIn, nOut]}) and bias {@code b}
 * the layer's parameters are the matrix {@code M = [W; bᵀ]} ({@code [nIn + 1, nOut]}, the bias as an extra input row
 * that is always 1; no row without a bias), and the block acts as {@code M ↦ A M G}:
 *
 * <pre>
 *   A = E[ā āᵀ]   ([nIn + 1, nIn + 1], ā = [a; 1] the layer's input, bias-augmented)
 *   G = E[δ δᵀ]   ([nOut, nOut], δ = ∂ℓ/∂z the error at the layer's pre-activation)
 * </pre>
 *
 * so that {@code vec(M)ᵀ (A ⊗ G) vec(M) = tr(Mᵀ A M G)} approximates {@code E[(g·θ)²]} with {@code ∂ℓ/∂M = ā δᵀ}.
 * Eigenvalues are the products {@code s_A,i s_G,j}, so every spectral question is answered from the two factors'
 * eigendecompositions ({@link #factor}): damped solves, log-determinants and inverse diagonals cost
 * {@code O(nIn³ + nOut³)} per layer, never {@code O((nIn·nOut)³)}.
 *
 * <p>Vectors are flat parameter vectors ({@code [P]}) in the layout of {@link #spec()}; every leaf belongs to exactly one
 * layer block. Immutable.
 */
public final class KroneckerCurvature {
    /**
     * One layer's block {@code A ⊗ G}.
     *
     * @param weight the weight leaf's name ({@code [nIn, nOut]})
     * @param bias   the bias leaf's name ({@code [nOut]}), or {@code null} for a layer without bias
     * @param a      {@code A}, {@code [nIn + 1, nIn + 1]} with a bias ({@code [nIn, nIn]} without), symmetric
     * @param g      {@code G}, {@code [nOut, nOut]}, symmetric
     */
    public record LayerBlock(String weight, String bias, INDArray a, INDArray g) {
        public LayerBlock {
            Objects.requireNonNull(weight, "weight");
            Objects.requireNonNull(a, "a");
            Objects.requireNonNull(g, "g");
            if (a.rank() != 2 || a.size(0) != a.size(1) || g.rank() != 2 || g.size(0) != g.size(1)) {
                throw new IllegalArgumentException("K-FAC factors of '" + weight + "' must be square matrices, got A " + Arrays.toString(a.shape())
                        + " and G " + Arrays.toString(g.shape()));
            }
        }

        /** Input rows of {@code M}: {@code nIn + 1} with a bias. */
        long rows() {
            return a.size(0);
        }

        long columns() {
            return g.size(0);
        }
    }

    private final SymmetrySpec spec;
    private final List<LayerBlock> blocks;
    private final List<LeafSpec> weights;
    private final List<LeafSpec> biases;

    private KroneckerCurvature(SymmetrySpec spec, List<LayerBlock> blocks) {
        this.spec = spec;
        this.blocks = List.copyOf(blocks);
        this.weights = new ArrayList<>();
        this.biases = new ArrayList<>();
        Set<String> covered = new HashSet<>();
        for (LayerBlock block : blocks) {
            LeafSpec w = leaf(spec, block.weight());
            if (w.rank() != 2) {
                throw new IllegalArgumentException("K-FAC weight leaf '" + block.weight() + "' must be [nIn, nOut], got " + Arrays.toString(w.shape()));
            }
            LeafSpec b = block.bias() == null ? null : leaf(spec, block.bias());
            long rows = w.size(0) + (b == null ? 0 : 1);
            if (block.rows() != rows || block.columns() != w.size(1) || b != null && (b.rank() != 1 || b.size(0) != w.size(1))) {
                throw new IllegalArgumentException("K-FAC block of '" + block.weight() + "' (" + Arrays.toString(w.shape()) + (b == null ? ", no bias" : ", bias")
                        + ") needs A [" + rows + ", " + rows + "] and G [" + w.size(1) + ", " + w.size(1) + "], got A "
                        + Arrays.toString(block.a().shape()) + " and G " + Arrays.toString(block.g().shape()));
            }
            if (!covered.add(w.name()) || b != null && !covered.add(b.name())) {
                throw new IllegalArgumentException("leaf '" + block.weight() + "' or its bias belongs to two K-FAC blocks");
            }
            weights.add(w);
            biases.add(b);
        }
        for (LeafSpec leaf : spec.leaves()) {
            if (!covered.contains(leaf.name())) {
                throw new IllegalArgumentException("leaf '" + leaf.name() + "' belongs to no K-FAC block; give every leaf of the layout a layer block");
            }
        }
    }

    /**
     * @param spec   the parameter layout (its symmetry labels are ignored)
     * @param blocks one per layer; handed over, not copied (the caller must not modify the factors)
     * @throws IllegalArgumentException naming the leaf when a block does not fit the layout or a leaf has no block
     */
    public static KroneckerCurvature of(SymmetrySpec spec, List<LayerBlock> blocks) {
        return new KroneckerCurvature(Objects.requireNonNull(spec, "spec"), blocks);
    }

    private static LeafSpec leaf(SymmetrySpec spec, String name) {
        for (LeafSpec leaf : spec.leaves()) {
            if (leaf.name().equals(name)) {
                return leaf;
            }
        }
        throw new IllegalArgumentException("K-FAC block names leaf '" + name + "', which the layout does not have");
    }

    public SymmetrySpec spec() {
        return spec;
    }

    /** The layer blocks, in the order given. */
    public List<LayerBlock> blocks() {
        return blocks;
    }

    /** Floats stored: {@code Σ_l (nIn_l + 1)² + nOut_l²}. */
    public long storedFloats() {
        long n = 0;
        for (LayerBlock b : blocks) {
            n += b.a().length() + b.g().length();
        }
        return n;
    }

    // ------------------------------------------------------------------ products

    /** Layer {@code l}'s parameters of {@code flat} as {@code M = [W; bᵀ]}, {@code [rows, nOut]}, float64, a new array. */
    private INDArray matrixOf(INDArray flat, int l) {
        LeafSpec w = weights.get(l);
        LeafSpec b = biases.get(l);
        INDArray m = Nd4j.zeros(DataType.DOUBLE, blocks.get(l).rows(), w.size(1));
        m.get(NDArrayIndex.interval(0, w.size(0)), NDArrayIndex.all()).assign(KindDecomposition.leafTensor(flat, w));
        if (b != null) {
            m.getRow(w.size(0)).assign(KindDecomposition.leafTensor(flat, b));
        }
        return m;
    }

    /** Writes {@code M} of layer {@code l} into its leaves of {@code out} (added). */
    private void addMatrix(INDArray out, int l, INDArray m) {
        LeafSpec w = weights.get(l);
        LeafSpec b = biases.get(l);
        KindDecomposition.addToLeaf(out, w, m.get(NDArrayIndex.interval(0, w.size(0)), NDArrayIndex.all()).dup());
        if (b != null) {
            KindDecomposition.addToLeaf(out, b, m.getRow(w.size(0)).dup());
        }
    }

    private INDArray requireFlat(INDArray x) {
        long p = spec.parameterCount();
        if (x.length() != p) {
            throw new IllegalArgumentException("a vector for " + p + " parameters needs " + p + " entries, got shape " + Arrays.toString(x.shape()));
        }
        return x.reshape(p).castTo(DataType.DOUBLE);
    }

    /**
     * {@code S x}: per layer {@code M ↦ A M G}.
     *
     * @param x {@code [P]}; not modified
     * @return a new {@code [P]} vector, float64
     */
    public INDArray multiply(INDArray x) {
        INDArray flat = requireFlat(x);
        INDArray out = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        for (int l = 0; l < blocks.size(); l++) {
            LayerBlock b = blocks.get(l);
            addMatrix(out, l, b.a().castTo(DataType.DOUBLE).mmul(matrixOf(flat, l)).mmul(b.g().castTo(DataType.DOUBLE)));
        }
        return out;
    }

    /** {@code xᵀ S x}. */
    public double quadraticForm(INDArray x) {
        return requireFlat(x).mul(multiply(x)).sumNumber().doubleValue();
    }

    /** {@code tr S = Σ_l tr A_l · tr G_l}. */
    public double trace() {
        double t = 0;
        for (LayerBlock b : blocks) {
            t += diagonalOf(b.a()).sumNumber().doubleValue() * diagonalOf(b.g()).sumNumber().doubleValue();
        }
        return t;
    }

    /** The diagonal of a square matrix as a float64 vector. */
    private static INDArray diagonalOf(INDArray m) {
        double[] d = new double[Math.toIntExact(m.size(0))];
        for (int i = 0; i < d.length; i++) {
            d[i] = m.getDouble(i, i);
        }
        return Nd4j.createFromArray(d);
    }

    /** {@code diag S}: {@code A_ii G_jj} for {@code M[i, j]}. A new {@code [P]} vector, float64. */
    public INDArray diagonal() {
        INDArray out = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        for (int l = 0; l < blocks.size(); l++) {
            LayerBlock b = blocks.get(l);
            INDArray da = diagonalOf(b.a());
            INDArray dg = diagonalOf(b.g());
            addMatrix(out, l, da.reshape(da.length(), 1).mmul(dg.reshape(1, dg.length())));
        }
        return out;
    }

    /** The largest eigenvalue {@code s_max = max_l λ_max(A_l) λ_max(G_l)} (the factors are positive semi-definite). */
    public double maxEigenvalue() {
        return factor(Damping.NONE).maxEigenvalue();
    }

    /**
     * The dense {@code P × P} matrix, for tests and small reports: layer blocks {@code A ⊗ G} in the {@code vec(M)}
     * order mapped to the leaves' positions.
     */
    public INDArray toDense() {
        long p = spec.parameterCount();
        INDArray dense = Nd4j.zeros(DataType.DOUBLE, p, p);
        INDArray e = Nd4j.zeros(DataType.DOUBLE, p);
        for (long q = 0; q < p; q++) {
            e.putScalar(q, 1.0);
            dense.getColumn(q).assign(multiply(e));
            e.putScalar(q, 0.0);
        }
        return dense;
    }

    /**
     * Decomposes every factor once, {@code A = U_A diag(s_A) U_Aᵀ}, {@code G = U_G diag(s_G) U_Gᵀ}, for the damped
     * spectral operations: the eigenvalues of {@code A ⊗ G} are {@code s_A,i s_G,j} with eigenvectors
     * {@code u_A,i ⊗ u_G,j}, and {@code S + c I} adds {@code c} to each. The damping {@code c = λ s_max} takes
     * {@code s_max} over the whole operator ({@link Damping.Scope#GLOBAL}) or over each layer's block
     * ({@link Damping.Scope#PER_BLOCK}). Negative eigenvalues of a factor (round-off) are treated as zero.
     */
    public Factorization factor(Damping damping) {
        Objects.requireNonNull(damping, "damping");
        List<SymmetricEigen> as = new ArrayList<>();
        List<SymmetricEigen> gs = new ArrayList<>();
        double globalMax = 0.0;
        for (LayerBlock b : blocks) {
            SymmetricEigen ea = SymmetricEigen.of(b.a().castTo(DataType.DOUBLE));
            SymmetricEigen eg = SymmetricEigen.of(b.g().castTo(DataType.DOUBLE));
            as.add(ea);
            gs.add(eg);
            globalMax = Math.max(globalMax, Math.max(ea.max(), 0.0) * Math.max(eg.max(), 0.0));
        }
        double[] shifts = new double[blocks.size()];
        for (int l = 0; l < blocks.size(); l++) {
            double max = damping.scope() == Damping.Scope.GLOBAL ? globalMax : Math.max(as.get(l).max(), 0.0) * Math.max(gs.get(l).max(), 0.0);
            shifts[l] = damping.relative() * max;
        }
        return new Factorization(as, gs, shifts, globalMax);
    }

    /** {@code (S + λ s_max I)⁻¹ x}; see {@link #factor}. */
    public INDArray solve(INDArray x, Damping damping) {
        return factor(damping).solve(x);
    }

    /** {@code log det (S + λ s_max I)}; see {@link #factor}. */
    public double logDet(Damping damping) {
        return factor(damping).logDet();
    }

    /** {@code diag (S + λ s_max I)⁻¹}; see {@link #factor}. */
    public INDArray inverseDiagonal(Damping damping) {
        return factor(damping).inverseDiagonal();
    }

    /**
     * {@code S + c I} decomposed once per factor ({@link #factor}): per layer the eigenvalue grid
     * {@code Λ[i, j] = s_A,i s_G,j + c}, and in the eigenbasis {@code M ↦ U_Aᵀ M U_G}.
     */
    public final class Factorization {
        private final List<SymmetricEigen> as;
        private final List<SymmetricEigen> gs;
        private final double[] shifts;
        private final double maxEigenvalue;
        /** Per layer the damped eigenvalues {@code [rows, nOut]}. */
        private final List<INDArray> grids = new ArrayList<>();

        private Factorization(List<SymmetricEigen> as, List<SymmetricEigen> gs, double[] shifts, double maxEigenvalue) {
            this.as = as;
            this.gs = gs;
            this.shifts = shifts;
            this.maxEigenvalue = maxEigenvalue;
            for (int l = 0; l < as.size(); l++) {
                INDArray sa = org.nd4j.linalg.ops.transforms.Transforms.relu(as.get(l).values().castTo(DataType.DOUBLE), true);
                INDArray sg = org.nd4j.linalg.ops.transforms.Transforms.relu(gs.get(l).values().castTo(DataType.DOUBLE), true);
                grids.add(sa.reshape(sa.length(), 1).mmul(sg.reshape(1, sg.length())).addi(shifts[l]));
            }
        }

        /** {@code s_max} of the undamped operator. */
        public double maxEigenvalue() {
            return maxEigenvalue;
        }

        /** The absolute shift {@code c = λ s_max} of layer block {@code l}. */
        public double shift(int l) {
            return shifts[l];
        }

        /**
         * {@code (S + c I)⁻¹ x}: per layer {@code U_A [(U_Aᵀ M U_G) / Λ] U_Gᵀ}.
         *
         * @param x {@code [P]}; not modified
         * @throws NotPositiveDefiniteException naming the layer if a damped eigenvalue is not positive
         */
        public INDArray solve(INDArray x) {
            INDArray flat = requireFlat(x);
            INDArray out = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
            for (int l = 0; l < blocks.size(); l++) {
                INDArray grid = positiveGrid(l, "solve");
                INDArray ua = as.get(l).vectors().castTo(DataType.DOUBLE);
                INDArray ug = gs.get(l).vectors().castTo(DataType.DOUBLE);
                INDArray rotated = ua.transpose().mmul(matrixOf(flat, l)).mmul(ug).divi(grid);
                addMatrix(out, l, ua.mmul(rotated).mmul(ug.transpose()));
            }
            return out;
        }

        /**
         * {@code log det (S + c I) = Σ_l Σ_ij log Λ_l[i, j]}.
         *
         * @throws NotPositiveDefiniteException naming the layer if a damped eigenvalue is not positive
         */
        public double logDet() {
            double total = 0;
            for (int l = 0; l < blocks.size(); l++) {
                total += org.nd4j.linalg.ops.transforms.Transforms.log(positiveGrid(l, "logDet"), true).sumNumber().doubleValue();
            }
            return total;
        }

        /**
         * {@code diag (S + c I)⁻¹}: for {@code M[i, j]}, {@code Σ_km U_A[i, k]² U_G[j, m]² / Λ[k, m]}, i.e.
         * {@code (U_A ∘ U_A) Λ^{∘−1} (U_G ∘ U_G)ᵀ}.
         *
         * @throws NotPositiveDefiniteException naming the layer if a damped eigenvalue is not positive
         */
        public INDArray inverseDiagonal() {
            INDArray out = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
            for (int l = 0; l < blocks.size(); l++) {
                INDArray inverse = org.nd4j.linalg.ops.transforms.Transforms.pow(positiveGrid(l, "inverseDiagonal"), -1.0, true);
                INDArray ua = as.get(l).vectors().castTo(DataType.DOUBLE);
                INDArray ug = gs.get(l).vectors().castTo(DataType.DOUBLE);
                addMatrix(out, l, ua.mul(ua).mmul(inverse).mmul(ug.mul(ug).transpose()));
            }
            return out;
        }

        private INDArray positiveGrid(int l, String operation) {
            INDArray grid = grids.get(l);
            double min = grid.minNumber().doubleValue();
            if (!(min > 0.0)) {
                throw new NotPositiveDefiniteException("K-FAC block of '" + blocks.get(l).weight() + "'", min, operation);
            }
            return grid;
        }
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("KroneckerCurvature (" + spec.parameterCount() + " parameters, " + storedFloats() + " stored floats)");
        for (LayerBlock b : blocks) {
            sb.append("\n  ").append(b.weight()).append(b.bias() == null ? "" : " + " + b.bias()).append(": A[").append(b.rows()).append('×')
                    .append(b.rows()).append("] ⊗ G[").append(b.columns()).append('×').append(b.columns()).append(']');
        }
        return sb.toString();
    }
}
