package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.symcurv.apps.common.ContinualReports;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.continual.AccuracyMatrix;
import org.symcurv.continual.ContinualExperiment;
import org.symcurv.continual.ContinualLearner;
import org.symcurv.continual.ContinualMethod;
import org.symcurv.continual.ContinualTask;
import org.symcurv.continual.EwcMode;
import org.symcurv.continual.EwcSettings;
import org.symcurv.continual.Scenario;
import org.symcurv.continual.TaskStreams;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import org.symcurv.optimizer.train.TrainingListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv continual}: learns a stream of Fashion-MNIST tasks (permuted or split) one after another with EWC on the
 * symmetry-averaged Fisher, EWC on the diagonal Fisher, or plain fine-tuning, and reports the accuracy matrix, the average
 * accuracy, backward transfer and forgetting. With several {@code --lambda} values, every one is run and the one with the
 * best final average accuracy on the held-out validation images is reported (the test images play no part in the choice).
 * Writes {@code <stream>-<method>.json}, {@code -matrix.png} (heat map) and {@code -average.png} into {@code --out-dir}, and
 * with {@code --save} the final model zip with its consolidated state inside, from which {@code ContinualLearner.load}
 * continues.
 */
@Command(name = "continual",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Continual learning on a stream of Fashion-MNIST tasks with EWC (symmetry-averaged or diagonal Fisher) or",
                "fine-tuning: prints progress per task, the accuracy matrix and the average accuracy; writes JSON and PNGs."})
public final class ContinualCommand implements Callable<Integer> {
    /** Default λ per method when none is given: the validation choice of both EWC methods in the short benchmark (docs/BENCHMARKS.md). */
    static final Map<ContinualMethod, Double> DEFAULT_LAMBDA = Map.of(ContinualMethod.EWC_SYMMETRY, 100.0,
            ContinualMethod.EWC_DIAGONAL, 100.0, ContinualMethod.FINETUNE, 0.0);

    @Spec
    CommandSpec spec;

    @Option(names = "--stream", paramLabel = "NAME", defaultValue = "permuted",
            description = "permuted (T tasks of seeded pixel permutations, task 1 unpermuted) or split (5 tasks of 2 classes) (default: ${DEFAULT-VALUE}).")
    String stream;

    @Option(names = "--tasks", paramLabel = "T", description = "Tasks of a permuted stream (default: 10; a split stream has 5).")
    Integer tasks;

    @Option(names = "--method", paramLabel = "NAME", defaultValue = "ewc-symmetry",
            description = "ewc-symmetry, ewc-diagonal or finetune (default: ${DEFAULT-VALUE}).")
    String methodName;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "separate",
            description = "separate (an anchor and Fisher per task) or online (one running Fisher, decay --gamma) (default: ${DEFAULT-VALUE}).")
    String modeName;

    @Option(names = "--gamma", paramLabel = "G", defaultValue = "1.0", description = "Online decay of older Fishers, in [0, 1] (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--lambda", paramLabel = "L[,L...]", hideParamSyntax = true, split = ",",
            description = "EWC strength; several values are each run and chosen on the validation images (default: 100, the best of "
                    + "both methods' grids in a 3-task permuted run).")
    List<Double> lambdas;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1", description = "Epochs per task (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "128", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1e-3", description = "Adam's learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--hidden", paramLabel = "W[,W...]", hideParamSyntax = true, split = ",", defaultValue = "256,256",
            description = "Hidden layer widths (default: ${DEFAULT-VALUE}).")
    List<Integer> hidden;

    @Option(names = "--activation", paramLabel = "NAME", defaultValue = "relu", completionCandidates = HiddenActivation.CliNames.class,
            converter = HiddenActivation.Converter.class, description = "Hidden nonlinearity (default: ${DEFAULT-VALUE}).")
    HiddenActivation activation;

    @Option(names = "--train-images", paramLabel = "N", defaultValue = "10000",
            description = "Training images drawn per task, validation included (default: ${DEFAULT-VALUE}).")
    int trainImages;

    @Option(names = "--validation-images", paramLabel = "N", defaultValue = "1000",
            description = "Of which held out per task to choose λ (default: ${DEFAULT-VALUE}).")
    int validationImages;

    @Option(names = "--fisher-examples", paramLabel = "N", defaultValue = "2000",
            description = "Training images of each task-end Fisher (Monte Carlo labels) (default: ${DEFAULT-VALUE}).")
    int fisherExamples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the permutations, samples, initial weights, data order and label draws (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/continual",
            description = "Where the JSON and PNGs go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--save", paramLabel = "FILE",
            description = "Also write the final model zip with its consolidated state (all tasks consolidated), to continue later.")
    Path save;

    @Option(names = "--force", description = "Replace an existing --save file.")
    boolean force;

    @Mixin
    SharedOptions.Progress progress;

    @Override
    public Integer call() throws IOException {
        ContinualMethod method = parse(() -> ContinualMethod.parse(methodName));
        EwcMode mode = parse(() -> EwcMode.parse(modeName));
        List<Double> grid = lambdas == null || lambdas.isEmpty() ? List.of(DEFAULT_LAMBDA.get(method)) : lambdas;
        if (method == ContinualMethod.FINETUNE) {
            grid = List.of(0.0);
        }
        validate(grid);
        if (save != null && Files.exists(save) && !force) {
            throw new SymcurvCli.CommandFailure(save + " already exists; add --force to replace it or choose another --save file");
        }
        PrintWriter out = spec.commandLine().getOut();
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(dir);
        ImageDataSet test = FashionMnist.loadTest(dir);
        List<ContinualTask> stream = buildStream(this.stream, tasks, train, test, trainImages, validationImages, seed);
        List<Scenario> scenarios = scenarios(this.stream);
        MlpArchitecture architecture = new MlpArchitecture(train.featureCount(), hidden, activation, train.numClasses());
        OptimizerSettings adam = OptimizerSettings.defaults(Recipe.ADAM).withSchedule(LearningRateSchedule.constant(learningRate));
        ContinualExperiment experiment = new ContinualExperiment(epochs, batchSize, fisherExamples, seed);
        out.printf(Locale.ROOT, "%s stream of %d tasks (%s), %s MLP, %s; %d epoch%s per task on %,d images (%,d held out for validation), "
                        + "Adam lr %s, batch %d, seed %d%n", this.stream, stream.size(),
                scenarios.stream().map(Scenario::cliName).reduce((a, b) -> a + " and " + b).orElseThrow(), architecture.describe(),
                method.cliName() + (method.usesFisher() ? ", " + mode.cliName() + (mode == EwcMode.ONLINE ? " γ " + gamma : "") : ""),
                epochs, epochs == 1 ? "" : "s", trainImages - validationImages, validationImages, learningRate, batchSize, seed);
        out.flush();
        List<ContinualExperiment.Result> results = new ArrayList<>();
        for (double lambda : grid) {
            EwcSettings settings = new EwcSettings(method, mode, lambda, gamma, 256);
            if (grid.size() > 1) {
                out.printf(Locale.ROOT, "λ = %s%n", lambda);
            }
            results.add(experiment.run(() -> architecture.newNetwork(learningRate, seed), stream, scenarios, settings, adam, save != null,
                    new Progress(out, stream.size(), scenarios)));
        }
        Map<Scenario, ContinualExperiment.Result> chosen = new EnumMap<>(Scenario.class);
        for (Scenario s : scenarios) {
            chosen.put(s, ContinualExperiment.selectByValidation(results, s));
        }
        Files.createDirectories(outDir);
        String name = this.stream + "-" + method.cliName();
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("command", "symcurv continual " + String.join(" ", spec.commandLine().getParseResult().originalArgs()));
        json.put("started", Instant.now().toString());
        json.put("stream", this.stream);
        json.put("tasks", stream.stream().map(ContinualTask::name).toList());
        json.put("network", architecture.describe());
        json.put("epochsPerTask", epochs);
        json.put("trainImagesPerTask", trainImages - validationImages);
        json.put("validationImagesPerTask", validationImages);
        json.put("fisherExamples", fisherExamples);
        json.put("seed", seed);
        json.put("lambdaSelection", "each λ of the grid is run on the same stream and seed; per scenario, the λ with the highest final average "
                + "accuracy on the held-out validation images is reported (ties: the smaller λ)");
        Map<String, Object> selected = new LinkedHashMap<>();
        for (Scenario s : scenarios) {
            selected.put(s.cliName(), chosen.get(s).settings().lambda());
        }
        json.put("selectedLambda", selected);
        json.put("runs", results.stream().map(ContinualReports::runJson).toList());
        ContinualReports.writeText(outDir.resolve(name + ".json"), org.symcurv.apps.common.Json.write(json));
        Map<String, AccuracyMatrix> lines = new LinkedHashMap<>();
        for (Scenario s : scenarios) {
            ContinualExperiment.Result r = chosen.get(s);
            String label = method.cliName() + (method.usesFisher() ? " λ " + r.settings().lambda() : "") + (scenarios.size() > 1 ? ", " + s.cliName() : "");
            out.println();
            out.print(ContinualReports.matrixText("Test accuracy (%), " + label + ": row = after training task i, column = task j", r.test().get(s)));
            lines.put(label, r.test().get(s));
            String suffix = scenarios.size() > 1 ? "-" + s.cliName() : "";
            ContinualReports.writePng(ContinualReports.heatMap("Test accuracy (%), " + this.stream + ", " + label, r.test().get(s)),
                    outDir.resolve(name + suffix + "-matrix.png"));
        }
        ContinualReports.writePng(ContinualReports.averageChart("Average test accuracy, " + this.stream + " Fashion-MNIST", lines),
                outDir.resolve(name + "-average.png"));
        if (save != null) {
            ContinualExperiment.Result r = chosen.get(scenarios.get(0));
            r.learner().save(save, force);
            out.printf(Locale.ROOT, "model with its consolidated state (%d tasks) written to %s%n", r.learner().tasks(), save);
        }
        out.printf(Locale.ROOT, "wrote %s.json, PNGs into %s%n", name, outDir);
        StringBuilder last = new StringBuilder("average accuracy");
        for (Scenario s : scenarios) {
            AccuracyMatrix m = chosen.get(s).test().get(s);
            last.append(String.format(Locale.ROOT, "%s %.4f (BWT %+.4f, forgetting %.4f)", scenarios.size() > 1 ? " " + s.cliName() + ":" : ":",
                    m.averageAccuracy(), m.backwardTransfer(), m.forgetting()));
            if (scenarios.size() > 1 && s != scenarios.get(scenarios.size() - 1)) {
                last.append(';');
            }
        }
        last.append(String.format(Locale.ROOT, " over %d tasks", stream.size()));
        out.println(last);
        out.flush();
        return 0;
    }

    private interface Parse<T> {
        T get();
    }

    private <T> T parse(Parse<T> p) {
        try {
            return p.get();
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
    }

    private void validate(List<Double> grid) {
        if (!stream.equals("permuted") && !stream.equals("split")) {
            throw new ParameterException(spec.commandLine(), "--stream must be permuted or split, got '" + stream + "'");
        }
        if (tasks != null && (stream.equals("split") ? tasks != 5 : tasks < 1)) {
            throw new ParameterException(spec.commandLine(), stream.equals("split") ? "a split stream has 5 tasks; drop --tasks"
                    : "--tasks must be at least 1, got " + tasks);
        }
        for (Double l : grid) {
            if (l == null || !(l >= 0) || Double.isInfinite(l)) {
                throw new ParameterException(spec.commandLine(), "--lambda values must be finite numbers ≥ 0, got " + grid);
            }
        }
        if (!(gamma >= 0 && gamma <= 1)) {
            throw new ParameterException(spec.commandLine(), "--gamma must lie in [0, 1], got " + gamma);
        }
        if (epochs < 1 || batchSize < 1 || fisherExamples < 1) {
            throw new ParameterException(spec.commandLine(), "--epochs, --batch and --fisher-examples must be at least 1");
        }
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new ParameterException(spec.commandLine(), "--lr must be a positive number, got " + learningRate);
        }
        if (validationImages < 0 || validationImages >= trainImages) {
            throw new ParameterException(spec.commandLine(), "--validation-images must be ≥ 0 and fewer than --train-images (" + trainImages + ")");
        }
        if (hidden.stream().anyMatch(w -> w == null || w < 1)) {
            throw new ParameterException(spec.commandLine(), "--hidden widths must be at least 1, got " + hidden);
        }
    }

    /** The stream's tasks; a bad size becomes a usage-style failure naming the limit. */
    static List<ContinualTask> buildStream(String stream, Integer tasks, ImageDataSet train, ImageDataSet test, int trainImages,
                                           int validationImages, long seed) {
        try {
            return stream.equals("split") ? TaskStreams.split(train, test, trainImages, validationImages, seed)
                    : TaskStreams.permuted(train, test, tasks == null ? 10 : tasks, trainImages, validationImages, seed);
        } catch (IllegalArgumentException e) {
            throw new SymcurvCli.CommandFailure(e.getMessage() + " (--train-images, --validation-images)");
        }
    }

    /** Permuted: domain-incremental; split: task- and class-incremental, from the same training run. */
    static List<Scenario> scenarios(String stream) {
        return stream.equals("split") ? List.of(Scenario.TASK_INCREMENTAL, Scenario.CLASS_INCREMENTAL) : List.of(Scenario.DOMAIN_INCREMENTAL);
    }

    /** Per-task lines on standard output and a progress bar over each task's minibatches on stderr (when a console is attached). */
    final class Progress implements ContinualExperiment.Listener {
        private final PrintWriter out;
        private final int total;
        private final List<Scenario> scenarios;
        private ProgressBar bar;

        Progress(PrintWriter out, int total, List<Scenario> scenarios) {
            this.out = out;
            this.total = total;
            this.scenarios = scenarios;
        }

        @Override
        public void taskStarted(ContinualTask task, long steps) {
            bar = progress.bar("task " + (task.index() + 1), steps, " steps");
        }

        @Override
        public void step(TrainingListener.Step step) {
            if (bar != null) {
                bar.stepTo(step.iteration());
                bar.setExtraMessage(String.format(Locale.ROOT, " loss %.3f", step.loss()));
            }
        }

        @Override
        public void taskEvaluated(ContinualTask task, Map<Scenario, double[]> testRow, double trainSeconds) {
            if (bar != null) {
                bar.close();
                bar = null;
            }
            StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "task %d/%d (%s): trained in %.1f s;", task.index() + 1, total,
                    task.name(), trainSeconds));
            for (Scenario s : scenarios) {
                double[] row = testRow.get(s);
                double sum = 0;
                for (int j = 0; j <= task.index(); j++) {
                    sum += row[j];
                }
                sb.append(String.format(Locale.ROOT, " %stest accuracy %.4f on this task, %.4f on average over %d seen", scenarios.size() > 1
                        ? s.cliName() + ": " : "", row[task.index()], sum / (task.index() + 1), task.index() + 1));
            }
            out.println(sb);
            out.flush();
        }

        @Override
        public void consolidated(ContinualTask task, ContinualLearner.Consolidation c) {
            if (c.fisherFloats() > 0) {
                out.printf(Locale.ROOT, "  consolidated the Fisher of task %d over %,d images in %.1f s (%,d numbers; state %,d numbers, %.1f MiB)%n",
                        task.index() + 1, c.examples(), c.seconds(), c.fisherFloats(), c.stateFloats(), c.stateFloats() * 8 / 1048576.0);
                out.flush();
            }
        }
    }
}
