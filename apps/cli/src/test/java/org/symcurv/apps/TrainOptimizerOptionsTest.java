package org.symcurv.apps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.CliRun.symcurv;
import static org.symcurv.apps.TrainCommandTest.training;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code symcurv train --optimizer …}: the recipes run from the command line, and {@code --resume} continues bit for bit. */
class TrainOptimizerOptionsTest {
    private static final Pattern ACCURACY = Pattern.compile("epoch 1/1: .* test accuracy ([0-9.]+)");

    @TempDir
    Path dir;

    static float[] parameters(Path model) throws IOException {
        return ModelSerializer.restoreMultiLayerNetwork(model.toFile()).params().data().asFloat();
    }

    @Test
    void theSymmetryRecipeTrainsAndReportsItsGroups() {
        Path model = dir.resolve("symmetry.zip");
        CliRun run = symcurv(training(model, 16, 3, "--optimizer", "symmetry", "--lr", "0.1", "--schedule", "cosine"));
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("optimizer symmetry: symmetry(") && run.out().contains("h0:perm(16)")
                && run.out().contains("largest block 795"), run.out());
        Matcher m = ACCURACY.matcher(run.out());
        assertTrue(m.find(), run.out());
        assertTrue(Double.parseDouble(m.group(1)) > 0.5, "accuracy " + m.group(1));
    }

    @Test
    void aRunResumedFromItsEpochCheckpointEndsWithTheParametersOfTheUninterruptedRun() throws IOException {
        Path straight = dir.resolve("straight.zip");
        String[] muon = {"--optimizer", "muon", "--epochs", "2"};
        CliRun full = symcurv(replaceEpochs(training(straight, 16, 5, muon)));
        assertEquals(0, full.exitCode(), full.err());

        Path checkpoint = dir.resolve("run.ckpt");
        Path half = dir.resolve("half.zip");
        CliRun first = symcurv(replaceEpochs(training(half, 16, 5, "--optimizer", "muon", "--epochs", "1",
                "--checkpoint", checkpoint.toString())));
        assertEquals(0, first.exitCode(), first.err());
        assertTrue(first.out().contains("checkpoint written to " + checkpoint), first.out());
        Path resumed = dir.resolve("resumed.zip");
        CliRun second = symcurv(replaceEpochs(training(resumed, 16, 5, "--optimizer", "muon", "--epochs", "2",
                "--resume", checkpoint.toString())));
        assertEquals(0, second.exitCode(), second.err());
        assertTrue(second.out().contains("resuming from") && second.out().contains("epoch 2/2") && !second.out().contains("epoch 1/2"),
                second.out());
        assertArrayEquals(parameters(straight), parameters(resumed), 0f, "bit for bit");

        CliRun wrong = symcurv(replaceEpochs(training(dir.resolve("wrong.zip"), 16, 5, "--optimizer", "adam",
                "--epochs", "2", "--resume", checkpoint.toString())));
        assertEquals(1, wrong.exitCode());
        assertTrue(wrong.err().contains("written by the optimizer") && !wrong.err().contains("\tat "), wrong.err());
    }

    /** {@link TrainCommandTest#training} with its {@code --epochs 1} replaced by the extras' {@code --epochs}. */
    private static String[] replaceEpochs(String[] args) {
        java.util.List<String> list = new java.util.ArrayList<>(java.util.List.of(args));
        int first = list.indexOf("--epochs");
        if (list.lastIndexOf("--epochs") != first) {
            list.remove(first);
            list.remove(first);
        }
        return list.toArray(String[]::new);
    }

    @Test
    void badOptimizerOptionsAreUsageErrors() {
        Path output = dir.resolve("bad.zip");
        for (String[] bad : new String[][] {{"--optimizer", "bogus"}, {"--optimizer", "symmetry", "--invariant", "damped-scalar"},
                {"--schedule", "linear"}, {"--refresh", "0"}, {"--damping-scope", "everywhere"}, {"--polar", "svd"},
                {"--checkpoint-every", "5"}}) {
            String[] args = Stream.concat(Stream.of("train", "--out", output.toString()), Stream.of(bad)).toArray(String[]::new);
            CliRun run = symcurv(args);
            assertEquals(2, run.exitCode(), String.join(" ", bad) + " gave: " + run.err());
            assertTrue(run.err().contains("symcurv train --help"), run.err());
        }
        CliRun unknown = symcurv("train", "--optimizer", "bogus");
        assertTrue(unknown.err().contains("choose one of symmetry, shampoo, muon, adam, adamw, sgd"), unknown.err());
        CliRun scalar = symcurv("train", "--optimizer", "symmetry", "--invariant", "damped-scalar");
        assertTrue(scalar.err().contains("global damping"), scalar.err());
        assertTrue(Files.notExists(output));
    }

    @Test
    void helpListsTheOptimizerOptions() {
        CliRun help = symcurv("train", "--help");
        for (String option : new String[] {"--optimizer", "--schedule", "--warmup", "--weight-decay", "--clip", "--refresh", "--damping",
                "--invariant", "--group", "--polar", "--checkpoint", "--resume", "--max-skipped"}) {
            assertTrue(help.out().contains(option), option + " in " + help.out());
        }
    }
}
