package org.symcurv.optimizer;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.EnumMap;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.SymmetricEigen;

/**
 * The symmetric eigendecomposition {@code B = U diag(s) Uᵀ}, in the precision of {@code B} (float32 or float64), and
 * damped powers {@code U diag((shift + max(s, 0))^p) Uᵀ} of it (symmetry-curvature.md section 4, with the conventions of
 * {@link SymmetricEigen#power}: a negative power of an exactly zero damped eigenvalue is zero).
 *
 * <p>Two measured reasons not to call {@link SymmetricEigen} directly. Speed: ND4J's {@code Eigen} calls LAPACK's
 * {@code syev} (QR iteration); when the CPU backend's OpenBLAS is on the class path (the default {@code cpu} profile) this
 * class calls {@code LAPACKE_ssyevd}/{@code LAPACKE_dsyevd} (divide and conquer) instead, 2-4× faster on a 786×786 block
 * here. It finds OpenBLAS by reflection, so the module names no backend. Correctness: on this project's build machine
 * (Xeon with AVX-512) OpenBLAS 0.3.19's SkylakeX double-precision kernels return <em>wrong eigenvectors</em> above
 * {@code m ≈ 128} — from {@code dsyev}, {@code dsyevd} and {@code dsyevr} alike, so also from ND4J's {@code Eigen} and the
 * core's {@code SymmetricEigen} — while float32 is right and {@code OPENBLAS_CORETYPE=Haswell} fixes float64. So each
 * precision's route is checked once, on a seeded 192×192 matrix, before it is trusted; if neither LAPACKE nor ND4J passes,
 * decomposing in that precision fails with an {@link IllegalStateException} naming the remedy instead of returning
 * garbage.
 */
public final class Eigensolver {
    private static final int LAPACK_ROW_MAJOR = 101;
    /** The size of the self-check matrix: above the size where the faulty kernels take over. */
    static final int CHECK_SIZE = 192;
    private static final MethodHandle SSYEVD = find("LAPACKE_ssyevd", float[].class);
    private static final MethodHandle DSYEVD = find("LAPACKE_dsyevd", double[].class);
    private static final Map<DataType, Route> ROUTES = new EnumMap<>(DataType.class);

    private enum Kind { LAPACKE, ND4J, BROKEN }

    private record Route(Kind kind, String problem) {
    }

    private Eigensolver() {
    }

    private static MethodHandle find(String name, Class<?> array) {
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

    /** Which routine decomposes in this precision: {@code LAPACKE}, {@code ND4J}, or {@code BROKEN} with the reason. */
    public static String backend(DataType type) {
        Route r = route(type == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE);
        return r.kind() == Kind.LAPACKE ? (type == DataType.FLOAT ? "LAPACKE_ssyevd" : "LAPACKE_dsyevd")
                : r.kind() == Kind.ND4J ? "ND4J syev" : "none: " + r.problem();
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
            double[] f = new double[values.length];
            for (int i = 0; i < f.length; i++) {
                f[i] = dampedPower(values[i], p, shift);
            }
            return vectors.mulRowVector(Nd4j.createFromArray(f).castTo(vectors.dataType())).mmul(vectors.transpose());
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
     * Decomposes a symmetric matrix (only its upper triangle is read) in its own precision: float32 stays float32,
     * every other type is decomposed in float64.
     *
     * @param symmetric {@code [m, m]}; not modified
     * @throws ArithmeticException   if LAPACK reports that the iteration did not converge (e.g. NaN entries)
     * @throws IllegalStateException if no eigensolver of this precision passed the self-check on this machine
     */
    public static Decomposition of(INDArray symmetric) {
        if (symmetric.rank() != 2 || symmetric.size(0) != symmetric.size(1)) {
            throw new IllegalArgumentException("expected a square matrix, got shape " + java.util.Arrays.toString(symmetric.shape()));
        }
        DataType type = symmetric.dataType() == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE;
        Route route = route(type);
        return switch (route.kind()) {
            case LAPACKE -> lapacke(symmetric, type);
            case ND4J -> nd4j(symmetric, type);
            case BROKEN -> throw new IllegalStateException(route.problem());
        };
    }

    private static synchronized Route route(DataType type) {
        return ROUTES.computeIfAbsent(type, Eigensolver::selectRoute);
    }

    /** The first route whose result on a seeded test matrix reconstructs it and is orthogonal. */
    private static Route selectRoute(DataType type) {
        INDArray test = testMatrix(type);
        double tolerance = type == DataType.FLOAT ? 1e-4 : 1e-10;
        StringBuilder errors = new StringBuilder();
        if ((type == DataType.FLOAT ? SSYEVD : DSYEVD) != null) {
            double e = checkError(lapacke(test, type), test);
            if (e <= tolerance) {
                return new Route(Kind.LAPACKE, null);
            }
            errors.append(String.format(Locale.ROOT, "LAPACKE %.1e", e));
        }
        double e = checkError(nd4j(test, type), test);
        if (e <= tolerance) {
            return new Route(Kind.ND4J, null);
        }
        errors.append(errors.length() > 0 ? ", " : "").append(String.format(Locale.ROOT, "ND4J syev %.1e", e));
        return new Route(Kind.BROKEN, "the " + (type == DataType.FLOAT ? "float32" : "float64") + " symmetric eigensolvers of this "
                + "machine's BLAS return wrong eigenvectors (relative error on a " + CHECK_SIZE + "×" + CHECK_SIZE + " test matrix: "
                + errors + "; OpenBLAS 0.3.19's SkylakeX kernels do this for float64): start the JVM with the environment variable "
                + "OPENBLAS_CORETYPE=Haswell (bin/symcurv sets it), or train in float32");
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

    /** {@code max(‖U S Uᵀ − A‖/‖A‖, ‖UᵀU − I‖/√m)}, NaN counting as failure. */
    private static double checkError(Decomposition d, INDArray a) {
        try {
            INDArray u = d.vectors().castTo(DataType.DOUBLE);
            INDArray ad = a.castTo(DataType.DOUBLE);
            double reconstruction = u.mulRowVector(Nd4j.createFromArray(d.values())).mmul(u.transpose()).sub(ad).norm2Number().doubleValue()
                    / ad.norm2Number().doubleValue();
            double orthogonality = u.transpose().mmul(u).sub(Nd4j.eye(a.size(0)).castTo(DataType.DOUBLE)).norm2Number().doubleValue()
                    / Math.sqrt(a.size(0));
            double e = Math.max(reconstruction, orthogonality);
            return Double.isNaN(e) ? Double.POSITIVE_INFINITY : e;
        } catch (RuntimeException failure) {
            return Double.POSITIVE_INFINITY;
        }
    }

    private static Decomposition nd4j(INDArray symmetric, DataType type) {
        SymmetricEigen e = SymmetricEigen.of(symmetric.castTo(type));
        return new Decomposition(e.values().castTo(DataType.DOUBLE).toDoubleVector(), e.vectors());
    }

    private static Decomposition lapacke(INDArray symmetric, DataType type) {
        int m = Math.toIntExact(symmetric.size(0));
        int info;
        INDArray vectors;
        double[] values;
        try {
            if (type == DataType.FLOAT) {
                float[] a = symmetric.castTo(DataType.FLOAT).dup('c').data().asFloat();
                float[] w = new float[m];
                info = (int) SSYEVD.invokeExact(LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', m, a, m, w);
                values = new double[m];
                for (int i = 0; i < m; i++) {
                    values[i] = w[i];
                }
                vectors = Nd4j.createFromArray(a).reshape('c', new long[] {m, m});
            } else {
                double[] a = symmetric.castTo(DataType.DOUBLE).dup('c').data().asDouble();
                values = new double[m];
                info = (int) DSYEVD.invokeExact(LAPACK_ROW_MAJOR, (byte) 'V', (byte) 'U', m, a, m, values);
                vectors = Nd4j.createFromArray(a).reshape('c', new long[] {m, m});
            }
        } catch (Throwable t) {
            throw new IllegalStateException("LAPACKE's symmetric eigensolver failed: " + t, t);
        }
        if (info != 0) {
            throw new ArithmeticException("the eigendecomposition of a " + m + "×" + m + " block did not converge (LAPACK info "
                    + info + "): the block holds NaN or infinite entries");
        }
        // row-major storage: column j of the m×m array is the eigenvector of values[j]
        return new Decomposition(values, vectors);
    }
}
