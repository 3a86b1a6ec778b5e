package org.symcurv.optimizer;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.SymmetricEigen;

/**
 * The symmetric eigendecomposition {@code B = U diag(s) Uᵀ} in the precision of {@code B}, with the eigenvalues as a
 * Java array (the optimizer reads them one by one for damping), and damped powers
 * {@code U diag((shift + max(s, 0))^p) Uᵀ}. A thin view of {@link SymmetricEigen}, which chooses and self-checks the
 * LAPACK route (see there for the OpenBLAS float64 fault this guards against).
 */
public final class Eigensolver {
    private Eigensolver() {
    }

    /** Which routine decomposes in this precision ({@link SymmetricEigen#backend}). */
    public static String backend(DataType type) {
        return SymmetricEigen.backend(type);
    }

    /**
     * One decomposition.
     *
     * @param values  {@code s}, ascending
     * @param vectors {@code U}, {@code [m, m]} in the input's precision, eigenvectors in columns
     */
    public record Decomposition(double[] values, INDArray vectors) {
        public double max() {
            return values[values.length - 1];
        }

        /**
         * {@code U diag(f) Uᵀ} with {@code f = (shift + max(s, 0))^p}, zero where the base is zero and {@code p < 0}.
         *
         * @return {@code [m, m]} in the decomposition's precision
         */
        public INDArray power(double p, double shift) {
            return new SymmetricEigen(vectors, Nd4j.createFromArray(values).castTo(vectors.dataType())).power(p, shift);
        }
    }

    /** {@code (shift + max(s, 0))^p}, zero where the base is zero and {@code p < 0} ({@code p = 0} gives 1). */
    public static double dampedPower(double s, double p, double shift) {
        return SymmetricEigen.dampedPower(s, p, shift);
    }

    /**
     * Decomposes a symmetric matrix in its own precision: float32 stays float32, every other type is decomposed in
     * float64.
     *
     * @param symmetric {@code [m, m]}; not modified
     * @throws ArithmeticException   if LAPACK reports that the iteration did not converge (e.g. NaN entries)
     * @throws IllegalStateException if no eigensolver of this precision passed the self-check on this machine
     */
    public static Decomposition of(INDArray symmetric) {
        SymmetricEigen e = SymmetricEigen.of(symmetric);
        return new Decomposition(e.values().castTo(DataType.DOUBLE).toDoubleVector(), e.vectors());
    }
}
