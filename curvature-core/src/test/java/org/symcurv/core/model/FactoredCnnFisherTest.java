package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.ScaledCurvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyCnns;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * The factored route of a CNN's symmetric Fisher (dense leaves as outer products, the flattened dense weight as
 * {@code A_i ⊗ δ_i} over merged axes, only the kernels materialised, {@link FisherSource.Route#FACTORED}) against the
 * route that materialises every leaf's per-example gradients ({@link FisherSource.Route#MATERIALISED}, the earlier
 * CNN route) and against the exact float64 oracle: the orbit average ({@link OrbitAverage#secondMoment}) of the
 * per-example gradients of {@link ExactCurvature}, plain loops independent of the walk's batched passes, at the same
 * labels (the data's, or the Monte Carlo draws the route makes). The brute-force average over every group element is
 * {@link ConvolutionFisherTest}'s, which runs on the factored route too.
 */
class FactoredCnnFisherTest {
    /** Two float64 computations of the same sums in a different order (the routes, the oracle). */
    private static final double ROUTES_FLOAT64 = Tolerances.FLOAT64_ROUNDOFF;
    /** The factored route accumulated in float32 against float64 (relative Frobenius error). */
    private static final double ACCUMULATOR_FLOAT32 = Tolerances.FLOAT32;

    record Case(String name, MultiLayerNetwork net, DataSet data) {
        @Override
        public String toString() {
            return name;
        }
    }

    static List<Case> cases() {
        return List.of(
                new Case("conv, max pool, flattened dense, softmax", TinyCnns.lenetLike(61), TinyNetworks.classificationData(161, 6, 36, 3)),
                new Case("conv, Same conv, avg pool, flattened softmax output",
                        TinyCnns.builder(62).input(6, 6, 1).conv(2, 2, Activation.TANH)
                                .conv(3, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same, true, Activation.TANH)
                                .pool(PoolingType.AVG, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, ConvolutionMode.Truncate).softmax(2),
                        TinyNetworks.classificationData(162, 5, 36, 2)),
                new Case("LeNet-shaped: conv, max pool, conv, flattened dense, dense, softmax",
                        TinyCnns.builder(63).input(7, 7, 1).conv(2, 2, Activation.TANH).maxPool(2).conv(3, 2, Activation.TANH)
                                .dense(4, Activation.TANH).dense(3, Activation.TANH).softmax(3),
                        TinyNetworks.classificationData(163, 5, 49, 3)),
                new Case("2 input channels, conv no bias, global avg pool, dense, mse",
                        TinyCnns.builder(64).input(4, 4, 2)
                                .conv(3, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Truncate, false, Activation.TANH)
                                .globalPool(PoolingType.AVG, true).dense(2, Activation.TANH).meanSquaredError(2),
                        TinyNetworks.regressionData(164, 4, 32, 2)));
    }

    static Stream<Arguments> casesAndGroups() {
        List<Arguments> out = new ArrayList<>();
        for (Case c : cases()) {
            for (GroupType type : GroupType.values()) {
                out.add(Arguments.of(c, type));
            }
        }
        return out.stream();
    }

    private static double[][] dense(Curvature c) {
        return DenseMatrices.toMatrix(c.toDense());
    }

    /** The exact oracle: {@code (1/n) Σ_i R2(g_i, g_i)} of {@link ExactCurvature}'s per-example gradients at {@code targets}. */
    private static Curvature exact(MultiLayerNetwork net, SymmetrySpec spec, INDArray features, INDArray targets) {
        ExactCurvature oracle = ExactCurvature.of(net);
        double[][] g = oracle.perExampleGradients(oracle.parameters(net),
                new ExactCurvature.Batch(features.castTo(DataType.DOUBLE).toDoubleMatrix(), targets.castTo(DataType.DOUBLE).toDoubleMatrix()));
        return OrbitAverage.secondMoment(KindDecomposition.of(spec), Nd4j.createFromArray(g), BlockBudget.DEFAULT);
    }

    @ParameterizedTest(name = "{0}, {1}")
    @MethodSource("casesAndGroups")
    void theFactoredRouteIsTheMaterialisedRouteAndTheExactOracle(Case c, GroupType type) {
        SymmetrySpec spec = SpecInference.infer(c.net()).withGroupType(type);
        assertFalse(PerExampleFactors.of(c.net()).factors(spec), c.name() + ": a kernel does not factor per axis");
        INDArray x = c.data().getFeatures();
        String what = c.name() + ", " + type;

        // empirical Fisher: the data's labels
        FisherSource empirical = FisherSource.empirical(x, c.data().getLabels()).withBatchSize(2);
        Curvature factored = empirical.symmetric(c.net(), spec);
        assertClose(dense(empirical.withRoute(FisherSource.Route.MATERIALISED).symmetric(c.net(), spec)), dense(factored), ROUTES_FLOAT64,
                what + ": empirical, factored vs materialised");
        assertClose(dense(exact(c.net(), spec, x, c.data().getLabels())), dense(factored), ROUTES_FLOAT64, what + ": empirical, factored vs exact");

        // Monte Carlo Fisher, 2 labels per example: the oracle at the same draws
        int k = 2;
        FisherSource monteCarlo = FisherSource.monteCarlo(x, 17).withSamplesPerExample(k).withBatchSize(3);
        Curvature sampled = monteCarlo.symmetric(c.net(), spec);
        assertClose(dense(monteCarlo.withRoute(FisherSource.Route.MATERIALISED).symmetric(c.net(), spec)), dense(sampled), ROUTES_FLOAT64,
                what + ": Monte Carlo, factored vs materialised");
        INDArray labels = PerExampleFactors.of(c.net()).sampleLabels(x, k, new Random(17));
        assertClose(dense(exact(c.net(), spec, NetworkWalk.repeatRows(x, k), labels)), dense(sampled), ROUTES_FLOAT64,
                what + ": Monte Carlo, factored vs exact at the route's draws");

        // float32 accumulators (what the CLI and the benchmark use) within float32 round-off
        assertClose(dense(sampled), dense(monteCarlo.withAccumulatorType(DataType.FLOAT).symmetric(c.net(), spec)), ACCUMULATOR_FLOAT32,
                what + ": float32 accumulators");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void theUnitScaledFisherIsTheSameOnBothRoutes(Case c) {
        SymmetrySpec spec = SpecInference.infer(c.net());
        FisherSource source = FisherSource.monteCarlo(c.data().getFeatures(), 23).withBatchSize(2);
        ScaledCurvature factored = source.unitScaledSymmetric(c.net(), spec, FisherSource.Progress.NONE);
        ScaledCurvature materialised = source.withRoute(FisherSource.Route.MATERIALISED).unitScaledSymmetric(c.net(), spec, FisherSource.Progress.NONE);
        assertClose(DenseMatrices.toVector(materialised.scale()), DenseMatrices.toVector(factored.scale()), ROUTES_FLOAT64, c.name() + ": scales");
        assertClose(dense(materialised.scaled()), dense(factored.scaled()), ROUTES_FLOAT64, c.name() + ": F' in rescaled coordinates");
    }
}
