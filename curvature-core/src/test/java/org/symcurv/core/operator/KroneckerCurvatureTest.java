package org.symcurv.core.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * {@link KroneckerCurvature} against a dense float64 oracle built here by explicit Kronecker products
 * {@code S[p(i,j), p(k,m)] = A[i,k] G[j,m]} over DL4J's parameter positions, with factors of known spectrum
 * ({@code Q diag(s) Qᵀ}, {@code Q} a Householder reflection), so that {@code s_max} and every damped eigenvalue are known
 * without the code under test. Solves, log-determinants and inverse diagonals are checked against Gauss-Jordan on the
 * dense matrix.
 */
class KroneckerCurvatureTest {

    /** A network layout and its K-FAC operator with known factor spectra. */
    record Case(String name, SymmetrySpec layout, KroneckerCurvature kfac, double[][] dense, double maxEigenvalue, double[] layerMax) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                build("one parameter per factor: 1 → 1 without hidden layers", TinyNetworks.mlp(1).inputs(1).identityMeanSquaredError(1), 11),
                build("3 → 4 tanh → 2, biases", TinyNetworks.mlp(2).inputs(3).dense(4, Activation.TANH).softmaxCrossEntropy(2), 12),
                build("4 → 3 relu → 3 relu → 2", TinyNetworks.mlp(3).inputs(4).dense(3, Activation.RELU).dense(3, Activation.RELU)
                        .identityMeanSquaredError(2), 13));
    }

    /** {@code Q diag(s) Qᵀ} with {@code Q = I − 2 v vᵀ / ‖v‖²}. */
    static double[][] withSpectrum(double[] s, SeededRandom random) {
        int n = s.length;
        double[] v = random.gaussianVector(n, 1.0);
        double vv = 0;
        for (double x : v) {
            vv += x * x;
        }
        double[][] q = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                q[i][j] = (i == j ? 1 : 0) - 2 * v[i] * v[j] / vv;
            }
        }
        double[][] m = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                for (int k = 0; k < n; k++) {
                    m[i][j] += q[i][k] * s[k] * q[j][k];
                }
            }
        }
        return m;
    }

    static Case build(String name, MultiLayerNetwork net, long seed) {
        ParameterLayout layout = ParameterLayout.of(net);
        SymmetrySpec spec = new SymmetrySpec(List.of(), layout.leafSpecs());
        SeededRandom random = new SeededRandom(seed);
        int p = Math.toIntExact(layout.parameterCount());
        double[][] dense = new double[p][p];
        List<KroneckerCurvature.LayerBlock> blocks = new ArrayList<>();
        double max = 0;
        List<Double> layerMax = new ArrayList<>();
        for (int l = 0; l < net.getnLayers(); l++) {
            ParameterLeaf w = layout.leaf(l + "_W");
            boolean bias = layout.leavesOfLayer(l).size() > 1;
            int nIn = Math.toIntExact(w.shape()[0]);
            int nOut = Math.toIntExact(w.shape()[1]);
            int rows = nIn + (bias ? 1 : 0);
            double[] sa = new double[rows];
            double[] sg = new double[nOut];
            for (int i = 0; i < rows; i++) {
                sa[i] = 0.5 + i + random.uniform();
            }
            for (int j = 0; j < nOut; j++) {
                sg[j] = 0.1 * (j + 1) + 0.1 * random.uniform();
            }
            double[][] a = withSpectrum(sa, random);
            double[][] g = withSpectrum(sg, random);
            double m = java.util.Arrays.stream(sa).max().orElseThrow() * java.util.Arrays.stream(sg).max().orElseThrow();
            layerMax.add(m);
            max = Math.max(max, m);
            // position of M[i, j] in θ: W column-major, then b
            int[][] position = new int[rows][nOut];
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < nOut; j++) {
                    position[i][j] = i < nIn ? Math.toIntExact(w.offset()) + i + j * nIn : Math.toIntExact(layout.leaf(l + "_b").offset()) + j;
                }
            }
            for (int i = 0; i < rows; i++) {
                for (int j = 0; j < nOut; j++) {
                    for (int k = 0; k < rows; k++) {
                        for (int mm = 0; mm < nOut; mm++) {
                            dense[position[i][j]][position[k][mm]] = a[i][k] * g[j][mm];
                        }
                    }
                }
            }
            blocks.add(new KroneckerCurvature.LayerBlock(l + "_W", bias ? l + "_b" : null, DenseMatrices.toArray(a), DenseMatrices.toArray(g)));
        }
        return new Case(name, spec, KroneckerCurvature.of(spec, blocks), dense, max, layerMax.stream().mapToDouble(Double::doubleValue).toArray());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void productsTraceAndDiagonalAreThoseOfTheExplicitKroneckerProducts(Case c) {
        int p = c.dense().length;
        double[] x = new SeededRandom(5).gaussianVector(p, 1.0);
        INDArray xs = DenseMatrices.toArray(new double[][] {x}).reshape(p);
        assertClose(DenseMatrices.multiply(c.dense(), x), DenseMatrices.toVector(c.kfac().multiply(xs)), Tolerances.FLOAT64_ROUNDOFF, "S x");
        double quadratic = 0;
        double[] sx = DenseMatrices.multiply(c.dense(), x);
        double trace = 0;
        double[] diagonal = new double[p];
        for (int i = 0; i < p; i++) {
            quadratic += x[i] * sx[i];
            trace += c.dense()[i][i];
            diagonal[i] = c.dense()[i][i];
        }
        assertClose(quadratic, c.kfac().quadraticForm(xs), Tolerances.FLOAT64_ROUNDOFF * Math.max(1, Math.abs(quadratic)), "xᵀ S x");
        assertClose(trace, c.kfac().trace(), Tolerances.FLOAT64_ROUNDOFF * Math.max(1, trace), "tr S");
        assertClose(diagonal, DenseMatrices.toVector(c.kfac().diagonal()), Tolerances.FLOAT64_ROUNDOFF, "diag S");
        assertClose(c.dense(), DenseMatrices.toMatrix(c.kfac().toDense()), Tolerances.FLOAT64_ROUNDOFF, "toDense");
        assertClose(c.maxEigenvalue(), c.kfac().maxEigenvalue(), 1e-10 * c.maxEigenvalue(), "s_max");
        long floats = 0;
        for (KroneckerCurvature.LayerBlock b : c.kfac().blocks()) {
            floats += b.a().length() + b.g().length();
        }
        assertEquals(floats, c.kfac().storedFloats());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void dampedSolveLogDetAndInverseDiagonalAreThoseOfTheDenseMatrix(Case c) {
        int p = c.dense().length;
        double[] x = new SeededRandom(6).gaussianVector(p, 1.0);
        INDArray xs = DenseMatrices.toArray(new double[][] {x}).reshape(p);
        for (Damping damping : List.of(Damping.NONE, Damping.global(1e-2), Damping.perBlock(0.3))) {
            // the shift c = λ s_max, with s_max known from the constructed spectra
            double[] shifted = new double[p];
            double[][] m = new double[p][p];
            for (int i = 0; i < p; i++) {
                m[i] = c.dense()[i].clone();
            }
            int offset = 0;
            for (int l = 0; l < c.kfac().blocks().size(); l++) {
                KroneckerCurvature.LayerBlock b = c.kfac().blocks().get(l);
                int size = Math.toIntExact(b.a().size(0) * b.g().size(0));
                double shift = damping.relative() * (damping.scope() == Damping.Scope.GLOBAL ? c.maxEigenvalue() : c.layerMax()[l]);
                for (int q : positions(c, l)) {
                    m[q][q] += shift;
                    shifted[q] = shift;
                }
                offset += size;
            }
            assertEquals(p, offset);
            double[][] inverse = invert(m);
            KroneckerCurvature.Factorization f = c.kfac().factor(damping);
            assertClose(DenseMatrices.multiply(inverse, x), DenseMatrices.toVector(f.solve(xs)), 1e-9, "(S + cI)⁻¹ x, " + damping);
            double[] inverseDiagonal = new double[p];
            for (int i = 0; i < p; i++) {
                inverseDiagonal[i] = inverse[i][i];
            }
            assertClose(inverseDiagonal, DenseMatrices.toVector(f.inverseDiagonal()), 1e-9, "diag (S + cI)⁻¹, " + damping);
            assertClose(logDet(m), f.logDet(), 1e-9 * Math.max(1, Math.abs(logDet(m))), "log det (S + cI), " + damping);
        }
    }

    @Test
    void aSingularFactorIsReportedNotTurnedIntoNaN() {
        Case c = cases().findFirst().orElseThrow();
        SymmetrySpec spec = c.layout();
        KroneckerCurvature zero = KroneckerCurvature.of(spec, List.of(new KroneckerCurvature.LayerBlock("0_W", "0_b",
                DenseMatrices.toArray(new double[2][2]), DenseMatrices.toArray(new double[][] {{1.0}}))));
        NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class, () -> zero.logDet(Damping.NONE));
        assertTrue(e.getMessage().contains("0_W"), e.getMessage());
        IllegalArgumentException wrong = assertThrows(IllegalArgumentException.class, () -> KroneckerCurvature.of(spec,
                List.of(new KroneckerCurvature.LayerBlock("0_W", null, DenseMatrices.toArray(new double[2][2]), DenseMatrices.toArray(new double[][] {{1.0}})))));
        assertTrue(wrong.getMessage().contains("0_W") && wrong.getMessage().contains("[1, 1]"), wrong.getMessage());
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class, () -> KroneckerCurvature.of(spec, List.of()));
        assertTrue(missing.getMessage().contains("'0_W'"), missing.getMessage());
    }

    /** The θ positions of layer block {@code l}. */
    private static List<Integer> positions(Case c, int l) {
        KroneckerCurvature.LayerBlock b = c.kfac().blocks().get(l);
        List<Integer> out = new ArrayList<>();
        for (var leaf : c.layout().leaves()) {
            if (leaf.name().equals(b.weight()) || leaf.name().equals(b.bias())) {
                for (long q = leaf.offset(); q < leaf.offset() + leaf.length(); q++) {
                    out.add(Math.toIntExact(q));
                }
            }
        }
        return out;
    }

    /** Gauss-Jordan inverse with partial pivoting. */
    static double[][] invert(double[][] m) {
        int n = m.length;
        double[][] a = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(m[i], 0, a[i], 0, n);
            a[i][n + i] = 1;
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            for (int r = col + 1; r < n; r++) {
                if (Math.abs(a[r][col]) > Math.abs(a[pivot][col])) {
                    pivot = r;
                }
            }
            double[] t = a[col];
            a[col] = a[pivot];
            a[pivot] = t;
            double d = a[col][col];
            for (int k = 0; k < 2 * n; k++) {
                a[col][k] /= d;
            }
            for (int r = 0; r < n; r++) {
                if (r != col && a[r][col] != 0) {
                    double f = a[r][col];
                    for (int k = 0; k < 2 * n; k++) {
                        a[r][k] -= f * a[col][k];
                    }
                }
            }
        }
        double[][] inv = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], n, inv[i], 0, n);
        }
        return inv;
    }

    /** {@code log det} of a symmetric positive definite matrix by Cholesky. */
    static double logDet(double[][] m) {
        int n = m.length;
        double[][] l = new double[n][n];
        double total = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j <= i; j++) {
                double s = m[i][j];
                for (int k = 0; k < j; k++) {
                    s -= l[i][k] * l[j][k];
                }
                if (i == j) {
                    l[i][i] = Math.sqrt(s);
                    total += 2 * Math.log(l[i][i]);
                } else {
                    l[i][j] = s / l[j][j];
                }
            }
        }
        return total;
    }
}
