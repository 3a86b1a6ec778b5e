package org.symcurv.apps;

import static org.symcurv.apps.CliRun.symcurv;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.testing.TestData;

/** {@code symcurv prune} end to end on the committed Fashion-MNIST subset with a small trained 784-24-16-10 model. */
class PruneCommandTest {
    private static final Pattern ACCURACY = Pattern.compile("test accuracy\\s+([0-9.]+)\\s+([0-9.]+)");
    private static final Pattern LOSS = Pattern.compile("test loss\\s+([0-9.]+)\\s+([0-9.]+)");
    private static final double PRINTED_LOSS_RESOLUTION = 5e-5;

    @TempDir
    static Path dir;
    static Path model;
    static byte[] modelBytes;



    static CliRun prune(Path output, String... extra) {
        String[] base = {"prune", "--model", model.toString(), "--out", output.toString(), "--data", TestData.fashionMnistSubset().toString(),
                "--fisher-examples", "200", "--rounds", "2", "--no-progress"};
        return symcurv(Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new));
    }

    @BeforeAll
    static void trainASmallModel() throws IOException {
        model = dir.resolve("model.zip");
        CliRun trained = symcurv("train", "--data", TestData.fashionMnistSubset().toString(), "--out", model.toString(), "--epochs", "1",
                "--hidden", "24,16", "--batch", "64", "--seed", "3", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
        modelBytes = Files.readAllBytes(model);
    }

    private static MultiLayerNetwork assertRestoresToThePrintedNumbers(Path output, CliRun run) throws IOException {
        return assertRestoresToThePrintedNumbers(output, run, model, modelBytes);
    }

    /**
     * Plain DL4J restores the zip and scores the subset's test images exactly as the command printed; the input model
     * still has {@code inputBytes}; no temporary file is left.
     */
    static MultiLayerNetwork assertRestoresToThePrintedNumbers(Path output, CliRun run, Path input, byte[] inputBytes) throws IOException {
        assertEquals(0, run.exitCode(), run.err());
        MultiLayerNetwork restored = ModelSerializer.restoreMultiLayerNetwork(output.toFile());
        ImageDataSet test = FashionMnist.loadTest(TestData.fashionMnistSubset());
        INDArray predicted = restored.output(test.features(), false).argMax(1);
        int correct = 0;
        for (int i = 0; i < test.size(); i++) {
            if (predicted.getInt(i) == test.label(i)) {
                correct++;
            }
        }
        Matcher accuracy = ACCURACY.matcher(run.out());
        Matcher loss = LOSS.matcher(run.out());
        assertTrue(accuracy.find() && loss.find(), run.out());
        assertEquals(Double.parseDouble(accuracy.group(2)), (double) correct / test.size(), 1e-9, "printed accuracy of the written model");
        assertEquals(Double.parseDouble(loss.group(2)), restored.score(test.toDataSet(), false), PRINTED_LOSS_RESOLUTION, "printed loss");
        assertArrayEquals(inputBytes, Files.readAllBytes(input), "the input is untouched");
        try (Stream<Path> files = Files.list(output.getParent())) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file left");
        }
        return restored;
    }

    @Test
    void unstructuredObsWritesAModelWithTheTargetSparsityThatPlainDl4jEvaluatesToThePrintedNumbers() throws IOException {
        Path output = dir.resolve("obs-50.zip");
        CliRun run = prune(output, "--method", "obs", "--sparsity", "0.5");
        MultiLayerNetwork restored = assertRestoresToThePrintedNumbers(output, run);
        long weights = 784 * 24 + 24 * 16 + 16 * 10;
        long zeros = restored.params().length() - PruneCommand.nonzero(restored);
        assertEquals(weights / 2, zeros, 2, "half of the weight-matrix entries are zero (a bias may be zero by chance)");
        assertTrue(run.out().contains("round 2/2"), run.out());
        assertTrue(run.out().contains("nonzero parameters"), run.out());
    }

    @Test
    void structuredPruningWritesAGenuinelySmallerNetwork() throws IOException {
        Path output = dir.resolve("units-50.zip");
        CliRun run = prune(output, "--method", "obs", "--structured", "--units", "0.5");
        MultiLayerNetwork restored = assertRestoresToThePrintedNumbers(output, run);
        assertEquals(12, restored.layerSize(0));
        assertEquals(8, restored.layerSize(1));
        assertEquals(10, restored.layerSize(2));
        assertEquals((784 + 1) * 12 + (12 + 1) * 8 + (8 + 1) * 10, restored.numParams());
        assertTrue(run.out().matches("(?s).*hidden units\\s+24-16\\s+12-8.*"), run.out());
    }

    @Test
    void everyMethodRuns() throws IOException {
        for (String method : new String[] {"magnitude", "obd", "obs-diagonal"}) {
            Path output = dir.resolve(method + ".zip");
            assertRestoresToThePrintedNumbers(output, prune(output, "--method", method, "--sparsity", "0.3", "--scope", "per-layer"));
        }
        Path joint = dir.resolve("obs-joint.zip");
        CliRun run = prune(joint, "--method", "obs", "--sparsity", "0.3", "--compensation", "constrained", "--solver-iterations", "2",
                "--unit-scaled");
        assertRestoresToThePrintedNumbers(joint, run);
        assertTrue(run.out().contains("unit-scaled symmetry Fisher") && run.out().contains("constrained update"), run.out());
    }

    @Test
    void theInputIsNeverTheOutput() {
        CliRun run = prune(model, "--sparsity", "0.5");
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("is the input model"), run.err());
        CliRun forced = prune(dir.resolve(".").resolve("model.zip"), "--sparsity", "0.5", "--force");
        assertEquals(1, forced.exitCode(), forced.err());
    }

    @Test
    void corruptOrForeignFilesAreRefusedClearly() throws IOException {
        Path garbage = Files.write(dir.resolve("garbage.zip"), new byte[] {1, 2, 3, 4, 5});
        Path foreign = dir.resolve("foreign.zip");
        try (OutputStream o = Files.newOutputStream(foreign); ZipOutputStream zip = new ZipOutputStream(o)) {
            zip.putNextEntry(new ZipEntry("readme.txt"));
            zip.write("not a model".getBytes());
            zip.closeEntry();
        }
        Path truncated = Files.write(dir.resolve("truncated.zip"), java.util.Arrays.copyOf(modelBytes, modelBytes.length / 2));
        for (Path bad : new Path[] {garbage, foreign, truncated, dir.resolve("missing.zip")}) {
            Path output = dir.resolve("from-" + bad.getFileName());
            CliRun run = symcurv("prune", "--model", bad.toString(), "--out", output.toString(), "--sparsity", "0.5",
                    "--data", TestData.fashionMnistSubset().toString(), "--no-progress");
            assertEquals(1, run.exitCode(), bad + ": " + run.err());
            assertTrue(run.err().contains(bad.getFileName().toString()) && (run.err().contains("DL4J") || run.err().contains("does not exist")),
                    run.err());
            assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
            assertFalse(Files.exists(output));
        }
    }

    @Test
    void anExistingOutputIsKeptWithoutForce() throws IOException {
        Path output = Files.writeString(dir.resolve("existing.zip"), "keep me");
        CliRun run = prune(output, "--sparsity", "0.5");
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("already exists") && run.err().contains("--force"), run.err());
        assertEquals("keep me", Files.readString(output));
    }

    @Test
    void missingDataFailsNamingTheDebianPackage() {
        CliRun run = symcurv("prune", "--model", model.toString(), "--out", dir.resolve("x.zip").toString(), "--sparsity", "0.5",
                "--data", dir.resolve("no-data").toString(), "--no-progress");
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("dataset-fashion-mnist"), run.err());
    }

    @Test
    void badOptionsAreUsageErrors() {
        Path output = dir.resolve("bad.zip");
        for (String[] bad : new String[][] {
                {"--sparsity", "1"}, {"--sparsity", "-0.1"}, {"--units", "0.5"}, {"--structured"}, {"--structured", "--units", "1"},
                {"--method", "bogus", "--sparsity", "0.5"}, {}, {"--sparsity", "0.5", "--rounds", "0"}, {"--sparsity", "0.5", "--damping", "0"},
                {"--sparsity", "0.5", "--scope", "everywhere"}, {"--sparsity", "0.5", "--group", "cyclic"},
                {"--sparsity", "0.5", "--compensation", "sideways"}, {"--sparsity", "0.5", "--solver-iterations", "0"}}) {
            String[] args = Stream.concat(Stream.of("prune", "--model", model.toString(), "--out", output.toString()), Stream.of(bad))
                    .toArray(String[]::new);
            CliRun run = symcurv(args);
            assertEquals(2, run.exitCode(), String.join(" ", bad) + " gave: " + run.err());
            assertTrue(run.err().contains("symcurv prune --help"), run.err());
        }
        assertFalse(Files.exists(output));
    }
}
