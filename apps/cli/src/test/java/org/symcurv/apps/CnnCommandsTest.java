package org.symcurv.apps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.CliRun.symcurv;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.testing.TestData;
import org.symcurv.uncertainty.ClassificationMetrics;

/**
 * Issue 15's "done when" on the committed Fashion-MNIST subset: a small LeNet-style CNN ({@code train --arch lenet},
 * 28 → conv5 4 ch → pool → conv5 8 ch → pool → 4×4 → dense 16 → 10) goes through {@code curvature}, {@code prune}
 * (unstructured and channels) and {@code laplace} + {@code evaluate} with their defaults, and the pruned files load and
 * evaluate in plain DL4J to the printed numbers.
 */
class CnnCommandsTest {
    @TempDir
    static Path dir;
    static Path model;
    static byte[] modelBytes;

    @BeforeAll
    static void trainASmallCnn() throws IOException {
        model = dir.resolve("cnn.zip");
        CliRun trained = symcurv("train", "--data", TestData.fashionMnistSubset().toString(), "--out", model.toString(), "--arch", "lenet",
                "--conv", "4,8", "--hidden", "16", "--epochs", "1", "--batch", "32", "--lr", "0.005", "--seed", "3", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
        modelBytes = Files.readAllBytes(model);
    }

    private static CliRun prune(Path output, String... extra) {
        String[] base = {"prune", "--model", model.toString(), "--out", output.toString(), "--data", TestData.fashionMnistSubset().toString(),
                "--fisher-examples", "200", "--rounds", "2", "--no-progress"};
        return symcurv(java.util.stream.Stream.concat(java.util.stream.Stream.of(base), java.util.stream.Stream.of(extra)).toArray(String[]::new));
    }

    private static MultiLayerNetwork assertRestoresToThePrintedNumbers(Path output, CliRun run) throws IOException {
        return PruneCommandTest.assertRestoresToThePrintedNumbers(output, run, model, modelBytes);
    }

    @Test
    void curvatureOfACnnShowsItsChannelGroups() {
        Path out = dir.resolve("cnn.scv");
        CliRun run = symcurv("curvature", "--model", model.toString(), "--data", TestData.fashionMnistSubset().toString(), "--out", out.toString(),
                "--examples", "200", "--no-progress");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("h0:perm(4)") && run.out().contains("h2:perm(8)"), run.out());
        assertTrue(run.out().contains("2_W [8 h2, 4 h0, 5 FREE, 5 FREE]"), run.out());
        assertTrue(Files.isRegularFile(out));
    }

    @Test
    void unstructuredPruningOfKernelsAndDenseWeightsRestoresToThePrintedNumbers() throws IOException {
        Path output = dir.resolve("cnn-50.zip");
        CliRun run = prune(output, "--sparsity", "0.5");
        MultiLayerNetwork restored = assertRestoresToThePrintedNumbers(output, run);
        assertTrue(run.out().contains("OBS-symmetry"), "the unstructured default: " + run.out());
        // weights: kernels 4·25 + 8·4·25, dense 128·16, output 16·10
        long weights = 100 + 800 + 128 * 16 + 160;
        long zeros = restored.params().length() - PruneCommand.nonzero(restored);
        assertEquals(weights / 2, zeros, 2, "half of the kernel and weight-matrix entries are zero");
    }

    @Test
    void channelPruningWritesAGenuinelySmallerCnnWithTheMeasuredDefault() throws IOException {
        Path output = dir.resolve("cnn-channels.zip");
        CliRun run = prune(output, "--structured", "--units", "0.5");
        MultiLayerNetwork restored = assertRestoresToThePrintedNumbers(output, run);
        assertTrue(run.out().contains("OBS-diagonal"), "the structured default: " + run.out());
        assertEquals(2, ((ConvolutionLayer) restored.getLayer(0).conf().getLayer()).getNOut());
        assertEquals(4, ((ConvolutionLayer) restored.getLayer(2).conf().getLayer()).getNOut());
        assertEquals(4, ((CnnToFeedForwardPreProcessor) restored.getLayerWiseConfigurations().getInputPreProcess(4)).getNumChannels());
        // conv (25+1)·2, conv (25·2+1)·4, dense (4·4·4+1)·8, output (8+1)·10
        assertEquals(52 + 204 + 65 * 8 + 90, restored.numParams());
    }

    @Test
    void laplaceAndEvaluateWithTheirDefaultsOnACnn() throws IOException {
        Path posterior = dir.resolve("cnn-posterior.scv");
        CliRun fit = symcurv("laplace", "--model", model.toString(), "--data", TestData.fashionMnistSubset().toString(), "--out", posterior.toString(),
                "--examples", "300", "--seed", "3", "--no-progress");
        assertEquals(0, fit.exitCode(), fit.err());
        assertTrue(fit.out().contains("posterior over the last layer (170 parameters)"), fit.out());
        CliRun evaluation = symcurv("evaluate", "--model", model.toString(), "--posterior", posterior.toString(), "--data",
                TestData.fashionMnistSubset().toString(), "--test-count", "300", "--ood-count", "100", "--no-progress");
        assertEquals(0, evaluation.exitCode(), evaluation.err());
        assertTrue(evaluation.out().contains("/ glm-probit"), evaluation.out());
        // the MAP row is the CNN's own accuracy on those 300 images, computed by DL4J
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(model.toFile(), false);
        ImageDataSet test = FashionMnist.loadTest(TestData.fashionMnistSubset()).subset(0, 300);
        ClassificationMetrics map = ClassificationMetrics.of(net.output(test.features()).castTo(DataType.DOUBLE).toDoubleMatrix(), test.labels());
        String mapLine = evaluation.out().lines().filter(l -> l.startsWith("map ")).findFirst().orElseThrow();
        assertTrue(mapLine.contains(String.format(java.util.Locale.ROOT, "%.4f", map.accuracy())), mapLine + " vs " + map.accuracy());
    }
}
