package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.testing.Tolerances;
import org.symcurv.core.testing.TinyNetworks;

/** RMSE, Gaussian NLL and interval coverage on cases whose values are known exactly. */
class RegressionMetricsTest {
    @Test
    void residualsAtKnownMultiplesOfTheStandardDeviation() {
        // residuals 0.5, 1.0, 1.8 and 2.5 standard deviations (sd 2): inside the 50% interval (±0.674 sd) only the first,
        // the 90% (±1.645 sd) the first two, the 95% (±1.960 sd) the first three.
        double[][] mean = {{1}, {1}, {1}, {1}};
        double[][] variance = {{4}, {4}, {4}, {4}};
        double[][] targets = {{2}, {-1}, {4.6}, {6}};
        RegressionMetrics m = RegressionMetrics.of(mean, variance, targets);
        assertEquals(0.25, m.coverage50());
        assertEquals(0.50, m.coverage90());
        assertEquals(0.75, m.coverage95());
        assertEquals(Math.sqrt((1 + 4 + 3.6 * 3.6 + 25) / 4.0), m.rmse(), Tolerances.FLOAT64_ROUNDOFF);
        double halfLog = 0.5 * Math.log(2 * Math.PI * 4);
        double nll = halfLog + (0.25 + 1.0 + 1.8 * 1.8 + 2.5 * 2.5) / 2 / 4;
        assertEquals(nll, m.nll(), Tolerances.FLOAT64_ROUNDOFF);
        assertEquals(4, m.count());
    }

    @Test
    void standardizedPredictionsAreComparedInTheTargetsUnits() {
        // a model predicting z = (y − 10) / 3 exactly with unit variance: in y's units, error 0 and variance 9
        RegressionMetrics m = RegressionMetrics.of(new double[][] {{1}, {-2}}, new double[][] {{1}, {1}}, new double[][] {{13}, {4}},
                new double[] {10}, new double[] {3});
        assertEquals(0, m.rmse(), Tolerances.FLOAT64_ROUNDOFF);
        assertEquals(0.5 * Math.log(2 * Math.PI * 9), m.nll(), Tolerances.FLOAT64_ROUNDOFF);
        assertEquals(1.0, m.coverage50());
        assertThrows(IllegalArgumentException.class, () -> RegressionMetrics.of(new double[][] {{0}}, new double[][] {{0}}, new double[][] {{0}}));
    }

    /** {@code log p(D | θ*)} with σ² = o/2 against the network's own outputs and the Gaussian density written out. */
    @Test
    void gaussianLogLikelihoodIsTheMseModelsDensity() {
        MultiLayerNetwork net = TinyNetworks.mlp(3).inputs(3).dense(4, Activation.TANH).identityMeanSquaredError(2);
        Nd4j.getRandom().setSeed(5);
        INDArray x = Nd4j.randn(DataType.DOUBLE, 6, 3);
        INDArray y = Nd4j.randn(DataType.DOUBLE, 6, 2);
        double[][] z = net.output(x).toDoubleMatrix();
        double sigma2 = 2 / 2.0;
        double expected = 0;
        for (int i = 0; i < 6; i++) {
            for (int k = 0; k < 2; k++) {
                double r = y.getDouble(i, k) - z[i][k];
                expected += Math.log(Math.exp(-r * r / (2 * sigma2)) / Math.sqrt(2 * Math.PI * sigma2));
            }
        }
        assertEquals(expected, LaplaceFit.gaussianLogLikelihood(net, x, y), 1e-9);
    }
}
