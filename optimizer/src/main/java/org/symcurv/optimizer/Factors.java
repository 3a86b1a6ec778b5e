package org.symcurv.optimizer;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The two pieces of dense algebra the Cholesky form of {@link SymmetryPreconditioner} needs and core's operator package
 * does not offer yet (core.operator is the place for them once it does): the lower Cholesky factor of a damped block and
 * the largest eigenvalue of a symmetric positive semi-definite block by power iteration.
 */
final class Factors {
    /** Power-iteration steps for {@link #largestEigenvalue}: the damping needs a scale, not the eigenvalue to round-off. */
    static final int POWER_STEPS = 30;

    private Factors() {
    }

    /**
     * The lower-triangular {@code L} with {@code L Lᵀ = A + δI}, computed in float64 (Cholesky–Banachiewicz) and
     * returned in {@code a}'s data type. A pivot that is not positive (a semi-definite block with {@code δ = 0}) gives a
     * zero column, so {@code L Lᵀ} is still {@code A} on a block that is exactly zero.
     *
     * @param a     symmetric {@code [m, m]}; not modified
     * @param delta {@code δ ≥ 0}
     * @return {@code [m, m]}
     */
    static INDArray cholesky(INDArray a, double delta) {
        int m = (int) a.size(0);
        double[] x = a.castTo(DataType.DOUBLE).dup('c').reshape(a.length()).toDoubleVector();
        double[] l = new double[m * m];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j <= i; j++) {
                double sum = x[i * m + j] + (i == j ? delta : 0);
                int ri = i * m;
                int rj = j * m;
                for (int k = 0; k < j; k++) {
                    sum -= l[ri + k] * l[rj + k];
                }
                if (i == j) {
                    l[ri + i] = sum > 0 ? Math.sqrt(sum) : 0;
                } else {
                    double pivot = l[rj + j];
                    l[ri + j] = pivot > 0 ? sum / pivot : 0;
                }
            }
        }
        return Nd4j.createFromArray(l).reshape('c', new long[] {m, m}).castTo(a.dataType());
    }

    /**
     * {@code s_max} of a symmetric positive semi-definite {@code a [m, m]} by {@value #POWER_STEPS} steps of power
     * iteration from the vector {@code (1, 2, …, m)/‖·‖} (a fixed start, so the result is reproducible); at most
     * {@code s_max}, within a few percent of it for the damping's purpose. {@code 0} for a zero block.
     */
    static double largestEigenvalue(INDArray a) {
        long m = a.size(0);
        INDArray block = a.castTo(DataType.DOUBLE);
        INDArray v = Nd4j.linspace(1, m, m, DataType.DOUBLE).reshape(m, 1);
        v.divi(v.norm2Number());
        double value = 0;
        for (int step = 0; step < POWER_STEPS; step++) {
            INDArray next = block.mmul(v);
            double norm = next.norm2Number().doubleValue();
            if (norm == 0) {
                return 0;
            }
            value = v.transpose().mmul(next).getDouble(0);
            v = next.divi(norm);
        }
        return Math.max(value, 0);
    }
}
