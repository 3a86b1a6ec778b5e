package org.symcurv.apps.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.model.Gradients;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import org.symcurv.optimizer.Shampoo;
import org.symcurv.optimizer.SymmetryPreconditioner;
import org.symcurv.optimizer.train.Trainer;
import org.symcurv.optimizer.train.TrainingConfig;
import org.symcurv.optimizer.train.TrainingDivergedException;
import org.symcurv.optimizer.train.TrainingListener;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code symcurv bench optimizer}: every recipe over its learning-rate grid on one problem, in one process, on the same
 * data order and initial weights, runs interleaved (rate by rate, recipe by recipe) so that a change in the machine's load
 * falls on all methods alike. Every run uses the same cosine schedule (no warm-up by default) over the budget. Prints
 * markdown tables (all runs; each recipe's best rate with its ratios to the best-tuned Adam(W)) and writes JSON and PNG
 * curves of the held-out metric against steps and seconds under {@code --out}.
 *
 * <p>Ratios: the target is the best Adam(W) run's final held-out metric (or {@code --target}); "steps/seconds to target"
 * are interpolated between evaluations. Training seconds exclude evaluations. Step times leave out the first
 * {@value OptimizerBenchRun#WARMUP_STEPS} steps; the mean includes refresh steps (the amortized cost), the median does
 * not feel them.
 */
@Command(name = "optimizer",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Benchmark the optimizer recipes on one problem: learning-rate grids, curves against steps and seconds,",
                "ratios to the best-tuned Adam(W). Tables on stdout; JSON and PNG under --out/<task>/."})
public final class OptimizerBenchmark implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--task", paramLabel = "NAME", defaultValue = "mlp",
            description = "mlp (Fashion-MNIST 784-256-256-10), mlp-wide (784-1200-10), lm (fortunes character model), autoencoder (deep tanh), "
                    + "or the tuning problems that are not benchmarks: tune-mlp (784-128-128-10 on 20,000 training images), "
                    + "tune-autoencoder (784-128-64-16-64-128-784 on 20,000) (default: ${DEFAULT-VALUE}).")
    String task;

    @Option(names = "--steps", paramLabel = "N", description = "Budget in steps (default: mlp 1200, lm 1000, autoencoder 1000).")
    Long steps;

    @Option(names = "--methods", paramLabel = "M[,M...]", split = ",", defaultValue = "symmetry,symmetry-scalar,shampoo,muon,adam,adamw,sgd",
            description = {"Methods to compare: the recipes symmetry, shampoo, muon, adam, adamw, sgd, and symmetry-scalar (the invariant "
                    + "kind by the paper's damped scalar, global damping, instead of Adam) (default: ${DEFAULT-VALUE})."})
    List<String> methods;

    @Option(names = "--grid", paramLabel = "full|middle", defaultValue = "full",
            description = "Run every rate of each grid, or only the middle one (a quick look) (default: ${DEFAULT-VALUE}).")
    String grid;

    @Option(names = "--rates", paramLabel = "METHOD=R:R:R", mapFallbackValue = "",
            description = "Replace a method's grid of three learning rates, e.g. --rates symmetry=0.01:0.03:0.1 (repeatable).")
    Map<String, String> rates = new java.util.LinkedHashMap<>();

    @Option(names = "--eval-every", paramLabel = "N", defaultValue = "50", description = "Evaluate every N steps (default: ${DEFAULT-VALUE}).")
    long evalEvery;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Initial weights and data order (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup", paramLabel = "STEPS", defaultValue = "0", description = "Linear warm-up before the cosine (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--refresh", paramLabel = "K", defaultValue = "10",
            description = "symmetry and shampoo recompute their inverse every K steps (default: ${DEFAULT-VALUE}).")
    int refresh;

    @Option(names = "--statistics-every", paramLabel = "S", defaultValue = "1",
            description = "symmetry updates its gradient second moment every S steps (default: ${DEFAULT-VALUE}).")
    int statisticsEvery;

    @Option(names = "--symmetry-groups", paramLabel = "AXES",
            description = "symmetry: which axes of each weight matrix keep their group (as symcurv train --groups; default: both).")
    String symmetryGroups;

    @Option(names = "--symmetry-weight-moment", paramLabel = "KIND",
            description = "symmetry: current, identity or averaged S_w (default: the recipe's).")
    String symmetryWeightMoment;

    @Option(names = "--symmetry-damping", paramLabel = "SCOPE:L",
            description = "symmetry: damping scope and relative value, e.g. global:1e-2 or per-block:1e-2 (default: the recipe's).")
    String symmetryDamping;

    @Option(names = "--symmetry-floor", paramLabel = "PHI", description = "symmetry: the per-block damping floor (default: the recipe's).")
    Double symmetryFloor;

    @Option(names = "--symmetry-form", paramLabel = "FORM", description = "symmetry: eigen or cholesky (default: the recipe's).")
    String symmetryForm;

    @Option(names = "--adamw-decay", paramLabel = "L", defaultValue = "0.01", description = "adamw's decoupled weight decay (default: ${DEFAULT-VALUE}).")
    double adamwDecay;

    @Option(names = "--target", paramLabel = "VALUE", description = "Target of the held-out metric (default: the best Adam(W) run's final value).")
    Double target;

    @Option(names = "--profile-steps", paramLabel = "N", defaultValue = "30",
            description = "Minibatches timed for the forward/backward and DL4J-Adam reference rows (default: ${DEFAULT-VALUE}).")
    int profileSteps;

    @Option(names = "--profile", description = "Instead of the runs, time the parts of one symmetry step on the task (medians).")
    boolean profile;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory (default: as symcurv train).")
    Path dataDir;

    @Option(names = "--fortunes", paramLabel = "DIR", description = "Fortune files directory (default: $SYMCURV_FORTUNES, then /usr/share/games/fortunes).")
    Path fortunesDir;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "reports/bench-optimizer",
            description = "Where to write <task>/results.json and the PNG plots (default: ${DEFAULT-VALUE}).")
    Path out;

    /** Runs the benchmark directly, until {@code symcurv bench} lists it. */
    public static void main(String[] args) {
        System.setProperty("java.awt.headless", "true");
        System.exit(new CommandLine(new OptimizerBenchmark()).execute(args));
    }

    @Override
    public Integer call() throws IOException {
        System.setProperty("java.awt.headless", "true");
        // ND4J's arrays live off-heap behind tiny heap objects, so the heap alone rarely triggers a collection and dead
        // arrays pile up until JavaCPP's limit stalls the process (or the machine's OOM killer ends it): collect every second
        org.nd4j.linalg.factory.Nd4j.getMemoryManager().togglePeriodicGc(true);
        org.nd4j.linalg.factory.Nd4j.getMemoryManager().setAutoGcWindow(1000);
        PrintWriter stdout = spec.commandLine().getOut();
        for (String m : methods) {
            try {
                recipeOf(m);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), e.getMessage() + " (or symmetry-scalar)");
            }
        }
        if (!grid.equals("full") && !grid.equals("middle")) {
            throw new ParameterException(spec.commandLine(), "--grid must be full or middle, got '" + grid + "'");
        }
        Map<String, double[]> customRates = new java.util.HashMap<>();
        for (Map.Entry<String, String> e : rates.entrySet()) {
            try {
                recipeOf(e.getKey());
                double[] r = java.util.Arrays.stream(e.getValue().split(":")).mapToDouble(Double::parseDouble).toArray();
                if (r.length != 3 || java.util.Arrays.stream(r).anyMatch(x -> !(x > 0) || Double.isInfinite(x))) {
                    throw new IllegalArgumentException("three positive rates are needed (every grid has three), got '" + e.getValue() + "'");
                }
                customRates.put(e.getKey(), r);
            } catch (IllegalArgumentException ex) {
                throw new ParameterException(spec.commandLine(), "--rates " + e.getKey() + "=" + e.getValue() + ": " + ex.getMessage());
            }
        }
        OptimizerBenchTask problem = switch (task) {
            case "mlp" -> OptimizerBenchTask.fashionMlp(dataDir);
            case "mlp-wide" -> OptimizerBenchTask.fashionWideMlp(dataDir);
            case "lm" -> OptimizerBenchTask.charLanguageModel(fortunesDir);
            case "autoencoder" -> OptimizerBenchTask.tanhAutoencoder(dataDir);
            case "tune-mlp" -> OptimizerBenchTask.tuningMlp(dataDir);
            case "tune-autoencoder" -> OptimizerBenchTask.tuningAutoencoder(dataDir);
            default -> throw new ParameterException(spec.commandLine(), "--task must be mlp, mlp-wide, lm, autoencoder, tune-mlp or "
                    + "tune-autoencoder, got '" + task + "'");
        };
        if (profile) {
            OptimizerProfile.run(stdout, problem, seed, 21);
            return 0;
        }
        long budget = steps != null ? steps : problem.steps();
        stdout.printf(Locale.ROOT, "# bench optimizer --task %s%n%n%s%n%n", task, problem.description());
        stdout.printf(Locale.ROOT, "budget %d steps, cosine schedule to 0%s, seed %d, evaluation every %d steps, refresh every %d, "
                        + "statistics every %d; float32; eigensolver %s; OMP_NUM_THREADS=%s; load at start %s%n%n", budget,
                warmup > 0 ? " after " + warmup + " warm-up steps" : "", seed, evalEvery, refresh, statisticsEvery,
                org.symcurv.core.operator.SymmetricEigen.backend(org.nd4j.linalg.api.buffer.DataType.FLOAT), System.getenv("OMP_NUM_THREADS"), load());
        stdout.flush();

        Map<String, Double> reference = referenceTimings(problem);
        stdout.printf(Locale.ROOT, "reference (median of %d minibatches): forward+backward %.1f ms, DL4J's own Adam step (fit) %.1f ms%n%n",
                profileSteps, reference.get("forwardBackwardMillis"), reference.get("dl4jAdamStepMillis"));
        stdout.flush();

        List<OptimizerBenchRun> runs = new ArrayList<>();
        int points = grid.equals("full") ? 3 : 1;
        for (int i = 0; i < points; i++) {
            for (String method : methods) {
                double[] grid = customRates.getOrDefault(method, problem.grids().get(recipeOf(method)));
                double lr = points == 1 ? grid[grid.length / 2] : grid[i];
                OptimizerBenchRun run = run(problem, method, lr, budget);
                runs.add(run);
                stdout.printf(Locale.ROOT, "%-15s lr %-6s %s%n", method, format(lr), summary(run, problem));
                stdout.flush();
            }
        }
        report(stdout, problem, runs, reference, budget);
        return 0;
    }

    /** The recipe behind a method name: the recipes' own names, and {@code symmetry-scalar}. */
    static Recipe recipeOf(String method) {
        return method.equals("symmetry-scalar") ? Recipe.SYMMETRY : Recipe.parse(method);
    }

    private OptimizerSettings settings(String method, double lr, long budget) {
        Recipe recipe = recipeOf(method);
        boolean scalar = method.equals("symmetry-scalar");
        OptimizerSettings s = OptimizerSettings.defaults(recipe).withSchedule(LearningRateSchedule.warmupCosine(lr, warmup, budget, 0.0))
                .with(Shampoo.Settings.class, x -> x.withRefreshInterval(refresh))
                .with(SymmetryPreconditioner.Settings.class, x -> {
                    SymmetryPreconditioner.Options o = x.options().withRefreshInterval(refresh).withStatisticsInterval(statisticsEvery);
                    if (symmetryDamping != null) {
                        String[] parts = symmetryDamping.split(":");
                        double value = Double.parseDouble(parts[1]);
                        o = o.withDamping(parts[0].equalsIgnoreCase("global") ? org.symcurv.core.operator.Damping.global(value)
                                : org.symcurv.core.operator.Damping.perBlock(value));
                    }
                    if (symmetryFloor != null) {
                        o = o.withDampingFloor(symmetryFloor);
                    }
                    if (symmetryWeightMoment != null) {
                        o = o.withWeightMoment(SymmetryPreconditioner.WeightMoment.valueOf(symmetryWeightMoment.toUpperCase(Locale.ROOT)));
                    }
                    if (symmetryForm != null) {
                        o = o.withForm(SymmetryPreconditioner.Form.valueOf(symmetryForm.toUpperCase(Locale.ROOT)));
                    }
                    SymmetryPreconditioner.Settings y = x.withOptions(!scalar ? o
                            : o.withDamping(org.symcurv.core.operator.Damping.global(o.damping().relative()))
                            .withInvariantPolicy(org.symcurv.core.estimate.TaylorEstimator.InvariantPolicy.DAMPED_SCALAR));
                    return symmetryGroups != null ? y.withMatrixGroups(org.symcurv.optimizer.MatrixGroups.parse(symmetryGroups)) : y;
                });
        return recipe == Recipe.ADAMW ? s.withWeightDecay(adamwDecay) : s;
    }

    private OptimizerBenchRun run(OptimizerBenchTask problem, String method, double lr, long budget) {
        MultiLayerNetwork net = problem.network().apply(seed);
        Optimizer optimizer = settings(method, lr, budget).build(net);
        OptimizerBenchRun run = new OptimizerBenchRun(method, recipeOf(method), lr, optimizer.describe());
        TrainingListener listener = new TrainingListener() {
            @Override
            public void onStep(Step step) {
                run.stepSeconds.add(step.stepSeconds());
            }

            @Override
            public void onEvaluation(Evaluation e) {
                run.curve.add(new OptimizerBenchRun.Point(e.iteration(), e.trainSeconds(), e.metrics()));
            }
        };
        run.loadBefore = load();
        try {
            Trainer.Result r = Trainer.start(net, optimizer, problem.data(), problem.evaluator(),
                    TrainingConfig.of(problem.batch(), budget, seed).withEvaluation(evalEvery, true).withMaxNonFiniteSteps(10), listener).run();
            run.skipped = r.skipped();
        } catch (TrainingDivergedException e) {
            run.diverged = e.getMessage();
        }
        run.loadAfter = load();
        System.gc();
        return run;
    }

    /** Median forward+backward time and DL4J's own Adam {@code fit} time on the first minibatches. */
    private Map<String, Double> referenceTimings(OptimizerBenchTask problem) {
        int[] order = Trainer.epochOrder(problem.data().size(), seed, 0);
        List<DataSet> batches = new ArrayList<>();
        for (int b = 0; b < profileSteps + 5; b++) {
            batches.add(problem.data().batch(java.util.Arrays.copyOfRange(order, b * problem.batch(), (b + 1) * problem.batch())));
        }
        MultiLayerNetwork net = problem.network().apply(seed);
        double[] fb = new double[profileSteps];
        for (int b = 0; b < batches.size(); b++) {
            long t = System.nanoTime();
            Gradients.meanLossAndGradient(net, batches.get(b));
            if (b >= 5) {
                fb[b - 5] = (System.nanoTime() - t) / 1e6;
            }
        }
        MultiLayerConfiguration conf = problem.network().apply(seed).getLayerWiseConfigurations().clone();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            if (conf.getConf(i).getLayer() instanceof BaseLayer base) {
                base.setIUpdater(new org.nd4j.linalg.learning.config.Adam(1e-3));
            }
        }
        MultiLayerNetwork dl4j = new MultiLayerNetwork(conf);
        dl4j.init();
        double[] fit = new double[profileSteps];
        for (int b = 0; b < batches.size(); b++) {
            long t = System.nanoTime();
            dl4j.fit(batches.get(b));
            if (b >= 5) {
                fit[b - 5] = (System.nanoTime() - t) / 1e6;
            }
        }
        Map<String, Double> out = new LinkedHashMap<>();
        out.put("forwardBackwardMillis", OptimizerBenchRun.median(fb));
        out.put("dl4jAdamStepMillis", OptimizerBenchRun.median(fit));
        return out;
    }

    private String summary(OptimizerBenchRun run, OptimizerBenchTask problem) {
        if (run.diverged != null) {
            return "diverged: " + run.diverged.lines().findFirst().orElse("");
        }
        StringBuilder sb = new StringBuilder();
        run.curve.get(run.curve.size() - 1).metrics().forEach((k, v) -> sb.append(String.format(Locale.ROOT, "%s %.4f, ", k, v)));
        double max = run.stepSeconds.stream().skip(OptimizerBenchRun.WARMUP_STEPS).mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        return sb + String.format(Locale.ROOT, "%.1f s, mean %.1f ms/step, median %.1f, max %.0f, load %.1f→%.1f, resident %s%s",
                run.trainSeconds(), run.meanStepMillis(), run.medianStepMillis(), 1e3 * max, run.loadBefore, run.loadAfter, residentMemory(),
                run.skipped > 0 ? ", " + run.skipped + " skipped" : "");
    }

    private void report(PrintWriter stdout, OptimizerBenchTask problem, List<OptimizerBenchRun> runs, Map<String, Double> reference,
                        long budget) throws IOException {
        String metric = problem.metric();
        Map<String, OptimizerBenchRun> best = new LinkedHashMap<>();
        for (OptimizerBenchRun r : runs) {
            OptimizerBenchRun b = best.get(r.method);
            if (!Double.isNaN(r.finalValue(metric)) && (b == null || r.finalValue(metric) < b.finalValue(metric))) {
                best.put(r.method, r);
            }
        }
        OptimizerBenchRun adam = null;
        for (String r : List.of("adam", "adamw")) {
            OptimizerBenchRun b = best.get(r);
            if (b != null && (adam == null || b.finalValue(metric) < adam.finalValue(metric))) {
                adam = b;
            }
        }
        double goal = target != null ? target : adam != null ? adam.finalValue(metric) : Double.NaN;

        stdout.printf(Locale.ROOT, "%n## All runs (%s after %d steps)%n%n", problem.metricLabel(), budget);
        List<String> metricNames = new ArrayList<>();
        runs.stream().filter(r -> !r.curve.isEmpty()).findFirst().ifPresent(r -> metricNames.addAll(r.curve.get(0).metrics().keySet()));
        stdout.printf("| method | lr | %s | steps to target | s to target | train s | mean ms/step | median ms/step | load |%n",
                String.join(" | ", metricNames));
        stdout.printf("|---|---|%s---|---|---|---|---|---|%n", "---|".repeat(metricNames.size()));
        for (OptimizerBenchRun r : runs) {
            StringBuilder values = new StringBuilder();
            for (String name : metricNames) {
                values.append(r.diverged != null ? "diverged" : String.format(Locale.ROOT, "%.4f", r.finalValue(name))).append(" | ");
            }
            double[] hit = r.diverged == null && !Double.isNaN(goal) ? r.toTarget(metric, goal) : null;
            stdout.printf(Locale.ROOT, "| %s%s | %s | %s%s | %s | %.1f | %.1f | %.1f | %.1f–%.1f |%n", r.method,
                    best.get(r.method) == r ? " ★" : "", format(r.learningRate), values, hit == null ? "—" : String.format(Locale.ROOT, "%.0f", hit[0]),
                    hit == null ? "—" : String.format(Locale.ROOT, "%.1f", hit[1]), r.trainSeconds(), r.meanStepMillis(), r.medianStepMillis(),
                    r.loadBefore, r.loadAfter);
        }

        stdout.printf(Locale.ROOT, "%n## Best rate per method, against the best-tuned Adam(W) (%s lr %s)%n%n", adam == null ? "none" : adam.method,
                adam == null ? "—" : format(adam.learningRate));
        stdout.printf(Locale.ROOT, "target %s = %.4f%n%n", metric, goal);
        double[] adamHit = adam == null ? null : adam.toTarget(metric, goal);
        double adamEnd = adam == null ? Double.NaN : adam.trainSeconds();
        stdout.printf("| method | lr | final %s | %s at Adam(W)'s %.0f s | steps to target (× Adam) | s to target (× Adam) | mean ms/step (× Adam) "
                + "| median ms/step | plain-step median | refresh-step mean |%n", metric, metric, adamEnd);
        stdout.printf("|---|---|---|---|---|---|---|---|---|---|%n");
        for (Map.Entry<String, OptimizerBenchRun> e : best.entrySet()) {
            OptimizerBenchRun r = e.getValue();
            double[] hit = r.toTarget(metric, goal);
            int k = r.recipe == Recipe.SYMMETRY || r.recipe == Recipe.SHAMPOO ? refresh : 0;
            stdout.printf(Locale.ROOT, "| %s | %s | %.4f | %.4f | %s | %s | %.1f (%.2f×) | %.1f | %s | %s |%n", e.getKey(),
                    format(r.learningRate), r.finalValue(metric), r.valueAtSeconds(metric, adamEnd),
                    hit == null ? "not reached" : String.format(Locale.ROOT, "%.0f (%.2f×)", hit[0], adamHit == null ? Double.NaN : hit[0] / adamHit[0]),
                    hit == null ? "—" : String.format(Locale.ROOT, "%.1f (%.2f×)", hit[1], adamHit == null ? Double.NaN : hit[1] / adamHit[1]),
                    r.meanStepMillis(), adam == null ? Double.NaN : r.meanStepMillis() / adam.meanStepMillis(), r.medianStepMillis(),
                    k > 1 ? String.format(Locale.ROOT, "%.1f", r.medianPlainStepMillis(k)) : "—",
                    k > 1 ? String.format(Locale.ROOT, "%.1f", r.meanRefreshStepMillis(k)) : "—");
        }
        stdout.printf(Locale.ROOT, "%nreference: forward+backward %.1f ms, DL4J Adam fit %.1f ms per step; load at end %s%n",
                reference.get("forwardBackwardMillis"), reference.get("dl4jAdamStepMillis"), load());
        stdout.flush();

        Path dir = out.resolve(problem.name());
        Files.createDirectories(dir);
        writeJson(dir.resolve("results.json"), problem, runs, best, reference, goal, budget);
        plot(dir.resolve("metric-vs-steps.png"), problem, best.values(), false);
        plot(dir.resolve("metric-vs-seconds.png"), problem, best.values(), true);
        stdout.printf(Locale.ROOT, "%nwrote %s, %s and %s%n", dir.resolve("results.json"), dir.resolve("metric-vs-steps.png"),
                dir.resolve("metric-vs-seconds.png"));
        stdout.flush();
    }

    private static final Map<String, java.awt.Color> COLORS = Map.of("symmetry", new java.awt.Color(0, 90, 200),
            "symmetry-scalar", new java.awt.Color(0, 170, 220), "shampoo", new java.awt.Color(230, 120, 0),
            "muon", new java.awt.Color(140, 60, 180), "adam", new java.awt.Color(0, 150, 60), "adamw", new java.awt.Color(200, 30, 40),
            "sgd", new java.awt.Color(120, 120, 120));

    private static void plot(Path file, OptimizerBenchTask problem, java.util.Collection<OptimizerBenchRun> runs, boolean seconds) throws IOException {
        XYChart chart = new XYChartBuilder().width(900).height(560).title(problem.name() + ": " + problem.metricLabel()
                        + (seconds ? " against training seconds" : " against steps") + " (best rate per method)")
                .xAxisTitle(seconds ? "training seconds" : "steps").yAxisTitle(problem.metricLabel()).build();
        chart.getStyler().setYAxisLogarithmic(false);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        double lowest = Double.MAX_VALUE;
        double initial = Double.NEGATIVE_INFINITY;
        for (OptimizerBenchRun r : runs) {
            double[] x = new double[r.curve.size()];
            double[] y = new double[r.curve.size()];
            for (int i = 0; i < x.length; i++) {
                x[i] = seconds ? r.curve.get(i).seconds() : r.curve.get(i).step();
                y[i] = r.curve.get(i).metrics().get(problem.metric());
                lowest = Math.min(lowest, y[i]);
            }
            if (y.length > 1) {
                initial = Math.max(initial, y[Math.min(1, y.length - 1)]);
            }
            XYSeries s = chart.addSeries(r.method + " (lr " + format(r.learningRate) + ")", x, y);
            s.setMarker(SeriesMarkers.NONE);
            s.setLineColor(COLORS.getOrDefault(r.method, java.awt.Color.DARK_GRAY));
            if (r.recipe == Recipe.SYMMETRY) {
                s.setLineWidth(3f);
            }
        }
        if (initial > lowest) {
            // the first evaluation (untrained) would flatten the interesting part: cut the axis at the second one
            chart.getStyler().setYAxisMin(lowest - 0.05 * (initial - lowest));
            chart.getStyler().setYAxisMax(initial);
        }
        Path tmp = AtomicFiles.createSiblingTemp(file);
        try {
            BitmapEncoder.saveBitmap(chart, Files.newOutputStream(tmp), BitmapEncoder.BitmapFormat.PNG);
            AtomicFiles.moveIntoPlace(tmp, file, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void writeJson(Path file, OptimizerBenchTask problem, List<OptimizerBenchRun> runs, Map<String, OptimizerBenchRun> best,
                           Map<String, Double> reference, double goal, long budget) throws IOException {
        StringBuilder j = new StringBuilder("{\n");
        j.append("  \"task\": ").append(q(problem.name())).append(",\n  \"description\": ").append(q(problem.description()))
                .append(",\n  \"metric\": ").append(q(problem.metric())).append(",\n  \"steps\": ").append(budget)
                .append(",\n  \"seed\": ").append(seed).append(",\n  \"refreshInterval\": ").append(refresh)
                .append(",\n  \"statisticsInterval\": ").append(statisticsEvery).append(",\n  \"target\": ").append(num(goal))
                .append(",\n  \"reference\": {\"forwardBackwardMillis\": ").append(num(reference.get("forwardBackwardMillis")))
                .append(", \"dl4jAdamStepMillis\": ").append(num(reference.get("dl4jAdamStepMillis"))).append("},\n  \"runs\": [\n");
        for (int i = 0; i < runs.size(); i++) {
            OptimizerBenchRun r = runs.get(i);
            j.append("    {\"method\": ").append(q(r.method)).append(", \"learningRate\": ").append(num(r.learningRate))
                    .append(", \"best\": ").append(best.get(r.method) == r).append(", \"optimizer\": ").append(q(r.optimizer))
                    .append(", \"diverged\": ").append(r.diverged == null ? "null" : q(r.diverged))
                    .append(", \"meanStepMillis\": ").append(num(r.meanStepMillis())).append(", \"medianStepMillis\": ").append(num(r.medianStepMillis()))
                    .append(", \"loadBefore\": ").append(num(r.loadBefore)).append(", \"loadAfter\": ").append(num(r.loadAfter))
                    .append(", \"curve\": [");
            for (int p = 0; p < r.curve.size(); p++) {
                OptimizerBenchRun.Point pt = r.curve.get(p);
                j.append(p == 0 ? "" : ", ").append("{\"step\": ").append(pt.step()).append(", \"seconds\": ").append(num(pt.seconds()));
                pt.metrics().forEach((k, v) -> j.append(", ").append(q(k)).append(": ").append(num(v)));
                j.append('}');
            }
            j.append("]}").append(i + 1 < runs.size() ? ",\n" : "\n");
        }
        j.append("  ]\n}\n");
        Path tmp = AtomicFiles.createSiblingTemp(file);
        try {
            try (Writer w = Files.newBufferedWriter(tmp)) {
                w.write(j.toString());
            }
            AtomicFiles.moveIntoPlace(tmp, file, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static String q(String s) {
        return "\"" + s.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n") + "\"";
    }

    private static String num(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }

    static String format(double lr) {
        return new java.math.BigDecimal(lr).round(new java.math.MathContext(2)).stripTrailingZeros().toString().replace("E", "e");
    }

    /** The process's resident memory (and its peak) from {@code /proc/self/status}, e.g. {@code 2.1/2.6 GB}. */
    static String residentMemory() {
        try {
            double rss = Double.NaN;
            double peak = Double.NaN;
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmRSS:")) {
                    rss = Double.parseDouble(line.replaceAll("[^0-9]", "")) / 1048576.0;
                } else if (line.startsWith("VmHWM:")) {
                    peak = Double.parseDouble(line.replaceAll("[^0-9]", "")) / 1048576.0;
                }
            }
            return String.format(Locale.ROOT, "%.1f/%.1f GB", rss, peak);
        } catch (IOException | RuntimeException e) {
            return "?";
        }
    }

    /** The 1-minute load average, NaN where {@code /proc/loadavg} is missing. */
    static double load() {
        try {
            return Double.parseDouble(Files.readString(Path.of("/proc/loadavg")).split(" ")[0]);
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }
}
