package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.model.JacobianFactors;

/** The sampled-network and regression predictives against the linearised one and dense oracles. */
class PredictiveTest {

    private static LaplacePosterior posterior(MultiLayerNetwork net, DataSet data, double lambda, long dataSize) {
        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(GroupType.PERM));
        Curvature fisher = FisherSource.monteCarlo(data.getFeatures(), 2).symmetric(net, spec);
        return LaplacePosterior.of(fisher, dataSize, PriorPrecision.scalar(lambda, spec), LaplaceFit.mean(net, spec));
    }

    /**
     * With the same draws {@code ε_s ~ N(0, Σ)}, the sampled network's probabilities {@code softmax(z(θ* + ε_s))} and the
     * linearised network's {@code softmax(z(θ*) + J ε_s)} differ by the second-order remainder {@code O(‖ε‖²)}, while each
     * moves {@code O(‖ε‖)} away from the MAP: shrinking the posterior 4× must shrink their ratio about 4×, and the
     * averaged predictive of {@link LaplacePredictive#sampledNetworks} must be that average.
     */
    @Test
    void sampledNetworksConvergeToTheLinearisedNetworkForSmallVariance() {
        MultiLayerNetwork net = TinyNetworks.mlp(4).inputs(5).dense(6, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(6, 50, 5, 3);
        INDArray x = data.getFeatures().getRows(0, 1, 2, 3, 4, 5, 6, 7);
        double[] ratio = new double[2];
        int samples = 200;
        for (int t = 0; t < 2; t++) {
            // λ grows 16× → Σ shrinks about 16× → ε about 4×
            LaplacePosterior posterior = posterior(net, data, 50 * Math.pow(16, t), data.numExamples());
            LaplacePredictive predictive = LaplacePredictive.of(net, posterior);
            INDArray eps = posterior.sampleDeviations(samples, 77);
            JacobianFactors factors = predictive.jacobianFactors(x).get(0);
            INDArray jEps = factors.times(eps, posterior.spec()); // [S, n, C]
            double[][] mu = factors.outputs().toDoubleMatrix();
            double[][] nnMean = predictive.sampledNetworks(x, samples, 77);
            double remainder = 0;
            double movement = 0;
            double[][] average = new double[mu.length][3];
            MultiLayerNetwork copy = net.clone();
            LeafSubset subset = LeafSubset.of(posterior.spec(), org.symcurv.core.model.ParameterLayout.of(net));
            for (int s = 0; s < samples; s++) {
                INDArray theta = net.params().dup();
                subset.insert(posterior.mean().add(eps.getRow(s)), theta);
                copy.setParams(theta);
                double[][] z = DenseOracle.logits(copy, x);
                for (int e = 0; e < mu.length; e++) {
                    double[] lin = new double[3];
                    for (int c = 0; c < 3; c++) {
                        lin[c] = mu[e][c] + jEps.getDouble(s, e, c);
                    }
                    double[] pNet = GlmLink.softmax(z[e]);
                    double[] pLin = GlmLink.softmax(lin);
                    double[] pMap = GlmLink.softmax(mu[e]);
                    for (int c = 0; c < 3; c++) {
                        remainder += Math.abs(pNet[c] - pLin[c]);
                        movement += Math.abs(pLin[c] - pMap[c]);
                        average[e][c] += pNet[c] / samples;
                    }
                }
            }
            for (int e = 0; e < mu.length; e++) {
                assertArrayEquals(average[e], nnMean[e], 1e-9, "sampledNetworks is the average over the seeded draws");
            }
            ratio[t] = remainder / movement;
        }
        assertTrue(ratio[1] < ratio[0] / 2.5, "the ratio must shrink like the posterior's scale: " + ratio[0] + " → " + ratio[1]);
        assertTrue(ratio[1] < 0.1, "remainder/movement at the smaller variance " + ratio[1]);
    }

    /** The linearised Monte Carlo link (Cholesky of J Σ Jᵀ) and the average over J ε_s agree within Monte Carlo error. */
    @Test
    void linearisedMonteCarloMatchesParameterSamples() {
        MultiLayerNetwork net = TinyNetworks.mlp(4).inputs(5).dense(6, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(6, 50, 5, 3);
        INDArray x = data.getFeatures().getRows(0, 1, 2);
        // N = 1: a wide posterior, so that it moves the predictive well beyond the Monte Carlo error
        LaplacePosterior posterior = posterior(net, data, 0.05, 1);
        LaplacePredictive predictive = LaplacePredictive.of(net, posterior);
        LinearizedOutputs f = predictive.linearize(x);
        double[][] link = f.probabilities(GlmLink.MONTE_CARLO, 20_000, 1);
        int samples = 20_000;
        INDArray jEps = predictive.jacobianFactors(x).get(0).times(posterior.sampleDeviations(samples, 5), posterior.spec());
        for (int e = 0; e < 3; e++) {
            double[] avg = new double[3];
            for (int s = 0; s < samples; s++) {
                double[] lin = new double[3];
                for (int c = 0; c < 3; c++) {
                    lin[c] = f.mean()[e][c] + jEps.getDouble(s, e, c);
                }
                double[] p = GlmLink.softmax(lin);
                for (int c = 0; c < 3; c++) {
                    avg[c] += p[c] / samples;
                }
            }
            // two independent estimates, each with standard error ≤ 0.5/√20000 ≈ 3.5e-3
            assertArrayEquals(avg, link[e], 0.015);
            double[] map = GlmLink.softmax(f.mean()[e]);
            double moved = 0;
            for (int c = 0; c < 3; c++) {
                moved += Math.abs(avg[c] - map[c]);
            }
            assertTrue(moved > 0.05, "the posterior must matter in this test (moved " + moved + ")");
        }
    }

    @Test
    void regressionVarianceIsTheDenseSandwichPlusNoise() {
        MultiLayerNetwork net = TinyNetworks.mlp(9).inputs(4).dense(5, Activation.TANH).identityMeanSquaredError(2);
        DataSet data = TinyNetworks.regressionData(3, 30, 4, 2);
        SymmetrySpec spec = SpecInference.infer(net);
        Curvature fisher = FisherSource.monteCarlo(data.getFeatures(), 4).symmetric(net, spec);
        LaplacePosterior posterior = LaplacePosterior.of(fisher, 30, PriorPrecision.scalar(2.0, spec), LaplaceFit.mean(net, spec));
        INDArray x = data.getFeatures().getRows(0, 1, 2, 3);
        LaplacePredictive.RegressionPrediction prediction = LaplacePredictive.of(net, posterior).regression(x);
        double[][][] dense = DenseOracle.sandwich(DenseOracle.jacobian(net, spec, x), posterior.covariance().toDense().castTo(DataType.DOUBLE).toDoubleMatrix());
        double[][] mean = net.output(x).castTo(DataType.DOUBLE).toDoubleMatrix();
        assertEquals(1.0, prediction.noiseVariance(), 0, "DL4J's MSE over o = 2 outputs is a Gaussian with variance o/2");
        for (int e = 0; e < 4; e++) {
            for (int k = 0; k < 2; k++) {
                assertEquals(mean[e][k], prediction.mean()[e][k], 1e-12);
                assertEquals(dense[e][k][k], prediction.modelVariance()[e][k], 1e-7 * dense[e][k][k]);
                assertEquals(dense[e][k][k] + 1.0, prediction.variance()[e][k], 1e-7);
            }
        }
        assertThrows(IllegalStateException.class, () -> LaplacePredictive.of(net, posterior).sampledNetworks(x, 2, 1));
    }

    @Test
    void mapIsTheSoftmaxOfTheNetwork() {
        MultiLayerNetwork net = TinyNetworks.mlp(4).inputs(5).dense(6, Activation.RELU).softmaxCrossEntropy(3);
        INDArray x = TinyNetworks.classificationData(6, 7, 5, 3).getFeatures();
        LinearizedOutputs f = LaplacePredictive.map(net).linearize(x);
        double[][] expected = net.output(x).toDoubleMatrix();
        for (int e = 0; e < 7; e++) {
            assertArrayEquals(expected[e], f.probabilities(GlmLink.PROBIT, 0, 0)[e], 1e-12);
            assertArrayEquals(expected[e], f.mapProbabilities()[e], 1e-12);
        }
    }
}
