package org.symcurv.core.operator;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.symmetry.KindDecomposition;

/**
 * The eigendecomposition of every block of a structured operator, computed once, with its damping
 * (symmetry-curvature.md section 4):
 * <pre>
 *   S = ⊕_κ I_{d_κ} ⊗ U_κ diag(s_κ) U_κᵀ,      S̃ = ⊕_κ I_{d_κ} ⊗ U_κ diag(c_κ + max(s_κ, 0)) U_κᵀ,
 * </pre>
 * where the shift {@code c_κ = λ·s_max} takes {@code s_max} from the whole operator ({@link Damping.Scope#GLOBAL}) or
 * from each block ({@link Damping.Scope#PER_BLOCK}), and eigenvalues below zero (round-off, or an indefinite input) are
 * read as zero. Every spectral question is answered from this one decomposition: damped powers {@code S̃^p}, solves
 * {@code S̃⁻¹ b}, {@code log det S̃}, the diagonal, columns and principal submatrices of {@code S̃⁻¹}, and draws from
 * {@code N(0, S̃⁻¹)}. A {@code 1 × 1} or diagonal-only block is its own eigendecomposition (no LAPACK call); a dense
 * block is decomposed by {@link SymmetricEigen} in its own precision.
 *
 * <p>Immutable and safe to share between threads; the inverse and the inverse square root are built on first use and
 * kept.
 */
public final class Factorization {
    private final Curvature operator;
    private final Damping damping;
    /** Per kind: the decomposition of each family member of a dense block, or null for an elementwise block. */
    private final List<SymmetricEigen[]> eigen;
    /** Per kind: the shift {@code c} of each family member ({@code [F]}), or of each element of an elementwise block. */
    private final List<double[]> shifts;
    private final double maxEigenvalue;
    private volatile Curvature inverse;
    private volatile Curvature inverseSqrt;

    Factorization(Curvature operator, Damping damping) {
        this.operator = operator;
        this.damping = damping;
        List<SymmetricEigen[]> decompositions = new ArrayList<>();
        double max = Double.NEGATIVE_INFINITY;
        int kinds = operator.decomposition().kinds().size();
        for (int k = 0; k < kinds; k++) {
            INDArray b = operator.block(k);
            if (isElementwise(b)) {
                decompositions.add(null);
                if (b.length() > 0) {
                    max = Math.max(max, b.maxNumber().doubleValue());
                }
            } else {
                SymmetricEigen[] members = new SymmetricEigen[(int) b.size(0)];
                for (int f = 0; f < members.length; f++) {
                    members[f] = SymmetricEigen.of(b.slice(f));
                    max = Math.max(max, members[f].max());
                }
                decompositions.add(members);
            }
        }
        this.eigen = decompositions;
        this.maxEigenvalue = max;
        this.shifts = shifts();
    }

    private static boolean isElementwise(INDArray block) {
        return block.rank() == 2 || block.size(1) == 1;
    }

    private List<double[]> shifts() {
        boolean global = damping.scope() == Damping.Scope.GLOBAL;
        double globalShift = damping.relative() > 0 && global ? damping.relative() * Math.max(maxEigenvalue, 0.0) : 0.0;
        boolean perBlock = damping.relative() > 0 && !global;
        List<double[]> out = new ArrayList<>();
        for (int k = 0; k < eigen.size(); k++) {
            INDArray b = operator.block(k);
            SymmetricEigen[] members = eigen.get(k);
            double[] c;
            if (members == null) {
                c = new double[(int) b.length()];
                if (perBlock && b.rank() == 2) {
                    // a diagonal-only block is one m×m block: its reference eigenvalue is its row maximum
                    long m = b.size(1);
                    double[] rowMax = m == 0 ? new double[0] : b.max(1).castTo(DataType.DOUBLE).toDoubleVector();
                    for (int i = 0; i < c.length; i++) {
                        c[i] = relativeShift(rowMax[(int) (i / m)], b.dataType());
                    }
                } else if (perBlock) {
                    // each 1×1 block is its own reference
                    double[] v = values(b);
                    for (int i = 0; i < c.length; i++) {
                        c[i] = relativeShift(v[i], b.dataType());
                    }
                } else {
                    java.util.Arrays.fill(c, globalShift);
                }
            } else {
                c = new double[members.length];
                for (int f = 0; f < members.length; f++) {
                    c[f] = perBlock ? damping.relative() * Math.max(members[f].max(), 0.0) : globalShift;
                }
            }
            out.add(c);
        }
        return out;
    }

    /** {@code λ·max(s, 0)}, rounded as the block's precision computes it (float32 blocks: in float32). */
    private double relativeShift(double s, DataType type) {
        return type == DataType.FLOAT ? (float) Math.max(s, 0.0) * (float) damping.relative() : damping.relative() * Math.max(s, 0.0);
    }

    private static double[] values(INDArray elementwiseBlock) {
        return elementwiseBlock.castTo(DataType.DOUBLE).dup('c').reshape(elementwiseBlock.length()).toDoubleVector();
    }

    /** The operator {@code S} that was factorized. */
    public Curvature curvature() {
        return operator;
    }

    public Damping damping() {
        return damping;
    }

    /** {@code s_max}, the largest eigenvalue of {@code S} (undamped); {@code -∞} for an operator without blocks. */
    public double maxEigenvalue() {
        return maxEigenvalue;
    }

    /** The smallest eigenvalue of {@code S} (undamped); {@code +∞} for an operator without blocks. */
    public double minEigenvalue() {
        double min = Double.POSITIVE_INFINITY;
        for (int k = 0; k < eigen.size(); k++) {
            min = Math.min(min, minEigenvalue(k));
        }
        return min;
    }

    private double minEigenvalue(int k) {
        double min = Double.POSITIVE_INFINITY;
        if (eigen.get(k) == null) {
            INDArray b = operator.block(k);
            return b.length() == 0 ? min : b.minNumber().doubleValue();
        }
        for (SymmetricEigen e : eigen.get(k)) {
            if (e.values().length() > 0) {
                min = Math.min(min, e.min());
            }
        }
        return min;
    }

    /**
     * The eigenvalues of {@code S} (undamped) with their multiplicities: one entry per family member of each kind, its
     * {@code m_κ} eigenvalues (float64, ascending for dense blocks) each of multiplicity {@code d_κ}.
     */
    public List<Eigenvalues> eigenvalues() {
        List<Eigenvalues> out = new ArrayList<>();
        KindDecomposition kinds = operator.decomposition();
        for (int k = 0; k < eigen.size(); k++) {
            long d = kinds.kinds().get(k).dimension();
            if (eigen.get(k) == null) {
                out.add(new Eigenvalues(values(operator.block(k)), d));
            } else {
                for (SymmetricEigen e : eigen.get(k)) {
                    out.add(new Eigenvalues(e.values().castTo(DataType.DOUBLE).toDoubleVector(), d));
                }
            }
        }
        return out;
    }

    /**
     * Eigenvalues {@code values} of one block, each of multiplicity {@code multiplicity} in {@code S}.
     *
     * @param values       float64, {@code m} of them
     * @param multiplicity {@code d_κ}
     */
    public record Eigenvalues(double[] values, long multiplicity) {
        public Eigenvalues {
            values = values.clone();
        }

        @Override
        public double[] values() {
            return values.clone();
        }
    }

    /**
     * The damped power {@code S̃^p = ⊕_κ I ⊗ U_κ diag((c_κ + max(s_κ, 0))^p) U_κᵀ}; a negative power of a damped
     * eigenvalue that is exactly zero is zero.
     *
     * @param p any real power, e.g. {@code -1}, {@code -1/2}, {@code -1/4}
     * @return a new operator in {@code S}'s data type
     */
    public Curvature power(double p) {
        List<INDArray> out = new ArrayList<>();
        for (int k = 0; k < eigen.size(); k++) {
            INDArray b = operator.block(k);
            double[] c = shifts.get(k);
            SymmetricEigen[] members = eigen.get(k);
            if (members == null) {
                INDArray shift = Nd4j.createFromArray(c).castTo(b.dataType()).reshape(b.shape());
                out.add(SymmetricEigen.dampedPower(b, p, shift));
            } else {
                INDArray result = Nd4j.create(b.dataType(), b.shape());
                for (int f = 0; f < members.length; f++) {
                    result.slice(f).assign(members[f].power(p, c[f]));
                }
                out.add(result);
            }
        }
        return Curvature.of(operator.decomposition(), out);
    }

    /** {@code S̃⁻¹}, built on first use and kept. */
    public Curvature inverse() {
        Curvature inv = inverse;
        if (inv == null) {
            inv = power(-1.0);
            inverse = inv;
        }
        return inv;
    }

    /**
     * {@code S̃⁻¹ b}.
     *
     * @param b flat vector of {@code P} elements; not modified
     * @return a new {@code [P]} vector in {@code b}'s data type
     */
    public INDArray solve(INDArray b) {
        return inverse().multiply(b);
    }

    /**
     * {@code S̃⁻¹ b_i} for every row.
     *
     * @param rows {@code [n, P]}; not modified
     * @return a new {@code [n, P]} array
     */
    public INDArray solveRows(INDArray rows) {
        return inverse().multiplyRows(rows);
    }

    /** {@code diag(S̃⁻¹)} in parameter coordinates, {@code [P]} (OBS saliencies, Laplace variances). */
    public INDArray inverseDiagonal() {
        return inverse().diagonal();
    }

    /** The column {@code S̃⁻¹ e_q} (the OBS compensating update for removing parameter {@code q}). */
    public INDArray inverseColumn(long q) {
        return inverse().column(q);
    }

    /**
     * The principal submatrix {@code E_Qᵀ S̃⁻¹ E_Q} of the inverse (the joint OBS update of the parameters {@code Q}).
     *
     * @param indices flat parameter indices {@code Q}, distinct
     * @return {@code [|Q|, |Q|]} float64
     */
    public INDArray inverseSubmatrix(long[] indices) {
        return inverse().principalSubmatrix(indices);
    }

    /**
     * {@code log det S̃ = Σ_κ d_κ Σ_f Σ_i log(c_κ,f + max(s_κ,f,i, 0))}, summed in float64.
     *
     * @param operation names the caller's operation in the exception, e.g. {@code "log det of the posterior precision"}
     * @throws NotPositiveDefiniteException naming the kind and its eigenvalue if a damped eigenvalue is not positive
     */
    public double logDet(String operation) {
        double total = 0.0;
        KindDecomposition kinds = operator.decomposition();
        for (int k = 0; k < eigen.size(); k++) {
            double d = kinds.kinds().get(k).dimension();
            double[] c = shifts.get(k);
            SymmetricEigen[] members = eigen.get(k);
            if (members == null) {
                double[] v = values(operator.block(k));
                for (int i = 0; i < v.length; i++) {
                    total += d * Math.log(positive(k, v[i], c[i], operation));
                }
            } else {
                for (int f = 0; f < members.length; f++) {
                    for (double s : members[f].values().castTo(DataType.DOUBLE).toDoubleVector()) {
                        total += d * Math.log(positive(k, s, c[f], operation));
                    }
                }
            }
        }
        return total;
    }

    /** {@code log det S̃}; see {@link #logDet(String)}. */
    public double logDet() {
        return logDet("logDet");
    }

    private double positive(int k, double s, double shift, String operation) {
        double base = shift + Math.max(s, 0.0);
        if (!(base > 0.0)) {
            throw new NotPositiveDefiniteException(operator.decomposition().describe(k), s, operation);
        }
        return base;
    }

    /**
     * {@code S̃^{-1/2}}, the factor of {@link #sample} (built on first use and kept).
     *
     * @throws NotPositiveDefiniteException if a damped eigenvalue is not positive
     */
    public Curvature inverseSqrt() {
        Curvature root = inverseSqrt;
        if (root == null) {
            requirePositiveDefinite("sampling N(0, S⁻¹)");
            root = power(-0.5);
            inverseSqrt = root;
        }
        return root;
    }

    /**
     * Checks that every damped eigenvalue is positive.
     *
     * @throws NotPositiveDefiniteException naming the first kind whose block is not positive definite
     */
    public void requirePositiveDefinite(String operation) {
        for (int k = 0; k < eigen.size(); k++) {
            double[] c = shifts.get(k);
            SymmetricEigen[] members = eigen.get(k);
            if (members == null) {
                double[] v = values(operator.block(k));
                for (int i = 0; i < v.length; i++) {
                    positive(k, v[i], c[i], operation);
                }
            } else {
                for (int f = 0; f < members.length; f++) {
                    if (members[f].values().length() > 0) {
                        positive(k, members[f].min(), c[f], operation);
                    }
                }
            }
        }
    }

    /**
     * A draw from {@code N(0, S̃⁻¹)}: per block {@code Z ↦ Z U diag((c + s)^{-1/2}) Uᵀ} on a standard Gaussian {@code Z}
     * ({@code [F, D, m]}), scattered back into parameter space.
     *
     * @param seed seeds the Gaussian draw
     * @return {@code [P]}
     * @throws NotPositiveDefiniteException if a damped eigenvalue is not positive
     */
    public INDArray sample(long seed) {
        return Curvature.sampleWithFactor(inverseSqrt(), seed);
    }

    /**
     * {@code count} independent draws from {@code N(0, S̃⁻¹)}, one per row.
     *
     * @return {@code [count, P]}
     * @throws NotPositiveDefiniteException if a damped eigenvalue is not positive
     */
    public INDArray samples(int count, long seed) {
        return Curvature.sampleWithFactor(inverseSqrt(), count, seed);
    }
}
