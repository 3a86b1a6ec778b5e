package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.model.FisherSource;

/** Structured (neuron) pruning against a dense per-unit oracle, and the smaller network against the masked big one. */
class NeuronPrunerTest {
    private static final double LAMBDA = 1e-2;

    private static double[] params(MultiLayerNetwork net) {
        return ParameterLayout.of(net).read(net).castTo(DataType.DOUBLE).toDoubleVector();
    }

    /** Dense block OBS for one unit: cost ½ wᵀ M⁻¹ w and coefficients M⁻¹ w with M = [F̃⁻¹]_QQ formed for this very unit. */
    private record DenseUnit(double cost, double[] coefficients, long[] block) {
    }

    private static DenseUnit denseUnit(DenseObs dense, double[] w, long[] block) {
        int q = block.length;
        double[][] m = new double[q][q];
        double[] wq = new double[q];
        for (int i = 0; i < q; i++) {
            wq[i] = w[(int) block[i]];
            for (int j = 0; j < q; j++) {
                m[i][j] = dense.inverse[(int) block[i]][(int) block[j]];
            }
        }
        double[] c = DenseMatrices.multiply(DenseObs.invert(m), wq);
        double cost = 0;
        for (int i = 0; i < q; i++) {
            cost += 0.5 * wq[i] * c[i];
        }
        return new DenseUnit(cost, c, block);
    }

    @Test
    void blockObsCostsAndUpdateMatchAPerUnitDenseOracle() {
        for (Activation activation : new Activation[] {Activation.TANH, Activation.RELU}) {
            MultiLayerNetwork net = TinyNetworks.mlp(21).inputs(5).dense(5, activation).dense(4, activation).softmaxCrossEntropy(3);
            FisherSource fisher = FisherSource.empirical(PruningTestNetworks.data(4, 40)).withRoute(FisherSource.Route.PER_EXAMPLE);
            Curvature f = fisher.symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
            DenseObs dense = new DenseObs(f, LAMBDA * f.trace() / f.spec().parameterCount());
            ParameterLayout layout = ParameterLayout.of(net);
            double[] w = params(net);
            // u = 0.4: layer 0 keeps 5 − 2 = 3 units, layer 1 keeps 4 − round(1.6) = 2
            Map<Integer, int[]> expectedKept = new LinkedHashMap<>();
            double[] theta = w.clone();
            double predicted = 0;
            for (int layer : List.of(0, 1)) {
                int n = NetworkSurgery.units(net, layer);
                DenseUnit[] units = new DenseUnit[n];
                for (int i = 0; i < n; i++) {
                    units[i] = denseUnit(dense, w, NetworkSurgery.unitBlock(net, layer, i));
                }
                int remove = layer == 0 ? 2 : 2;
                int[] order = IntStream.range(0, n).boxed().sorted((a, b) -> Double.compare(units[a].cost, units[b].cost))
                        .mapToInt(Integer::intValue).toArray();
                boolean[] gone = new boolean[n];
                for (int r = 0; r < remove; r++) {
                    int i = order[r];
                    gone[i] = true;
                    predicted += units[i].cost;
                    // δθ = −F̃⁻¹ E_Q M⁻¹ w_Q
                    for (int p = 0; p < theta.length; p++) {
                        double s = 0;
                        for (int j = 0; j < units[i].block.length; j++) {
                            s += dense.inverse[p][(int) units[i].block[j]] * units[i].coefficients[j];
                        }
                        theta[p] -= s;
                    }
                }
                expectedKept.put(layer, IntStream.range(0, n).filter(i -> !gone[i]).toArray());
            }
            MultiLayerNetwork expected = NetworkSurgery.keepUnits(net, Nd4j.createFromArray(theta), expectedKept);
            NeuronPruner.Result result = NeuronPruner.of(PruningMethod.OBS_SYMMETRY, 0.4).withDamping(ObsDamping.meanDiagonal(LAMBDA))
                    .prune(net, fisher, PruningListener.NONE);
            for (int layer : List.of(0, 1)) {
                assertArrayEquals(expectedKept.get(layer), result.keptUnits().get(layer), activation + ": units kept in layer " + layer);
            }
            DenseMatrices.assertClose(params(expected), params(result.network()), 1e-9, activation + ": compensated smaller network");
            assertEquals(predicted, result.rounds().get(0).predictedLossIncrease(), 1e-9 * predicted, activation + ": Σ block saliencies");
        }
    }

    @Test
    void theBlockUpdateOfOneUnitZeroesExactlyItsBlock() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(5);
        Curvature f = FisherSource.empirical(PruningTestNetworks.data(4, 40)).withRoute(FisherSource.Route.PER_EXAMPLE).symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
        DenseObs dense = new DenseObs(f, LAMBDA * f.trace() / f.spec().parameterCount());
        double[] w = params(net);
        DenseUnit unit = denseUnit(dense, w, NetworkSurgery.unitBlock(net, 0, 2));
        double[] delta = new double[w.length];
        for (int p = 0; p < w.length; p++) {
            for (int j = 0; j < unit.block.length; j++) {
                delta[p] -= dense.inverse[p][(int) unit.block[j]] * unit.coefficients[j];
            }
        }
        for (long q : unit.block) {
            assertEquals(-w[(int) q], delta[(int) q], 1e-10, "w_Q + δ_Q = 0 at " + q);
        }
        assertEquals(unit.cost, dense.quadratic(delta), 1e-9 * unit.cost, "½ δᵀF̃δ equals the block saliency");
    }

    @Test
    void theSmallerNetworkComputesExactlyWhatTheMaskedBigNetworkComputes() {
        MultiLayerNetwork net = TinyNetworks.mlp(31).inputs(6).dense(8, Activation.RELU).dense(6, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(2, 25, 6, 3);
        for (PruningMethod method : List.of(PruningMethod.MAGNITUDE, PruningMethod.OBD)) {
            NeuronPruner.Result result = NeuronPruner.of(method, 0.5).withRounds(2)
                    .prune(net, FisherSource.empirical(data).withRoute(FisherSource.Route.PER_EXAMPLE), PruningListener.NONE);
            assertEquals(4, result.keptUnits().get(0).length);
            assertEquals(3, result.keptUnits().get(1).length);
            Map<Integer, int[]> removed = new LinkedHashMap<>();
            result.keptUnits().forEach((l, kept) -> removed.put(l, IntStream.range(0, l == 0 ? 8 : 6)
                    .filter(i -> IntStream.of(kept).noneMatch(k -> k == i)).toArray()));
            ParameterLayout layout = ParameterLayout.of(net);
            MultiLayerNetwork masked = net.clone();
            layout.write(NetworkSurgery.maskUnits(net, layout.read(net), removed), masked);
            INDArray big = masked.output(data.getFeatures());
            INDArray small = result.network().output(data.getFeatures());
            DenseMatrices.assertClose(DenseMatrices.toMatrix(big), DenseMatrices.toMatrix(small), 1e-13, method + ": outputs");
            assertEquals(ParameterLayout.of(result.network()).parameterCount(), (6 + 1) * 4 + (4 + 1) * 3 + (3 + 1) * 3, "smaller network");
        }
    }

    @Test
    void globalScopeRanksAllUnitsTogetherButKeepsOneUnitPerLayer() {
        MultiLayerNetwork net = TinyNetworks.mlp(31).inputs(6).dense(8, Activation.RELU).dense(2, Activation.RELU).softmaxCrossEntropy(3);
        NeuronPruner.Result result = NeuronPruner.of(PruningMethod.MAGNITUDE, 0.9).withScope(PruningScope.GLOBAL)
                .prune(net, null, PruningListener.NONE);
        int kept = result.keptUnits().values().stream().mapToInt(a -> a.length).sum();
        assertEquals(2, kept, "10 units, 9 to remove, but each layer keeps one: 8 removed");
        assertTrue(result.keptUnits().get(0).length >= 1 && result.keptUnits().get(1).length >= 1, "no layer emptied");
    }

    @Test
    void obsOnTheDiagonalFisherRemovesUnitsWithoutMovingTheRest() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(5);
        NeuronPruner.Result result = NeuronPruner.of(PruningMethod.OBS_DIAGONAL, 0.5)
                .prune(net, FisherSource.empirical(PruningTestNetworks.data(4, 30)).withRoute(FisherSource.Route.PER_EXAMPLE), PruningListener.NONE);
        MultiLayerNetwork plain = NetworkSurgery.keepUnits(net, ParameterLayout.of(net).read(net), result.keptUnits());
        assertArrayEquals(params(plain), params(result.network()), 1e-15);
    }

    @Test
    void structuredObsRefusesAFisherThatDoesNotCommuteWithUnitPermutations() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(5);
        NeuronPruner pruner = NeuronPruner.of(PruningMethod.OBS_SYMMETRY, 0.5)
                .withSpecOptions(SpecInference.Options.defaults().withGroupType(GroupType.SIGN));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> pruner.prune(net, FisherSource.empirical(PruningTestNetworks.data(4, 30)).withRoute(FisherSource.Route.PER_EXAMPLE), PruningListener.NONE));
        assertTrue(e.getMessage().contains("SIGN"), e.getMessage());
    }
}
