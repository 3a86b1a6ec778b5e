package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.ExactCurvature.Batch;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Fixtures;
import org.symcurv.core.testing.TinyMlpFixture;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

class GradientsTest {
    private static final double STEP = 1e-5;
    private static final double L2 = 0.3;
    private static final double L1 = 0.2;

    static Stream<Arguments> fixtureCases() {
        return Fixtures.tinyMlp().caseNames().stream().map(Arguments::of);
    }

    private static MultiLayerNetwork fixtureNetwork(TinyMlpFixture.Case c) {
        MultiLayerNetwork net = TinyNetworks.fixtureMlp(Activation.valueOf(c.activation().toUpperCase(java.util.Locale.ROOT)));
        ParameterLayout.of(net).write(DenseMatrices.toRow(c.theta()), net);
        return net;
    }

    private static DataSet fixtureData(TinyMlpFixture fixture) {
        return new DataSet(DenseMatrices.toArray(fixture.inputs()), TinyNetworks.oneHot(fixture.labels(), fixture.classes()));
    }

    @Test
    void dl4jGradientIsTheMinibatchSumAndScoreIsTheMean() {
        // The raw DL4J behaviour Gradients corrects for, against the independent float64 oracle.
        MultiLayerNetwork net = TinyNetworks.mlp(8).inputs(4).dense(5, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(9, 16, 4, 3);
        ExactCurvature oracle = ExactCurvature.of(net);
        double[] theta = oracle.parameters(net);
        double[] exactMean = oracle.meanGradient(theta, Batch.of(data));
        double exactLoss = oracle.meanLoss(theta, Batch.of(data));

        net.setInput(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        double[] raw = DenseMatrices.toVector(net.gradient().gradient().dup());
        double[] sum = exactMean.clone();
        for (int p = 0; p < sum.length; p++) {
            sum[p] *= 16;
        }
        assertClose(sum, raw, Tolerances.FLOAT64_ROUNDOFF, "DL4J gradient() vs n × exact mean gradient");
        assertClose(exactLoss, net.score(), Tolerances.FLOAT64_ROUNDOFF, "DL4J score() vs exact mean loss");

        assertClose(exactMean, DenseMatrices.toVector(Gradients.meanGradient(net, data)), Tolerances.FLOAT64_ROUNDOFF, "Gradients.meanGradient");
        assertClose(exactLoss, Gradients.meanLoss(net, data), Tolerances.FLOAT64_ROUNDOFF, "Gradients.meanLoss");
    }

    @Test
    void dl4jScoreIncludesRegularisationButItsGradientDoesNot() {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(4).dataType(DataType.DOUBLE).updater(new NoOp())
                .l2(L2).l1(L1).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.SIGMOID).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(4).nOut(2).activation(Activation.IDENTITY).build());
        MultiLayerConfiguration conf = list.build();
        MultiLayerNetwork net = TinyNetworks.initialise(conf, 4);
        DataSet data = TinyNetworks.regressionData(5, 7, 3, 2);
        ExactCurvature oracle = ExactCurvature.of(net);
        double[] theta = oracle.parameters(net);
        double dataLoss = oracle.meanLoss(theta, Batch.of(data));

        // The penalty DL4J adds, computed by hand: λ2/2 ‖W‖² + λ1 ‖W‖₁ over the weights (not the biases).
        double penalty = 0;
        ParameterLayout layout = ParameterLayout.of(net);
        for (ParameterLeaf leaf : layout.leaves()) {
            if (leaf.key().equals("W")) {
                for (double w : DenseMatrices.toVector(layout.leafValue(net.params(), leaf.name()).reshape(leaf.length()))) {
                    penalty += 0.5 * L2 * w * w + L1 * Math.abs(w);
                }
            }
        }
        net.setInput(data.getFeatures());
        net.setLabels(data.getLabels());
        net.computeGradientAndScore();
        assertClose(dataLoss + penalty, net.score(), Tolerances.FLOAT64_ROUNDOFF, "DL4J score() = mean data loss + penalty (penalty not divided by n)");
        double[] raw = DenseMatrices.toVector(net.gradient().gradient().dup());
        double[] exact = oracle.meanGradient(theta, Batch.of(data));
        for (int p = 0; p < exact.length; p++) {
            exact[p] *= 7;
        }
        assertClose(exact, raw, Tolerances.FLOAT64_ROUNDOFF, "DL4J gradient() is the sum of data-loss gradients, without the penalty");

        Gradients.LossAndGradient ours = Gradients.meanLossAndGradient(net, data);
        assertClose(dataLoss, ours.meanLoss(), Tolerances.FLOAT64_ROUNDOFF, "Gradients.meanLoss is the data loss");
        assertClose(oracle.meanGradient(theta, Batch.of(data)), DenseMatrices.toVector(ours.meanGradient()), Tolerances.FLOAT64_ROUNDOFF,
                "Gradients.meanGradient is the data-loss gradient");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtureCases")
    void reproducesTheFixtureGradientAndEmpiricalFisherThroughDl4j(String activation) {
        TinyMlpFixture fixture = Fixtures.tinyMlp();
        TinyMlpFixture.Case expected = fixture.forActivation(activation);
        MultiLayerNetwork net = fixtureNetwork(expected);
        DataSet data = fixtureData(fixture);

        assertClose(expected.meanGradient(), DenseMatrices.toVector(Gradients.meanGradient(net, data)), Tolerances.FIXTURE_EXACT, activation + " mean gradient");
        double[][] g = DenseMatrices.toMatrix(Gradients.perExample(net, data));
        assertEquals(fixture.inputs().length, g.length);
        int p = g[0].length;
        double[][] fisher = new double[p][p];
        for (double[] gi : g) {
            for (int a = 0; a < p; a++) {
                for (int b = 0; b < p; b++) {
                    fisher[a][b] += gi[a] * gi[b] / g.length;
                }
            }
        }
        assertClose(expected.empiricalFisher(), fisher, Tolerances.FIXTURE_EXACT, activation + " empirical Fisher from DL4J per-example gradients");
    }

    @Test
    void gradientIsTheDerivativeOfDl4jsLoss() {
        // A DL4J-only check: central differences of Gradients.meanLoss against Gradients.meanGradient.
        MultiLayerNetwork net = TinyNetworks.mlp(12).inputs(3).dense(4, Activation.SOFTPLUS).dense(3, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(13, 10, 3, 3);
        ParameterLayout layout = ParameterLayout.of(net);
        double[] theta = DenseMatrices.toVector(layout.read(net));
        double[] gradient = DenseMatrices.toVector(Gradients.meanGradient(net, data));
        double[] differences = new double[theta.length];
        double[] shifted = theta.clone();
        for (int k = 0; k < theta.length; k++) {
            shifted[k] = theta[k] + STEP;
            layout.write(DenseMatrices.toRow(shifted), net);
            double plus = Gradients.meanLoss(net, data);
            shifted[k] = theta[k] - STEP;
            layout.write(DenseMatrices.toRow(shifted), net);
            double minus = Gradients.meanLoss(net, data);
            shifted[k] = theta[k];
            differences[k] = (plus - minus) / (2 * STEP);
        }
        assertClose(differences, gradient, Tolerances.CENTRAL_DIFFERENCE, "DL4J gradient vs differences of DL4J loss");
    }

    @Test
    void perExampleRowsAverageToTheMeanGradientAndResultsAreCopies() {
        MultiLayerNetwork net = TinyNetworks.mlp(14).inputs(3).dense(4, Activation.RELU).identityMeanSquaredError(2);
        DataSet data = TinyNetworks.regressionData(15, 6, 3, 2);
        DataSet other = TinyNetworks.regressionData(16, 6, 3, 2);
        double[] paramsBefore = DenseMatrices.toVector(net.params());

        INDArray mean = Gradients.meanGradient(net, data);
        double[] meanCopy = DenseMatrices.toVector(mean);
        INDArray perExample = Gradients.perExample(net, data);
        assertArrayEquals(new long[] {6, net.numParams()}, perExample.shape());
        assertArrayEquals(new long[] {net.numParams()}, mean.shape());
        assertClose(meanCopy, DenseMatrices.toVector(perExample.mean(0)), Tolerances.FLOAT64_ROUNDOFF, "mean of per-example rows");

        Gradients.meanGradient(net, other);
        assertArrayEquals(meanCopy, DenseMatrices.toVector(mean), 0.0, "a later call must not overwrite an earlier result");
        assertArrayEquals(paramsBefore, DenseMatrices.toVector(net.params()), 0.0, "gradients must not change the parameters");
    }

    @Test
    void refusesRandomLayersAndMaskedOrEmptyData() {
        MultiLayerConfiguration withDropout = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).dropOut(0.5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork dropoutNet = TinyNetworks.initialise(withDropout, 1);
        DataSet data = TinyNetworks.classificationData(2, 4, 3, 2);
        UnsupportedLayerException dropout = assertThrows(UnsupportedLayerException.class, () -> Gradients.meanGradient(dropoutNet, data));
        assertTrue(dropout.getMessage().contains("layer 0 (DenseLayer)") && dropout.getMessage().contains("dropout"), dropout.getMessage());

        MultiLayerNetwork net = TinyNetworks.mlp(1).inputs(3).softmaxCrossEntropy(2);
        DataSet masked = new DataSet(data.getFeatures(), data.getLabels(), null, DenseMatrices.toArray(new double[][] {{1}, {1}, {0}, {1}}));
        IllegalArgumentException mask = assertThrows(IllegalArgumentException.class, () -> Gradients.perExample(net, masked));
        assertTrue(mask.getMessage().contains("mask"), mask.getMessage());
    }
}
