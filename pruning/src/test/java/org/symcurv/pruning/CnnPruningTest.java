package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.ScaledCurvature;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * Pruning convolutional networks: channel surgery writes a genuinely smaller CNN that plain DL4J runs, saves and loads
 * and that computes exactly what the big one computes with those channels' blocks zeroed; structured OBS on channels
 * and unstructured OBS/OBD/magnitude on kernels against dense float64 oracles (as {@link NeuronPrunerTest} and
 * {@link UnstructuredPrunerTest} do for dense networks).
 */
class CnnPruningTest {
    private static final double LAMBDA = 1e-2;

    static MultiLayerNetwork cnn(long seed, int h, int w, Layer... layers) {
        NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE)
                .weightInit(WeightInit.XAVIER).updater(new NoOp()).list();
        for (Layer layer : layers) {
            list.layer(layer);
        }
        return TinyNetworks.initialise(list.setInputType(InputType.convolutionalFlat(h, w, 1)).build(), seed);
    }

    /**
     * 8×8×1 → conv 3×3 (4 channels, relu) → max pool 2×2 → dropout → conv 2×2 (3 channels, tanh) → flatten (3 × 2×2) →
     * dense 4 (tanh) → softmax 3. Hidden: layers 0 and 3 (channels), 4 (units). The Fisher refuses a network with
     * dropout (training-mode gradients are random), so {@code dropout} ≤ 0 puts a DropoutLayer that does nothing.
     */
    static MultiLayerNetwork lenetLike(long seed, double dropout) {
        return cnn(seed, 8, 8,
                new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.RELU).build(),
                new SubsamplingLayer.Builder(PoolingType.MAX, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}).build(),
                dropout > 0 ? new DropoutLayer.Builder(dropout).build() : new DropoutLayer.Builder().dropOut(null).build(),
                new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build(),
                new DenseLayer.Builder().nOut(4).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build());
    }

    /** 6×6×1 → conv 3×3 (3 channels, tanh) → average pool 2×2 → flatten (3 × 2×2) → dense 3 (tanh) → softmax 3: 81 parameters. */
    static MultiLayerNetwork small(long seed) {
        return cnn(seed, 6, 6,
                new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.TANH).build(),
                new SubsamplingLayer.Builder(PoolingType.AVG, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}).build(),
                new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build());
    }

    static DataSet data(long seed, int n, int inputs) {
        return TinyNetworks.classificationData(seed, n, inputs, 3);
    }

    private static double[] params(MultiLayerNetwork net) {
        return ParameterLayout.of(net).read(net).castTo(DataType.DOUBLE).toDoubleVector();
    }

    private static int[] without(int n, int... removed) {
        return IntStream.range(0, n).filter(i -> IntStream.of(removed).noneMatch(r -> r == i)).toArray();
    }

    @Test
    void removingChannelsWritesASmallerCnnThatComputesWhatTheMaskedBigOneComputes(@TempDir Path dir) throws IOException {
        MultiLayerNetwork net = lenetLike(3, 0.8);
        INDArray x = data(4, 7, 64).getFeatures();
        INDArray bigBefore = net.output(x).dup();
        assertEquals(List.of(0, 3, 4), NetworkSurgery.hiddenLayers(net));
        Map<Integer, int[]> removed = new LinkedHashMap<>();
        removed.put(0, new int[] {1, 3});
        removed.put(3, new int[] {0, 2}); // keeps one channel of the last convolution
        removed.put(4, new int[] {2});
        Map<Integer, int[]> kept = new LinkedHashMap<>();
        kept.put(0, without(4, 1, 3));
        kept.put(3, without(3, 0, 2));
        kept.put(4, without(4, 2));
        ParameterLayout layout = ParameterLayout.of(net);
        MultiLayerNetwork smaller = NetworkSurgery.keepUnits(net, layout.read(net), kept);

        MultiLayerNetwork masked = net.clone();
        layout.write(NetworkSurgery.maskUnits(net, layout.read(net), removed), masked);
        DenseMatrices.assertClose(DenseMatrices.toMatrix(masked.output(x)), DenseMatrices.toMatrix(smaller.output(x)), Tolerances.FLOAT64_ROUNDOFF,
                "smaller CNN vs the big one with the removed channels' blocks zeroed");

        // genuinely smaller: DL4J's own parameter tables
        assertArrayEquals(new long[] {2, 1, 3, 3}, smaller.getParam("0_W").shape());
        assertEquals(2, smaller.getParam("0_b").length());
        assertArrayEquals(new long[] {1, 2, 2, 2}, smaller.getParam("3_W").shape());
        assertArrayEquals(new long[] {4, 3}, smaller.getParam("4_W").shape(), "1 channel × 2×2 positions in, 3 units out");
        assertEquals(1, ((CnnToFeedForwardPreProcessor) smaller.getLayerWiseConfigurations().getInputPreProcess(4)).getNumChannels());
        assertEquals((2 * 9 + 2) + (1 * 2 * 4 + 1) + (4 * 3 + 3) + (3 * 3 + 3), smaller.numParams());
        // the dense rows of the kept channel c are DL4J's rows c·H·W + s of the big weight, the kept columns its kept units
        INDArray bigDense = net.getParam("4_W");
        INDArray smallDense = smaller.getParam("4_W");
        for (int s = 0; s < 4; s++) {
            for (int j = 0; j < 3; j++) {
                assertEquals(bigDense.getDouble(4 + s, kept.get(4)[j]), smallDense.getDouble(s, j), 0.0, "row of channel 1, position " + s);
            }
        }
        assertEquals(net.getParam("3_W").getDouble(1, 0, 1, 1), smaller.getParam("3_W").getDouble(0, 0, 1, 1), 0.0, "next kernel's kept in-channel");
        assertEquals(net.getParam("3_W").getDouble(1, 2, 0, 1), smaller.getParam("3_W").getDouble(0, 1, 0, 1), 0.0);

        // plain DL4J saves and loads it, and the original is untouched
        File file = dir.resolve("smaller.zip").toFile();
        ModelSerializer.writeModel(smaller, file, false);
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(file);
        assertArrayEquals(smaller.output(x).toDoubleMatrix(), restored.output(x).toDoubleMatrix(), "restored smaller CNN");
        assertTrue(Files.size(file.toPath()) > 0);
        assertArrayEquals(bigBefore.toDoubleMatrix(), net.output(x).toDoubleMatrix(), "the original network is not modified");
        assertEquals(3, ((CnnToFeedForwardPreProcessor) net.getLayerWiseConfigurations().getInputPreProcess(4)).getNumChannels());
    }

    @Test
    void removingChannelsBeforeAGlobalPoolingRemovesTheDenseRows() {
        MultiLayerNetwork net = cnn(13, 6, 6, new ConvolutionLayer.Builder(3, 3).nOut(4).activation(Activation.TANH).build(),
                new GlobalPoolingLayer.Builder(PoolingType.AVG).build(), new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build());
        INDArray x = data(14, 5, 36).getFeatures();
        assertEquals(List.of(0, 2), NetworkSurgery.hiddenLayers(net));
        ParameterLayout layout = ParameterLayout.of(net);
        MultiLayerNetwork smaller = NetworkSurgery.keepUnits(net, layout.read(net), Map.of(0, new int[] {0, 2}));
        MultiLayerNetwork masked = net.clone();
        layout.write(NetworkSurgery.maskUnits(net, layout.read(net), Map.of(0, new int[] {1, 3})), masked);
        DenseMatrices.assertClose(DenseMatrices.toMatrix(masked.output(x)), DenseMatrices.toMatrix(smaller.output(x)), Tolerances.FLOAT64_ROUNDOFF,
                "smaller CNN vs masked big one");
        assertArrayEquals(new long[] {2, 3}, smaller.getParam("2_W").shape(), "rows of the kept channels 0 and 2");
        assertEquals(net.getParam("2_W").getDouble(2, 1), smaller.getParam("2_W").getDouble(1, 1), 0.0);
    }

    @Test
    void aConvolutionWithoutBiasLosesKernelRowsOnly() {
        MultiLayerNetwork net = cnn(15, 6, 6, new ConvolutionLayer.Builder(3, 3).nOut(3).hasBias(false).activation(Activation.TANH).build(),
                new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH).build(),
                new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build());
        INDArray x = data(16, 5, 36).getFeatures();
        assertEquals(9 + 2 * 2 * 2, NetworkSurgery.unitBlock(net, 0, 1).length, "3×3 kernel slice and the next kernel's 2 × 2×2, no bias");
        ParameterLayout layout = ParameterLayout.of(net);
        MultiLayerNetwork smaller = NetworkSurgery.keepUnits(net, layout.read(net), Map.of(0, new int[] {2}, 1, new int[] {1}));
        MultiLayerNetwork masked = net.clone();
        layout.write(NetworkSurgery.maskUnits(net, layout.read(net), Map.of(0, new int[] {0, 1}, 1, new int[] {0})), masked);
        DenseMatrices.assertClose(DenseMatrices.toMatrix(masked.output(x)), DenseMatrices.toMatrix(smaller.output(x)), Tolerances.FLOAT64_ROUNDOFF,
                "smaller CNN vs masked big one");
        assertEquals(9 + (4 + 1) + (3 * 3 * 3 + 3), smaller.numParams(), "1 kernel 3×3, 1 kernel 1×2×2 + bias, output over 1 × 3×3 positions");
    }

    @Test
    void magnitudeAndObdRemoveChannelsAndUnitsAndTheResultIsTheMaskedBigNetwork() {
        MultiLayerNetwork net = lenetLike(5, 0.0);
        DataSet data = data(6, 30, 64);
        for (PruningMethod method : List.of(PruningMethod.MAGNITUDE, PruningMethod.OBD)) {
            NeuronPruner.Result result = NeuronPruner.of(method, 0.5)
                    .prune(net, FisherSource.empirical(data).withRoute(FisherSource.Route.PER_EXAMPLE), PruningListener.NONE);
            assertEquals(2, result.keptUnits().get(0).length, method + ": 4 channels, half removed");
            assertEquals(1, result.keptUnits().get(3).length, method + ": 3 channels, round(1.5) = 2 removed");
            assertEquals(2, result.keptUnits().get(4).length, method + ": 4 units, half removed");
            Map<Integer, int[]> removed = new LinkedHashMap<>();
            Map<Integer, Integer> sizes = Map.of(0, 4, 3, 3, 4, 4);
            result.keptUnits().forEach((l, k) -> removed.put(l, IntStream.range(0, sizes.get(l)).filter(i -> IntStream.of(k).noneMatch(j -> j == i)).toArray()));
            ParameterLayout layout = ParameterLayout.of(net);
            MultiLayerNetwork masked = net.clone();
            layout.write(NetworkSurgery.maskUnits(net, layout.read(net), removed), masked);
            DenseMatrices.assertClose(DenseMatrices.toMatrix(masked.output(data.getFeatures())), DenseMatrices.toMatrix(result.network().output(data.getFeatures())),
                    Tolerances.FLOAT64_ROUNDOFF, method + ": outputs");
        }
        // magnitude keeps the channels of largest ‖w_Q‖², computed here from DL4J's own tables
        NeuronPruner.Result magnitude = NeuronPruner.of(PruningMethod.MAGNITUDE, 0.5).prune(net, null, PruningListener.NONE);
        double[] norms = new double[4];
        for (int c = 0; c < 4; c++) {
            INDArray w0 = net.getParam("0_W");
            INDArray w3 = net.getParam("3_W");
            norms[c] = Math.pow(net.getParam("0_b").getDouble(c), 2);
            for (int i = 0; i < 3; i++) {
                for (int j = 0; j < 3; j++) {
                    norms[c] += Math.pow(w0.getDouble(c, 0, i, j), 2);
                }
            }
            for (int o = 0; o < 3; o++) {
                for (int i = 0; i < 2; i++) {
                    for (int j = 0; j < 2; j++) {
                        norms[c] += Math.pow(w3.getDouble(o, c, i, j), 2);
                    }
                }
            }
        }
        int[] expected = IntStream.range(0, 4).boxed().sorted(Comparator.comparingDouble(c -> -norms[c])).limit(2).mapToInt(Integer::intValue).sorted().toArray();
        assertArrayEquals(expected, magnitude.keptUnits().get(0), "channels of layer 0 with the largest block norms " + Arrays.toString(norms));
    }

    @ParameterizedTest(name = "unit-scaled {0}")
    @ValueSource(booleans = {false, true})
    void structuredObsOnChannelsMatchesADensePerChannelOracle(boolean unitScaled) {
        MultiLayerNetwork net = small(7);
        // the unit scales come from the gradient factors (the factored route); the plain Fisher from DL4J's per-example gradients
        FisherSource fisher = FisherSource.empirical(data(8, 40, 36)).withRoute(unitScaled ? FisherSource.Route.FACTORED : FisherSource.Route.PER_EXAMPLE);
        ScaledCurvature sf = unitScaled ? fisher.unitScaledSymmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE)
                : ScaledCurvature.unscaled(fisher.symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE));
        Curvature f = sf.scaled();
        DenseObs dense = new DenseObs(f, LAMBDA * f.trace() / f.spec().parameterCount());
        // everything in the Fisher's coordinates θ' = s ∘ θ; the update maps back through 1/s
        double[] w = sf.toScaled(ParameterLayout.of(net).read(net).castTo(DataType.DOUBLE)).castTo(DataType.DOUBLE).toDoubleVector();
        double[] delta = new double[w.length];
        double predicted = 0;
        Map<Integer, int[]> expectedKept = new LinkedHashMap<>();
        for (int layer : List.of(0, 2)) {
            long[][] blocks = NetworkSurgery.unitBlocks(net, layer);
            int n = blocks.length;
            double[] cost = new double[n];
            double[][] coefficients = new double[n][];
            for (int i = 0; i < n; i++) {
                // M = [F̃⁻¹]_QQ formed for this very channel; cost ½ wᵀ M⁻¹ w, update −F̃⁻¹ E_Q M⁻¹ w_Q
                int q = blocks[i].length;
                double[][] m = new double[q][q];
                double[] wq = new double[q];
                for (int a = 0; a < q; a++) {
                    wq[a] = w[(int) blocks[i][a]];
                    for (int b = 0; b < q; b++) {
                        m[a][b] = dense.inverse[(int) blocks[i][a]][(int) blocks[i][b]];
                    }
                }
                coefficients[i] = DenseMatrices.multiply(DenseObs.invert(m), wq);
                for (int a = 0; a < q; a++) {
                    cost[i] += 0.5 * wq[a] * coefficients[i][a];
                }
            }
            int lowest = IntStream.range(0, n).boxed().min(Comparator.comparingDouble(i -> cost[i])).orElseThrow();
            predicted += cost[lowest];
            for (int p = 0; p < delta.length; p++) {
                for (int a = 0; a < blocks[lowest].length; a++) {
                    delta[p] -= dense.inverse[p][(int) blocks[lowest][a]] * coefficients[lowest][a];
                }
            }
            expectedKept.put(layer, without(n, lowest));
        }
        INDArray theta = ParameterLayout.of(net).read(net).castTo(DataType.DOUBLE).add(sf.fromScaled(Nd4j.createFromArray(delta)).castTo(DataType.DOUBLE));
        MultiLayerNetwork expected = NetworkSurgery.keepUnits(net, theta, expectedKept);
        NeuronPruner.Result result = NeuronPruner.of(PruningMethod.OBS_SYMMETRY, 0.34).withDamping(ObsDamping.meanDiagonal(LAMBDA))
                .withUnitScaledFisher(unitScaled).prune(net, fisher, PruningListener.NONE);
        assertArrayEquals(expectedKept.get(0), result.keptUnits().get(0), "channels kept");
        assertArrayEquals(expectedKept.get(2), result.keptUnits().get(2), "units kept");
        DenseMatrices.assertClose(params(expected), params(result.network()), Tolerances.FLOAT64_SPECTRAL, "compensated smaller CNN");
        assertEquals(predicted, result.rounds().get(0).predictedLossIncrease(), Tolerances.FLOAT64_SPECTRAL * predicted, "Σ block saliencies");
    }

    @Test
    void unstructuredPruningTakesKernelsAndDenseWeightsButNotBiases() {
        MultiLayerNetwork net = small(9);
        ParameterLayout layout = ParameterLayout.of(net);
        List<ParameterLeaf> prunable = UnstructuredPruner.prunableLeaves(layout);
        assertEquals(List.of("0_W", "2_W", "3_W"), prunable.stream().map(ParameterLeaf::name).toList());
        double[] w = params(net);
        List<Long> weights = new ArrayList<>();
        prunable.forEach(leaf -> indicesOf(leaf).forEach(weights::add));
        assertEquals(27 + 36 + 9, weights.size());

        // magnitude: the 36 smallest |w| among kernel and dense weights, zeroed; nothing else moves
        UnstructuredPruner.Result magnitude = UnstructuredPruner.of(PruningMethod.MAGNITUDE, 0.5).prune(net, null, PruningListener.NONE);
        long[] expected = weights.stream().sorted(Comparator.comparingDouble((Long q) -> Math.abs(w[(int) (long) q])).thenComparing(q -> q)).limit(36)
                .mapToLong(Long::longValue).sorted().toArray();
        assertArrayEquals(expected, magnitude.mask().prunedIndices());
        double[] after = params(magnitude.network());
        for (int q = 0; q < w.length; q++) {
            assertEquals(magnitude.mask().isPruned(q) ? 0.0 : w[q], after[q], 0.0, "parameter " + q);
        }

        // OBS on the channel-symmetric Fisher: the lowest dense saliencies w_q² / 2[F̃⁻¹]_qq, the summed dense update
        FisherSource fisher = FisherSource.empirical(data(10, 40, 36)).withRoute(FisherSource.Route.PER_EXAMPLE);
        Curvature f = fisher.symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
        DenseObs dense = new DenseObs(f, LAMBDA * f.trace() / f.spec().parameterCount());
        double[] s = new double[w.length];
        for (int q = 0; q < w.length; q++) {
            s[q] = dense.saliency(w, q);
        }
        long[] removed = weights.stream().sorted(Comparator.comparingDouble((Long q) -> s[(int) (long) q]).thenComparing(q -> q)).limit(18)
                .mapToLong(Long::longValue).sorted().toArray();
        double[] compensated = w.clone();
        double[] update = dense.summedUpdate(w, removed);
        for (int q = 0; q < w.length; q++) {
            compensated[q] += update[q];
        }
        for (long q : removed) {
            compensated[(int) q] = 0.0;
        }
        UnstructuredPruner.Result obs = UnstructuredPruner.of(PruningMethod.OBS_SYMMETRY, 0.25).withDamping(ObsDamping.meanDiagonal(LAMBDA))
                .prune(net, fisher, PruningListener.NONE);
        assertArrayEquals(removed, obs.mask().prunedIndices(), "the lowest OBS saliencies");
        DenseMatrices.assertClose(compensated, params(obs.network()), Tolerances.FLOAT64_SPECTRAL, "compensated CNN");
    }

    private static java.util.stream.LongStream indicesOf(ParameterLeaf leaf) {
        return java.util.stream.LongStream.range(leaf.offset(), leaf.offset() + leaf.length());
    }

    @Test
    void obdOnTheSymmetricFisherPrunesKernelsByHalfWSquaredTimesTheDiagonal() {
        MultiLayerNetwork net = small(11);
        FisherSource fisher = FisherSource.empirical(data(12, 30, 36)).withRoute(FisherSource.Route.PER_EXAMPLE);
        double[][] dense = DenseMatrices.toMatrix(fisher.symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE).toDense());
        double[] d = IntStream.range(0, dense.length).mapToDouble(i -> dense[i][i]).toArray();
        double[] w = params(net);
        List<Long> weights = new ArrayList<>();
        UnstructuredPruner.prunableLeaves(ParameterLayout.of(net)).forEach(leaf -> indicesOf(leaf).forEach(weights::add));
        long[] expected = weights.stream().sorted(Comparator.comparingDouble((Long q) -> 0.5 * w[(int) (long) q] * w[(int) (long) q] * d[(int) (long) q])
                .thenComparing(q -> q)).limit(36).mapToLong(Long::longValue).sorted().toArray();
        UnstructuredPruner.Result result = UnstructuredPruner.of(PruningMethod.OBD, 0.5).prune(net, fisher, PruningListener.NONE);
        assertArrayEquals(expected, result.mask().prunedIndices(), "½ w² F_qq, lowest first");
        assertEquals(0.5, result.sparsity(), 0.0);
    }
}
