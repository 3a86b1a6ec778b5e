package org.symcurv.core.operator;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.KroneckerOracle;
import org.symcurv.core.testing.Tolerances;

/**
 * The contract every curvature structure keeps (symmetry-curvature.md section 4), checked against a dense float64 oracle
 * that does not come from the class under test: {@link KroneckerOracle} expands the blocks by explicit Kronecker
 * products, and the spectral answers of {@link Factorization} are checked against LAPACK's dense eigendecomposition
 * ({@code Eigen.symmetricGeneralizedEigenvalues}) and a Cholesky factorization written here, on the same matrices.
 *
 * <p>A structure joins by subclassing and listing its {@link Case}s (sizes 0, 1 and random): {@link
 * SymmetryBlocksContractTest} (symmetry-averaged blocks, several groups, diagonal-only and float32 blocks),
 * {@link DiagonalContractTest} (the diagonal preset), {@link DenseContractTest} (no symmetry: one dense block). A K-FAC
 * structure built as blocks of a {@link Curvature} subclasses this with its cases; one of its own type gives its oracle
 * through {@link Case#oracle}.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class OperatorContract {
    /**
     * One operator under test.
     *
     * @param name      for messages
     * @param operator  positive definite (the spectral checks need it)
     * @param tolerance relative: {@link Tolerances#FLOAT64_SPECTRAL} for float64 blocks, {@link Tolerances#FLOAT32} for float32
     */
    record Case(String name, Curvature operator, double tolerance) {
        /** The dense oracle of the operator. */
        double[][] oracle() {
            return KroneckerOracle.dense(operator);
        }

        @Override
        public String toString() {
            return name;
        }
    }

    abstract Stream<Case> cases();

    /** A positive definite operator on {@code spec}: every block {@code A Aᵀ/m + 0.1 I} of a seeded Gaussian {@code A}. */
    static Curvature randomOperator(SymmetrySpec spec, long seed) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        Random rng = new Random(seed);
        Curvature zero = Curvature.scaledIdentity(kinds, 0.0, DataType.DOUBLE);
        return zero.mapBlocks(k -> {
            int f = kinds.kinds().get(k).familySize();
            int m = kinds.kinds().get(k).copies();
            double[] values = new double[f * m * m];
            for (int i = 0; i < f; i++) {
                double[][] a = new double[m][m];
                for (double[] row : a) {
                    for (int j = 0; j < m; j++) {
                        row[j] = rng.nextGaussian();
                    }
                }
                for (int r = 0; r < m; r++) {
                    for (int c = 0; c < m; c++) {
                        double sum = r == c ? 0.1 : 0.0;
                        for (int j = 0; j < m; j++) {
                            sum += a[r][j] * a[c][j] / m;
                        }
                        values[(i * m + r) * m + c] = sum;
                    }
                }
            }
            return Nd4j.createFromArray(values).reshape('c', new long[] {f, m, m});
        });
    }

    static INDArray randomRows(int n, long p, long seed, DataType type) {
        Random rng = new Random(seed);
        double[] v = new double[(int) (n * p)];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return Nd4j.createFromArray(v).reshape('c', new long[] {n, p}).castTo(type);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void productsMatchTheKroneckerExpansion(Case c) {
        Curvature s = c.operator();
        double[][] dense = c.oracle();
        int p = dense.length;
        DataType type = s.dataType();
        INDArray x = randomRows(1, p, 1, type).reshape(p);
        double[] xd = x.castTo(DataType.DOUBLE).toDoubleVector();
        double[] expected = DenseMatrices.multiply(dense, xd);
        assertClose(expected, s.multiply(x), c.tolerance(), c + ": S x");
        assertClose(expected, s.multiply(x.castTo(DataType.DOUBLE)), c.tolerance(), c + ": S x in float64");
        INDArray rows = randomRows(3, p, 2, type);
        INDArray product = s.multiplyRows(rows);
        assertArrayEquals(new long[] {3, p}, product.shape(), c + ": shape of S X");
        for (int i = 0; i < (p == 0 ? 0 : 3); i++) {
            assertClose(DenseMatrices.multiply(dense, rows.getRow(i).castTo(DataType.DOUBLE).toDoubleVector()), product.getRow(i),
                    c.tolerance(), c + ": row " + i + " of S X");
        }
        double quadratic = 0;
        double trace = 0;
        for (int i = 0; i < p; i++) {
            quadratic += xd[i] * expected[i];
            trace += dense[i][i];
        }
        assertEquals(quadratic, s.quadraticForm(x), c.tolerance() * (Math.abs(quadratic) + 1), c + ": xᵀ S x");
        assertEquals(trace, s.trace(), c.tolerance() * (Math.abs(trace) + 1), c + ": tr S");
        double[] diagonal = new double[p];
        for (int i = 0; i < p; i++) {
            diagonal[i] = dense[i][i];
        }
        assertClose(diagonal, s.diagonal(), c.tolerance(), c + ": diag S");
        if (p > 0) {
            int q = p / 2;
            double[] column = new double[p];
            for (int i = 0; i < p; i++) {
                column[i] = dense[i][q];
            }
            assertClose(column, s.column(q), c.tolerance(), c + ": S e_q");
        }
        assertClose(flatten(dense), s.toDense(), c.tolerance(), c + ": toDense");
        long[] subset = subset(p, 3);
        assertClose(flatten(submatrix(dense, subset)), s.principalSubmatrix(subset), c.tolerance(), c + ": principal submatrix");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void blockArithmeticMatchesTheExpansion(Case c) {
        Curvature s = c.operator();
        Curvature t = randomOperator(s.spec(), 99).mapBlocks(k -> randomOperator(s.spec(), 99).block(k).castTo(s.dataType()));
        double[][] ds = c.oracle();
        double[][] dt = KroneckerOracle.dense(t);
        int p = ds.length;
        double[][] expected = new double[p][p];
        double[][] sum = new double[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                expected[i][j] = 2.5 * ds[i][j] + (i == j ? 0.3 : 0.0);
                sum[i][j] = ds[i][j] + dt[i][j];
            }
        }
        assertClose(flatten(expected), flatten(KroneckerOracle.dense(s.scale(2.5).plusIdentity(0.3))), c.tolerance(), c + ": 2.5 S + 0.3 I");
        assertClose(flatten(sum), flatten(KroneckerOracle.dense(s.plus(t))), c.tolerance(), c + ": S + T");
        assertClose(flatten(multiply(multiply(ds, dt), ds)), flatten(KroneckerOracle.dense(s.sandwich(t))), c.tolerance(), c + ": S T S");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void factorizationAnswersMatchDenseLinearAlgebra(Case c) {
        Curvature s = c.operator();
        double[][] dense = c.oracle();
        int p = dense.length;
        double tol = c.tolerance();
        double[] eigenvalues = p == 0 ? new double[0] : eigenvalues(dense);
        double sMax = p == 0 ? Double.NEGATIVE_INFINITY : eigenvalues[p - 1];
        Factorization plain = s.factor(Damping.NONE);
        if (p > 0) {
            assertEquals(sMax, plain.maxEigenvalue(), tol * Math.abs(sMax), c + ": s_max");
            assertEquals(eigenvalues[0], plain.minEigenvalue(), tol * Math.abs(sMax), c + ": s_min");
        }
        for (Damping damping : List.of(Damping.NONE, Damping.global(1e-2), Damping.perBlock(0.5))) {
            String what = c + ", " + damping;
            // S̃ itself, without any eigendecomposition: S + λ s_max I, or each block plus λ times its own largest eigenvalue
            double[][] damped = damping.scope() == Damping.Scope.GLOBAL
                    ? plusIdentity(dense, damping.relative() * Math.max(sMax, 0))
                    : KroneckerOracle.dense(s, b -> plusIdentity(b, damping.relative() * Math.max(b.length == 0 ? 0 : eigenvalues(b)[b.length - 1], 0)));
            Factorization f = s.factor(damping);
            double[][] cholesky = cholesky(damped);
            double[][] inverse = inverseFromCholesky(cholesky);
            double logDet = 0;
            for (int i = 0; i < p; i++) {
                logDet += 2 * Math.log(cholesky[i][i]);
            }
            assertEquals(logDet, f.logDet(), tol * (Math.abs(logDet) + p), what + ": log det (Cholesky)");
            INDArray b = randomRows(1, p, 5, s.dataType()).reshape(p);
            assertClose(DenseMatrices.multiply(inverse, b.castTo(DataType.DOUBLE).toDoubleVector()), f.solve(b), tol, what + ": solve");
            double[] inverseDiagonal = new double[p];
            for (int i = 0; i < p; i++) {
                inverseDiagonal[i] = inverse[i][i];
            }
            assertClose(inverseDiagonal, f.inverseDiagonal(), tol, what + ": diag S̃⁻¹");
            if (p > 0) {
                double[] column = new double[p];
                for (int i = 0; i < p; i++) {
                    column[i] = inverse[i][p - 1];
                }
                assertClose(column, f.inverseColumn(p - 1), tol, what + ": S̃⁻¹ e_q");
            }
            long[] subset = subset(p, 4);
            assertClose(flatten(submatrix(inverse, subset)), f.inverseSubmatrix(subset), tol, what + ": principal submatrix of S̃⁻¹");
            for (double power : new double[] {-1.0, -0.5, 0.5, 2.0}) {
                double[][] expected = damping.scope() == Damping.Scope.GLOBAL
                        ? densePower(dense, power, damping.relative() * Math.max(sMax, 0))
                        : KroneckerOracle.dense(s, blockPower(power, damping.relative()));
                assertClose(flatten(expected), flatten(KroneckerOracle.dense(f.power(power))), tol, what + ": power " + power);
            }
            double[][] root = KroneckerOracle.dense(f.inverseSqrt());
            assertClose(flatten(inverse), flatten(multiply(root, root)), tol, what + ": (S̃^{-1/2})² = S̃⁻¹");
            INDArray draws = f.samples(2, 42);
            assertArrayEquals(new long[] {2, p}, draws.shape(), what + ": shape of the samples");
            double[] one = f.sample(42).castTo(DataType.DOUBLE).toDoubleVector();
            assertClose(one, f.sample(42), 0.0, what + ": same seed, same sample");
            assertClose(one, f.samples(1, 42), 0.0, what + ": one sample is samples(1, seed)");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void singularOperatorsFailClearly(Case c) {
        Curvature s = c.operator();
        if (s.spec().parameterCount() == 0) {
            return;
        }
        // zero one block: S is singular, and undamped log det / sampling must say which kind and what to do
        Curvature singular = s.mapBlocks(k -> k == 0 ? s.block(k).mul(0.0) : s.block(k));
        NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class, () -> singular.factor(Damping.NONE).logDet());
        assertTrue(e.getMessage().contains(s.decomposition().describe(0)) && e.getMessage().contains("plusIdentity"), e.getMessage());
        assertThrows(NotPositiveDefiniteException.class, () -> singular.factor(Damping.NONE).sample(1));
        // global damping makes it positive definite, if another block sets a positive s_max
        if (s.decomposition().kinds().size() > 1) {
            assertTrue(Double.isFinite(singular.factor(Damping.global(1e-2)).logDet()), c + ": damped log det");
        }
    }

    // dense float64 linear algebra of the oracle side

    static double[] eigenvalues(double[][] symmetric) {
        INDArray a = Nd4j.createFromArray(symmetric);
        return Eigen.symmetricGeneralizedEigenvalues(a, true).toDoubleVector();
    }

    /** {@code U diag((shift + max(s, 0))^p) Uᵀ} by LAPACK. */
    static double[][] densePower(double[][] symmetric, double p, double shift) {
        int n = symmetric.length;
        if (n == 0) {
            return new double[0][0];
        }
        INDArray vectors = Nd4j.createFromArray(symmetric);
        double[] v = Eigen.symmetricGeneralizedEigenvalues(vectors, true).toDoubleVector();
        double[][] u = vectors.toDoubleMatrix();
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                double sum = 0;
                for (int r = 0; r < n; r++) {
                    double base = shift + Math.max(v[r], 0);
                    sum += u[i][r] * (base == 0 ? 0 : Math.pow(base, p)) * u[j][r];
                }
                out[i][j] = sum;
            }
        }
        return out;
    }

    /** Each block to its damped power with its own largest eigenvalue as reference. */
    static UnaryOperator<double[][]> blockPower(double p, double relative) {
        return b -> b.length == 0 ? b : densePower(b, p, relative * Math.max(eigenvalues(b)[b.length - 1], 0));
    }

    /** {@code L} with {@code A = L Lᵀ}. */
    static double[][] cholesky(double[][] a) {
        int n = a.length;
        double[][] l = new double[n][n];
        for (int j = 0; j < n; j++) {
            double d = a[j][j];
            for (int k = 0; k < j; k++) {
                d -= l[j][k] * l[j][k];
            }
            assertTrue(d > 0, "the oracle matrix is not positive definite at pivot " + j);
            l[j][j] = Math.sqrt(d);
            for (int i = j + 1; i < n; i++) {
                double s = a[i][j];
                for (int k = 0; k < j; k++) {
                    s -= l[i][k] * l[j][k];
                }
                l[i][j] = s / l[j][j];
            }
        }
        return l;
    }

    /** {@code (L Lᵀ)⁻¹} column by column (forward and back substitution). */
    static double[][] inverseFromCholesky(double[][] l) {
        int n = l.length;
        double[][] inv = new double[n][n];
        for (int c = 0; c < n; c++) {
            double[] y = new double[n];
            for (int i = 0; i < n; i++) {
                double s = i == c ? 1.0 : 0.0;
                for (int k = 0; k < i; k++) {
                    s -= l[i][k] * y[k];
                }
                y[i] = s / l[i][i];
            }
            for (int i = n - 1; i >= 0; i--) {
                double s = y[i];
                for (int k = i + 1; k < n; k++) {
                    s -= l[k][i] * inv[k][c];
                }
                inv[i][c] = s / l[i][i];
            }
        }
        return inv;
    }

    static double[][] plusIdentity(double[][] a, double c) {
        double[][] out = new double[a.length][];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i].clone();
            out[i][i] += c;
        }
        return out;
    }

    static double[][] multiply(double[][] a, double[][] b) {
        int n = a.length;
        double[][] out = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < n; k++) {
                if (a[i][k] != 0) {
                    for (int j = 0; j < n; j++) {
                        out[i][j] += a[i][k] * b[k][j];
                    }
                }
            }
        }
        return out;
    }

    /** Up to {@code count} distinct indices spread over {@code [0, p)}, the last one included. */
    static long[] subset(int p, int count) {
        int n = Math.min(p, count);
        long[] out = new long[n];
        for (int i = 0; i < n; i++) {
            out[i] = p - 1 - (long) i * (p / Math.max(n, 1));
        }
        return out;
    }

    static double[][] submatrix(double[][] a, long[] idx) {
        double[][] out = new double[idx.length][idx.length];
        for (int i = 0; i < idx.length; i++) {
            for (int j = 0; j < idx.length; j++) {
                out[i][j] = a[(int) idx[i]][(int) idx[j]];
            }
        }
        return out;
    }

    static double[] flatten(double[][] a) {
        int n = 0;
        for (double[] r : a) {
            n += r.length;
        }
        double[] out = new double[n];
        int i = 0;
        for (double[] r : a) {
            System.arraycopy(r, 0, out, i, r.length);
            i += r.length;
        }
        return out;
    }

    /** {@code ‖expected − actual‖ ≤ tol·‖expected‖} over all elements (shapes may differ only in how they are nested). */
    static void assertClose(double[] expected, INDArray actual, double tol, String what) {
        assertEquals(expected.length, actual.length(), what + ": number of elements");
        double[] a = actual.castTo(DataType.DOUBLE).dup('c').reshape(actual.length()).toDoubleVector();
        assertClose(expected, a, tol, what);
    }

    static void assertClose(double[] expected, double[] actual, double tol, String what) {
        assertEquals(expected.length, actual.length, what + ": number of elements");
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            diff += (expected[i] - actual[i]) * (expected[i] - actual[i]);
            norm += expected[i] * expected[i];
        }
        assertTrue(Math.sqrt(diff) <= tol * Math.sqrt(norm) || diff == 0.0,
                what + ": relative error " + Math.sqrt(diff / norm) + " > " + tol);
    }
}
