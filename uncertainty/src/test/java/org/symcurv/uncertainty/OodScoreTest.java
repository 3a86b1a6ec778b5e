package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.symcurv.core.testing.Tolerances;

/** The OOD scores, and the variance score's use of the linearised logits' covariance. */
class OodScoreTest {
    private static final double[][] MEAN = {{2.0, 0.0, -1.0}, {0.5, 0.4, 0.3}};
    private static final double[][][] COVARIANCE = {
            {{1.0, 0.2, 0.0}, {0.2, 0.5, 0.1}, {0.0, 0.1, 0.25}},
            {{4.0, 0.0, 0.0}, {0.0, 3.0, 1.0}, {0.0, 1.0, 2.0}}};

    @Test
    void varianceIsTheTraceOfTheLogitCovariance() {
        LinearizedOutputs f = new LinearizedOutputs(MEAN, COVARIANCE);
        double[][] p = f.mapProbabilities();
        assertArrayEquals(new double[] {1.75, 9.0}, OodScore.VARIANCE.scores(p, f), Tolerances.FLOAT64_ROUNDOFF);
        assertThrows(IllegalStateException.class, () -> OodScore.VARIANCE.score(p[0]));
    }

    @Test
    void withoutACovarianceTheVarianceScoreIsTheEntropy() {
        double[][] p = {{0.7, 0.2, 0.1}, {1.0 / 3, 1.0 / 3, 1.0 / 3}};
        double h0 = -(0.7 * Math.log(0.7) + 0.2 * Math.log(0.2) + 0.1 * Math.log(0.1));
        assertArrayEquals(new double[] {h0, Math.log(3)}, OodScore.VARIANCE.scores(p, null), Tolerances.FLOAT64_ROUNDOFF);
        assertEquals(OodScore.ENTROPY, OodScore.VARIANCE.effective(false));
        assertEquals(OodScore.VARIANCE, OodScore.VARIANCE.effective(true));
        assertArrayEquals(new double[] {0.3, 2.0 / 3}, OodScore.MAX_PROBABILITY.scores(p, null), Tolerances.FLOAT64_ROUNDOFF);
    }

    @Test
    void aRowScoresEachSetByItsOwnCovariance() {
        // in-distribution: small variances; OOD: larger ones but a more confident mean, so entropy ranks them the other way
        double[][] inMean = {{1.0, 0.0}, {0.8, 0.0}};
        double[][][] inCov = {{{0.1, 0.0}, {0.0, 0.1}}, {{0.2, 0.0}, {0.0, 0.1}}};
        double[][] outMean = {{5.0, 0.0}, {6.0, 0.0}};
        double[][][] outCov = {{{1.0, 0.0}, {0.0, 1.0}}, {{2.0, 0.0}, {0.0, 0.5}}};
        Map<String, LinearizedOutputs> lin = new LinkedHashMap<>();
        lin.put("", new LinearizedOutputs(inMean, inCov));
        lin.put("far", new LinearizedOutputs(outMean, outCov));
        Map<String, double[][]> p = new LinkedHashMap<>();
        lin.forEach((k, v) -> p.put(k, v.mapProbabilities()));
        int[] labels = {0, 0};
        PredictiveEvaluation.Row variance = PredictiveEvaluation.row("x", PredictiveKind.GLM_PROBIT, p, lin, labels, OodScore.VARIANCE, 0);
        PredictiveEvaluation.Row entropy = PredictiveEvaluation.row("x", PredictiveKind.GLM_PROBIT, p, lin, labels, OodScore.ENTROPY, 0);
        assertEquals(1.0, variance.auroc().get("far"), 0.0);
        assertEquals(0.0, entropy.auroc().get("far"), 0.0);
        assertEquals(List.of("far"), List.copyOf(variance.auroc().keySet()));
    }
}
