package org.symcurv.apps.bench;

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
import org.symcurv.apps.common.ContinualReports;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.Json;
import org.symcurv.apps.common.MlpArchitecture;
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
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench continual}: EWC on the symmetry-averaged Fisher against EWC on the diagonal Fisher and plain
 * fine-tuning, on permuted and split Fashion-MNIST, all in one process with the same seeds (the same initial network, task
 * samples, data order and label draws for every method and λ). Each method runs over its λ grid; per stream and scenario the
 * λ with the best final average accuracy on the held-out validation images is reported (test images take no part in the
 * choice). Prints the accuracy matrices, a summary (average accuracy, backward transfer, forgetting, training and
 * consolidation time, stored Fisher numbers), the λ sensitivity and the goals; writes {@code continual.json},
 * {@code continual.md} and PNGs into {@code --out-dir}.
 */
@Command(name = "continual",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Continual learning: EWC with the symmetry-averaged Fisher vs the diagonal Fisher vs fine-tuning on permuted and",
                "split Fashion-MNIST (same seeds, λ chosen on validation images). Writes continual.json, continual.md and PNGs."})
public final class ContinualBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--streams", paramLabel = "S", split = ",", defaultValue = "permuted,split",
            description = "Streams to run: permuted, split (default: ${DEFAULT-VALUE}).")
    List<String> streams;

    @Option(names = "--tasks", paramLabel = "T", defaultValue = "10", description = "Tasks of the permuted stream (default: ${DEFAULT-VALUE}).")
    int tasks;

    @Option(names = "--methods", paramLabel = "M", split = ",", defaultValue = "ewc-symmetry,ewc-diagonal,finetune",
            description = "Compared methods (default: ${DEFAULT-VALUE}).")
    List<String> methodNames;

    @Option(names = "--lambdas-symmetry", paramLabel = "L", split = ",", defaultValue = "10,100,1000,10000",
            description = "λ grid of ewc-symmetry (default: ${DEFAULT-VALUE}).")
    List<Double> lambdasSymmetry;

    @Option(names = "--lambdas-diagonal", paramLabel = "L", split = ",", defaultValue = "10,100,1000,10000",
            description = "λ grid of ewc-diagonal (default: ${DEFAULT-VALUE}).")
    List<Double> lambdasDiagonal;

    @Option(names = "--mode", paramLabel = "MODE", defaultValue = "separate", description = "separate or online (default: ${DEFAULT-VALUE}).")
    String modeName;

    @Option(names = "--gamma", paramLabel = "G", defaultValue = "1.0", description = "Online decay (default: ${DEFAULT-VALUE}).")
    double gamma;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "1", description = "Epochs per task, equal for all methods (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--hidden", paramLabel = "W[,W...]", split = ",", defaultValue = "256,256", description = "Hidden widths (default: ${DEFAULT-VALUE}).")
    List<Integer> hidden;

    @Option(names = "--train-images", paramLabel = "N", defaultValue = "10000",
            description = "Training images per task, validation included (default: ${DEFAULT-VALUE}).")
    int trainImages;

    @Option(names = "--validation-images", paramLabel = "N", defaultValue = "1000",
            description = "Of which held out per task for choosing λ (default: ${DEFAULT-VALUE}).")
    int validationImages;

    @Option(names = "--split-train-images", paramLabel = "N",
            description = "Training images per split task, validation included (a pair of classes has 12,000; default: --train-images).")
    Integer splitTrainImages;

    @Option(names = "--fisher-examples", paramLabel = "N", defaultValue = "2000", description = "Images per task-end Fisher (default: ${DEFAULT-VALUE}).")
    int fisherExamples;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "128", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--lr", paramLabel = "RATE", defaultValue = "1e-3", description = "Adam's learning rate (default: ${DEFAULT-VALUE}).")
    double learningRate;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "The one seed of everything (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/bench-continual",
            description = "Where the JSON, Markdown and PNGs go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    /** A method's run chosen for one stream and scenario, with every λ's run. */
    record Chosen(ContinualMethod method, ContinualExperiment.Result result, List<ContinualExperiment.Result> grid) {
    }

    @Override
    public Integer call() throws IOException {
        List<ContinualMethod> methods = new ArrayList<>();
        EwcMode mode;
        try {
            for (String m : methodNames) {
                methods.add(ContinualMethod.parse(m));
            }
            mode = EwcMode.parse(modeName);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        validate(methods);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(dir);
        ImageDataSet test = FashionMnist.loadTest(dir);
        Files.createDirectories(outDir);
        String command = "symcurv bench continual " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("benchmark", "continual");
        json.put("command", command);
        json.put("started", Instant.now().toString());
        json.put("machine", Machine.describe());
        json.put("loadAverageAtStart", Machine.loadAverage());
        json.put("settings", settings());
        json.put("lambdaSelection", "every method runs its λ grid on the same stream and seed; per stream and scenario the λ with the highest final"
                + " average accuracy on the held-out validation images (the last --validation-images of each task's sample, never trained on) is"
                + " reported; ties go to the smaller λ; the test images take no part in the choice");
        MlpArchitecture architecture = new MlpArchitecture(train.featureCount(), hidden, HiddenActivation.RELU, train.numClasses());
        OptimizerSettings adam = OptimizerSettings.defaults(Recipe.ADAM).withSchedule(LearningRateSchedule.constant(learningRate));
        ContinualExperiment experiment = new ContinualExperiment(epochs, batchSize, fisherExamples, seed);
        List<Table> tables = new ArrayList<>();
        List<Map<String, Object>> streamJson = new ArrayList<>();
        List<String> written = new ArrayList<>();
        Map<String, Map<Scenario, Map<ContinualMethod, Chosen>>> all = new LinkedHashMap<>();
        Map<String, List<ContinualTask>> built = new LinkedHashMap<>();
        for (String streamName : streams) {
            try { // every stream is built (and its sizes checked) before the first run
                built.put(streamName, streamName.equals("split")
                        ? TaskStreams.split(train, test, splitTrainImages == null ? trainImages : splitTrainImages, validationImages, seed)
                        : TaskStreams.permuted(train, test, tasks, trainImages, validationImages, seed));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(e.getMessage() + " (--train-images, --split-train-images, --validation-images)", e);
            }
        }
        for (String streamName : streams) {
            List<ContinualTask> stream = built.get(streamName);
            List<Scenario> scenarios = streamName.equals("split") ? List.of(Scenario.TASK_INCREMENTAL, Scenario.CLASS_INCREMENTAL)
                    : List.of(Scenario.DOMAIN_INCREMENTAL);
            Map<ContinualMethod, List<ContinualExperiment.Result>> runs = new EnumMap<>(ContinualMethod.class);
            for (ContinualMethod method : methods) {
                List<ContinualExperiment.Result> grid = new ArrayList<>();
                for (double lambda : lambdas(method)) {
                    long started = System.nanoTime();
                    EwcSettings s = new EwcSettings(method, mode, lambda, gamma, 256);
                    ContinualExperiment.Result r = experiment.run(() -> architecture.newNetwork(learningRate, seed), stream, scenarios, s, adam, false,
                            taskLines(err, streamName + " " + s.describe(), stream.size()));
                    grid.add(r.withoutLearner());
                    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%s %s: %.0f s;", streamName, s.describe(),
                            (System.nanoTime() - started) / 1e9));
                    for (Scenario sc : scenarios) {
                        line.append(String.format(Locale.ROOT, " %s average accuracy validation %.4f, test %.4f;", sc.cliName(),
                                r.validation().get(sc).averageAccuracy(), r.test().get(sc).averageAccuracy()));
                    }
                    line.append(" load ").append(Machine.loadAverage());
                    err.println(line);
                    err.flush();
                }
                runs.put(method, grid);
            }
            Map<Scenario, Map<ContinualMethod, Chosen>> chosen = new EnumMap<>(Scenario.class);
            for (Scenario sc : scenarios) {
                Map<ContinualMethod, Chosen> byMethod = new EnumMap<>(ContinualMethod.class);
                for (ContinualMethod method : methods) {
                    byMethod.put(method, new Chosen(method, ContinualExperiment.selectByValidation(runs.get(method), sc), runs.get(method)));
                }
                chosen.put(sc, byMethod);
            }
            all.put(streamName, chosen);
            streamJson.add(streamJson(streamName, stream, runs, chosen));
            for (Scenario sc : scenarios) {
                String where = streamName + (scenarios.size() > 1 ? ", " + sc.cliName() : "");
                String file = streamName + (scenarios.size() > 1 ? "-" + sc.cliName() : "");
                Map<String, AccuracyMatrix> lines = new LinkedHashMap<>();
                for (Chosen c : chosen.get(sc).values()) {
                    String label = label(c);
                    tables.add(matrixTable("Test accuracy (%) on " + where + ", " + label + ": row = after training task i, column = task j",
                            c.result().test().get(sc)));
                    lines.put(label, c.result().test().get(sc));
                    ContinualReports.writePng(ContinualReports.heatMap(where + ", " + label, c.result().test().get(sc)),
                            outDir.resolve(file + "-" + c.method().cliName() + "-matrix.png"));
                    written.add(file + "-" + c.method().cliName() + "-matrix.png");
                }
                ContinualReports.writePng(ContinualReports.averageChart("Average test accuracy on the tasks seen, " + where + " Fashion-MNIST", lines),
                        outDir.resolve(file + "-average.png"));
                written.add(file + "-average.png");
                tables.add(summary(where, chosen.get(sc), sc));
                tables.add(sensitivity(where, runs, sc));
            }
        }
        List<Map<String, Object>> goals = goals(all);
        Table goalTable = new Table("Goals of issue 5 (points = percentage points of average test accuracy)", "goal", "measured", "met");
        for (Map<String, Object> g : goals) {
            goalTable.row(g.get("goal"), g.get("measured"), Boolean.TRUE.equals(g.get("met")) ? "yes" : "no");
        }
        if (!goalTable.isEmpty()) {
            tables.add(goalTable);
        }
        json.put("streams", streamJson);
        json.put("goals", goals);
        json.put("loadAverageAtEnd", Machine.loadAverage());
        json.put("finished", Instant.now().toString());
        ContinualReports.writeText(outDir.resolve("continual.json"), Json.write(json));
        ContinualReports.writeText(outDir.resolve("continual.md"), markdown(command, json, tables));
        for (Table t : tables) {
            out.println(t.plain());
        }
        out.printf(Locale.ROOT, "wrote continual.json, continual.md, %s into %s%n", String.join(", ", written), outDir);
        out.flush();
        return 0;
    }

    /** One stderr line per trained task and per consolidation, so a long run shows where it is. */
    private static ContinualExperiment.Listener taskLines(PrintWriter err, String run, int tasks) {
        return new ContinualExperiment.Listener() {
            @Override
            public void taskEvaluated(ContinualTask task, Map<Scenario, double[]> testRow, double trainSeconds) {
                StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "  %s: task %d/%d trained in %.0f s, test accuracy", run,
                        task.index() + 1, tasks, trainSeconds));
                testRow.forEach((sc, row) -> sb.append(String.format(Locale.ROOT, " %s %.4f", sc.cliName(), row[task.index()])));
                err.println(sb);
                err.flush();
            }

            @Override
            public void consolidated(ContinualTask task, ContinualLearner.Consolidation c) {
                if (c.fisherFloats() > 0) {
                    err.printf(Locale.ROOT, "  %s: task %d consolidated in %.1f s%n", run, task.index() + 1, c.seconds());
                    err.flush();
                }
            }
        };
    }

    private void validate(List<ContinualMethod> methods) {
        if (methods.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--methods needs at least one method");
        }
        for (String s : streams) {
            if (!s.equals("permuted") && !s.equals("split")) {
                throw new ParameterException(spec.commandLine(), "--streams takes permuted and/or split, got '" + s + "'");
            }
        }
        if (streams.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--streams needs at least one stream");
        }
        for (List<Double> grid : List.of(lambdasSymmetry, lambdasDiagonal)) {
            if (grid.isEmpty() || grid.stream().anyMatch(l -> l == null || !(l >= 0) || Double.isInfinite(l))) {
                throw new ParameterException(spec.commandLine(), "λ grids need at least one finite value ≥ 0, got " + grid);
            }
        }
        if (tasks < 1 || epochs < 1 || batchSize < 1 || fisherExamples < 1) {
            throw new ParameterException(spec.commandLine(), "--tasks, --epochs, --batch and --fisher-examples must be at least 1");
        }
        if (validationImages < 1 || validationImages >= trainImages || splitTrainImages != null && validationImages >= splitTrainImages) {
            throw new ParameterException(spec.commandLine(), "--validation-images must be at least 1 (λ is chosen on them) and fewer than --train-images");
        }
        if (!(gamma >= 0 && gamma <= 1) || !(learningRate > 0)) {
            throw new ParameterException(spec.commandLine(), "--gamma must lie in [0, 1] and --lr be positive");
        }
    }

    private List<Double> lambdas(ContinualMethod method) {
        return switch (method) {
            case EWC_SYMMETRY -> lambdasSymmetry;
            case EWC_DIAGONAL -> lambdasDiagonal;
            case FINETUNE -> List.of(0.0);
        };
    }

    private static String label(Chosen c) {
        return c.method().cliName() + (c.method().usesFisher() ? " (λ " + Table.sig(c.result().settings().lambda()) + ")" : "");
    }

    private Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("streams", streams);
        m.put("permutedTasks", tasks);
        m.put("methods", methodNames);
        m.put("lambdasSymmetry", lambdasSymmetry);
        m.put("lambdasDiagonal", lambdasDiagonal);
        m.put("mode", modeName);
        m.put("gamma", gamma);
        m.put("epochsPerTask", epochs);
        m.put("hidden", hidden);
        m.put("trainImagesPerTask", trainImages - validationImages);
        m.put("splitTrainImagesPerTask", (splitTrainImages == null ? trainImages : splitTrainImages) - validationImages);
        m.put("validationImagesPerTask", validationImages);
        m.put("fisherExamples", fisherExamples);
        m.put("fisher", "Monte Carlo labels (one per image) from the model's predictive, task-end parameters");
        m.put("optimizer", "Adam lr " + learningRate + ", fresh moments per task, batch " + batchSize);
        m.put("seed", seed);
        return m;
    }

    private Map<String, Object> streamJson(String name, List<ContinualTask> stream, Map<ContinualMethod, List<ContinualExperiment.Result>> runs,
                                           Map<Scenario, Map<ContinualMethod, Chosen>> chosen) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("stream", name);
        m.put("tasks", stream.stream().map(ContinualTask::name).toList());
        Map<String, Object> selected = new LinkedHashMap<>();
        for (Map.Entry<Scenario, Map<ContinualMethod, Chosen>> e : chosen.entrySet()) {
            Map<String, Object> perMethod = new LinkedHashMap<>();
            e.getValue().forEach((method, c) -> perMethod.put(method.cliName(), c.result().settings().lambda()));
            selected.put(e.getKey().cliName(), perMethod);
        }
        m.put("selectedLambda", selected);
        List<Object> list = new ArrayList<>();
        runs.values().forEach(g -> g.forEach(r -> list.add(ContinualReports.runJson(r))));
        m.put("runs", list);
        return m;
    }

    private static Table matrixTable(String title, AccuracyMatrix m) {
        String[] headers = new String[m.tasks() + 2];
        headers[0] = "after task";
        for (int j = 0; j < m.tasks(); j++) {
            headers[j + 1] = "on " + (j + 1);
        }
        headers[m.tasks() + 1] = "average";
        Table t = new Table(title, headers);
        for (int i = 0; i < m.tasks(); i++) {
            Object[] row = new Object[m.tasks() + 2];
            row[0] = i + 1;
            for (int j = 0; j < m.tasks(); j++) {
                row[j + 1] = j <= i ? String.format(Locale.ROOT, "%.1f", 100 * m.get(i, j)) : "·";
            }
            row[m.tasks() + 1] = String.format(Locale.ROOT, "%.1f", 100 * m.averageAfter(i));
            t.row(row);
        }
        return t;
    }

    private static Table summary(String where, Map<ContinualMethod, Chosen> chosen, Scenario sc) {
        Table t = new Table("Summary, " + where + " (λ chosen on validation; consolidation = Fisher estimate + state update per task end)",
                "method", "λ", "avg accuracy", "BWT", "forgetting", "train s", "consolidation s (mean)", "Fisher numbers per task", "state MiB at end");
        for (Chosen c : chosen.values()) {
            AccuracyMatrix m = c.result().test().get(sc);
            List<ContinualLearner.Consolidation> cons = c.result().consolidations();
            double meanSeconds = cons.stream().mapToDouble(ContinualLearner.Consolidation::seconds).average().orElse(0);
            long perTask = cons.isEmpty() ? 0 : cons.get(0).fisherFloats();
            long state = cons.isEmpty() ? 0 : cons.get(cons.size() - 1).stateFloats();
            t.row(c.method().cliName(), c.method().usesFisher() ? Table.sig(c.result().settings().lambda()) : "—",
                    String.format(Locale.ROOT, "%.4f", m.averageAccuracy()), String.format(Locale.ROOT, "%+.4f", m.backwardTransfer()),
                    String.format(Locale.ROOT, "%.4f", m.forgetting()), String.format(Locale.ROOT, "%.0f", c.result().trainSeconds()),
                    c.method().usesFisher() ? String.format(Locale.ROOT, "%.1f", meanSeconds) : "—",
                    c.method().usesFisher() ? Table.count(perTask) : "—", c.method().usesFisher() ? Table.mebibytes(8 * state) : "—");
        }
        return t;
    }

    private static Table sensitivity(String where, Map<ContinualMethod, List<ContinualExperiment.Result>> runs, Scenario sc) {
        Table t = new Table("λ sensitivity, " + where + ": final average accuracy (validation / test)", "method", "λ", "validation", "test",
                "forgetting (test)");
        for (List<ContinualExperiment.Result> grid : runs.values()) {
            for (ContinualExperiment.Result r : grid) {
                if (!r.settings().method().usesFisher()) {
                    continue;
                }
                t.row(r.settings().method().cliName(), Table.sig(r.settings().lambda()),
                        String.format(Locale.ROOT, "%.4f", r.validation().get(sc).averageAccuracy()),
                        String.format(Locale.ROOT, "%.4f", r.test().get(sc).averageAccuracy()),
                        String.format(Locale.ROOT, "%.4f", r.test().get(sc).forgetting()));
            }
        }
        return t;
    }

    /** The goals, where both compared methods were run. */
    private static List<Map<String, Object>> goals(Map<String, Map<Scenario, Map<ContinualMethod, Chosen>>> all) {
        List<Map<String, Object>> out = new ArrayList<>();
        Map<Scenario, Map<ContinualMethod, Chosen>> permuted = all.get("permuted");
        if (permuted != null) {
            Map<ContinualMethod, Chosen> c = permuted.get(Scenario.DOMAIN_INCREMENTAL);
            Chosen sym = c.get(ContinualMethod.EWC_SYMMETRY);
            Chosen diag = c.get(ContinualMethod.EWC_DIAGONAL);
            if (sym != null) {
                int t = sym.result().test().get(Scenario.DOMAIN_INCREMENTAL).tasks();
                double a = sym.result().test().get(Scenario.DOMAIN_INCREMENTAL).averageAccuracy();
                out.add(goal("permuted (" + t + " tasks): ewc-symmetry average accuracy ≥ 85%", String.format(Locale.ROOT, "%.2f%%", 100 * a), a >= 0.85));
                if (diag != null) {
                    double d = diag.result().test().get(Scenario.DOMAIN_INCREMENTAL).averageAccuracy();
                    out.add(goal("permuted (" + t + " tasks): ewc-symmetry ≥ ewc-diagonal + 5 points",
                            String.format(Locale.ROOT, "%+.2f points", 100 * (a - d)), a - d >= 0.05));
                }
            }
        }
        Map<Scenario, Map<ContinualMethod, Chosen>> split = all.get("split");
        if (split != null) {
            for (Scenario sc : split.keySet()) {
                Chosen sym = split.get(sc).get(ContinualMethod.EWC_SYMMETRY);
                Chosen diag = split.get(sc).get(ContinualMethod.EWC_DIAGONAL);
                if (sym != null && diag != null) {
                    double fs = sym.result().test().get(sc).forgetting();
                    double fd = diag.result().test().get(sc).forgetting();
                    out.add(goal("split, " + sc.cliName() + ": less forgetting with ewc-symmetry than ewc-diagonal",
                            String.format(Locale.ROOT, "%.4f vs %.4f", fs, fd), fs < fd));
                }
            }
        }
        return out;
    }

    private static Map<String, Object> goal(String goal, String measured, boolean met) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("goal", goal);
        m.put("measured", measured);
        m.put("met", met);
        return m;
    }

    private static String markdown(String command, Map<String, Object> json, List<Table> tables) {
        StringBuilder md = new StringBuilder("`").append(command).append("`\n\n");
        md.append("Load average (1/5/15 min) at start ").append(json.get("loadAverageAtStart")).append(", at end ")
                .append(json.get("loadAverageAtEnd")).append("; ").append(json.get("started")).append(" to ").append(json.get("finished"))
                .append(".\n\nλ selection: ").append(json.get("lambdaSelection")).append(".\n\n");
        for (Table t : tables) {
            md.append(t.markdown()).append('\n');
        }
        return md.toString();
    }
}
