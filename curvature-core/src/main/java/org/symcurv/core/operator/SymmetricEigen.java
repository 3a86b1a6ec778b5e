package org.symcurv.core.operator;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The eigendecomposition {@code B = U diag(s) Uᵀ} of one symmetric block, with functions of it.
 *
 * @param vectors {@code U}, {@code [m, m]}, eigenvectors in columns
 * @param values  {@code s}, {@code [m]}, ascending
 */
public record SymmetricEigen(INDArray vectors, INDArray values) {

    /**
     * Decomposes a symmetric matrix.
     *
     * @param symmetric {@code [m, m]}; not modified (LAPACK works on a copy)
     */
    public static SymmetricEigen of(INDArray symmetric) {
        INDArray work = symmetric.dup('c');
        INDArray values = Eigen.symmetricGeneralizedEigenvalues(work, true);
        return new SymmetricEigen(work, values.reshape(values.length()));
    }

    public double max() {
        return values.getDouble(values.length() - 1);
    }

    public double min() {
        return values.getDouble(0);
    }

    /**
     * {@code U diag(f(s)) Uᵀ} with {@code f(s) = (shift + max(s, 0))^p}, and {@code f = 0} where the damped
     * eigenvalue is exactly zero and {@code p < 0}.
     */
    public INDArray power(double p, double shift) {
        INDArray f = dampedPower(values, p, Nd4j.valueArrayOf(values.shape(), shift, values.dataType()));
        return vectors.mulRowVector(f).mmul(vectors.transpose());
    }

    /** {@code (shift + max(s, 0))^p} elementwise, zero where the base is zero and {@code p < 0}; {@code shift} has {@code s}'s shape. */
    static INDArray dampedPower(INDArray s, double p, INDArray shift) {
        double[] v = s.dup('c').reshape(s.length()).toDoubleVector();
        double[] c = shift.dup('c').reshape(s.length()).toDoubleVector();
        for (int i = 0; i < v.length; i++) {
            double base = c[i] + Math.max(v[i], 0.0);
            v[i] = base == 0.0 ? (p < 0 ? 0.0 : (p == 0 ? 1.0 : 0.0)) : Math.pow(base, p);
        }
        return Nd4j.createFromArray(v).castTo(s.dataType()).reshape(s.shape());
    }
}
