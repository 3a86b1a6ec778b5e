package org.symcurv.optimizer;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The polar factor {@code polar(G) = U Vᵀ} of a matrix {@code G = U Σ Vᵀ} (thin SVD), the orthogonal matrix
 * nearest to {@code G}: exactly, or by a Newton–Schulz iteration as Muon does.
 */
public final class PolarFactor {
    /**
     * Below this fraction of the largest squared singular value, times the matrix size, a direction counts as null
     * (pseudo-inverse): the unit round-off of the Gram matrix's precision.
     */
    static double rankTolerance(DataType type) {
        return type == DataType.FLOAT ? 6e-8 : 1.1e-16;
    }

    private PolarFactor() {
    }

    /**
     * Coefficients of the odd polynomial {@code X ↦ a X + b (X Xᵀ) X + c (X Xᵀ)² X} iterated by
     * {@link #newtonSchulz}.
     */
    public record Coefficients(double a, double b, double c) {
        /**
         * Muon's quintic (Jordan et al., 2024): {@code (3.4445, −4.7750, 2.0315)}, tuned to push every singular value
         * into roughly {@code [0.7, 1.2]} in 5 steps rather than to converge.
         */
        public static final Coefficients MUON_QUINTIC = new Coefficients(3.4445, -4.7750, 2.0315);
        /** The classic cubic {@code (3X − X Xᵀ X)/2}: converges to the exact polar factor (quadratically near it). */
        public static final Coefficients CUBIC = new Coefficients(1.5, -0.5, 0.0);
    }

    /**
     * {@code U Vᵀ = G (GᵀG)^{-1/2}} (or {@code (G Gᵀ)^{-1/2} G}, whichever Gram matrix is smaller) from a symmetric
     * eigendecomposition in {@code g}'s precision; directions whose squared singular value is below the round-off of
     * the Gram matrix ({@code m·ε·σ_max²}) are dropped (the pseudo-inverse), so a rank-deficient {@code G} gives a
     * partial isometry. In float32 singular values below about {@code 3e-4 σ_max} are therefore inexact.
     * (ND4J's SVD op fails above 16×16 with its default switch and takes about a minute for 256×256 with Jacobi
     * only; LAPACK {@code gesvd} through ND4J crashes the JVM: measured with 1.0.0-M2.1.)
     *
     * @param g {@code [r, c]}; not modified
     * @return a new {@code [r, c]} array in {@code g}'s data type
     */
    public static INDArray exact(INDArray g) {
        DataType type = g.dataType() == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE;
        INDArray x = g.castTo(type);
        boolean tall = x.rows() >= x.columns();
        INDArray gram = tall ? x.transpose().mmul(x) : x.mmul(x.transpose());
        org.symcurv.core.operator.SymmetricEigen e = org.symcurv.core.operator.SymmetricEigen.of(gram);
        double[] s = e.values().castTo(DataType.DOUBLE).toDoubleVector();
        double cutoff = Math.max(e.max(), 0) * rankTolerance(type) * gram.size(0);
        double[] f = new double[s.length];
        for (int i = 0; i < f.length; i++) {
            f[i] = s[i] > cutoff ? 1.0 / Math.sqrt(s[i]) : 0.0;
        }
        INDArray inverseRoot = e.vectors().mulRowVector(org.nd4j.linalg.factory.Nd4j.createFromArray(f).castTo(type))
                .mmul(e.vectors().transpose());
        INDArray polar = tall ? x.mmul(inverseRoot) : inverseRoot.mmul(x);
        return polar.castTo(g.dataType());
    }

    /**
     * {@code steps} iterations of {@code X ← a X + b (X Xᵀ) X + c (X Xᵀ)² X} from {@code X_0 = G / (‖G‖_F + 1e-7)}, in
     * {@code g}'s data type, on the wide orientation (the Gram matrix of the smaller side).
     *
     * @param g {@code [r, c]}; not modified
     * @return a new {@code [r, c]} array
     */
    public static INDArray newtonSchulz(INDArray g, Coefficients k, int steps) {
        if (steps < 1) {
            throw new IllegalArgumentException("Newton–Schulz needs at least one step, got " + steps);
        }
        boolean tall = g.rows() > g.columns();
        INDArray x = (tall ? g.transpose() : g).dup('c');
        x.divi(x.norm2Number().doubleValue() + 1e-7);
        for (int i = 0; i < steps; i++) {
            INDArray a = x.mmul(x.transpose());
            INDArray b = k.c() == 0 ? a.mul(k.b()) : a.mmul(a).muli(k.c()).addi(a.mul(k.b()));
            x = b.mmul(x).addi(x.mul(k.a()));
        }
        return tall ? x.transpose().dup('c') : x;
    }
}
