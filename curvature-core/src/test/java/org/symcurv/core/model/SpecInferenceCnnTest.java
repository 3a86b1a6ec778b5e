package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.GroupActions;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * Channel groups of convolutional networks: which type {@link SpecInference} infers through which layers, and, by
 * brute force on real float64 DL4J networks, that a random element of every inferred group leaves {@code net.output}
 * unchanged while an element of a larger type that is not exact there changes it. The group acts on the flat
 * parameters through the spec's labels ({@link GroupActions}: {@code x ↦ M x} along every labelled axis of every leaf,
 * written independently of the code under test); DL4J's own forward pass is the judge.
 */
class SpecInferenceCnnTest {
    private static final AxisLabel FREE = AxisLabel.FREE;

    /**
     * A relative change of {@code net.output} that a transformation which is not a symmetry exceeds by far (such changes
     * are of order 1e-2 on these networks) and an exact symmetry never reaches (round-off is {@link Tolerances#FLOAT64_ROUNDOFF}).
     */
    private static final double CLEARLY_CHANGED = 1e-6;

    /** Plain DL4J, float64: flat {@code h·w·c} inputs through {@code InputType.convolutionalFlat}, biases as {@link TinyNetworks#initialise}. */
    static MultiLayerNetwork cnn(long seed, int h, int w, int c, Layer... layers) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE)
                .weightInit(WeightInit.XAVIER).updater(new NoOp()).list();
        for (Layer layer : layers) {
            list.layer(layer.clone());
        }
        return TinyNetworks.initialise(list.setInputType(InputType.convolutionalFlat(h, w, c)).build(), seed);
    }

    static ConvolutionLayer conv(int out, int k, Activation activation) {
        return new ConvolutionLayer.Builder(k, k).nOut(out).activation(activation).build();
    }

    static SubsamplingLayer pool(PoolingType type, int k, int stride) {
        return new SubsamplingLayer.Builder(type, new int[] {k, k}, new int[] {stride, stride}, new int[] {0, 0}).build();
    }

    static OutputLayer softmax(int classes) {
        return new OutputLayer.Builder(LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX).build();
    }

    /** 8×8×1 → conv 3×3 (3 channels, {@code activation}) → {@code between} → conv 2×2 (2 channels, tanh) → dense 3 (relu) → softmax 3. */
    static MultiLayerNetwork convBetweenConv(long seed, Activation activation, Layer between) {
        return cnn(seed, 8, 8, 1, conv(3, 3, activation), between, conv(2, 2, Activation.TANH),
                new DenseLayer.Builder().nOut(3).activation(Activation.RELU).build(), softmax(3));
    }

    /** 8×8×1 → conv 3×3 (3 channels, {@code activation}) → {@code between} → flatten → dense 3 (relu) → softmax 3. */
    static MultiLayerNetwork convBetweenDense(long seed, Activation activation, Layer between) {
        return cnn(seed, 8, 8, 1, conv(3, 3, activation), between, new DenseLayer.Builder().nOut(3).activation(Activation.RELU).build(), softmax(3));
    }

    /** The network with {@code between} after the first convolution, read by a convolution ({@code next = "conv"}) or a dense layer. */
    static MultiLayerNetwork network(String next, long seed, Activation activation, Layer between) {
        return next.equals("conv") ? convBetweenConv(seed, activation, between) : convBetweenDense(seed, activation, between);
    }

    /** {@link #activationsAndLayersBetween} each read by a convolution and by a dense layer after flattening. */
    static Stream<Arguments> channelCases() {
        return readByConvAndDense(activationsAndLayersBetween());
    }

    /** Each case {@code (name, activation, between, type)} as {@code (name → next, next, activation, between, type)} for both readers. */
    static Stream<Arguments> readByConvAndDense(Stream<Arguments> cases) {
        return cases.flatMap(a -> Stream.of("conv", "dense").map(next -> {
            Object[] v = a.get();
            return Arguments.of(v[0] + " → " + next, next, v[1], v[2], v[3]);
        }));
    }

    static Stream<Arguments> activationsAndLayersBetween() {
        return Stream.of(
                Arguments.of("tanh, max pooling", Activation.TANH, pool(PoolingType.MAX, 2, 1), GroupType.PERM),
                Arguments.of("tanh, average pooling", Activation.TANH, pool(PoolingType.AVG, 2, 1), GroupType.SIGNED_PERM),
                Arguments.of("tanh, p-norm pooling", Activation.TANH, new SubsamplingLayer.Builder(PoolingType.PNORM, new int[] {2, 2}).pnorm(2).build(),
                        GroupType.PERM),
                Arguments.of("identity, average pooling", Activation.IDENTITY, pool(PoolingType.AVG, 2, 1), GroupType.ORTH),
                Arguments.of("identity, max pooling", Activation.IDENTITY, pool(PoolingType.MAX, 2, 1), GroupType.PERM),
                Arguments.of("identity, dropout", Activation.IDENTITY, new DropoutLayer.Builder(0.5).build(), GroupType.ORTH),
                Arguments.of("relu, average pooling", Activation.RELU, pool(PoolingType.AVG, 2, 1), GroupType.PERM),
                Arguments.of("softsign, same-mode average pooling, stride 2", Activation.SOFTSIGN,
                        new SubsamplingLayer.Builder(PoolingType.AVG, new int[] {3, 3}, new int[] {2, 2}, new int[] {0, 0}).convolutionMode(ConvolutionMode.Same).build(),
                        GroupType.SIGNED_PERM));
    }

    @ParameterizedTest(name = "{0}: {4}")
    @MethodSource("channelCases")
    void channelGroupTypeFollowsActivationAndWhatLiesBetween(String name, String next, Activation activation, Layer between, GroupType expected) {
        MultiLayerNetwork net = network(next, 1, activation, between);
        SymmetrySpec spec = SpecInference.infer(net);
        assertEquals(expected, spec.group("h0").type(), name);
        assertEquals(3, spec.group("h0").size());
        assertEquals(List.of(AxisLabel.of("h0"), FREE, FREE, FREE), spec.leaf("0_W").labels(), "kernel [out, in, kh, kw]");
        assertEquals(List.of(AxisLabel.of("h0")), spec.leaf("0_b").labels());
        if (next.equals("conv")) {
            assertEquals(List.of(AxisLabel.of("h2"), AxisLabel.of("h0"), FREE, FREE), spec.leaf("2_W").labels(), "the next kernel's input-channel axis");
            assertEquals(List.of(2L, 3L, 2L, 2L), List.of(spec.leaf("2_W").size(0), spec.leaf("2_W").size(1), spec.leaf("2_W").size(2),
                    spec.leaf("2_W").size(3)));
            assertEquals(GroupType.SIGNED_PERM, spec.group("h2").type(), "tanh, then only the flattening");
            assertEquals(List.of(FREE, AxisLabel.of("h2"), AxisLabel.of("h3")), spec.leaf("3_W").labels(), "the flattened dense weight [H·W, C, nOut]");
            assertEquals(List.of(AxisLabel.of("h3"), FREE), spec.leaf("4_W").labels(), "the dense tail keeps its unit groups");
        } else {
            assertEquals(List.of(FREE, AxisLabel.of("h0"), AxisLabel.of("h2")), spec.leaf("2_W").labels(), "the flattened dense weight [H·W, C, nOut]");
            assertEquals(3L, spec.leaf("2_W").size(1));
            assertEquals(List.of(AxisLabel.of("h2"), FREE), spec.leaf("3_W").labels(), "the dense tail keeps its unit groups");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("channelCases")
    void inferredChannelGroupsLeaveTheOutputUnchanged(String name, String next, Activation activation, Layer between, GroupType expected) {
        MultiLayerNetwork net = network(next, 2, activation, between);
        INDArray x = features(3, 6, 64);
        SymmetrySpec spec = SpecInference.infer(net);
        SeededRandom random = new SeededRandom(17);
        for (int trial = 0; trial < 3; trial++) {
            Map<String, double[][]> g = GroupActions.randomElements(spec, random);
            double change = outputChange(net, spec, g, x);
            assertTrue(change <= Tolerances.FLOAT64_ROUNDOFF, name + ": a random element of " + spec.groups() + " changed the output by " + change);
        }
    }

    static Stream<Arguments> notExactCases() {
        return readByConvAndDense(notExact());
    }

    static Stream<Arguments> notExact() {
        return Stream.of(
                Arguments.of("sign flip through max pooling (tanh)", Activation.TANH, pool(PoolingType.MAX, 2, 1), GroupType.SIGN),
                Arguments.of("sign flip through p-norm pooling (tanh)", Activation.TANH,
                        new SubsamplingLayer.Builder(PoolingType.PNORM, new int[] {2, 2}).pnorm(2).build(), GroupType.SIGN),
                Arguments.of("sign flip through relu (average pooling)", Activation.RELU, pool(PoolingType.AVG, 2, 1), GroupType.SIGN),
                Arguments.of("rotation through max pooling (identity)", Activation.IDENTITY, pool(PoolingType.MAX, 2, 1), GroupType.ORTH),
                Arguments.of("rotation through tanh (average pooling)", Activation.TANH, pool(PoolingType.AVG, 2, 1), GroupType.ORTH));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("notExactCases")
    void aLargerTypeThanTheInferredOneChangesTheOutput(String name, String next, Activation activation, Layer between, GroupType notExact) {
        // The same labels, but h0 acted on by an element of a type that is not exact there: the test can fail.
        MultiLayerNetwork net = network(next, 3, activation, between);
        INDArray x = features(4, 6, 64);
        SymmetrySpec spec = SpecInference.infer(net);
        assertTrue(!notExact.isSubgroupOf(spec.group("h0").type()), name + ": the inferred type " + spec.group("h0").type() + " already contains " + notExact);
        SeededRandom random = new SeededRandom(23);
        Map<String, double[][]> g = GroupActions.randomElements(spec, random);
        g.put("h0", notExact == GroupType.SIGN ? GroupActions.permutation(new int[] {0, 1, 2}, new double[] {-1, 1, 1})
                : GroupActions.randomElement(notExact, 3, random));
        double change = outputChange(net, spec, g, x);
        assertTrue(change > CLEARLY_CHANGED, name + ": the output changed by only " + change);
    }

    /** 6×6×1 → conv 3×3 (3 channels, {@code activation}) → global {@code pooling} over the image → dense 3 (relu) → softmax 3. */
    static MultiLayerNetwork convGlobalDense(long seed, Activation activation, PoolingType pooling) {
        return cnn(seed, 6, 6, 1, conv(3, 3, activation), new GlobalPoolingLayer.Builder(pooling).build(),
                new DenseLayer.Builder().nOut(3).activation(Activation.RELU).build(), softmax(3));
    }

    static Stream<Arguments> globalPoolingCases() {
        return Stream.of(
                Arguments.of(Activation.TANH, PoolingType.MAX, GroupType.PERM, GroupType.SIGN),
                Arguments.of(Activation.TANH, PoolingType.AVG, GroupType.SIGNED_PERM, GroupType.ORTH),
                Arguments.of(Activation.IDENTITY, PoolingType.AVG, GroupType.ORTH, null),
                Arguments.of(Activation.IDENTITY, PoolingType.MAX, GroupType.PERM, GroupType.ORTH),
                Arguments.of(Activation.RELU, PoolingType.AVG, GroupType.PERM, GroupType.SIGN));
    }

    @ParameterizedTest(name = "{0}, global {1}: {2}, not {3}")
    @MethodSource("globalPoolingCases")
    void globalPoolingPassesChannelGroupsToTheDenseLayer(Activation activation, PoolingType pooling, GroupType expected, GroupType notExact) {
        MultiLayerNetwork net = convGlobalDense(8, activation, pooling);
        SymmetrySpec spec = SpecInference.infer(net);
        assertEquals(expected, spec.group("h0").type());
        assertEquals(List.of(AxisLabel.of("h0"), AxisLabel.of("h2")), spec.leaf("2_W").labels(), "the dense weight [C, nOut] after global pooling");
        INDArray x = features(9, 6, 36);
        SeededRandom random = new SeededRandom(29);
        for (int trial = 0; trial < 3; trial++) {
            double change = outputChange(net, spec, GroupActions.randomElements(spec, random), x);
            assertTrue(change <= Tolerances.FLOAT64_ROUNDOFF, "a random element of " + spec.groups() + " changed the output by " + change);
        }
        if (notExact != null) {
            Map<String, double[][]> g = GroupActions.randomElements(spec, random);
            g.put("h0", notExact == GroupType.SIGN ? GroupActions.permutation(new int[] {0, 1, 2}, new double[] {-1, 1, 1})
                    : GroupActions.randomElement(notExact, 3, random));
            double change = outputChange(net, spec, g, x);
            assertTrue(change > CLEARLY_CHANGED, notExact + " through global " + pooling + " changed the output by only " + change);
        }
    }

    @Test
    void overriddenTypeReplacesChannelGroupsAndSaysWhetherItIsExact() {
        MultiLayerNetwork net = convBetweenDense(4, Activation.TANH, pool(PoolingType.MAX, 2, 1));
        SpecInference.Inferred sign = SpecInference.explain(net, SpecInference.Options.defaults().withGroupType(GroupType.SIGN));
        assertEquals(SpecInference.infer(net).withGroupType(GroupType.SIGN), sign.spec());
        assertTrue(sign.assumptions().get(0).endsWith("replaced by sign (Options.withGroupType), which is NOT an exact symmetry here"),
                sign.assumptions().get(0));
        SpecInference.Inferred perm = SpecInference.explain(net, SpecInference.Options.defaults().withGroupType(GroupType.PERM));
        assertTrue(perm.assumptions().get(0).contains(": perm, since tanh is odd and elementwise (commutes with signed permutations, not with mixing);")
                && perm.assumptions().get(0).endsWith("; but max pooling (layer 1) commutes with permutations only (max(−u) = −min(u), ‖−u‖ = ‖u‖, the max of a mixture is no mixture of"
                + " maxima)"), perm.assumptions().get(0));
    }

    @Test
    void explanationPrintsTheSpecAndTheDerivationOfEveryGroup() {
        MultiLayerNetwork net = cnn(5, 6, 6, 1, conv(2, 3, Activation.IDENTITY), pool(PoolingType.AVG, 2, 2), conv(2, 2, Activation.RELU),
                softmax(2));
        assertEquals("""
                SymmetrySpec (44 parameters)
                  groups: h0:orth(2) h2:perm(2)
                  0_b [2 h0]
                  0_W [2 h0, 1 FREE, 3 FREE, 3 FREE]
                  2_b [2 h2]
                  2_W [2 h2, 2 h0, 2 FREE, 2 FREE]
                  3_W [1 FREE, 2 h2, 2 FREE]
                  3_b [2 FREE]
                  assumed:
                    h0 = the 2 output channels of layer 0 (ConvolutionLayer, identity) → SubsamplingLayer (layer 1) → layer 2 (ConvolutionLayer): orth,\
                 since the identity activation commutes with any orthogonal mixing; avg pooling (layer 1) is linear and the same on every channel\
                 (commute with all)
                    h2 = the 2 output channels of layer 2 (ConvolutionLayer, relu) → CnnToFeedForwardPreProcessor → layer 3 (OutputLayer): perm,\
                 since relu is elementwise but not odd (commutes with permutations, not with sign flips); the flattening before layer 3 is linear\
                 and the same on every channel (commute with all)""",
                SpecInference.explain(net, SpecInference.Options.defaults()).toString());
    }

    @Test
    void unsupportedLayersAroundConvolutionsAreRefusedOrCutTheGroups() {
        MultiLayerNetwork net = cnn(6, 6, 6, 1, conv(2, 3, Activation.TANH), new BatchNormalization.Builder().build(), conv(2, 2, Activation.TANH),
                conv(2, 2, Activation.TANH), softmax(2));
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> SpecInference.infer(net));
        assertEquals(1, e.layerIndex());
        assertEquals("BatchNormalization", e.layerClass());
        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withTreatUnknownLayersAsFree(true));
        assertEquals(List.of("h2:signed_perm(2)", "h3:signed_perm(2)"), spec.groups().stream().map(Object::toString).toList(),
                "only the groups not facing the batch norm");
        assertTrue(spec.leaf("0_W").labels().stream().allMatch(AxisLabel::isFree));
        assertEquals(List.of(AxisLabel.of("h2"), FREE, FREE, FREE), spec.leaf("2_W").labels());
        assertEquals(List.of(AxisLabel.of("h3"), AxisLabel.of("h2"), FREE, FREE), spec.leaf("3_W").labels());
        assertEquals(net.numParams(), spec.parameterCount());
    }

    @Test
    void nhwcConvolutionIsRefused() {
        MultiLayerNetwork net = TinyNetworks.initialise(new NeuralNetConfiguration.Builder().seed(7).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(conv(2, 3, Activation.TANH)).layer(softmax(2))
                .setInputType(InputType.convolutional(6, 6, 1, org.deeplearning4j.nn.conf.CNN2DFormat.NHWC)).build(), 7);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> SpecInference.infer(net));
        assertTrue(e.getMessage().startsWith("layer 0 (ConvolutionLayer) uses data format NHWC"), e.getMessage());
    }

    /** {@code ‖out(gθ) − out(θ)‖ / ‖out(θ)‖} on {@code x}; the network's parameters are restored afterwards. */
    static double outputChange(MultiLayerNetwork net, SymmetrySpec spec, Map<String, double[][]> g, INDArray x) {
        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        INDArray original = layout.read(net);
        double[] before = flat(net.output(x));
        layout.write(DenseMatrices.toRow(GroupActions.act(spec, g, DenseMatrices.toVector(original))), net);
        double[] after = flat(net.output(x));
        layout.write(original, net);
        return DenseMatrices.relativeError(after, before);
    }

    static double[] flat(INDArray a) {
        return a.dup('c').reshape(a.length()).toDoubleVector();
    }

    /** {@code [n, inputs]} standard normal float64 features. */
    static INDArray features(long seed, int n, int inputs) {
        return DenseMatrices.toArray(new SeededRandom(seed).gaussianMatrix(n, inputs, 1.0));
    }
}
