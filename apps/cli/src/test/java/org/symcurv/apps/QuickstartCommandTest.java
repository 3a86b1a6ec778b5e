package org.symcurv.apps;

import static org.symcurv.apps.CliRun.symcurv;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.data.DataNotFoundException;
import org.symcurv.core.testing.TestData;

/** {@code symcurv quickstart} end to end on the committed Fashion-MNIST subset, with a tiny network. */
class QuickstartCommandTest {
    @TempDir
    Path dir;

    /** A machine without Fashion-MNIST, as root or not, with apt's answers scripted; records the commands run. */
    static final class FakeMachine implements DebianPackage {
        final boolean root;
        final boolean known;
        final int exitCode;
        final List<List<String>> commands = new ArrayList<>();

        FakeMachine(boolean root, boolean known, int exitCode) {
            this.root = root;
            this.known = known;
            this.exitCode = exitCode;
        }

        @Override
        public boolean canInstall() {
            return root;
        }

        @Override
        public boolean isRoot() {
            return root;
        }

        @Override
        public boolean isKnown(String name) {
            return known;
        }

        @Override
        public int run(List<String> command, java.io.PrintWriter log) {
            commands.add(command);
            log.println("(fake) " + String.join(" ", command));
            return exitCode;
        }
    }

    private CliRun withoutFashionMnist(FakeMachine machine, String... extra) {
        QuickstartCommand.Locator saved = QuickstartCommand.fashionMnist;
        DebianPackage savedPackages = QuickstartCommand.packages;
        QuickstartCommand.fashionMnist = explicit -> {
            throw new DataNotFoundException("Fashion-MNIST not found (test stand-in)");
        };
        QuickstartCommand.packages = machine;
        try {
            List<String> args = new ArrayList<>(List.of("quickstart", "--out-dir", dir.resolve("qs").toString(), "--no-progress"));
            args.addAll(List.of(extra));
            return symcurv(args.toArray(String[]::new));
        } finally {
            QuickstartCommand.fashionMnist = saved;
            QuickstartCommand.packages = savedPackages;
        }
    }

    @Test
    void withoutDataANonRootUserIsToldTheOneCommandAndNothingIsInstalled() {
        FakeMachine machine = new FakeMachine(false, true, 0);
        CliRun run = withoutFashionMnist(machine);
        assertEquals(2, run.exitCode(), run.err() + run.out());
        assertTrue(run.err().contains("sudo apt-get install -y dataset-fashion-mnist"), run.err());
        assertEquals(List.of(), machine.commands);
        assertFalse(Files.exists(dir.resolve("qs")), "nothing created when the data are missing");
    }

    @Test
    void noInstallAsRootPrintsTheCommandWithoutSudoAndRunsNothing() {
        FakeMachine machine = new FakeMachine(true, true, 0);
        CliRun run = withoutFashionMnist(machine, "--no-install");
        assertEquals(2, run.exitCode(), run.err() + run.out());
        assertTrue(run.err().contains("\n    apt-get install -y dataset-fashion-mnist\n"), run.err());
        assertEquals(List.of(), machine.commands);
    }

    @Test
    void asRootItSaysWhatItDoesUpdatesAptWhenThePackageIsUnknownThenInstalls() {
        FakeMachine machine = new FakeMachine(true, false, 0);
        CliRun run = withoutFashionMnist(machine);
        assertEquals(List.of(List.of("apt-get", "update"), List.of("apt-get", "install", "-y", "dataset-fashion-mnist")), machine.commands);
        assertTrue(run.out().contains("installing the Debian package dataset-fashion-mnist"), run.out());
        // the stand-in never finds the data, even after the install: the data set's own message, exit 1
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("test stand-in"), run.err());
    }

    @Test
    void aFailedInstallStopsWithItsExitCodeAndNoUpdateWhenAptKnowsThePackage() {
        FakeMachine machine = new FakeMachine(true, true, 100);
        CliRun run = withoutFashionMnist(machine);
        assertEquals(List.of(List.of("apt-get", "install", "-y", "dataset-fashion-mnist")), machine.commands);
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("failed with exit code 100"), run.err());
    }

    @Test
    void runsEveryStepWritesEveryOutputAndKeepsThemOnASecondRunWithoutForce() throws Exception {
        Path data = TestData.fashionMnistSubset();
        Path out = dir.resolve("qs");
        String[] args = {"quickstart", "--data", data.toString(), "--out-dir", out.toString(), "--epochs", "1", "--hidden", "16,16",
                "--examples", "500", "--prune-rounds", "2", "--no-progress"};
        CliRun run = symcurv(args);
        assertEquals(0, run.exitCode(), run.err() + run.out());
        for (String step : new String[] {"step 1/5", "step 2/5", "step 3/5", "step 4/5", "step 5/5", "quickstart done"}) {
            assertTrue(run.out().contains(step), step + " missing from:\n" + run.out());
        }
        for (String name : new String[] {"model.zip", "fisher.scv", "pruned.zip", "posterior.scv", "calibration.json"}) {
            assertTrue(Files.size(out.resolve(name)) > 0, name);
        }
        PngFiles.assertPng(out.resolve("reliability.png"), 800, 640);
        // the pruned model is a plain DL4J zip with 90% of its weight-matrix entries zero
        MultiLayerNetwork pruned = ModelSerializer.restoreMultiLayerNetwork(out.resolve("pruned.zip").toFile());
        long weights = 0;
        long zeros = 0;
        for (int l = 0; l < pruned.getnLayers(); l++) {
            INDArray w = pruned.getLayer(l).getParam("W");
            weights += w.length();
            zeros += w.eq(0.0).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
        }
        assertEquals(0.9, (double) zeros / weights, 0.01, "sparsity of the weight matrices");

        byte[] model = Files.readAllBytes(out.resolve("model.zip"));
        CliRun again = symcurv(args);
        assertNotEquals(0, again.exitCode(), "existing outputs are not replaced without --force");
        assertTrue(again.err().contains("already exists") && again.err().contains("--force"), again.err());
        assertArrayEquals(model, Files.readAllBytes(out.resolve("model.zip")), "the first run's model is untouched");
    }

    @Test
    void missingDataFailsBeforeTrainingWithTheDataSetsMessage() {
        CliRun run = symcurv("quickstart", "--data", dir.resolve("nowhere").toString(), "--out-dir", dir.resolve("qs").toString());
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("nowhere"), run.err());
        assertTrue(!Files.exists(dir.resolve("qs")), "nothing created when the data are missing");
    }
}
