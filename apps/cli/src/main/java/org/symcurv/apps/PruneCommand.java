package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.apps.common.DataOptions;
import org.symcurv.apps.common.ModelScore;
import org.symcurv.apps.common.ClassifierEvaluation;
import org.symcurv.apps.common.ModelFiles;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.PredictionTask;
import org.symcurv.core.model.ModelZip;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.pruning.Compensation;
import org.symcurv.core.model.FisherSource;
import org.symcurv.pruning.FisherSources;
import org.symcurv.pruning.NeuronPruner;
import org.symcurv.pruning.ObsDamping;
import org.symcurv.pruning.PruningListener;
import org.symcurv.pruning.PruningMethod;
import org.symcurv.pruning.PruningScope;
import org.symcurv.pruning.RoundReport;
import org.symcurv.pruning.UnstructuredPruner;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv prune}: prunes a trained DL4J MLP classifier or regressor without fine-tuning — unstructured to a target sparsity
 * of its weight matrices, and/or structured by removing a fraction of every hidden layer's units (which gives a
 * genuinely smaller network) — scoring with magnitude, OBD or OBS on the symmetry-averaged or diagonal Fisher
 * re-estimated on a seeded subset of the training examples ({@link DataOptions}; Fashion-MNIST by default) before each
 * round. Prints a before/after table on the test examples and writes a standard DL4J model zip (without updater state,
 * with the input model's normalizer) to a temporary sibling, renamed into place; the input is never overwritten.
 */
@Command(name = "prune",
        mixinStandardHelpOptions = true,
        description = {"Prune a DL4J MLP classifier or regressor (OBS/OBD on the symmetry-averaged Fisher, or magnitude) and save the result.",
                "Unstructured: --sparsity S zeroes that fraction of the weight matrices. Structured: --structured --units U",
                "removes that fraction of each hidden layer's units and writes a smaller network; both may be combined",
                "(units first, then weights of the smaller network). No fine-tuning."})
public final class PruneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", required = true, description = "The trained model zip (e.g. from 'symcurv train').")
    Path model;

    @Option(names = "--out", paramLabel = "FILE", required = true, description = "Where to write the pruned model zip (never the input).")
    Path out;

    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;

    @Mixin
    DataOptions data;

    @Option(names = "--method", paramLabel = "NAME",
            description = "obs (OBS on the symmetry-averaged Fisher), obs-diagonal (OBS on the diagonal Fisher), obd, magnitude "
                    + "(default: obs for --sparsity, obs-diagonal for --structured alone: the best measured on each, docs/BENCHMARKS.md).")
    String methodName;

    @Option(names = "--sparsity", paramLabel = "S", defaultValue = "0",
            description = "Fraction of the weight-matrix entries to zero, in [0, 1) (default: ${DEFAULT-VALUE}).")
    double sparsity;

    @Option(names = "--structured", description = "Remove whole hidden units (needs --units).")
    boolean structured;

    @Option(names = "--units", paramLabel = "U", description = "With --structured: fraction of every hidden layer's units to remove, in (0, 1).")
    Double units;

    @Option(names = "--scope", paramLabel = "SCOPE", defaultValue = "global",
            description = "Unstructured: global (one ranking over all weight matrices) or per-layer (each matrix reaches --sparsity) "
                    + "(default: ${DEFAULT-VALUE}).")
    String scopeName;

    @Option(names = "--unit-scope", paramLabel = "SCOPE", defaultValue = "per-layer",
            description = "Structured: per-layer (each hidden layer loses --units of its units) or global (one ranking over all hidden "
                    + "units, at least one kept per layer) (default: ${DEFAULT-VALUE}).")
    String unitScopeName;

    @Option(names = "--rounds", paramLabel = "K", defaultValue = "10",
            description = "Rounds, with the Fisher re-estimated before each (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--damping", paramLabel = "LAMBDA", defaultValue = "1e-2",
            description = "OBS damping F + λ·mean(diag F)·I (default: ${DEFAULT-VALUE}).")
    double damping;

    @Option(names = "--compensation", paramLabel = "HOW", defaultValue = "constrained",
            description = "OBS update of the remaining weights: summed (the single-weight updates added, one F̃⁻¹ product), "
                    + "constrained (the joint update with every removed weight held at zero, by conjugate gradients), none "
                    + "(default: ${DEFAULT-VALUE}).")
    String compensationName;

    @Option(names = "--solver-iterations", paramLabel = "N", defaultValue = "20",
            description = "Conjugate-gradient iterations per round of --compensation constrained (default: ${DEFAULT-VALUE}).")
    int solverIterations;

    @Option(names = "--unit-scaled", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "OBD/OBS on the symmetry Fisher of unit-rescaled parameters, S F' S (keeps each unit's own scale; "
                    + "--no-unit-scaled averages the raw Fisher) (default: ${DEFAULT-VALUE}).")
    boolean unitScaled;

    @Option(names = "--fisher-examples", paramLabel = "N", defaultValue = "2000",
            description = "Training examples the Fisher is estimated on (at most all of them) (default: ${DEFAULT-VALUE}).")
    int fisherExamples;

    @Option(names = "--group", paramLabel = "TYPE",
            description = "Override the inferred symmetry group of every hidden layer: perm, signed-perm, orth or sign.")
    String group;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "7",
            description = "Seed of the Fisher's image subset and label draws (default: ${DEFAULT-VALUE}).")
    long seed;

    @Mixin
    SharedOptions.Progress progress;

    @Override
    public Integer call() throws IOException {
        PruningMethod method = parseMethod();
        validateOptions();
        PrintWriter stdout = spec.commandLine().getOut();
        Path input = model.toAbsolutePath().normalize();
        Path target = out.toAbsolutePath().normalize();
        if (Files.exists(target) && Files.exists(input) && Files.isSameFile(input, target) || input.equals(target)) {
            throw new SymcurvCli.CommandFailure("--out " + out + " is the input model; pruning never overwrites its input, choose another file");
        }
        if (Files.isDirectory(target)) {
            throw new SymcurvCli.CommandFailure(out + " is a directory; --out needs a file name such as " + out.resolve("pruned.zip"));
        }
        if (Files.exists(target) && !force) {
            throw new SymcurvCli.CommandFailure(out + " already exists; pass --force to replace it or choose another --out");
        }
        ModelZip.Contents contents = ModelZip.read(model);
        MultiLayerNetwork original = contents.network();
        LabelledData train = data.trainFor(contents);
        LabelledData test = data.testFor(contents);
        if (fisherExamples < 1) {
            throw new ParameterException(spec.commandLine(), "--fisher-examples must be at least 1, got " + fisherExamples);
        }
        int fisherCount = Math.min(fisherExamples, train.size());
        Path tmp = createTemporaryOutput(target);
        try {
            ModelScore before = ModelScore.of(original, test, contents.normalizer());
            FisherSource fisher = FisherSources.monteCarlo(train.sample(fisherCount, seed).features(), seed);
            SpecInference.Options specOptions = specOptions();
            stdout.printf(Locale.ROOT, "pruning %s (%,d parameters) with %s; Fisher: %s on %,d training examples of %s%s%n", model,
                    original.numParams(), describe(method), method == PruningMethod.MAGNITUDE ? "none" : fisher.describe(), fisherCount,
                    train.source(), contents.normalizer() == null ? "" : " (normalized by the model's " + contents.normalizer().getClass().getSimpleName() + ")");
            stdout.flush();
            long started = System.nanoTime();
            MultiLayerNetwork pruned = original;
            try (ProgressListener listener = new ProgressListener(stdout, progress)) {
                if (structured) {
                    NeuronPruner.Result r = NeuronPruner.of(method, units).withRounds(rounds)
                            .withScope(scope(unitScopeName, "--unit-scope"))
                            .withDamping(ObsDamping.meanDiagonal(damping)).withSpecOptions(specOptions).withUnitScaledFisher(unitScaled)
                            .prune(pruned, fisher, listener);
                    pruned = r.network();
                }
                if (sparsity > 0) {
                    UnstructuredPruner.Result r = UnstructuredPruner.of(method, sparsity).withRounds(rounds).withScope(scope(scopeName, "--scope"))
                            .withDamping(ObsDamping.meanDiagonal(damping)).withSpecOptions(specOptions).withUnitScaledFisher(unitScaled)
                            .withCompensation(compensation(), solverIterations).prune(pruned, fisher, listener);
                    pruned = r.network();
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            try {
                ModelZip.write(target, pruned, contents.normalizer(), force);
            } catch (IOException e) {
                throw new SymcurvCli.CommandFailure("could not write the pruned model to " + out + ": " + SymcurvCli.describe(e), e);
            }
            ModelScore after = ModelScore.of(pruned, test, contents.normalizer());
            printTable(stdout, original, pruned, before, after, Files.size(input), Files.size(target), test);
            stdout.printf(Locale.ROOT, "pruning took %.1f s; pruned model written to %s%n", seconds, out);
            stdout.flush();
            return 0;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private PruningMethod parseMethod() {
        try {
            // measured defaults (docs/BENCHMARKS.md, "CNN pruning" and issue 19): OBS on the symmetry Fisher wins unstructured
            // pruning, OBS on the diagonal Fisher removes units and channels with far less loss (LeNet-5, 50%: 0.6414 vs 0.3321)
            String name = methodName != null ? methodName : structured && sparsity == 0 ? "obs-diagonal" : "obs";
            return PruningMethod.fromCliName(name);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private void validateOptions() {
        if (!(sparsity >= 0 && sparsity < 1)) {
            throw new ParameterException(spec.commandLine(), "--sparsity must be in [0, 1), got " + sparsity);
        }
        if (structured && units == null) {
            throw new ParameterException(spec.commandLine(), "--structured needs --units U, the fraction of hidden units to remove");
        }
        if (!structured && units != null) {
            throw new ParameterException(spec.commandLine(), "--units applies to structured pruning: add --structured");
        }
        if (units != null && !(units > 0 && units < 1)) {
            throw new ParameterException(spec.commandLine(), "--units must be in (0, 1), got " + units);
        }
        if (!structured && sparsity == 0) {
            throw new ParameterException(spec.commandLine(), "nothing to prune: give --sparsity S > 0 and/or --structured --units U");
        }
        if (rounds < 1) {
            throw new ParameterException(spec.commandLine(), "--rounds must be at least 1, got " + rounds);
        }
        if (!(damping > 0) || Double.isInfinite(damping)) {
            throw new ParameterException(spec.commandLine(), "--damping must be a positive number, got " + damping);
        }
        scope(scopeName, "--scope");
        scope(unitScopeName, "--unit-scope");
        specOptions();
        compensation();
        if (solverIterations < 1) {
            throw new ParameterException(spec.commandLine(), "--solver-iterations must be at least 1, got " + solverIterations);
        }
    }

    private Compensation compensation() {
        try {
            return Compensation.valueOf(compensationName.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--compensation must be summed, constrained or none, got '" + compensationName + "'");
        }
    }

    private PruningScope scope(String name, String option) {
        return switch (name.trim().toLowerCase(Locale.ROOT)) {
            case "global" -> PruningScope.GLOBAL;
            case "per-layer" -> PruningScope.PER_LAYER;
            default -> throw new ParameterException(spec.commandLine(), option + " must be global or per-layer, got '" + name + "'");
        };
    }

    private SpecInference.Options specOptions() {
        if (group == null) {
            return SpecInference.Options.defaults();
        }
        for (GroupType type : GroupType.values()) {
            if (type.name().equalsIgnoreCase(group.trim().replace('-', '_'))) {
                return SpecInference.Options.defaults().withGroupType(type);
            }
        }
        throw new ParameterException(spec.commandLine(), "--group must be perm, signed-perm, orth or sign, got '" + group + "'");
    }

    private String describe(PruningMethod method) {
        StringBuilder sb = new StringBuilder(method.label());
        if (structured) {
            sb.append(String.format(Locale.ROOT, ", %.0f%% of hidden units (%s)", 100 * units, unitScopeName));
        }
        if (sparsity > 0) {
            sb.append(String.format(Locale.ROOT, ", %.1f%% weight sparsity (%s)", 100 * sparsity, scopeName));
        }
        sb.append(", ").append(rounds).append(rounds == 1 ? " round" : " rounds");
        if (unitScaled && method.fisher() == PruningMethod.FisherKind.SYMMETRY) {
            sb.append(", unit-scaled symmetry Fisher");
        }
        if (method.isObs()) {
            sb.append(", damping ").append(damping).append(" × mean diagonal, ").append(compensationName).append(" update");
        }
        return sb.toString();
    }

    private Path createTemporaryOutput(Path target) {
        try {
            return AtomicFiles.createSiblingTemp(target);
        } catch (IOException e) {
            throw new SymcurvCli.CommandFailure("cannot write the pruned model to " + out + ": " + SymcurvCli.describe(e)
                    + "; choose a writable --out", e);
        }
    }

    private static void printTable(PrintWriter stdout, MultiLayerNetwork before, MultiLayerNetwork after, ModelScore b,
                                   ModelScore a, long sizeBefore, long sizeAfter, LabelledData test) {
        boolean classifier = test.task() == PredictionTask.CLASSIFICATION;
        String[][] rows = {
                {"", "before", "after"},
                classifier ? new String[] {"test accuracy", String.format(Locale.ROOT, "%.4f", b.accuracy()), String.format(Locale.ROOT, "%.4f", a.accuracy())}
                        : new String[] {"test RMSE", String.format(Locale.ROOT, "%.4g", b.rmse()), String.format(Locale.ROOT, "%.4g", a.rmse())},
                {"test loss", String.format(Locale.ROOT, "%.4f", b.meanLoss()), String.format(Locale.ROOT, "%.4f", a.meanLoss())},
                {"parameters", String.format(Locale.ROOT, "%,d", before.numParams()), String.format(Locale.ROOT, "%,d", after.numParams())},
                {"nonzero parameters", String.format(Locale.ROOT, "%,d", nonzero(before)), String.format(Locale.ROOT, "%,d", nonzero(after))},
                {"hidden units", units(before), units(after)},
                {"file size (bytes)", String.format(Locale.ROOT, "%,d", sizeBefore), String.format(Locale.ROOT, "%,d", sizeAfter)},
        };
        stdout.printf(Locale.ROOT, "on the %,d test examples of %s:%n", test.size(), test.source());
        int[] width = new int[3];
        for (String[] row : rows) {
            for (int c = 0; c < 3; c++) {
                width[c] = Math.max(width[c], row[c].length());
            }
        }
        for (String[] row : rows) {
            stdout.printf(Locale.ROOT, "  %-" + width[0] + "s  %" + width[1] + "s  %" + width[2] + "s%n", row[0], row[1], row[2]);
        }
    }

    static long nonzero(MultiLayerNetwork net) {
        INDArray p = net.params();
        return p.neq(0.0).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
    }

    private static String units(MultiLayerNetwork net) {
        StringBuilder sb = new StringBuilder();
        for (int l = 0; l + 1 < net.getnLayers(); l++) {
            sb.append(l == 0 ? "" : "-").append(net.layerSize(l));
        }
        return sb.toString();
    }

    /** Prints each round and drives a progress bar on stderr (when shown). */
    private static final class ProgressListener implements PruningListener, AutoCloseable {
        private final PrintWriter stdout;
        private final SharedOptions.Progress progress;
        private ProgressBar bar;

        ProgressListener(PrintWriter stdout, SharedOptions.Progress progress) {
            this.stdout = stdout;
            this.progress = progress;
        }

        @Override
        public void stageStarted(String description, long total) {
            close();
            bar = progress.bar(description, total, "");
        }

        @Override
        public void stageProgress(long done) {
            if (bar != null) {
                bar.stepTo(done);
            }
        }

        @Override
        public void roundFinished(RoundReport r) {
            close();
            stdout.printf(Locale.ROOT, "round %d/%d: removed %,d, now %.1f%% pruned%s, %.1f s (Fisher %.1f s)%n", r.round(), r.rounds(),
                    r.removed(), 100 * r.prunedFraction(), Double.isNaN(r.predictedLossIncrease()) ? ""
                            : String.format(Locale.ROOT, ", predicted loss increase %.4f", r.predictedLossIncrease()),
                    r.seconds(), r.fisherSeconds());
            stdout.flush();
        }

        @Override
        public void close() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
