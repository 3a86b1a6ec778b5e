package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Random;
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
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.estimate.FactoredGradients;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Fixtures;
import org.symcurv.core.testing.TinyMlpFixture;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * The Fisher of a real DL4J network from batched gradient factors ({@link PerExampleFactors}, {@link FisherSource})
 * against the numpy fixtures and against DL4J's own per-example gradients averaged by {@link OrbitAverage}.
 */
class PerExampleFactorsTest {

    // ------------------------------------------------------------------ the empirical Fisher against the numpy fixtures

    static Stream<Arguments> fixtureCases() {
        List<Arguments> cases = new ArrayList<>();
        for (String activation : Fixtures.tinyMlp().caseNames()) {
            for (String group : List.of("perm", "sign", "signed_perm")) {
                cases.add(Arguments.of(activation, group));
            }
        }
        return cases.stream();
    }

    /** The fixture's network with its {@code theta}, in float64. */
    static MultiLayerNetwork fixtureNetwork(TinyMlpFixture.Case c) {
        MultiLayerNetwork net = TinyNetworks.fixtureMlp(Activation.valueOf(c.activation().toUpperCase(Locale.ROOT)));
        ParameterLayout.of(net).write(Nd4j.createFromArray(c.theta()), net);
        return net;
    }

    static INDArray fixtureFeatures() {
        return DenseMatrices.toArray(Fixtures.tinyMlp().inputs());
    }

    static INDArray fixtureTargets() {
        TinyMlpFixture fixture = Fixtures.tinyMlp();
        return TinyNetworks.oneHot(fixture.labels(), fixture.classes());
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("fixtureCases")
    void empiricalFisherReproducesTheFixtureOrbitAverages(String activation, String group) {
        TinyMlpFixture.Case expected = Fixtures.tinyMlp().forActivation(activation);
        MultiLayerNetwork net = fixtureNetwork(expected);
        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(GroupType.parse(group)));
        assertEquals(2, spec.groups().size(), "both hidden layers carry a group, as in the fixture");

        // batches of 10 over 32 examples: streaming with a partial last batch
        Curvature fisher = FisherSource.empirical(fixtureFeatures(), fixtureTargets()).withBatchSize(10).symmetric(net, spec);

        double[][] actual = DenseMatrices.toMatrix(fisher.toDense());
        assertClose(expected.averagedOver(group).empiricalFisher(), actual, Tolerances.FIXTURE_EXACT,
                activation + " averaged." + group + ".empirical_fisher");
        Curvature projected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(expected.empiricalFisher()));
        assertSameOperator(projected, fisher, Tolerances.FIXTURE_EXACT, activation + " project(empirical_fisher) over " + group);
    }

    // ------------------------------------------------------------------ against DL4J's per-example gradients

    /** A network, data that fits it, and the group type that replaces the inferred ones (null: inferred). */
    record Case(String name, MultiLayerNetwork net, DataSet data, GroupType groupType) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("sigmoid-elu mse, inferred perm", TinyNetworks.mlp(21).inputs(4).dense(5, Activation.SIGMOID).dense(3, Activation.ELU)
                        .identityMeanSquaredError(3), TinyNetworks.regressionData(121, 13, 4, 3), null),
                new Case("sigmoid mse, sign", TinyNetworks.mlp(22).inputs(3).dense(4, Activation.SIGMOID).identityMeanSquaredError(2),
                        TinyNetworks.regressionData(122, 9, 3, 2), GroupType.SIGN),
                new Case("identity-tanh xent, inferred orth and signed perm", TinyNetworks.mlp(23).inputs(3).dense(3, Activation.IDENTITY)
                        .dense(4, Activation.TANH).output(2, Activation.SIGMOID, LossFunction.XENT), TinyNetworks.binaryData(123, 11, 3, 2), null),
                new Case("leaky relu softmax, no hidden bias, perm", noHiddenBias(), TinyNetworks.classificationData(124, 10, 4, 3), null),
                new Case("linear softmax, no groups", TinyNetworks.mlp(25).inputs(4).softmaxCrossEntropy(3),
                        TinyNetworks.classificationData(125, 8, 4, 3), null));
    }

    /** 4 → 5 (leaky ReLU, α = 0.25, exact in float32 as DL4J's backprop needs) without bias → softmax 3. */
    static MultiLayerNetwork noHiddenBias() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(24).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(5).hasBias(false).activation(new ActivationLReLU(0.25)).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(5).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
        return TinyNetworks.initialise(conf, 24);
    }

    static SymmetrySpec specOf(Case c) {
        SpecInference.Options options = c.groupType() == null ? SpecInference.Options.defaults()
                : SpecInference.Options.defaults().withGroupType(c.groupType());
        return SpecInference.infer(c.net(), options);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void empiricalFisherEqualsTheOrbitAverageOfDl4jPerExampleGradients(Case c) {
        SymmetrySpec spec = specOf(c);
        KindDecomposition kinds = KindDecomposition.of(spec);
        Curvature expected = OrbitAverage.secondMoment(kinds, Gradients.perExample(c.net(), c.data()), BlockBudget.DEFAULT);
        Curvature actual = FisherSource.empirical(c.data().getFeatures(), c.data().getLabels()).withBatchSize(4).symmetric(c.net(), spec);
        assertSameOperator(expected, actual, Tolerances.FLOAT64_ROUNDOFF, c.name());
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void factorsAreDl4jPerExampleGradients(Case c) {
        SymmetrySpec spec = specOf(c);
        FactoredGradients factors = PerExampleFactors.of(c.net()).withLabels(c.data().getFeatures(), c.data().getLabels(), spec);
        INDArray perExample = Gradients.perExample(c.net(), c.data());
        ParameterLayout layout = ParameterLayout.of(c.net());
        for (int l = 0; l < spec.leaves().size(); l++) {
            String leaf = spec.leaves().get(l).name();
            List<INDArray> f = factors.leafFactors(l);
            for (int i = 0; i < factors.count(); i++) {
                double[][] expected = leafGradient(layout, perExample.getRow(i), leaf);
                INDArray g = f.size() == 1 ? f.get(0).getRow(i, true) : f.get(0).getRow(i, true).transpose().mmul(f.get(1).getRow(i, true));
                assertClose(expected, DenseMatrices.toMatrix(g), Tolerances.FLOAT64_ROUNDOFF, c.name() + " leaf " + leaf + " example " + i);
            }
        }
    }

    /** Leaf {@code name} of a flat gradient, as a matrix ({@code [nIn, nOut]} for W, {@code [1, n]} for b). */
    static double[][] leafGradient(ParameterLayout layout, INDArray flat, String name) {
        INDArray value = layout.leafValue(flat, name);
        return DenseMatrices.toMatrix(value.rank() == 1 ? value.reshape(1, value.length()) : value);
    }

    @Test
    void aSpecOnSomeLeavesGivesTheRestrictionOfTheFullFisher() {
        Case c = cases().findFirst().orElseThrow();
        SymmetrySpec spec = specOf(c);
        Curvature full = FisherSource.empirical(c.data().getFeatures(), c.data().getLabels()).symmetric(c.net(), spec);
        Curvature lastLayer = full.restrictTo(List.of("2_W", "2_b"));
        Curvature direct = FisherSource.empirical(c.data().getFeatures(), c.data().getLabels()).symmetric(c.net(), lastLayer.spec());
        assertEquals(lastLayer.spec(), direct.spec());
        assertSameOperator(lastLayer, direct, Tolerances.FLOAT64_ROUNDOFF, "last layer");
    }

    // ------------------------------------------------------------------ Monte Carlo labels: reproducible

    @Test
    void monteCarloFisherIsReproducibleFromItsSeedAndIndependentOfTheBatchSize() {
        TinyMlpFixture.Case c = Fixtures.tinyMlp().forActivation("tanh");
        MultiLayerNetwork net = fixtureNetwork(c);
        SymmetrySpec spec = SpecInference.infer(net);
        INDArray x = fixtureFeatures();
        FisherSource estimation = FisherSource.monteCarlo(x, 77).withSamplesPerExample(3).withBatchSize(32);
        Curvature first = estimation.symmetric(net, spec);
        Curvature again = estimation.symmetric(net, spec);
        for (int k = 0; k < first.decomposition().kinds().size(); k++) {
            assertEquals(first.block(k), again.block(k), "same seed, same blocks bit for bit (kind " + first.decomposition().describe(k) + ")");
        }
        // the draws follow the example order, so cutting the data differently changes only the summation order
        Curvature rebatched = estimation.withBatchSize(7).symmetric(net, spec);
        assertSameOperator(first, rebatched, Tolerances.FLOAT64_ROUNDOFF, "batch 7 vs 32");
        Curvature otherSeed = FisherSource.monteCarlo(x, 78).withSamplesPerExample(3).symmetric(net, spec);
        double change = frobeniusDistance(otherSeed, first) / frobeniusNorm(first);
        assertTrue(change > 1e-3, "another seed draws other labels: relative change " + change);
    }

    @Test
    void sampledLabelsFollowRowOrderAndAreValidLabels() {
        TinyMlpFixture.Case c = Fixtures.tinyMlp().forActivation("relu");
        MultiLayerNetwork net = fixtureNetwork(c);
        INDArray x = fixtureFeatures();
        PerExampleFactors factors = PerExampleFactors.of(net);
        INDArray all = factors.sampleLabels(x, 4, new Random(5));
        assertEquals(List.of(128L, 3L), List.of(all.size(0), all.size(1)));
        INDArray sums = all.sum(1);
        assertEquals(Nd4j.ones(DataType.DOUBLE, 128), sums, "each sampled label is one-hot");
        // the first 16 examples alone draw the first 64 rows
        INDArray head = factors.sampleLabels(x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 16), org.nd4j.linalg.indexing.NDArrayIndex.all()),
                4, new Random(5));
        assertEquals(all.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 64), org.nd4j.linalg.indexing.NDArrayIndex.all()), head);
    }

    // ------------------------------------------------------------------ comparing operators without densifying them

    /**
     * {@code ‖S − T‖_F} of two operators on the same decomposition, from their blocks: {@code S − T} acts on kind
     * {@code κ} as {@code I_{d_κ} ⊗ (B_κ − B'_κ)}, so {@code ‖S − T‖_F² = Σ_κ d_κ ‖B_κ − B'_κ‖_F²} (dense blocks only).
     */
    static double frobeniusDistance(Curvature s, Curvature t) {
        assertEquals(s.spec(), t.spec(), "operators on different specs");
        double total = 0;
        for (int k = 0; k < s.decomposition().kinds().size(); k++) {
            assertTrue(!s.isDiagonalBlock(k) && !t.isDiagonalBlock(k), "block distances here are for dense blocks");
            INDArray d = s.block(k).castTo(DataType.DOUBLE).sub(t.block(k).castTo(DataType.DOUBLE));
            total += s.decomposition().kinds().get(k).dimension() * d.mul(d).sumNumber().doubleValue();
        }
        return Math.sqrt(total);
    }

    /** {@code ‖S‖_F = sqrt(Σ_κ d_κ ‖B_κ‖_F²)}. */
    static double frobeniusNorm(Curvature s) {
        return frobeniusDistance(s, s.scale(0.0));
    }

    /** Asserts {@code ‖actual − expected‖_F ≤ tolerance ‖expected‖_F}. */
    static void assertSameOperator(Curvature expected, Curvature actual, double tolerance, String what) {
        double error = frobeniusDistance(actual, expected) / frobeniusNorm(expected);
        assertTrue(error <= tolerance, what + ": relative Frobenius error " + error + " exceeds " + tolerance);
    }

    // ------------------------------------------------------------------ progress and errors

    @Test
    void progressIsReportedAfterEveryBatch() {
        Case c = cases().findFirst().orElseThrow();
        List<long[]> calls = new ArrayList<>();
        FisherSource.empirical(c.data().getFeatures(), c.data().getLabels()).withBatchSize(5).symmetric(c.net(), specOf(c), (done, total) -> calls.add(new long[] {done, total}));
        assertEquals(List.of("5/13", "10/13", "13/13"), calls.stream().map(a -> a[0] + "/" + a[1]).toList());
    }

    @Test
    void unsupportedLayersAreNamedWithTheirIndexAndClass() {
        MultiLayerConfiguration batchNorm = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
                .layer(new BatchNormalization.Builder().nOut(4).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> PerExampleFactors.of(TinyNetworks.initialise(batchNorm, 1)));
        assertEquals(1, e.layerIndex());
        assertEquals("BatchNormalization", e.layerClass());
        assertTrue(e.getMessage().contains("layer 1 (BatchNormalization)"), e.getMessage());

        MultiLayerConfiguration lossLayer = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(2).activation(Activation.IDENTITY).build())
                .layer(new LossLayer.Builder(LossFunction.MCXENT).activation(Activation.SOFTMAX).build())
                .build();
        e = assertThrows(UnsupportedLayerException.class, () -> PerExampleFactors.of(TinyNetworks.initialise(lossLayer, 1)));
        assertEquals(1, e.layerIndex());
        assertEquals("LossLayer", e.layerClass());

        MultiLayerNetwork softmaxMse = TinyNetworks.mlp(3).inputs(3).dense(2, Activation.TANH).output(2, Activation.SOFTMAX, LossFunction.MSE);
        e = assertThrows(UnsupportedLayerException.class, () -> PerExampleFactors.of(softmaxMse));
        assertEquals(1, e.layerIndex());
        assertTrue(e.getMessage().contains("softmax") && e.getMessage().contains("MSE"), e.getMessage());
    }

    @Test
    void specsAndDataThatDoNotFitAreRefusedWithTheLeafOrShape() {
        Case c = cases().findFirst().orElseThrow();
        PerExampleFactors factors = PerExampleFactors.of(c.net());
        INDArray x = c.data().getFeatures();
        INDArray y = c.data().getLabels();
        SymmetrySpec otherNetwork = SpecInference.infer(TinyNetworks.mlp(1).inputs(4).dense(6, Activation.SIGMOID).dense(3, Activation.ELU)
                .identityMeanSquaredError(3));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> factors.withLabels(x, y, otherNetwork));
        assertTrue(e.getMessage().contains("'0_W'") && e.getMessage().contains("[4, 6]") && e.getMessage().contains("[4, 5]"), e.getMessage());

        SymmetrySpec spec = specOf(c);
        e = assertThrows(IllegalArgumentException.class, () -> factors.withLabels(x.getColumns(0, 1), y, spec));
        assertTrue(e.getMessage().contains("features") && e.getMessage().contains("[13, 2]"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> factors.withLabels(x, y.getColumns(0, 1), spec));
        assertTrue(e.getMessage().contains("targets"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FisherSource.empirical(x, null).symmetric(c.net(), spec));
        assertTrue(e.getMessage().contains("empirical Fisher needs targets"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> FisherSource.monteCarlo(x, 1).withSamplesPerExample(0));
        assertTrue(e.getMessage().contains("samples per example"), e.getMessage());
        assertNotEquals(FisherSource.Labels.EMPIRICAL, FisherSource.monteCarlo(x, 1).labels());
    }
}
