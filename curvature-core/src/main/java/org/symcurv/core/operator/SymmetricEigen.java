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
        if (symmetric.rows() > VERIFIED_SIZE) {
            requireTrustworthyLapack(symmetric.dataType());
        }
        return decompose(symmetric);
    }

    private static SymmetricEigen decompose(INDArray symmetric) {
        INDArray work = symmetric.dup('c');
        INDArray values = Eigen.symmetricGeneralizedEigenvalues(work, true);
        return new SymmetricEigen(work, values.reshape(values.length()));
    }

    /** Blocks up to this size never reach the kernels found faulty; larger ones are checked once per data type. */
    static final int VERIFIED_SIZE = 96;
    private static final int CHECK_SIZE = 192;
    private static final java.util.Map<org.nd4j.linalg.api.buffer.DataType, String> LAPACK_PROBLEMS =
            new java.util.concurrent.ConcurrentHashMap<>();

    /**
     * Checks once per data type that LAPACK's symmetric eigensolver is right on a seeded {@code 192×192} matrix:
     * OpenBLAS 0.3.19 (ND4J 1.0.0-M2.1's) returns wrong float64 eigenvectors above {@code m ≈ 128} with its AVX-512
     * (SkylakeX) kernels — measured here: residual {@code ‖AU − UΛ‖/‖A‖ ≈ 1} — while float32, and float64 with
     * {@code OPENBLAS_CORETYPE=Haswell}, are right to round-off.
     *
     * @throws IllegalStateException naming the remedy when the check fails, instead of returning wrong results
     */
    static void requireTrustworthyLapack(org.nd4j.linalg.api.buffer.DataType type) {
        String problem = LAPACK_PROBLEMS.computeIfAbsent(type, t -> {
            java.util.Random rng = new java.util.Random(192);
            double[][] entries = new double[CHECK_SIZE][CHECK_SIZE];
            for (double[] row : entries) {
                for (int j = 0; j < CHECK_SIZE; j++) {
                    row[j] = rng.nextGaussian();
                }
            }
            INDArray x = Nd4j.createFromArray(entries).castTo(t);
            INDArray a = x.add(x.transpose());
            SymmetricEigen e = decompose(a);
            double residual = a.mmul(e.vectors()).subi(e.vectors().mulRowVector(e.values())).norm2Number().doubleValue()
                    / a.norm2Number().doubleValue();
            double tolerance = t == org.nd4j.linalg.api.buffer.DataType.DOUBLE ? 1e-10 : 1e-3;
            return residual <= tolerance ? "" : "the " + t + " symmetric eigensolver of this BLAS returned a residual "
                    + residual + " on a " + CHECK_SIZE + "×" + CHECK_SIZE + " check matrix (tolerance " + tolerance
                    + "); on AVX-512 CPUs set OPENBLAS_CORETYPE=Haswell in the environment before the JVM starts "
                    + "(bin/symcurv and the Maven test build do), or use float32 blocks";
        });
        if (!problem.isEmpty()) {
            throw new IllegalStateException(problem);
        }
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
