package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.core.data.DataNotFoundException;
import org.symcurv.core.data.FashionMnist;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv quickstart}: the whole toolkit on Fashion-MNIST in one command — train the MLP, estimate its
 * symmetry-averaged Fisher, prune it with OBS, fit a last-layer Laplace posterior and evaluate its calibration —
 * by running the {@code train}, {@code curvature}, {@code prune}, {@code laplace} and {@code evaluate} commands in turn
 * with the same seed, each printing its own table. Outputs go under {@code --out-dir}; an existing output is kept
 * (the run stops at that step) unless {@code --force} is given.
 */
@Command(name = "quickstart",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Train the Fashion-MNIST MLP, estimate its symmetry-averaged curvature, prune it with OBS, fit a Laplace",
                "posterior and print its calibration: 'train', 'curvature', 'prune', 'laplace' and 'evaluate' in turn.",
                "Writes the models, the curvature, the posterior, a reliability diagram (PNG) and JSON under --out-dir."})
public final class QuickstartCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Directory with the four Fashion-MNIST IDX files (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/quickstart",
            description = "Where everything is written (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--force", description = "Replace outputs of an earlier quickstart in --out-dir.")
    boolean force;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "2", description = "Training epochs (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--hidden", paramLabel = "W[,W...]", split = ",", hideParamSyntax = true, defaultValue = "256,256",
            description = "Hidden layer widths (default: ${DEFAULT-VALUE}).")
    List<Integer> hidden;

    @Option(names = "--sparsity", paramLabel = "S", defaultValue = "0.9",
            description = "Fraction of the weight-matrix entries OBS removes (default: ${DEFAULT-VALUE}).")
    double sparsity;

    @Option(names = "--prune-rounds", paramLabel = "K", defaultValue = "10",
            description = "Pruning rounds, the Fisher re-estimated before each (default: ${DEFAULT-VALUE}).")
    int pruneRounds;

    @Option(names = "--examples", paramLabel = "N", defaultValue = "10000",
            description = "Training images of the curvature and posterior estimates (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed of every step (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    SharedOptions.Progress progress;

    @Option(names = "--no-install",
            description = "When Fashion-MNIST is not installed, print the command that installs it and exit (code 2) instead of "
                    + "installing the Debian package " + FashionMnist.DEBIAN_PACKAGE + " (which quickstart does when it runs as root "
                    + "and apt-get exists).")
    boolean noInstall;

    /** The machine's package tools; the tests stand in for it. */
    static DebianPackage packages = DebianPackage.SYSTEM;

    /** Finds Fashion-MNIST ({@link FashionMnist#locate}); the tests stand in for it. */
    interface Locator {
        Path locate(Path explicitDirOrNull) throws DataNotFoundException;
    }

    static Locator fashionMnist = FashionMnist::locate;

    /** Exit code when the data are missing and quickstart did not install them: the user runs one command first. */
    static final int DATA_MISSING = 2;

    /** One step: a subcommand line and what it is for. */
    record Step(String title, List<String> arguments) {
    }

    @Override
    public Integer call() throws IOException {
        validate();
        // before training: find the data, or install them (root with apt-get), or say the one command to run
        Path data = locateOrInstall();
        if (data == null) {
            return DATA_MISSING;
        }
        Path dir = outDir.toAbsolutePath().normalize();
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new SymcurvCli.CommandFailure("cannot create --out-dir " + outDir + ": " + SymcurvCli.describe(e) + "; choose a writable directory", e);
        }
        List<Step> steps = steps(data, dir);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        long started = System.nanoTime();
        for (int i = 0; i < steps.size(); i++) {
            Step step = steps.get(i);
            out.printf(Locale.ROOT, "%n== step %d/%d: %s%n$ symcurv %s%n", i + 1, steps.size(), step.title(), String.join(" ", step.arguments()));
            out.flush();
            long t0 = System.nanoTime();
            CommandLine line = SymcurvCli.commandLine();
            line.setOut(out);
            line.setErr(err);
            int exit = line.execute(step.arguments().toArray(String[]::new));
            if (exit != 0) {
                err.printf(Locale.ROOT, "symcurv quickstart: step %d (%s) failed with exit code %d; its message is above. Outputs of "
                        + "the earlier steps are kept in %s%s.%n", i + 1, step.title(), exit, outDir,
                        force ? "" : " (rerun with --force to replace them)");
                err.flush();
                return exit;
            }
            out.printf(Locale.ROOT, "(step %d took %.1f s)%n", i + 1, (System.nanoTime() - t0) / 1e9);
            out.flush();
        }
        out.printf(Locale.ROOT, "%nquickstart done in %.1f s; written under %s:%n", (System.nanoTime() - started) / 1e9, outDir);
        for (String name : List.of("model.zip", "fisher.scv", "pruned.zip", "posterior.scv", "calibration.json", "reliability.png")) {
            out.printf(Locale.ROOT, "  %s%n", outDir.resolve(name));
        }
        out.flush();
        return 0;
    }

    /**
     * The Fashion-MNIST directory. When it is missing and no --data was given: as root with apt-get (and without
     * --no-install) installs the Debian package, running {@code apt-get update} first when apt does not know it yet;
     * otherwise prints the one command to run and returns null.
     */
    private Path locateOrInstall() throws IOException {
        try {
            return fashionMnist.locate(dataDir);
        } catch (DataNotFoundException missing) {
            if (dataDir != null) {
                throw missing; // the user named a directory: the data set's own message says what is wrong with it
            }
            PrintWriter out = spec.commandLine().getOut();
            PrintWriter err = spec.commandLine().getErr();
            String install = "apt-get install -y " + FashionMnist.DEBIAN_PACKAGE;
            if (noInstall || !packages.canInstall()) {
                err.printf(Locale.ROOT, "symcurv quickstart: Fashion-MNIST is not installed (nothing in $%s or %s). Install it with%n%n    %s%n%n"
                                + "and run quickstart again (or give --data DIR).%n", FashionMnist.ENVIRONMENT_VARIABLE, FashionMnist.SYSTEM_DIRECTORY,
                        (packages.isRoot() ? "" : "sudo ") + install);
                err.flush();
                return null;
            }
            try {
                out.printf(Locale.ROOT, "symcurv quickstart: Fashion-MNIST is not installed; installing the Debian package %s (%s)%n",
                        FashionMnist.DEBIAN_PACKAGE, install);
                out.flush();
                if (!packages.isKnown(FashionMnist.DEBIAN_PACKAGE)) {
                    out.printf(Locale.ROOT, "symcurv quickstart: apt does not know %s yet; running apt-get update first%n", FashionMnist.DEBIAN_PACKAGE);
                    out.flush();
                    int updated = packages.run(List.of("apt-get", "update"), out);
                    if (updated != 0) {
                        throw new SymcurvCli.CommandFailure("apt-get update failed with exit code " + updated + " (its output is above); run '"
                                + install + "' yourself, then quickstart again");
                    }
                }
                int installed = packages.run(List.of("apt-get", "install", "-y", FashionMnist.DEBIAN_PACKAGE), out);
                if (installed != 0) {
                    throw new SymcurvCli.CommandFailure(install + " failed with exit code " + installed + " (its output is above); install "
                            + FashionMnist.DEBIAN_PACKAGE + " yourself, then run quickstart again");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SymcurvCli.CommandFailure("interrupted while installing " + FashionMnist.DEBIAN_PACKAGE, e);
            }
            return fashionMnist.locate(null);
        }
    }

    private void validate() {
        if (epochs < 1) {
            throw new ParameterException(spec.commandLine(), "--epochs must be at least 1, got " + epochs);
        }
        if (!(sparsity > 0 && sparsity < 1)) {
            throw new ParameterException(spec.commandLine(), "--sparsity must be in (0, 1), got " + sparsity);
        }
        if (pruneRounds < 1) {
            throw new ParameterException(spec.commandLine(), "--prune-rounds must be at least 1, got " + pruneRounds);
        }
        if (examples < 1) {
            throw new ParameterException(spec.commandLine(), "--examples must be at least 1, got " + examples);
        }
        if (hidden.isEmpty() || hidden.stream().anyMatch(w -> w < 1)) {
            throw new ParameterException(spec.commandLine(), "--hidden needs positive widths, got " + hidden);
        }
    }

    /** The five commands, in order, with this run's options. */
    List<Step> steps(Path data, Path dir) {
        String model = dir.resolve("model.zip").toString();
        String posterior = dir.resolve("posterior.scv").toString();
        List<Step> steps = new ArrayList<>();
        steps.add(new Step("train the MLP with Adam", withFlags(List.of("train", "--data", data.toString(), "--out", model,
                "--epochs", Integer.toString(epochs), "--hidden", joined(hidden), "--seed", Long.toString(seed)))));
        steps.add(new Step("estimate its symmetry-averaged Fisher", withFlags(List.of("curvature", "--model", model, "--data", data.toString(),
                "--out", dir.resolve("fisher.scv").toString(), "--examples", Integer.toString(examples), "--seed", Long.toString(seed)))));
        steps.add(new Step(String.format(Locale.ROOT, "prune %.0f%% of the weights with OBS on that Fisher", 100 * sparsity),
                withFlags(List.of("prune", "--model", model, "--data", data.toString(), "--out", dir.resolve("pruned.zip").toString(),
                        "--method", "obs", "--sparsity", Double.toString(sparsity), "--rounds", Integer.toString(pruneRounds), "--seed", Long.toString(seed)))));
        steps.add(new Step("fit a last-layer Laplace posterior (prior by marginal likelihood)", withFlags(List.of("laplace", "--model", model,
                "--data", data.toString(), "--out", posterior, "--last-layer", "--examples", Integer.toString(examples),
                "--seed", Long.toString(seed)))));
        steps.add(new Step("calibration and OOD detection: MAP against the Laplace predictive", withFlags(List.of("evaluate", "--model", model,
                "--posterior", posterior, "--data", data.toString(), "--predictive", "map,glm-probit",
                "--reliability", dir.resolve("reliability.png").toString(), "--json", dir.resolve("calibration.json").toString(),
                "--seed", Long.toString(seed)))));
        return steps;
    }

    /** The step's arguments with {@code --force} and {@code --no-progress} passed on. */
    private List<String> withFlags(List<String> arguments) {
        List<String> all = new ArrayList<>(arguments);
        if (force) {
            all.add("--force");
        }
        if (progress.switchedOff()) {
            all.add("--no-progress");
        }
        return all;
    }

    private static String joined(List<Integer> widths) {
        StringBuilder sb = new StringBuilder();
        for (int w : widths) {
            sb.append(sb.length() == 0 ? "" : ",").append(w);
        }
        return sb.toString();
    }
}
