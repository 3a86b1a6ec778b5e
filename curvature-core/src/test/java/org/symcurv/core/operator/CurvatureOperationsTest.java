package org.symcurv.core.operator;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.KroneckerOracle;
import org.symcurv.core.testing.Tolerances;

/**
 * The operations that change the layout or single leaves (restriction to leaves, per-leaf identities) and the sampling
 * distribution, against the Kronecker expansion of {@link KroneckerOracle} (the rest of section 4 is {@link OperatorContract}).
 */
class CurvatureOperationsTest {
    static Stream<Arguments> specs() {
        int[] tiny = {5, 4, 3, 3};
        return Stream.of(
                Arguments.of("perm", SpecsForTests.mlp(tiny, GroupType.PERM, GroupType.PERM)),
                Arguments.of("sign", SpecsForTests.mlp(tiny, GroupType.SIGN, GroupType.SIGN)),
                Arguments.of("orth+perm", SpecsForTests.mlp(new int[] {3, 3, 5, 2}, GroupType.ORTH, GroupType.PERM)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void restrictionIsThePrincipalSubmatrix(String name, SymmetrySpec spec) {
        Curvature s = OperatorContract.randomOperator(spec, 6);
        double[][] dense = KroneckerOracle.dense(s);
        long from = spec.leaf("2_W").offset();
        long[] last = range(from, spec.parameterCount());
        OperatorContract.assertClose(OperatorContract.flatten(OperatorContract.submatrix(dense, last)),
                OperatorContract.flatten(KroneckerOracle.dense(s.restrictTo(List.of("2_W", "2_b")))), Tolerances.FLOAT64_SPECTRAL,
                name + ": last-layer restriction");
        long w1 = spec.leaf("1_W").offset();
        long[] a = range(w1, w1 + spec.leaf("1_W").length());
        long[] b = range(spec.leaf("2_b").offset(), spec.parameterCount());
        long[] both = java.util.stream.LongStream.concat(java.util.Arrays.stream(a), java.util.Arrays.stream(b)).toArray();
        OperatorContract.assertClose(OperatorContract.flatten(OperatorContract.submatrix(dense, both)),
                OperatorContract.flatten(KroneckerOracle.dense(s.restrictTo(List.of("1_W", "2_b")))), Tolerances.FLOAT64_SPECTRAL,
                name + ": non-adjacent restriction");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void perLeafIdentityAddsToThatLeafOnly(String name, SymmetrySpec spec) {
        Curvature s = OperatorContract.randomOperator(spec, 7);
        double[][] expected = KroneckerOracle.dense(s);
        long from = spec.leaf("0_W").offset();
        for (long q = from; q < from + spec.leaf("0_W").length(); q++) {
            expected[(int) q][(int) q] += 2.0;
        }
        OperatorContract.assertClose(OperatorContract.flatten(expected),
                OperatorContract.flatten(KroneckerOracle.dense(s.plusLeafIdentity(Map.of("0_W", 2.0)))), Tolerances.FLOAT64_SPECTRAL,
                name + ": per-leaf identity");
    }

    /** Monte Carlo: the empirical covariance of 3,000 samples of N(0, S⁻¹) is S⁻¹ up to sampling error. */
    @Tag("monte-carlo")
    @Test
    void samplesHaveCovarianceInverse() {
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {5, 4, 3, 3}, GroupType.PERM, GroupType.PERM);
        Curvature s = OperatorContract.randomOperator(spec, 10).plusIdentity(0.5);
        int n = 3000;
        long p = spec.parameterCount();
        INDArray samples = s.factor(Damping.NONE).samples(n, 1000).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        double[][] covariance = samples.transpose().mmul(samples).div(n).toDoubleMatrix();
        double[][] inverse = OperatorContract.inverseFromCholesky(OperatorContract.cholesky(KroneckerOracle.dense(s)));
        // relative Frobenius error of a Wishart estimate scales like sqrt((p+1)/n)
        double sampling = 4 * Math.sqrt((p + 1.0) / n);
        OperatorContract.assertClose(OperatorContract.flatten(inverse), OperatorContract.flatten(covariance), sampling, "sample covariance");
    }

    private static long[] range(long from, long to) {
        return java.util.stream.LongStream.range(from, to).toArray();
    }
}
