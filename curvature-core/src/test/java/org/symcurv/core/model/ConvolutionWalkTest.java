package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyCnns;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * The network walk on convolutional networks against DL4J itself (an independent implementation): every layer's
 * forward output against {@code net.feedForward}, and the materialised per-example gradients against DL4J's backward
 * pass run once per example ({@link Gradients#perExample}) and against its minibatch gradient sum, in float64.
 */
class ConvolutionWalkTest {

    record Case(String name, MultiLayerNetwork net, DataSet data) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("6x6x1 conv3 tanh, max pool 2, dense tanh, softmax", TinyCnns.lenetLike(31), TinyNetworks.classificationData(131, 7, 36, 3)),
                new Case("7x6x2 conv 2x3 stride 2x1 pad 1 relu, avg pool 2 stride 1, dense sigmoid, softmax",
                        TinyCnns.builder(32).input(7, 6, 2)
                                .conv(3, new int[] {2, 3}, new int[] {2, 1}, new int[] {1, 1}, ConvolutionMode.Truncate, true, Activation.RELU)
                                .pool(PoolingType.AVG, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Truncate)
                                .dense(3, Activation.SIGMOID).softmax(2),
                        TinyNetworks.classificationData(132, 6, 84, 2)),
                new Case("5x5x1 Same conv stride 2 no bias sigmoid, Same max pool, Same conv elu, Same avg pool 3 stride 2, softmax",
                        TinyCnns.builder(33).input(5, 5, 1)
                                .conv(2, new int[] {3, 3}, new int[] {2, 2}, new int[] {0, 0}, ConvolutionMode.Same, false, Activation.SIGMOID)
                                .pool(PoolingType.MAX, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same)
                                .conv(3, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same, true, Activation.ELU)
                                .pool(PoolingType.AVG, new int[] {3, 3}, new int[] {2, 2}, new int[] {0, 0}, ConvolutionMode.Same)
                                .softmax(3),
                        TinyNetworks.classificationData(133, 5, 25, 3)),
                new Case("6x5x1 conv 2x2 tanh, padded max pool 3 stride 2 pad 1, conv 2x2 identity, mse",
                        TinyCnns.builder(34).input(6, 5, 1).conv(2, 2, Activation.TANH)
                                .pool(PoolingType.MAX, new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1}, ConvolutionMode.Truncate)
                                .conv(2, 2, Activation.IDENTITY).meanSquaredError(2),
                        TinyNetworks.regressionData(134, 6, 30, 2)),
                new Case("5x5x2 conv 2x2 sigmoid, global max pool, dense tanh, softmax",
                        TinyCnns.builder(36).input(5, 5, 2).conv(3, 2, Activation.SIGMOID).globalPool(PoolingType.MAX, true).dense(2, Activation.TANH).softmax(2),
                        TinyNetworks.classificationData(136, 5, 50, 2)),
                new Case("5x4x1 conv 2x2 tanh, global avg pool (not collapsed), mse",
                        TinyCnns.builder(37).input(5, 4, 1).conv(3, 2, Activation.TANH).globalPool(PoolingType.AVG, false).meanSquaredError(2),
                        TinyNetworks.regressionData(137, 5, 20, 2)));
    }

    static SymmetrySpec freeSpec(MultiLayerNetwork net) {
        return new SymmetrySpec(List.of(), ParameterLayout.of(net).leafSpecs());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void everyLayerOutputIsDl4jsActivation(Case c) {
        NetworkWalk walk = NetworkWalk.of(c.net());
        INDArray x = c.data().getFeatures();
        NetworkWalk.Forward forward = walk.forward(x, DataType.DOUBLE);
        List<INDArray> dl4j = c.net().feedForward(x, false);
        for (int l = 0; l + 1 < walk.layerCount(); l++) {
            INDArray expected = dl4j.get(l + 1);
            expected = expected.dup('c').reshape('c', new long[] {expected.size(0), expected.length() / expected.size(0)});
            assertClose(DenseMatrices.toMatrix(expected), DenseMatrices.toMatrix(forward.passes().get(l).output()), Tolerances.FLOAT64_ROUNDOFF,
                    c.name() + ": layer " + l + " output");
        }
        assertClose(DenseMatrices.toMatrix(c.net().output(x, false)), DenseMatrices.toMatrix(walk.prediction(forward)), Tolerances.FLOAT64_ROUNDOFF,
                c.name() + ": net.output");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void materialisedGradientsAreDl4jPerExampleGradients(Case c) {
        SymmetrySpec spec = freeSpec(c.net());
        INDArray ours = PerExampleFactors.of(c.net()).materialisedWithLabels(c.data().getFeatures(), c.data().getLabels(), spec);
        INDArray dl4j = Gradients.perExample(c.net(), c.data());
        assertClose(DenseMatrices.toMatrix(dl4j), DenseMatrices.toMatrix(ours), Tolerances.FLOAT64_ROUNDOFF, c.name() + ": per-example gradients");
        // the minibatch sum DL4J's computeGradientAndScore gives (Gradients divides it by n)
        INDArray sum = Gradients.meanGradient(c.net(), c.data()).mul(c.data().numExamples());
        assertClose(DenseMatrices.toVector(sum), DenseMatrices.toVector(ours.sum(0)), Tolerances.FLOAT64_ROUNDOFF, c.name() + ": gradient sum");
    }

    @Test
    void sampledLabelsRepeatEachExamplesPatchesAndPoolingMasks() {
        Case c = cases().toList().get(3);
        SymmetrySpec spec = freeSpec(c.net());
        PerExampleFactors factors = PerExampleFactors.of(c.net());
        INDArray x = c.data().getFeatures();
        int k = 3;
        INDArray sampled = factors.materialisedWithSampledLabels(x, k, new Random(5), spec);
        INDArray labels = factors.sampleLabels(x, k, new Random(5));
        INDArray expected = factors.materialisedWithLabels(NetworkWalk.repeatRows(x, k), labels, spec);
        assertClose(DenseMatrices.toMatrix(expected), DenseMatrices.toMatrix(sampled), Tolerances.FLOAT64_ROUNDOFF, "k = 3 rows i·k + s");
    }

    @Test
    void aConvolutionBiasFactorsAndItsKernelDoesNot() {
        MultiLayerNetwork net = TinyCnns.lenetLike(31);
        DataSet data = TinyNetworks.classificationData(131, 7, 36, 3);
        PerExampleFactors factors = PerExampleFactors.of(net);
        SymmetrySpec full = freeSpec(net);
        assertFalse(factors.factors(full));
        LeafSpec b = full.leaf("0_b");
        SymmetrySpec bias = new SymmetrySpec(List.of(), List.of(new LeafSpec(b.name(), b.shape(), b.labels(), 0, b.order())));
        assertTrue(factors.factors(bias));
        INDArray factored = factors.withLabels(data.getFeatures(), data.getLabels(), bias).leafFactors(0).get(0);
        INDArray materialised = factors.materialisedWithLabels(data.getFeatures(), data.getLabels(), bias);
        assertClose(DenseMatrices.toMatrix(materialised), DenseMatrices.toMatrix(factored), Tolerances.FLOAT64_ROUNDOFF, "0_b");
    }

    /**
     * The factors of a CNN's leaves (the kernel as one factor over its four axes, the flattened dense weight as
     * {@code A ⊗ δ} over {@code [H·W, C]} and {@code nOut}, the rest per axis), multiplied out by plain loops, are the
     * materialised per-example gradients (which are DL4J's, {@link #materialisedGradientsAreDl4jPerExampleGradients}).
     */
    @Test
    void theFactorsOfACnnMultiplyOutToItsMaterialisedGradients() {
        MultiLayerNetwork net = TinyCnns.lenetLike(32);
        DataSet data = TinyNetworks.classificationData(132, 5, 36, 3);
        PerExampleFactors factors = PerExampleFactors.of(net);
        SymmetrySpec full = freeSpec(net);
        org.symcurv.core.estimate.FactoredGradients f = factors.withLabels(data.getFeatures(), data.getLabels(), full);
        double[][] expected = DenseMatrices.toMatrix(factors.materialisedWithLabels(data.getFeatures(), data.getLabels(), full));
        int[] runs = new int[full.leaves().size()];
        double[][] actual = new double[expected.length][expected[0].length];
        for (int l = 0; l < full.leaves().size(); l++) {
            LeafSpec leaf = full.leaves().get(l);
            List<INDArray> parts = f.leafFactors(l);
            runs[l] = parts.size();
            for (int i = 0; i < expected.length; i++) {
                // the leaf tensor at multi-index idx is the product of each factor at its axes' indices
                long[] shape = leaf.shape();
                int length = Math.toIntExact(leaf.length());
                for (int e = 0; e < length; e++) {
                    long[] idx = new long[shape.length];
                    long rest = e;
                    // e is the position in the leaf's flat order
                    if (leaf.order() == 'c') {
                        for (int a = shape.length - 1; a >= 0; a--) {
                            idx[a] = rest % shape[a];
                            rest /= shape[a];
                        }
                    } else {
                        for (int a = 0; a < shape.length; a++) {
                            idx[a] = rest % shape[a];
                            rest /= shape[a];
                        }
                    }
                    double v = 1;
                    int axis = 0;
                    for (INDArray part : parts) {
                        long[] at = new long[part.rank()];
                        at[0] = i;
                        for (int a = 1; a < part.rank(); a++) {
                            at[a] = idx[axis++];
                        }
                        v *= part.getDouble(at);
                    }
                    actual[i][(int) leaf.offset() + e] = v;
                }
            }
        }
        assertClose(expected, actual, Tolerances.FLOAT64_ROUNDOFF, "factors multiplied out");
        // 0_b, 0_W (one factor), 2_W [4, 2, 3] (A ⊗ δ), 2_b, 3_W (a ⊗ δ), 3_b
        assertTrue(java.util.Arrays.equals(runs, new int[] {1, 1, 2, 1, 2, 1}) && f.leafFactors(2).get(0).rank() == 3,
                "factors per leaf " + java.util.Arrays.toString(runs) + " of " + full);
    }

    @Test
    void layersOutsideTheWalkAreRefusedNamingIndexAndClass() {
        MultiLayerConfiguration batchNorm = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(4, 4, 1)).build();
        assertRefused(batchNorm, 1, "BatchNormalization");
        MultiLayerConfiguration dilated = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new ConvolutionLayer.Builder(2, 2).dilation(2, 2).nOut(2).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(5, 5, 1)).build();
        assertRefused(dilated, 0, "ConvolutionLayer) has dilation");
        MultiLayerConfiguration pnorm = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new SubsamplingLayer.Builder(PoolingType.PNORM).pnorm(2).kernelSize(2, 2).stride(2, 2).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(4, 4, 1)).build();
        assertRefused(pnorm, 0, "SubsamplingLayer) pools by PNORM");
        MultiLayerConfiguration nhwc = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).dataFormat(CNN2DFormat.NHWC).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutional(4, 4, 1, CNN2DFormat.NHWC)).build();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> NetworkWalk.of(TinyNetworks.initialise(nhwc, 2)));
        assertTrue(e.getMessage().startsWith("layer 0 (ConvolutionLayer)"), e.getMessage());
    }

    private static void assertRefused(MultiLayerConfiguration conf, int layer, String what) {
        MultiLayerNetwork net = TinyNetworks.initialise(conf, 2);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> NetworkWalk.of(net));
        assertEquals(layer, e.layerIndex(), e.getMessage());
        assertTrue(e.getMessage().contains("layer " + layer + " (" + what), e.getMessage());
    }

    @Test
    void aDropoutLayerIsTheIdentityAtInference() {
        MultiLayerNetwork net = TinyCnns.builder(35).input(6, 6, 1).conv(2, 3, Activation.TANH).dropout(0.5).maxPool(2).dropout(0.7)
                .dense(3, Activation.TANH).softmax(2);
        INDArray x = TinyNetworks.classificationData(135, 4, 36, 2).getFeatures();
        NetworkWalk walk = NetworkWalk.of(net);
        assertClose(DenseMatrices.toMatrix(net.output(x, false)), DenseMatrices.toMatrix(walk.prediction(walk.forward(x, DataType.DOUBLE))),
                Tolerances.FLOAT64_ROUNDOFF, "net.output with dropout layers");
        assertTrue(walk.architecture().contains("DropoutLayer (identity at inference)"), walk.architecture());
    }
}
