package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.GroupActions;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

class SpecInferenceTest {
    private static final AxisLabel FREE = AxisLabel.FREE;

    private static List<AxisLabel> labels(SymmetrySpec spec, String leaf) {
        return spec.leaf(leaf).labels();
    }

    @Test
    void mlpHiddenUnitsBecomeGroupsTypedByActivation() {
        MultiLayerNetwork net = TinyNetworks.mlp(1).inputs(5).dense(4, Activation.TANH).dense(3, Activation.RELU).dense(2, Activation.IDENTITY)
                .softmaxCrossEntropy(3);
        SymmetrySpec spec = SpecInference.infer(net);

        assertEquals(List.of("h0:signed_perm(4)", "h1:perm(3)", "h2:orth(2)"), spec.groups().stream().map(Object::toString).toList());
        assertEquals(net.numParams(), spec.parameterCount());
        assertEquals(List.of(FREE, AxisLabel.of("h0")), labels(spec, "0_W"));
        assertEquals(List.of(AxisLabel.of("h0")), labels(spec, "0_b"));
        assertEquals(List.of(AxisLabel.of("h0"), AxisLabel.of("h1")), labels(spec, "1_W"));
        assertEquals(List.of(AxisLabel.of("h1"), AxisLabel.of("h2")), labels(spec, "2_W"));
        assertEquals(List.of(AxisLabel.of("h2"), FREE), labels(spec, "3_W"));
        assertEquals(List.of(FREE), labels(spec, "3_b"));
        // The spec's leaves are the parameter layout's blocks.
        ParameterLayout layout = ParameterLayout.of(net);
        for (ParameterLeaf leaf : layout.leaves()) {
            LeafSpec s = spec.leaf(leaf.name());
            assertEquals(leaf.offset(), s.offset(), leaf.name());
            assertEquals(leaf.order(), s.order(), leaf.name());
        }
    }

    @Test
    void printsReadably() {
        SymmetrySpec spec = SpecInference.infer(TinyNetworks.mlp(1).inputs(5).dense(4, Activation.TANH).dense(3, Activation.TANH).softmaxCrossEntropy(3));
        assertEquals("""
                SymmetrySpec (51 parameters)
                  groups: h0:signed_perm(4) h1:signed_perm(3)
                  0_W [5 FREE, 4 h0]
                  0_b [4 h0]
                  1_W [4 h0, 3 h1]
                  1_b [3 h1]
                  2_W [3 h1, 3 FREE]
                  2_b [3 FREE]""", spec.toString());
    }

    static Stream<Arguments> activations() {
        return Stream.of(
                Arguments.of(Activation.RELU, GroupType.PERM), Arguments.of(Activation.LEAKYRELU, GroupType.PERM),
                Arguments.of(Activation.ELU, GroupType.PERM), Arguments.of(Activation.SELU, GroupType.PERM),
                Arguments.of(Activation.SIGMOID, GroupType.PERM), Arguments.of(Activation.HARDSIGMOID, GroupType.PERM),
                Arguments.of(Activation.SOFTPLUS, GroupType.PERM), Arguments.of(Activation.SWISH, GroupType.PERM),
                Arguments.of(Activation.GELU, GroupType.PERM), Arguments.of(Activation.MISH, GroupType.PERM),
                Arguments.of(Activation.RECTIFIEDTANH, GroupType.PERM), Arguments.of(Activation.THRESHOLDEDRELU, GroupType.PERM),
                Arguments.of(Activation.TANH, GroupType.SIGNED_PERM), Arguments.of(Activation.SOFTSIGN, GroupType.SIGNED_PERM),
                Arguments.of(Activation.HARDTANH, GroupType.SIGNED_PERM), Arguments.of(Activation.RATIONALTANH, GroupType.SIGNED_PERM),
                Arguments.of(Activation.CUBE, GroupType.SIGNED_PERM), Arguments.of(Activation.IDENTITY, GroupType.ORTH));
    }

    @ParameterizedTest(name = "{0} → {1}")
    @MethodSource("activations")
    void activationDecidesTheGroupType(Activation activation, GroupType expected) {
        SymmetrySpec spec = SpecInference.infer(TinyNetworks.mlp(1).inputs(3).dense(4, activation).softmaxCrossEntropy(2));
        assertEquals(expected, spec.group("h0").type());
        assertEquals(4, spec.group("h0").size());
    }

    static Stream<Arguments> exactSymmetryCases() {
        return Stream.of(
                Arguments.of("tanh-relu", TinyNetworks.mlp(2).inputs(4).dense(5, Activation.TANH).dense(4, Activation.RELU).softmaxCrossEntropy(3),
                        TinyNetworks.classificationData(3, 10, 4, 3)),
                Arguments.of("identity-softsign", TinyNetworks.mlp(4).inputs(3).dense(4, Activation.IDENTITY).dense(3, Activation.SOFTSIGN)
                        .identityMeanSquaredError(2), TinyNetworks.regressionData(5, 8, 3, 2)),
                Arguments.of("sigmoid-gelu", TinyNetworks.mlp(6).inputs(3).dense(3, Activation.SIGMOID).dense(4, Activation.GELU)
                        .identityMeanSquaredError(2), TinyNetworks.regressionData(7, 8, 3, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("exactSymmetryCases")
    void inferredGroupsAreExactSymmetriesOfTheLoss(String name, MultiLayerNetwork net, DataSet data) {
        // L(gθ) = L(θ) and ∇L(gθ) = g ∇L(θ) for random elements of the inferred groups, evaluated by DL4J.
        SymmetrySpec spec = SpecInference.infer(net);
        ParameterLayout layout = ParameterLayout.of(net);
        double[] theta = DenseMatrices.toVector(layout.read(net));
        Gradients.LossAndGradient at = Gradients.meanLossAndGradient(net, data);
        SeededRandom random = new SeededRandom(41);
        for (int trial = 0; trial < 3; trial++) {
            Map<String, double[][]> g = GroupActions.randomElements(spec, random);
            layout.write(DenseMatrices.toRow(GroupActions.act(spec, g, theta)), net);
            Gradients.LossAndGradient moved = Gradients.meanLossAndGradient(net, data);
            assertClose(at.meanLoss(), moved.meanLoss(), Tolerances.FLOAT64_ROUNDOFF, name + " loss at gθ");
            assertClose(GroupActions.act(spec, g, DenseMatrices.toVector(at.meanGradient())), DenseMatrices.toVector(moved.meanGradient()),
                    Tolerances.FLOAT64_ROUNDOFF, name + " gradient at gθ");
        }
    }

    @Test
    void overriddenGroupTypeNeedNotBeASymmetry() {
        // A user may ask for SIGN on ReLU units: the spec says so, and the loss is (as expected) not invariant under it.
        MultiLayerNetwork net = TinyNetworks.mlp(2).inputs(4).dense(5, Activation.RELU).dense(4, Activation.RELU).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(3, 10, 4, 3);
        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(GroupType.SIGN));
        assertEquals(List.of(GroupType.SIGN, GroupType.SIGN), spec.groups().stream().map(g -> g.type()).toList());
        assertEquals(SpecInference.infer(net).withGroupType(GroupType.SIGN), spec);

        ParameterLayout layout = ParameterLayout.of(net);
        double[] theta = DenseMatrices.toVector(layout.read(net));
        double before = Gradients.meanLoss(net, data);
        double[][] flipFirst = GroupActions.permutation(new int[] {0, 1, 2, 3, 4}, new double[] {-1, 1, 1, 1, 1});
        double[][] identity = GroupActions.permutation(new int[] {0, 1, 2, 3}, null);
        layout.write(DenseMatrices.toRow(GroupActions.act(spec, Map.of("h0", flipFirst, "h1", identity), theta)), net);
        double after = Gradients.meanLoss(net, data);
        assertTrue(Math.abs(after - before) > 1e-6 * Math.abs(before), "flipping a ReLU unit should change the loss: " + before + " vs " + after);
    }

    private static MultiLayerNetwork withBatchNormalization() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().nIn(4).nOut(4).build())
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        return TinyNetworks.initialise(conf, 1);
    }

    @Test
    void unknownLayerFailsNamingIndexClassAndOption() {
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> SpecInference.infer(withBatchNormalization()));
        assertEquals(1, e.layerIndex());
        assertEquals("BatchNormalization", e.layerClass());
        assertTrue(e.getMessage().startsWith("layer 1 (BatchNormalization)") && e.getMessage().contains("Options.defaults().withTreatUnknownLayersAsFree(true)"), e.getMessage());
    }

    @Test
    void unknownLayerTreatedAsFreeCutsTheGroupsThatFaceIt() {
        MultiLayerNetwork net = withBatchNormalization();
        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withTreatUnknownLayersAsFree(true));
        assertEquals(List.of("h2:signed_perm(5)"), spec.groups().stream().map(Object::toString).toList());
        assertEquals(List.of(FREE, FREE), labels(spec, "0_W"), "layer 0 feeds the batch normalisation: no group on its units");
        assertEquals(List.of(FREE), labels(spec, "0_b"));
        List<LeafSpec> batchNorm = spec.leaves().stream().filter(l -> l.name().startsWith("1_")).toList();
        assertEquals(4, batchNorm.size(), "gamma, beta, mean and log10stdev");
        for (LeafSpec leaf : batchNorm) {
            assertTrue(leaf.labels().stream().allMatch(AxisLabel::isFree), leaf.name());
        }
        assertEquals(List.of(FREE, AxisLabel.of("h2")), labels(spec, "2_W"));
        assertEquals(List.of(AxisLabel.of("h2"), FREE), labels(spec, "3_W"));
        assertEquals(net.numParams(), spec.parameterCount());
    }

    @Test
    void softmaxHiddenLayerIsNotElementwise() {
        MultiLayerNetwork net = TinyNetworks.mlp(3).inputs(3).dense(4, Activation.TANH).dense(3, Activation.SOFTMAX).dense(3, Activation.TANH)
                .softmaxCrossEntropy(2);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> SpecInference.infer(net));
        assertTrue(e.getMessage().startsWith("layer 1 (DenseLayer) has activation softmax") && e.getMessage().contains("withTreatUnknownLayersAsFree(true)"),
                e.getMessage());

        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withTreatUnknownLayersAsFree(true));
        assertEquals(List.of("h0:signed_perm(4)", "h2:signed_perm(3)"), spec.groups().stream().map(Object::toString).toList());
        assertEquals(List.of(AxisLabel.of("h0"), FREE), labels(spec, "1_W"), "the softmax layer's inputs keep their group");
        assertEquals(List.of(FREE), labels(spec, "1_b"));
        assertEquals(List.of(FREE, AxisLabel.of("h2")), labels(spec, "2_W"));
    }

    @Test
    void finalLossLayerMakesThePreviousLayerTheOutput() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nIn(4).nOut(2).activation(Activation.IDENTITY).build())
                .layer(new LossLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).build())
                .build();
        SymmetrySpec spec = SpecInference.infer(TinyNetworks.initialise(conf, 3));
        assertEquals(List.of("h0:signed_perm(4)"), spec.groups().stream().map(Object::toString).toList());
        assertEquals(List.of(AxisLabel.of("h0"), FREE), labels(spec, "1_W"));
        assertEquals(List.of(FREE), labels(spec, "1_b"));
    }
}
