package org.symcurv.core.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Every operation of the structured operator (section 4) against the same operation on its dense float64
 * matrix {@code toDense()}, which itself is pinned to brute-force group averages by OrbitAverageBruteForceTest.
 */
class CurvatureContractTest {
    /** Relative tolerance for float64 results that differ only by summation order and LAPACK round-off. */
    static final double FLOAT64 = 1e-9;

    static Stream<Arguments> operators() {
        int[] tiny = {5, 4, 3, 3};
        return Stream.of(
                Arguments.of("perm", SpecsForTests.mlp(tiny, GroupType.PERM, GroupType.PERM)),
                Arguments.of("sign", SpecsForTests.mlp(tiny, GroupType.SIGN, GroupType.SIGN)),
                Arguments.of("signed-perm", SpecsForTests.mlp(tiny, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM)),
                Arguments.of("orth+perm", SpecsForTests.mlp(new int[] {3, 3, 5, 2}, GroupType.ORTH, GroupType.PERM)),
                Arguments.of("1-unit groups", SpecsForTests.mlp(new int[] {3, 1, 1, 2}, GroupType.PERM, GroupType.SIGN)));
    }

    /** A positive semi-definite operator of generic rank: the averaged second moment of a few Gaussian vectors. */
    static Curvature randomOperator(SymmetrySpec spec, long seed) {
        Random rng = new Random(seed);
        int p = (int) spec.parameterCount();
        double[][] rows = new double[4][p];
        for (double[] r : rows) {
            for (int i = 0; i < p; i++) {
                r[i] = rng.nextGaussian();
            }
        }
        return OrbitAverage.secondMoment(KindDecomposition.of(spec), Nd4j.createFromArray(rows), BlockBudget.DEFAULT);
    }

    static INDArray randomVector(long p, long seed) {
        Random rng = new Random(seed);
        double[] v = new double[(int) p];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return Nd4j.createFromArray(v);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void linearOperationsMatchDense(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 1);
        INDArray dense = s.toDense();
        assertClose(dense.transpose(), dense, FLOAT64, name + ": symmetric");
        INDArray x = randomVector(spec.parameterCount(), 2);
        assertClose(dense.mmul(x.reshape(x.length(), 1)).reshape(x.length()), s.multiply(x), FLOAT64, name + ": multiply");
        double quad = x.reshape(1, x.length()).mmul(dense).mmul(x.reshape(x.length(), 1)).getDouble(0);
        assertEquals(quad, s.quadraticForm(x), FLOAT64 * Math.abs(quad), name + ": quadratic form");
        double trace = Nd4j.diag(dense).sumNumber().doubleValue();
        assertEquals(trace, s.trace(), FLOAT64 * Math.abs(trace), name + ": trace");
        assertClose(Nd4j.diag(dense), s.diagonal(), FLOAT64, name + ": diagonal");
        assertClose(dense.getColumn(3), s.column(3), FLOAT64, name + ": column");
        INDArray rows = Nd4j.vstack(x.reshape(1, x.length()), randomVector(x.length(), 12).reshape(1, x.length()));
        assertClose(rows.mmul(dense), s.multiplyRows(rows), FLOAT64, name + ": multiplyRows");
        assertClose(dense.mul(2.5).add(Nd4j.eye(x.length()).castTo(DataType.DOUBLE).mul(0.3)),
                s.scale(2.5).plusIdentity(0.3).toDense(), FLOAT64, name + ": scale, plusIdentity");
        Curvature t = randomOperator(spec, 9);
        assertClose(dense.add(t.toDense()), s.plus(t).toDense(), FLOAT64, name + ": plus");
        assertClose(dense.add(t.diagonalBlocksOnly().toDense()), s.plus(t.diagonalBlocksOnly()).toDense(), FLOAT64,
                name + ": plus a diagonal-only operator");
        INDArray tDense = t.toDense();
        assertClose(dense.mmul(tDense).mmul(dense), s.sandwich(t).toDense(), FLOAT64, name + ": sandwich S T S");
        INDArray tDiagonal = t.diagonalBlocksOnly().toDense();
        assertClose(tDiagonal.mmul(dense).mmul(tDiagonal), t.diagonalBlocksOnly().sandwich(s).toDense(), FLOAT64,
                name + ": sandwich with a diagonal-only operator");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void dampedPowersMatchDenseEigendecomposition(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 3).plusIdentity(0.05);
        INDArray dense = s.toDense();
        double damping = 1e-2;
        double sMax = denseEigenvalues(dense).maxNumber().doubleValue();
        for (double p : new double[] {-1.0, -0.5, -0.25, 0.5, 2.0}) {
            INDArray expected = densePower(dense, p, damping * sMax);
            assertClose(expected, s.power(p, Damping.global(damping)).toDense(), FLOAT64, name + ": power " + p);
        }
        INDArray inverse = densePower(dense, -1.0, damping * sMax);
        assertClose(Nd4j.diag(inverse), s.inverseDiagonal(Damping.global(damping)), FLOAT64, name + ": inverse diagonal");
        assertClose(inverse.getColumn(2), s.inverseColumn(2, Damping.global(damping)), FLOAT64, name + ": inverse column");
        assertEquals(sMax, s.maxEigenvalue(), FLOAT64 * sMax, name + ": largest eigenvalue");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void logDetMatchesDenseAndFailsClearlyWhenSingular(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 4).plusIdentity(0.1);
        double expected = Nd4j.math().log(denseEigenvalues(s.toDense())).sumNumber().doubleValue();
        assertEquals(expected, s.logDet(), FLOAT64 * Math.abs(expected) + 1e-9, name + ": logDet");
        // one vector gives blocks of rank ≤ D, singular wherever a kind has more copies than coordinates
        Curvature singular = OrbitAverage.secondOrder(s.decomposition(), randomVector(spec.parameterCount(), 4));
        NotPositiveDefiniteException e = assertThrows(NotPositiveDefiniteException.class, singular::logDet);
        assertTrue(e.getMessage().contains("plusIdentity"), e.getMessage());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void perBlockDampingShiftsEachBlockByItsOwnMaximum(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 5);
        Curvature damped = s.power(1.0, Damping.perBlock(0.5));
        for (int k = 0; k < s.decomposition().kinds().size(); k++) {
            INDArray b = s.block(k);
            for (long f = 0; f < b.size(0); f++) {
                INDArray slice = b.slice(f);
                double max = denseEigenvalues(slice).maxNumber().doubleValue();
                INDArray expected = slice.add(Nd4j.eye(slice.rows()).castTo(DataType.DOUBLE).mul(0.5 * Math.max(max, 0)));
                assertClose(expected, damped.block(k).slice(f), FLOAT64, name + ": per-block damping of " + s.decomposition().describe(k));
            }
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void restrictionIsThePrincipalSubmatrix(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 6);
        List<String> last = List.of("2_W", "2_b");
        long from = spec.leaf("2_W").offset();
        INDArray expected = s.toDense().get(NDArrayIndex.interval(from, spec.parameterCount()),
                NDArrayIndex.interval(from, spec.parameterCount()));
        assertClose(expected, s.restrictTo(last).toDense(), FLOAT64, name + ": last-layer restriction");
        INDArray both = s.toDense();
        long w1 = spec.leaf("1_W").offset();
        long w1End = w1 + spec.leaf("1_W").length();
        long[] idx = new long[(int) (w1End - w1 + spec.leaf("2_b").length())];
        int i = 0;
        for (long q = w1; q < w1End; q++) {
            idx[i++] = q;
        }
        for (long q = spec.leaf("2_b").offset(); q < spec.parameterCount(); q++) {
            idx[i++] = q;
        }
        INDArray sub = both.get(NDArrayIndex.indices(idx), NDArrayIndex.indices(idx));
        assertClose(sub, s.restrictTo(List.of("1_W", "2_b")).toDense(), FLOAT64, name + ": non-adjacent restriction");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void perLeafIdentityAddsToThatLeafOnly(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 7);
        INDArray expected = s.toDense();
        long from = spec.leaf("0_W").offset();
        for (long q = from; q < from + spec.leaf("0_W").length(); q++) {
            expected.putScalar(q, q, expected.getDouble(q, q) + 2.0);
        }
        assertClose(expected, s.plusLeafIdentity(Map.of("0_W", 2.0)).toDense(), FLOAT64, name + ": per-leaf identity");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void samplingFactorSquaresToTheInverse(String name, SymmetrySpec spec) {
        Curvature s = randomOperator(spec, 8).plusIdentity(0.2);
        INDArray factor = s.precisionInverseSqrt().toDense();
        INDArray inverse = densePower(s.toDense(), -1.0, 0.0);
        assertClose(inverse, factor.mmul(factor), FLOAT64, name + ": (S^{-1/2})² = S⁻¹");
        INDArray a = s.sampleInverse(42);
        INDArray b = s.sampleInverse(42);
        assertClose(a, b, 0.0, name + ": same seed, same sample");
    }

    /** Monte Carlo: the empirical covariance of 3,000 samples of N(0, S⁻¹) is S⁻¹ up to sampling error. */
    @org.junit.jupiter.api.Tag("monte-carlo")
    @org.junit.jupiter.api.Test
    void samplesHaveCovarianceInverse() {
        String name = "perm";
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {5, 4, 3, 3}, GroupType.PERM, GroupType.PERM);
        Curvature s = randomOperator(spec, 10).plusIdentity(0.5);
        Curvature factor = s.precisionInverseSqrt();
        int n = 3000;
        long p = spec.parameterCount();
        INDArray samples = Curvature.sampleWithFactor(factor, n, 1000);
        INDArray covariance = samples.transpose().mmul(samples).div(n);
        INDArray inverse = densePower(s.toDense(), -1.0, 0.0);
        // relative Frobenius error of a Wishart estimate scales like sqrt((p+1)/n)
        double sampling = 4 * Math.sqrt((p + 1.0) / n);
        assertClose(inverse, covariance, sampling, name + ": sample covariance");
    }

    static INDArray denseEigenvalues(INDArray symmetric) {
        return Eigen.symmetricGeneralizedEigenvalues(symmetric.dup(), true);
    }

    static INDArray densePower(INDArray symmetric, double p, double shift) {
        INDArray vectors = symmetric.dup();
        INDArray values = Eigen.symmetricGeneralizedEigenvalues(vectors, true);
        double[] v = values.toDoubleVector();
        for (int i = 0; i < v.length; i++) {
            v[i] = Math.pow(shift + Math.max(v[i], 0), p);
        }
        return vectors.mulRowVector(Nd4j.createFromArray(v)).mmul(vectors.transpose());
    }

    static void assertClose(INDArray expected, INDArray actual, double relTol, String what) {
        assertTrue(java.util.Arrays.equals(expected.reshape(-1).shape(), actual.reshape(-1).shape()),
                what + ": shapes " + java.util.Arrays.toString(expected.shape()) + " vs " + java.util.Arrays.toString(actual.shape()));
        double diff = expected.reshape(-1).castTo(DataType.DOUBLE).sub(actual.reshape(-1).castTo(DataType.DOUBLE)).norm2Number().doubleValue();
        double norm = expected.norm2Number().doubleValue();
        assertTrue(diff <= relTol * Math.max(norm, 1e-300) || diff == 0.0,
                what + ": relative error " + diff / norm + " > " + relTol);
    }
}
