package org.symcurv.optimizer;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.SymmetricEigen;

/**
 * The symmetric eigendecomposition {@code B = U diag(s) Uᵀ} in float64, and damped powers
 * {@code U diag((shift + max(s, 0))^p) Uᵀ} of it (symmetry-curvature.md section 4, with the same conventions as
 * {@link SymmetricEigen#power}: a negative power of an exactly zero damped eigenvalue is zero).
 *
 * <p>Why not {@link SymmetricEigen} directly: ND4J's {@code Eigen} calls LAPACK's {@code syev} (QR iteration).
 * When the CPU backend's OpenBLAS is on the class path (the default {@code cpu} profile) this class calls
 * {@code LAPACKE_dsyevd} (divide and conquer) instead: measured on a 786×786 block here 0.34 s against 1.1 s for
 * {@code dsyev} and 0.85 s for ND4J's float32 {@code syev}. It finds OpenBLAS by reflection, so the module names
 * no backend, and falls back to {@link SymmetricEigen} when it is absent (e.g. the {@code cuda} profile).
 */
public final class Eigensolver {
    private static final int LAPACK_ROW_MAJOR = 101;
    private static final MethodHandle DSYEVD = findDsyevd();

    private Eigensolver() {
    }

    private static MethodHandle findDsyevd() {
        if (Boolean.getBoolean("symcurv.eigen.nd4j")) {
            return null;
        }
        try {
            Class<?> openblas = Class.forName("org.bytedeco.openblas.global.openblas");
            return MethodHandles.publicLookup().findStatic(openblas, "LAPACKE_dsyevd", MethodType.methodType(int.class,
                    int.class, byte.class, byte.class, int.class, double[].class, int.class, double[].class));
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }

    /** Which routine decomposes: {@code "LAPACKE_dsyevd"} or {@code "ND4J syev"}. */
    public static String backend() {
        return DSYEVD != null ? "LAPACKE_dsyevd" : "ND4J syev";
    }

    /**
     * One decomposition.
     *
     * @param values  {@code s}, ascending
     * @param vectors {@code U}, float64 {@code [m, m]}, eigenvectors in columns
     */
    public record Decomposition(double[] values, INDArray vectors) {
        public double max() {
            return values[values.length - 1];
        }

        /**
         * {@code U diag(f) Uᵀ} with {@code f = (shift + max(s, 0))^p}, zero where the base is zero and {@code p < 0}.
         *
         * @return float64 {@code [m, m]}
         */
        public INDArray power(double p, double shift) {
            double[] f = new double[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = dampedPower(values[i], p, shift);
            }
            return vectors.mulRowVector(Nd4j.createFromArray(f)).mmul(vectors.transpose());
        }
    }

    /** {@code (shift + max(s, 0))^p}, zero where the base is zero and {@code p < 0} ({@code p = 0} gives 1). */
    public static double dampedPower(double s, double p, double shift) {
        double base = shift + Math.max(s, 0.0);
        if (base == 0.0) {
            return p == 0 ? 1.0 : 0.0;
        }
        return Math.pow(base, p);
    }

    /**
     * Decomposes a symmetric matrix (only its upper triangle is read).
     *
     * @param symmetric {@code [m, m]}, any floating type; not modified
     * @throws ArithmeticException if LAPACK reports that the iteration did not converge (e.g. NaN entries)
     */
    public static Decomposition of(INDArray symmetric) {
        int m = Math.toIntExact(symmetric.size(0));
        if (symmetric.rank() != 2 || symmetric.size(1) != m) {
            throw new IllegalArgumentException("expected a square matrix, got shape " + java.util.Arrays.toString(symmetric.shape()));
        }
        if (DSYEVD == null) {
            SymmetricEigen e = SymmetricEigen.of(symmetric.castTo(DataType.DOUBLE));
            return new Decomposition(e.values().toDoubleVector(), e.vectors());
        }
        double[] a = symmetric.castTo(DataType.DOUBLE).dup('c').data().asDouble();
        double[] w = new double[m];
        int info;
        try {
            info = (int) DSYEVD.invokeExact(LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', m, a, m, w);
        } catch (Throwable t) {
            throw new IllegalStateException("LAPACKE_dsyevd failed: " + t, t);
        }
        if (info != 0) {
            throw new ArithmeticException("the eigendecomposition of a " + m + "×" + m + " block did not converge (LAPACK info "
                    + info + "): the block holds NaN or infinite entries");
        }
        // row-major storage: column j of the m×m array is the eigenvector of w[j]
        return new Decomposition(w, Nd4j.createFromArray(a).reshape('c', new long[] {m, m}));
    }
}
