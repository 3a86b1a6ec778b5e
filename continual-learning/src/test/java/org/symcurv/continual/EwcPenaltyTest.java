package org.symcurv.continual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/** The EWC penalty against a dense float64 oracle built from {@code Curvature.toDense()}, and against finite differences. */
class EwcPenaltyTest {
    static MultiLayerNetwork network() {
        return TinyNetworks.mlp(3).inputs(5).dense(4, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3);
    }

    static Curvature fisher(MultiLayerNetwork net, ContinualMethod method, long seed) {
        INDArray x = TinyNetworks.classificationData(seed, 23, 5, 3).getFeatures();
        return TaskFisher.estimate(net, method, x, seed, 10, (d, n) -> { });
    }

    static INDArray randomVector(long seed, long p, double scale) {
        Nd4j.getRandom().setSeed(seed);
        return Nd4j.randn(DataType.DOUBLE, p).muli(scale);
    }

    /** ½λ Σ_t (θ−θ*_t)ᵀ F_t (θ−θ*_t) and its gradient, densely. */
    static double[] denseGradient(double lambda, double[] theta, double[][] anchors, double[][][] fishers) {
        double[] g = new double[theta.length];
        for (int t = 0; t < anchors.length; t++) {
            double[] d = new double[theta.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = theta[i] - anchors[t][i];
            }
            double[] fd = DenseMatrices.multiply(fishers[t], d);
            for (int i = 0; i < d.length; i++) {
                g[i] += lambda * fd[i];
            }
        }
        return g;
    }

    static double denseValue(double lambda, double[] theta, double[][] anchors, double[][][] fishers) {
        double v = 0;
        for (int t = 0; t < anchors.length; t++) {
            double[] d = new double[theta.length];
            for (int i = 0; i < d.length; i++) {
                d[i] = theta[i] - anchors[t][i];
            }
            double[] fd = DenseMatrices.multiply(fishers[t], d);
            for (int i = 0; i < d.length; i++) {
                v += 0.5 * lambda * d[i] * fd[i];
            }
        }
        return v;
    }

    @Test
    void separateModeMatchesTheDenseSumOverTasksForBothFishers() {
        for (ContinualMethod method : new ContinualMethod[] {ContinualMethod.EWC_SYMMETRY, ContinualMethod.EWC_DIAGONAL}) {
            MultiLayerNetwork net = network();
            long p = net.numParams();
            INDArray anchor1 = net.params().castTo(DataType.DOUBLE).dup();
            Curvature f1 = fisher(net, method, 11);
            INDArray anchor2 = anchor1.add(randomVector(5, p, 0.3));
            net.setParams(anchor2.castTo(net.params().dataType()));
            Curvature f2 = fisher(net, method, 12);
            ConsolidatedState state = ConsolidatedState.empty(net, EwcSettings.of(method, 1)).consolidate(anchor1, f1).consolidate(anchor2, f2);
            assertEquals(2, state.anchors().size());
            double lambda = 3.7;
            EwcPenalty penalty = EwcPenalty.of(state, lambda);
            INDArray theta = anchor1.add(randomVector(6, p, 0.5));
            double[][] anchors = {anchor1.toDoubleVector(), anchor2.toDoubleVector()};
            double[][][] dense = {f1.toDense().castTo(DataType.DOUBLE).toDoubleMatrix(), f2.toDense().castTo(DataType.DOUBLE).toDoubleMatrix()};
            double[] expected = denseGradient(lambda, theta.toDoubleVector(), anchors, dense);
            EwcPenalty.ValueAndGradient vg = penalty.valueAndGradient(theta);
            DenseMatrices.assertClose(expected, vg.gradient().toDoubleVector(), 1e-10, method + " gradient");
            double value = denseValue(lambda, theta.toDoubleVector(), anchors, dense);
            assertEquals(value, vg.value(), 1e-9 * Math.max(1, Math.abs(value)), method + " value");
            assertTrue(value > 0, "the penalty away from the anchors is positive");
        }
    }

    @Test
    void onlineModeKeepsGammaTimesTheOldFisherPlusTheNewAtTheLatestAnchor() {
        MultiLayerNetwork net = network();
        long p = net.numParams();
        double gamma = 0.6;
        INDArray anchor1 = net.params().castTo(DataType.DOUBLE).dup();
        Curvature f1 = fisher(net, ContinualMethod.EWC_SYMMETRY, 21);
        INDArray anchor2 = anchor1.add(randomVector(7, p, 0.3));
        Curvature f2 = fisher(net, ContinualMethod.EWC_SYMMETRY, 22);
        Curvature f3 = fisher(net, ContinualMethod.EWC_SYMMETRY, 23);
        INDArray anchor3 = anchor2.add(randomVector(8, p, 0.3));
        EwcSettings online = EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 2).withMode(EwcMode.ONLINE, gamma);
        ConsolidatedState state = ConsolidatedState.empty(net, online).consolidate(anchor1, f1).consolidate(anchor2, f2).consolidate(anchor3, f3);
        assertEquals(1, state.anchors().size());
        assertEquals(3, state.tasks());
        double[][] d1 = f1.toDense().toDoubleMatrix();
        double[][] d2 = f2.toDense().toDoubleMatrix();
        double[][] d3 = f3.toDense().toDoubleMatrix();
        double[][] expected = new double[(int) p][(int) p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                expected[i][j] = gamma * (gamma * d1[i][j] + d2[i][j]) + d3[i][j];
            }
        }
        DenseMatrices.assertClose(expected, state.anchors().get(0).fisher().toDense().toDoubleMatrix(), 1e-12, "γ(γF1 + F2) + F3");
        DenseMatrices.assertClose(anchor3.toDoubleVector(), state.anchors().get(0).theta().toDoubleVector(), 0, "latest anchor");
        INDArray theta = anchor1.add(randomVector(9, p, 0.4));
        double[] g = denseGradient(2, theta.toDoubleVector(), new double[][] {anchor3.toDoubleVector()}, new double[][][] {expected});
        DenseMatrices.assertClose(g, EwcPenalty.of(state, 2).gradient(theta).toDoubleVector(), 1e-10, "online gradient");
    }

    @Test
    void gradientMatchesCentralDifferencesOfTheValue() {
        MultiLayerNetwork net = network();
        long p = net.numParams();
        INDArray anchor1 = net.params().castTo(DataType.DOUBLE).dup();
        INDArray anchor2 = anchor1.add(randomVector(3, p, 0.2));
        ConsolidatedState state = ConsolidatedState.empty(net, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1))
                .consolidate(anchor1, fisher(net, ContinualMethod.EWC_SYMMETRY, 31)).consolidate(anchor2, fisher(net, ContinualMethod.EWC_SYMMETRY, 32));
        EwcPenalty penalty = EwcPenalty.of(state, 5.0);
        INDArray theta = anchor1.add(randomVector(4, p, 0.5));
        INDArray g = penalty.gradient(theta);
        double h = 1e-4;
        for (int trial = 0; trial < 5; trial++) {
            INDArray v = randomVector(40 + trial, p, 1.0);
            double fd = (penalty.value(theta.add(v.mul(h))) - penalty.value(theta.sub(v.mul(h)))) / (2 * h);
            double analytic = g.mul(v).sumNumber().doubleValue();
            assertEquals(fd, analytic, Tolerances.CENTRAL_DIFFERENCE * Math.max(1, Math.abs(analytic)), "directional derivative " + trial);
        }
    }

    @Test
    void penaltyIsZeroAtTheAnchorAndWithoutConsolidation() {
        MultiLayerNetwork net = network();
        INDArray anchor = net.params().castTo(DataType.DOUBLE).dup();
        for (ContinualMethod method : new ContinualMethod[] {ContinualMethod.EWC_SYMMETRY, ContinualMethod.EWC_DIAGONAL}) {
            ConsolidatedState state = ConsolidatedState.empty(net, EwcSettings.of(method, 1)).consolidate(anchor, fisher(net, method, 41));
            EwcPenalty.ValueAndGradient vg = EwcPenalty.of(state, 100).valueAndGradient(anchor);
            assertEquals(0.0, vg.value(), 0.0);
            assertEquals(0.0, vg.gradient().norm2Number().doubleValue(), 0.0);
            assertTrue(EwcPenalty.of(state, 100).value(anchor.add(0.1)) > 0);
        }
        EwcPenalty none = EwcPenalty.of(ConsolidatedState.empty(net, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1)), 100);
        assertTrue(none.isZero());
        assertEquals(0.0, none.value(anchor.add(1)), 0.0);
        assertThrows(IllegalArgumentException.class, () -> EwcPenalty.of(ConsolidatedState.empty(net, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1)), -1));
    }

    @Test
    void theFloat32PenaltyAgreesWithTheFloat64OneToSinglePrecision() {
        MultiLayerNetwork net = network();
        long p = net.numParams();
        INDArray anchor = net.params().castTo(DataType.DOUBLE).dup();
        for (ContinualMethod method : new ContinualMethod[] {ContinualMethod.EWC_SYMMETRY, ContinualMethod.EWC_DIAGONAL}) {
            ConsolidatedState state = ConsolidatedState.empty(net, EwcSettings.of(method, 1)).consolidate(anchor, fisher(net, method, 51))
                    .consolidate(anchor.add(0.2), fisher(net, method, 52));
            INDArray theta = anchor.add(randomVector(53, p, 0.5));
            EwcPenalty.ValueAndGradient d = EwcPenalty.of(state, 3, DataType.DOUBLE).valueAndGradient(theta);
            EwcPenalty.ValueAndGradient f = EwcPenalty.of(state, 3, DataType.FLOAT).valueAndGradient(theta.castTo(DataType.FLOAT));
            assertEquals(DataType.FLOAT, f.gradient().dataType());
            double scale = d.gradient().norm2Number().doubleValue();
            assertTrue(d.gradient().sub(f.gradient().castTo(DataType.DOUBLE)).norm2Number().doubleValue() < 1e-5 * scale, method + " gradient");
            assertEquals(d.value(), f.value(), 1e-4 * Math.abs(d.value()), method + " value");
        }
    }

    @Test
    void fineTuningCountsTasksButNeverPenalises() {
        MultiLayerNetwork net = network();
        ConsolidatedState state = ConsolidatedState.empty(net, EwcSettings.of(ContinualMethod.FINETUNE, 10)).consolidate(net.params(), null);
        assertEquals(1, state.tasks());
        assertTrue(EwcPenalty.of(state, 10).isZero());
    }
}
