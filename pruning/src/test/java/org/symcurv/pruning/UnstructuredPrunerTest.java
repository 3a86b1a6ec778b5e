package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.model.FisherSource;

/** Unstructured pruning end to end on a tiny float64 network, against the dense oracle. */
class UnstructuredPrunerTest {
    private static final double LAMBDA = 1e-2;
    /** The tiny networks have 20 + 12 + 9 = 41 weights. */
    private static final int WEIGHTS = 41;

    private static double[] params(MultiLayerNetwork net) {
        return ParameterLayout.of(net).read(net).castTo(DataType.DOUBLE).toDoubleVector();
    }

    /** Weight indices of the network ordered by increasing score (ties by index). */
    private static long[] lowest(MultiLayerNetwork net, double[] score, int count) {
        List<Long> weights = new ArrayList<>();
        for (ParameterLeaf leaf : UnstructuredPruner.prunableLeaves(ParameterLayout.of(net))) {
            for (long q = leaf.offset(); q < leaf.offset() + leaf.length(); q++) {
                weights.add(q);
            }
        }
        weights.sort(Comparator.comparingDouble((Long q) -> score[(int) (long) q]).thenComparing(q -> q));
        return weights.subList(0, count).stream().mapToLong(Long::longValue).sorted().toArray();
    }

    @Test
    void oneRoundOfObsRemovesTheLowestDenseSaliencesAndAppliesTheSummedDenseUpdate() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(3);
        DataSet data = PruningTestNetworks.data(5, 40);
        FisherSource fisher = FisherSource.empirical(data).withRoute(FisherSource.Route.PER_EXAMPLE);
        for (int count : new int[] {1, 10}) {
            Curvature f = fisher.symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
            DenseObs dense = new DenseObs(f, LAMBDA * f.trace() / f.spec().parameterCount());
            double[] w = params(net);
            double[] s = new double[w.length];
            for (int q = 0; q < w.length; q++) {
                s[q] = dense.saliency(w, q);
            }
            long[] removed = lowest(net, s, count);
            double[] expected = w.clone();
            double[] update = dense.summedUpdate(w, removed);
            for (int q = 0; q < w.length; q++) {
                expected[q] += update[q];
            }
            for (long q : removed) {
                expected[(int) q] = 0.0;
            }
            UnstructuredPruner.Result result = UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, (double) count / WEIGHTS)
                    .withDamping(ObsDamping.meanDiagonal(LAMBDA)).prune(net, fisher, PruningListener.NONE);
            assertArrayEquals(removed, result.mask().prunedIndices(), "removed the lowest OBS saliencies (" + count + ")");
            DenseMatrices.assertClose(expected, params(result.network()), 1e-9, "compensated weights (" + count + ")");
            assertEquals(1, result.rounds().size());
            double predicted = Arrays.stream(removed).mapToDouble(q -> s[(int) q]).sum();
            assertEquals(predicted, result.rounds().get(0).predictedLossIncrease(), 1e-9 * predicted, "Σ s_q reported");
        }
    }

    @Test
    void theStructureDecidesWhichWeightsAnObsUpdateMoves() {
        // tanh: SIGNED_PERM on both hidden layers. W1 (flat 24..35) is then one kind with a single copy, a scalar
        // block: removing one of its weights moves nothing else. A first-layer weight W0[j, i] shares the kind of
        // unit i's incoming column, bias and the structure of W1: its update moves those.
        MultiLayerNetwork net = PruningTestNetworks.tanh(3);
        Curvature inverse = ObsDamping.DEFAULT.inverse(FisherSource.empirical(PruningTestNetworks.data(5, 40)).withRoute(FisherSource.Route.PER_EXAMPLE)
                .symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE));
        org.nd4j.linalg.api.ndarray.INDArray w = ParameterLayout.of(net).read(net);
        double[] middle = Saliencies.obsUpdate(inverse, w, 24).toDoubleVector();
        assertEquals(1, IntStream.range(0, middle.length).filter(i -> middle[i] != 0.0).count(), "W1[0,0] moves alone");
        double[] first = Saliencies.obsUpdate(inverse, w, 3).toDoubleVector();
        long moved = IntStream.range(0, first.length).filter(i -> Math.abs(first[i]) > 1e-12).count();
        assertTrue(moved >= 5, "W0[3,0] moves the other entries of its unit's column and its bias, moved " + moved);
    }

    @Test
    void masksKeepEveryPrunedWeightAtZeroThroughAllRounds() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(6);
        FisherSource fisher = FisherSource.monteCarlo(PruningTestNetworks.data(2, 30).getFeatures(), 9).withRoute(FisherSource.Route.PER_EXAMPLE);
        for (PruningMethod method : PruningMethod.values()) {
            UnstructuredPruner.Result result = UnstructuredPruner.of(method, 0.6).withRounds(3).prune(net, fisher, PruningListener.NONE);
            long[] pruned = result.mask().prunedIndices();
            assertEquals(WEIGHTS - 16, pruned.length, method + ": 41 − round(0.6·41) = 16 weights kept");
            long removedInRounds = result.rounds().stream().mapToLong(RoundReport::removed).sum();
            assertEquals(pruned.length, removedInRounds, method + ": no weight was removed twice, so none came back");
            double[] after = params(result.network());
            for (long q : pruned) {
                assertEquals(0.0, after[(int) q], 0.0, method + ": pruned weight " + q + " is zero");
            }
            assertEquals(0.6, result.sparsity(), 0.01);
            ParameterLayout layout = ParameterLayout.of(net);
            for (ParameterLeaf leaf : layout.leaves()) {
                if (leaf.key().equals("b")) {
                    assertEquals(0, result.mask().prunedCount(leaf), method + ": biases are never pruned");
                }
            }
            double[] fractions = result.rounds().stream().mapToDouble(RoundReport::prunedFraction).toArray();
            assertTrue(fractions[0] < fractions[1] && fractions[1] < fractions[2], method + ": sparsity grows every round");
        }
    }

    @Test
    void perLayerScopeBringsEveryWeightMatrixToTheTarget() {
        MultiLayerNetwork net = PruningTestNetworks.relu(4);
        FisherSource fisher = FisherSource.empirical(PruningTestNetworks.data(3, 30)).withRoute(FisherSource.Route.PER_EXAMPLE);
        UnstructuredPruner.Result result = UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, 0.5).withScope(PruningScope.PER_LAYER)
                .withRounds(2).prune(net, fisher, PruningListener.NONE);
        for (ParameterLeaf leaf : UnstructuredPruner.prunableLeaves(ParameterLayout.of(net))) {
            assertEquals(Math.round(0.5 * leaf.length()), result.mask().prunedCount(leaf), leaf.name());
        }
    }

    @Test
    void magnitudeRemovesTheSmallestWeightsAndMovesNothingElse() {
        MultiLayerNetwork net = PruningTestNetworks.relu(4);
        double[] w = params(net);
        double[] s = Arrays.stream(w).map(x -> x * x).toArray();
        UnstructuredPruner.Result result = UnstructuredPruner.of(PruningMethod.MAGNITUDE, 0.3).prune(net, null, PruningListener.NONE);
        long[] removed = lowest(net, s, 12);
        assertArrayEquals(removed, result.mask().prunedIndices());
        double[] expected = w.clone();
        for (long q : removed) {
            expected[(int) q] = 0.0;
        }
        assertArrayEquals(expected, params(result.network()), 0.0);
        assertTrue(Double.isNaN(result.rounds().get(0).predictedLossIncrease()), "magnitude makes no loss prediction");
    }

    @Test
    void obdRemovesTheSmallestHalfWSquaredFqqOfTheSymmetryFisher() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(8);
        FisherSource fisher = FisherSource.empirical(PruningTestNetworks.data(3, 30)).withRoute(FisherSource.Route.PER_EXAMPLE);
        Curvature f = fisher.symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
        double[][] dense = DenseMatrices.toMatrix(f.toDense());
        double[] w = params(net);
        double[] s = IntStream.range(0, w.length).mapToDouble(q -> 0.5 * w[q] * w[q] * dense[q][q]).toArray();
        UnstructuredPruner.Result result = UnstructuredPruner.of(PruningMethod.OBD, 0.3).prune(net, fisher, PruningListener.NONE);
        assertArrayEquals(lowest(net, s, 12), result.mask().prunedIndices());
    }

    @Test
    void obsOnTheDiagonalFisherOnlyZeroesTheRemovedWeights() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(8);
        FisherSource fisher = FisherSource.empirical(PruningTestNetworks.data(3, 30)).withRoute(FisherSource.Route.PER_EXAMPLE);
        double[] w = params(net);
        UnstructuredPruner.Result result = UnstructuredPruner.of(PruningMethod.OBS_DIAGONAL, 0.3).prune(net, fisher, PruningListener.NONE);
        double[] after = params(result.network());
        for (int q = 0; q < w.length; q++) {
            assertEquals(result.mask().isPruned(q) ? 0.0 : w[q], after[q], 1e-15, "parameter " + q);
        }
    }

    @Test
    void theInputNetworkIsNotModified() {
        MultiLayerNetwork net = PruningTestNetworks.relu(4);
        double[] before = params(net);
        UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, 0.5).withRounds(2)
                .prune(net, FisherSource.empirical(PruningTestNetworks.data(3, 20)).withRoute(FisherSource.Route.PER_EXAMPLE), PruningListener.NONE);
        assertArrayEquals(before, params(net), 0.0);
    }

    @Test
    void theScheduleKeepsAGeometricallyShrinkingShareAndEndsOnTheTarget() {
        assertEquals(1000, Selection.keptAfterRound(1000, 0.9, 0, 4));
        assertEquals(Math.round(1000 * Math.pow(0.1, 0.25)), Selection.keptAfterRound(1000, 0.9, 1, 4));
        assertEquals(Math.round(1000 * Math.pow(0.1, 0.5)), Selection.keptAfterRound(1000, 0.9, 2, 4));
        assertEquals(100, Selection.keptAfterRound(1000, 0.9, 4, 4));
        assertEquals(58, Selection.keptAfterRound(117, 0.5, 1, 1), "117 − round(58.5) = 117 − 59");
    }

    @Test
    void badSettingsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, 1.0));
        assertThrows(IllegalArgumentException.class, () -> UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, -0.1));
        assertThrows(IllegalArgumentException.class, () -> UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, 0.5).withRounds(0));
    }
}
