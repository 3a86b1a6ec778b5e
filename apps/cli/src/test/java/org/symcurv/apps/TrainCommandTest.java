package org.symcurv.apps;

import static org.symcurv.apps.CliRun.symcurv;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.testing.TestData;

/** {@code symcurv train} end to end on the committed 2,000/500-image Fashion-MNIST subset. */
class TrainCommandTest {
    private static final Pattern EPOCH_LINE = Pattern.compile(
            "epoch 1/1: train loss ([0-9.]+), test loss ([0-9.]+), test accuracy ([0-9.]+) \\((\\d+) examples\\)");
    /** The printed loss has 4 decimals. */
    private static final double PRINTED_LOSS_RESOLUTION = 5e-5;
    /** One epoch of a small MLP on 2,000 images is far better than the 10% of guessing. */
    private static final double MINIMUM_SUBSET_ACCURACY = 0.5;

    @TempDir
    static Path dir;
    static Path model;
    static CliRun first;



    static String[] smallTraining(Path output, String... extra) {
        return training(output, 32, 7, extra);
    }

    static String[] training(Path output, int hidden, long seed, String... extra) {
        String[] base = {"train", "--data", TestData.fashionMnistSubset().toString(), "--out", output.toString(),
                "--epochs", "1", "--hidden", Integer.toString(hidden), "--batch", "64", "--seed", Long.toString(seed),
                "--no-progress"};
        return Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
    }

    @BeforeAll
    static void trainOnce() {
        model = dir.resolve("models").resolve("small.zip");
        first = symcurv(smallTraining(model));
    }

    @Test
    void trainingSucceedsAndWritesAModelThatPlainDl4jRestoresWithThePrintedAccuracyAndLoss() throws IOException {
        assertEquals(0, first.exitCode(), first.err());
        assertTrue(Files.isRegularFile(model), "model zip written");
        try (Stream<Path> siblings = Files.list(model.getParent())) {
            assertEquals(1, siblings.count(), "no temporary file left beside the model");
        }
        Matcher printed = EPOCH_LINE.matcher(first.out());
        assertTrue(printed.find(), "epoch line in: " + first.out());
        assertEquals(TestData.FASHION_MNIST_SUBSET_TEST_SIZE, Integer.parseInt(printed.group(4)));

        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(model.toFile());
        assertEquals(784, restored.layerInputSize(0));
        assertEquals(32, restored.layerSize(0));
        assertEquals(10, restored.layerSize(1));
        ImageDataSet test = FashionMnist.loadTest(TestData.fashionMnistSubset());
        INDArray predicted = restored.output(test.features(), false).argMax(1);
        int correct = 0;
        for (int i = 0; i < test.size(); i++) {
            if (predicted.getInt(i) == test.label(i)) {
                correct++;
            }
        }
        // 4 printed decimals resolve one example in 500
        assertEquals(Double.parseDouble(printed.group(3)), correct / (double) test.size(), 5e-5, "restored model reproduces the printed accuracy");
        assertTrue(correct > MINIMUM_SUBSET_ACCURACY * test.size(), "accuracy " + correct + "/" + test.size());
        assertEquals(Double.parseDouble(printed.group(2)), restored.score(test.toDataSet(), false), PRINTED_LOSS_RESOLUTION,
                "restored model reproduces the printed test loss");
    }

    @Test
    void anExistingModelIsKeptWithoutForceAndReplacedWithIt() throws IOException {
        assertEquals(0, first.exitCode(), first.err());
        byte[] before = Files.readAllBytes(model);
        FileTime modified = Files.getLastModifiedTime(model);
        CliRun refused = symcurv(smallTraining(model));
        assertNotEquals(0, refused.exitCode());
        assertTrue(refused.err().contains("already exists") && refused.err().contains("--force"), refused.err());
        assertFalse(refused.out().contains("epoch"), "refused before training: " + refused.out());
        assertArrayEquals(before, Files.readAllBytes(model));
        assertEquals(modified, Files.getLastModifiedTime(model));

        CliRun forced = symcurv(training(model, 16, 8, "--force"));
        assertEquals(0, forced.exitCode(), forced.err());
        assertEquals(16, ModelSerializer.restoreMultiLayerNetwork(model.toFile()).layerSize(0), "replaced by the new model");
    }

    @Test
    void aMissingDataDirectoryFailsNamingTheDebianPackage() {
        Path output = dir.resolve("never.zip");
        CliRun run = symcurv("train", "--data", dir.resolve("no-such-dir").toString(), "--out", output.toString(), "--no-progress");
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("dataset-fashion-mnist") && run.err().contains("no-such-dir"), run.err());
        assertFalse(run.err().contains("\tat "), "no stack trace for an expected failure: " + run.err());
        assertFalse(Files.exists(output));
    }

    @Test
    void anUnwritableOutputFailsBeforeTrainingWithAClearMessage() throws IOException {
        Path aFile = Files.writeString(dir.resolve("plain-file"), "x");
        CliRun run = symcurv(smallTraining(aFile.resolve("model.zip")));
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("cannot write the model to") && run.err().contains("plain-file"), run.err());
        assertFalse(run.out().contains("epoch"), run.out());

        CliRun directory = symcurv(smallTraining(dir));
        assertEquals(1, directory.exitCode());
        assertTrue(directory.err().contains("is a directory"), directory.err());
    }

    @Test
    void lenetTrainsACnnThatPlainDl4jRestoresWithThePrintedParameterCountAndAccuracy() throws IOException {
        Path cnn = dir.resolve("cnn").resolve("lenet.zip");
        CliRun run = symcurv("train", "--data", TestData.fashionMnistSubset().toString(), "--out", cnn.toString(), "--arch", "lenet",
                "--conv", "4,8", "--hidden", "16", "--epochs", "1", "--batch", "32", "--lr", "0.005", "--seed", "3", "--no-progress");
        assertEquals(0, run.exitCode(), run.err());
        Matcher parameters = Pattern.compile("28×28 conv5 4-8 maxpool, dense 16, 10 classes, relu CNN classifier \\(([0-9,]+) parameters\\)")
                .matcher(run.out());
        assertTrue(parameters.find(), run.out());
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(cnn.toFile());
        // 28 → 24 → 12 → 8 → 4: conv (25·1+1)·4, conv (25·4+1)·8, dense (8·4·4+1)·16, output (16+1)·10
        long expected = 26 * 4 + 101 * 8 + 129 * 16 + 17 * 10;
        assertEquals(expected, restored.numParams());
        assertEquals(expected, Long.parseLong(parameters.group(1).replace(",", "")));
        assertEquals("ConvolutionLayer", restored.getLayer(0).conf().getLayer().getClass().getSimpleName());
        assertEquals("SubsamplingLayer", restored.getLayer(1).conf().getLayer().getClass().getSimpleName());
        Matcher printed = EPOCH_LINE.matcher(run.out());
        assertTrue(printed.find(), run.out());
        ImageDataSet test = FashionMnist.loadTest(TestData.fashionMnistSubset());
        INDArray predicted = restored.output(test.features(), false).argMax(1);
        int correct = 0;
        for (int i = 0; i < test.size(); i++) {
            if (predicted.getInt(i) == test.label(i)) {
                correct++;
            }
        }
        assertEquals(Double.parseDouble(printed.group(3)), correct / (double) test.size(), 5e-5, "restored CNN reproduces the printed accuracy");
        assertTrue(correct > MINIMUM_SUBSET_ACCURACY * test.size(), "accuracy " + correct + "/" + test.size());
    }

    @Test
    void lenetRefusesTooSmallImagesAndUnknownArchitecturesAndPooling() {
        Path output = dir.resolve("bad-cnn.zip");
        CliRun tooDeep = symcurv("train", "--data", TestData.fashionMnistSubset().toString(), "--out", output.toString(), "--arch", "lenet",
                "--conv", "2,2,2", "--epochs", "1", "--no-progress");
        assertEquals(2, tooDeep.exitCode(), tooDeep.err());
        assertTrue(tooDeep.err().contains("too small for 3 stages"), tooDeep.err());
        for (String[] bad : new String[][] {{"--arch", "resnet"}, {"--arch", "lenet", "--pool", "median"}, {"--arch", "lenet", "--conv", "0"}}) {
            String[] args = Stream.concat(Stream.of("train", "--out", output.toString()), Stream.of(bad)).toArray(String[]::new);
            CliRun run = symcurv(args);
            assertEquals(2, run.exitCode(), String.join(" ", bad) + " gave: " + run.err());
        }
        assertFalse(Files.exists(output));
    }

    @Test
    void badOptionsAreUsageErrorsWithExitCode2() {
        Path output = dir.resolve("bad.zip");
        for (String[] bad : new String[][] {
                {"--hidden", "0"}, {"--hidden", "12,x"}, {"--activation", "bogus"}, {"--epochs", "0"}, {"--lr", "-1"},
                {"--batch", "0"}, {"--no-such-option"}}) {
            String[] args = Stream.concat(Stream.of("train", "--out", output.toString()), Stream.of(bad)).toArray(String[]::new);
            CliRun run = symcurv(args);
            assertEquals(2, run.exitCode(), String.join(" ", bad) + " gave: " + run.err());
            assertTrue(run.err().contains("symcurv train --help"), String.join(" ", bad) + " gave: " + run.err());
        }
        CliRun unknownActivation = symcurv("train", "--activation", "bogus");
        assertTrue(unknownActivation.err().contains("unknown activation 'bogus'; choose one of relu,"), unknownActivation.err());
        assertEquals(2, symcurv().exitCode(), "no subcommand");
        assertFalse(Files.exists(output));
    }

    @Test
    void helpListsTheTrainOptions() {
        CliRun help = symcurv("train", "--help");
        assertEquals(0, help.exitCode());
        for (String option : new String[] {"--data", "--out", "--force", "--epochs", "--hidden", "--activation", "--lr",
                "--batch", "--seed", "--no-progress", "tanh"}) {
            assertTrue(help.out().contains(option), option + " in " + help.out());
        }
    }
}
