package org.symcurv.core.operator;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The eigendecomposition {@code B = U diag(s) Uᵀ} of one symmetric block, with damped powers
 * {@code U diag((shift + max(s, 0))^p) Uᵀ} of it (symmetry-curvature.md section 4).
 *
 * <p>The block is decomposed in its own precision: float32 stays float32, every other type is decomposed in float64.
 * Two routes exist, and each precision's route is chosen once per process by a self-check on a seeded
 * {@code 192×192} matrix (reconstruction and orthogonality to round-off):
 * <ol>
 *   <li>LAPACKE's divide-and-conquer {@code ssyevd}/{@code dsyevd}, found by reflection in the CPU backend's OpenBLAS
 *       (so this class names no backend): measured 2–4× faster than ND4J's route on a 786×786 block here;</li>
 *   <li>ND4J's {@code Eigen.symmetricGeneralizedEigenvalues} (LAPACK {@code syev}, QR iteration), which also runs on the
 *       CUDA backend.</li>
 * </ol>
 * Why a check at all: OpenBLAS 0.3.19 (ND4J 1.0.0-M2.1's) returns <em>wrong float64 eigenvectors</em> above
 * {@code m ≈ 128} with its AVX-512 (SkylakeX) kernels — from {@code dsyev}, {@code dsyevd} and {@code dsyevr} alike;
 * measured here: residual {@code ‖AU − UΛ‖/‖A‖ ≈ 1} — while float32, and float64 with
 * {@code OPENBLAS_CORETYPE=Haswell}, are right. If neither route passes, decomposing in that precision throws an
 * {@link IllegalStateException} naming the remedy instead of returning garbage. The system property
 * {@code symcurv.eigen.nd4j=true} skips the LAPACKE route.
 *
 * @param vectors {@code U}, {@code [m, m]} in the block's precision, eigenvectors in columns
 * @param values  {@code s}, {@code [m]} in the block's precision, ascending
 */
public record SymmetricEigen(INDArray vectors, INDArray values) {
    /** The size of the self-check matrix: above the size where the faulty kernels take over. */
    static final int CHECK_SIZE = 192;
    private static final int LAPACK_ROW_MAJOR = 101;
    private static final MethodHandle SSYEVD = findLapacke("LAPACKE_ssyevd", float[].class);
    private static final MethodHandle DSYEVD = findLapacke("LAPACKE_dsyevd", double[].class);
    private static final Map<DataType, Route> ROUTES = new ConcurrentHashMap<>();

    private enum Kind { LAPACKE, ND4J, BROKEN }

    private record Route(Kind kind, String problem) {
    }

    /**
     * Decomposes a symmetric matrix (LAPACKE reads its upper triangle, ND4J its lower one).
     *
     * @param symmetric {@code [m, m]}; not modified
     * @throws IllegalArgumentException if the matrix is not square
     * @throws ArithmeticException      if LAPACK reports that the iteration did not converge (NaN or infinite entries)
     * @throws IllegalStateException    if no eigensolver of this precision passed the self-check on this machine
     */
    public static SymmetricEigen of(INDArray symmetric) {
        if (symmetric.rank() != 2 || symmetric.size(0) != symmetric.size(1)) {
            throw new IllegalArgumentException("expected a square matrix, got shape " + Arrays.toString(symmetric.shape()));
        }
        DataType type = precisionOf(symmetric);
        if (symmetric.size(0) == 0) {
            return new SymmetricEigen(Nd4j.zeros(type, 0, 0), Nd4j.zeros(type, 0));
        }
        Route route = route(type);
        return switch (route.kind()) {
            case LAPACKE -> lapacke(symmetric, type);
            case ND4J -> nd4j(symmetric, type);
            case BROKEN -> throw new IllegalStateException(route.problem());
        };
    }

    /** Which routine decomposes blocks of this data type: {@code LAPACKE_ssyevd}, {@code LAPACKE_dsyevd}, {@code ND4J syev}, or why none. */
    public static String backend(DataType type) {
        DataType precision = type == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE;
        Route r = route(precision);
        return switch (r.kind()) {
            case LAPACKE -> precision == DataType.FLOAT ? "LAPACKE_ssyevd" : "LAPACKE_dsyevd";
            case ND4J -> "ND4J syev";
            case BROKEN -> "none: " + r.problem();
        };
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
     *
     * @return {@code [m, m]} in the decomposition's precision
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
            v[i] = dampedPower(v[i], p, c[i]);
        }
        return Nd4j.createFromArray(v).castTo(s.dataType()).reshape(s.shape());
    }

    /** {@code (shift + max(s, 0))^p}, zero where the base is zero and {@code p < 0} ({@code p = 0} gives 1). */
    public static double dampedPower(double s, double p, double shift) {
        double base = shift + Math.max(s, 0.0);
        if (base == 0.0) {
            return p == 0 ? 1.0 : 0.0;
        }
        return Math.pow(base, p);
    }

    private static DataType precisionOf(INDArray a) {
        return a.dataType() == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE;
    }

    private static MethodHandle findLapacke(String name, Class<?> array) {
        if (Boolean.getBoolean("symcurv.eigen.nd4j")) {
            return null;
        }
        try {
            Class<?> openblas = Class.forName("org.bytedeco.openblas.global.openblas");
            return MethodHandles.publicLookup().findStatic(openblas, name, MethodType.methodType(int.class,
                    int.class, byte.class, byte.class, int.class, array, int.class, array));
        } catch (ReflectiveOperationException | LinkageError e) {
            return null;
        }
    }

    private static Route route(DataType type) {
        return ROUTES.computeIfAbsent(type, SymmetricEigen::selectRoute);
    }

    /** The first route whose result on a seeded test matrix reconstructs it and is orthogonal. */
    private static Route selectRoute(DataType type) {
        INDArray test = testMatrix(type);
        double tolerance = type == DataType.FLOAT ? 1e-4 : 1e-10;
        StringBuilder errors = new StringBuilder();
        if ((type == DataType.FLOAT ? SSYEVD : DSYEVD) != null) {
            double e = checkError(() -> lapacke(test, type), test);
            if (e <= tolerance) {
                return new Route(Kind.LAPACKE, null);
            }
            errors.append(String.format(Locale.ROOT, "LAPACKE %.1e", e));
        }
        double e = checkError(() -> nd4j(test, type), test);
        if (e <= tolerance) {
            return new Route(Kind.ND4J, null);
        }
        errors.append(errors.length() > 0 ? ", " : "").append(String.format(Locale.ROOT, "ND4J syev %.1e", e));
        return new Route(Kind.BROKEN, "the " + (type == DataType.FLOAT ? "float32" : "float64") + " symmetric eigensolvers of this "
                + "machine's BLAS return wrong eigenvectors (relative error on a " + CHECK_SIZE + "×" + CHECK_SIZE + " check matrix: "
                + errors + " against tolerance " + tolerance + "; OpenBLAS 0.3.19's SkylakeX kernels do this for float64): set "
                + "OPENBLAS_CORETYPE=Haswell in the environment before the JVM starts (bin/symcurv and the Maven test build do), "
                + "or use float32 blocks");
    }

    private static INDArray testMatrix(DataType type) {
        Random rng = new Random(192);
        double[] g = new double[CHECK_SIZE * CHECK_SIZE];
        for (int i = 0; i < g.length; i++) {
            g[i] = rng.nextGaussian();
        }
        INDArray x = Nd4j.createFromArray(g).reshape('c', new long[] {CHECK_SIZE, CHECK_SIZE});
        return x.transpose().mmul(x).divi(CHECK_SIZE).castTo(type);
    }

    /** {@code max(‖U S Uᵀ − A‖/‖A‖, ‖UᵀU − I‖/√m)}; NaN or a thrown failure count as infinite. */
    private static double checkError(java.util.function.Supplier<SymmetricEigen> decomposition, INDArray a) {
        try {
            SymmetricEigen d = decomposition.get();
            INDArray u = d.vectors().castTo(DataType.DOUBLE);
            INDArray ad = a.castTo(DataType.DOUBLE);
            double reconstruction = u.mulRowVector(d.values().castTo(DataType.DOUBLE)).mmul(u.transpose()).subi(ad).norm2Number().doubleValue()
                    / ad.norm2Number().doubleValue();
            double orthogonality = u.transpose().mmul(u).subi(Nd4j.eye(a.size(0)).castTo(DataType.DOUBLE)).norm2Number().doubleValue()
                    / Math.sqrt(a.size(0));
            double e = Math.max(reconstruction, orthogonality);
            return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
        } catch (RuntimeException failure) {
            return Double.POSITIVE_INFINITY;
        }
    }

    private static SymmetricEigen nd4j(INDArray symmetric, DataType type) {
        INDArray work = symmetric.castTo(type).dup('c');
        INDArray values = Eigen.symmetricGeneralizedEigenvalues(work, true);
        return new SymmetricEigen(work, values.reshape(values.length()));
    }

    private static SymmetricEigen lapacke(INDArray symmetric, DataType type) {
        int m = Math.toIntExact(symmetric.size(0));
        int info;
        INDArray vectors;
        INDArray values;
        try {
            if (type == DataType.FLOAT) {
                float[] a = symmetric.castTo(DataType.FLOAT).dup('c').data().asFloat();
                float[] w = new float[m];
                info = (int) SSYEVD.invokeExact(LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', m, a, m, w);
                vectors = Nd4j.createFromArray(a).reshape('c', new long[] {m, m});
                values = Nd4j.createFromArray(w);
            } else {
                double[] a = symmetric.castTo(DataType.DOUBLE).dup('c').data().asDouble();
                double[] w = new double[m];
                info = (int) DSYEVD.invokeExact(LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', m, a, m, w);
                vectors = Nd4j.createFromArray(a).reshape('c', new long[] {m, m});
                values = Nd4j.createFromArray(w);
            }
        } catch (Throwable t) {
            throw new IllegalStateException("LAPACKE's symmetric eigensolver failed: " + t, t);
        }
        if (info != 0) {
            throw new ArithmeticException("the eigendecomposition of a " + m + "×" + m + " block did not converge (LAPACK info "
                    + info + "): the block holds NaN or infinite entries");
        }
        // row-major storage: column j of the m×m array is the eigenvector of values[j]
        return new SymmetricEigen(vectors, values);
    }
}
