package org.symcurv.apps.bench;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.lines.SeriesLines;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.symcurv.apps.common.ClassifierEvaluation;
import org.symcurv.apps.common.Json;
import org.symcurv.apps.common.ModelFiles;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
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
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench pruning}: accuracy of a trained Fashion-MNIST MLP after pruning without fine-tuning, against
 * the unstructured sparsity of its weight matrices and against the fraction of hidden units removed, for magnitude,
 * OBD, OBS on the diagonal Fisher and OBS on the symmetry-averaged Fisher (plus any variants asked for), every run
 * starting from the same trained model with the same Fisher data and seed. Prints the tables and the goal
 * check; writes {@code pruning.json}, {@code pruning.md}, {@code unstructured.png} and {@code structured.png} into
 * {@code --out-dir} (each to a temporary sibling, renamed into place).
 */
@Command(name = "pruning",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Pruning without fine-tuning: test accuracy against sparsity (unstructured) and units removed (structured)",
                "for magnitude, OBD, OBS-diagonal and OBS-symmetry. Writes pruning.json, pruning.md, unstructured.png and",
                "structured.png into --out-dir."})
public final class PruningBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", required = true,
            description = "The trained model zip, e.g. from 'symcurv train --hidden 256,256 --epochs 5'.")
    Path model;

    @Option(names = "--data", paramLabel = "DIR",
            description = "Fashion-MNIST directory (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/bench-pruning",
            description = "Where the JSON, Markdown and PNGs go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--methods", paramLabel = "M[+MOD]", split = ",", defaultValue = "magnitude,obd,obs-diagonal,obs",
            description = {"Compared methods: magnitude, obd, obs-diagonal, obs; a variant adds modifiers with '+':",
                    "scaled (unit-scaled symmetry Fisher), constrained (joint OBS update by conjugate gradients), none (no update)",
                    "(default: ${DEFAULT-VALUE})."})
    List<String> methodNames;

    @Option(names = "--sparsities", paramLabel = "S", split = ",", defaultValue = "0.5,0.7,0.8,0.9,0.95",
            description = "Unstructured targets; empty to skip (default: ${DEFAULT-VALUE}).")
    List<Double> sparsities;

    @Option(names = "--units", paramLabel = "U", split = ",", defaultValue = "0.25,0.5,0.75",
            description = "Structured: fractions of each hidden layer's units removed; empty to skip (default: ${DEFAULT-VALUE}).")
    List<Double> unitFractions;

    @Option(names = "--scope", paramLabel = "SCOPE", defaultValue = "global",
            description = "Unstructured ranking: global or per-layer (default: ${DEFAULT-VALUE}).")
    String scopeName;

    @Option(names = "--rounds", paramLabel = "K", defaultValue = "10",
            description = "Unstructured rounds, Fisher re-estimated before each (default: ${DEFAULT-VALUE}).")
    int rounds;

    @Option(names = "--unit-rounds", paramLabel = "K", defaultValue = "5", description = "Structured rounds (default: ${DEFAULT-VALUE}).")
    int unitRounds;

    @Option(names = "--damping", paramLabel = "LAMBDA", defaultValue = "1e-2",
            description = "OBS damping λ × mean diagonal of the Fisher (default: ${DEFAULT-VALUE}).")
    double damping;

    @Option(names = "--solver-iterations", paramLabel = "N", defaultValue = "20",
            description = "Conjugate-gradient iterations of the 'constrained' update per round (default: ${DEFAULT-VALUE}).")
    int solverIterations;

    @Option(names = "--fisher-examples", paramLabel = "N", defaultValue = "1000",
            description = "Training images of every Fisher estimate (default: ${DEFAULT-VALUE}).")
    int fisherExamples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "7",
            description = "Seed of the Fisher's images and label draws (default: ${DEFAULT-VALUE}).")
    long seed;

    /** One compared configuration. */
    record Variant(String name, PruningMethod method, boolean scaled, Compensation compensation) {
        String label() {
            List<String> mods = new ArrayList<>();
            if (scaled) {
                mods.add("unit-scaled");
            }
            if (method.isObs() && compensation != Compensation.SUMMED) {
                mods.add(compensation == Compensation.CONSTRAINED ? "joint update" : "no update");
            }
            return method.label() + (mods.isEmpty() ? "" : " (" + String.join(", ", mods) + ")");
        }

        static Variant parse(String text) {
            String[] parts = text.trim().toLowerCase(Locale.ROOT).split("\\+");
            PruningMethod method = PruningMethod.fromCliName(parts[0]);
            boolean scaled = false;
            Compensation compensation = Compensation.SUMMED;
            for (int i = 1; i < parts.length; i++) {
                switch (parts[i]) {
                    case "scaled" -> scaled = true;
                    case "constrained" -> compensation = Compensation.CONSTRAINED;
                    case "none" -> compensation = Compensation.NONE;
                    default -> throw new IllegalArgumentException("unknown modifier '" + parts[i] + "' in '" + text
                            + "'; modifiers are scaled, constrained, none");
                }
            }
            if (scaled && method.fisher() != PruningMethod.FisherKind.SYMMETRY) {
                throw new IllegalArgumentException("'scaled' applies to the symmetry Fisher (obd, obs), not to " + parts[0]);
            }
            if (compensation != Compensation.SUMMED && !method.isObs()) {
                throw new IllegalArgumentException("'" + parts[parts.length - 1] + "' applies to OBS (obs, obs-diagonal), not to " + parts[0]);
            }
            return new Variant(text.trim(), method, scaled, compensation);
        }
    }

    /** One pruning run and its evaluation. */
    record Run(Variant variant, boolean structured, double target, double accuracy, double loss, long parameters, long nonzero,
               double predictedLossIncrease, double fisherSeconds, double seconds) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", variant.name());
            m.put("label", variant.label());
            m.put("kind", structured ? "structured" : "unstructured");
            m.put(structured ? "unitsRemoved" : "sparsity", target);
            m.put("testAccuracy", accuracy);
            m.put("testLoss", loss);
            m.put("parameters", parameters);
            m.put("nonzeroParameters", nonzero);
            m.put("predictedLossIncrease", Double.isFinite(predictedLossIncrease) ? predictedLossIncrease : null);
            m.put("fisherSeconds", fisherSeconds);
            m.put("seconds", seconds);
            return m;
        }
    }

    @Override
    public Integer call() throws IOException {
        List<Variant> variants = validate();
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        MultiLayerNetwork dense = ModelFiles.loadClassifier(model);
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(dir);
        ImageDataSet test = FashionMnist.loadTest(dir);
        ModelFiles.requireFits(dense, model, train);
        Files.createDirectories(outDir);
        String command = "symcurv bench pruning " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("benchmark", "pruning");
        json.put("command", command);
        json.put("started", Instant.now().toString());
        json.put("machine", Machine.describe());
        json.put("loadAverageAtStart", Machine.loadAverage());
        json.put("model", model.toAbsolutePath().normalize().toString());
        json.put("data", dir.toString());

        ClassifierEvaluation baseline = ClassifierEvaluation.of(dense, test);
        err.printf(Locale.ROOT, "dense model: %,d parameters, test accuracy %.4f, loss %.4f%n", dense.numParams(), baseline.accuracy(),
                baseline.meanLoss());
        FisherSource fisher = FisherSources.monteCarlo(train.sample(fisherExamples, seed).features(), seed);
        PruningScope scope = scopeName.equals("per-layer") ? PruningScope.PER_LAYER : PruningScope.GLOBAL;
        List<Run> runs = new ArrayList<>();
        for (Variant v : variants) {
            for (double s : sparsities) {
                double[] fisherSeconds = {0};
                double[] predicted = {0};
                long started = System.nanoTime();
                UnstructuredPruner.Result r = UnstructuredPruner.of(v.method(), s).withRounds(rounds).withScope(scope)
                        .withDamping(ObsDamping.meanDiagonal(damping)).withCompensation(v.compensation(), solverIterations)
                        .withUnitScaledFisher(v.scaled()).prune(dense, fisher, accumulate(fisherSeconds, predicted));
                runs.add(evaluate(v, false, s, r.network(), test, predicted[0], fisherSeconds[0], started, err));
            }
            if (v.compensation() == Compensation.CONSTRAINED) {
                continue; // structured pruning compensates with the block updates only
            }
            for (double u : unitFractions) {
                double[] fisherSeconds = {0};
                double[] predicted = {0};
                long started = System.nanoTime();
                NeuronPruner.Result r = NeuronPruner.of(v.method(), u).withRounds(unitRounds).withDamping(ObsDamping.meanDiagonal(damping))
                        .withUnitScaledFisher(v.scaled()).prune(dense, fisher, accumulate(fisherSeconds, predicted));
                runs.add(evaluate(v, true, u, r.network(), test, predicted[0], fisherSeconds[0], started, err));
            }
        }
        List<Table> tables = tables(variants, runs, baseline);
        json.put("denseTestAccuracy", baseline.accuracy());
        json.put("denseTestLoss", baseline.meanLoss());
        json.put("denseParameters", dense.numParams());
        json.put("fisher", fisher.describe());
        json.put("settings", settings());
        json.put("runs", runs.stream().map(Run::toJson).toList());
        json.put("goals", goals(runs, baseline));
        json.put("loadAverageAtEnd", Machine.loadAverage());
        json.put("finished", Instant.now().toString());
        writeText(outDir.resolve("pruning.json"), Json.write(json));
        writeText(outDir.resolve("pruning.md"), markdown(command, json, tables));
        List<String> written = new ArrayList<>(List.of("pruning.json", "pruning.md"));
        if (!sparsities.isEmpty()) {
            writeChart(chart(variants, runs, baseline, false), outDir.resolve("unstructured.png"));
            written.add("unstructured.png");
        }
        if (!unitFractions.isEmpty()) {
            writeChart(chart(variants, runs, baseline, true), outDir.resolve("structured.png"));
            written.add("structured.png");
        }
        for (Table t : tables) {
            out.println(t.plain());
        }
        out.printf(Locale.ROOT, "wrote %s into %s%n", String.join(", ", written), outDir);
        out.flush();
        return 0;
    }

    private List<Variant> validate() {
        List<Variant> variants = new ArrayList<>();
        try {
            for (String name : methodNames) {
                variants.add(Variant.parse(name));
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (variants.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--methods needs at least one method");
        }
        if (sparsities.stream().anyMatch(s -> s == null || !(s > 0 && s < 1)) || unitFractions.stream().anyMatch(u -> u == null || !(u > 0 && u < 1))) {
            throw new ParameterException(spec.commandLine(), "--sparsities and --units must lie in (0, 1)");
        }
        if (sparsities.isEmpty() && unitFractions.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "nothing to measure: give --sparsities and/or --units");
        }
        if (rounds < 1 || unitRounds < 1 || solverIterations < 1) {
            throw new ParameterException(spec.commandLine(), "--rounds, --unit-rounds and --solver-iterations must be at least 1");
        }
        if (!(damping > 0) || Double.isInfinite(damping)) {
            throw new ParameterException(spec.commandLine(), "--damping must be a positive number, got " + damping);
        }
        if (fisherExamples < 1 || fisherExamples > FashionMnist.TRAIN_SIZE) {
            throw new ParameterException(spec.commandLine(), "--fisher-examples must be between 1 and " + FashionMnist.TRAIN_SIZE);
        }
        if (!scopeName.equals("global") && !scopeName.equals("per-layer")) {
            throw new ParameterException(spec.commandLine(), "--scope must be global or per-layer, got '" + scopeName + "'");
        }
        return variants;
    }

    private static PruningListener accumulate(double[] fisherSeconds, double[] predicted) {
        return new PruningListener() {
            @Override
            public void roundFinished(RoundReport report) {
                fisherSeconds[0] += report.fisherSeconds();
                predicted[0] += report.predictedLossIncrease();
            }
        };
    }

    private static Run evaluate(Variant v, boolean structured, double target, MultiLayerNetwork pruned, ImageDataSet test,
                                double predicted, double fisherSeconds, long started, PrintWriter err) {
        double seconds = (System.nanoTime() - started) / 1e9;
        ClassifierEvaluation e = ClassifierEvaluation.of(pruned, test);
        long nonzero = pruned.params().neq(0.0).castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
        err.printf(Locale.ROOT, "%-40s %s %4.0f%%: test accuracy %.4f, loss %.4f, %.1f s (Fisher %.1f s), load %s%n", v.label(),
                structured ? "units" : "weights", 100 * target, e.accuracy(), e.meanLoss(), seconds, fisherSeconds, Machine.loadAverage());
        err.flush();
        return new Run(v, structured, target, e.accuracy(), e.meanLoss(), pruned.numParams(), nonzero, predicted, fisherSeconds, seconds);
    }

    private Map<String, Object> settings() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("methods", methodNames);
        m.put("sparsities", sparsities);
        m.put("unitFractions", unitFractions);
        m.put("scope", scopeName);
        m.put("rounds", rounds);
        m.put("unitRounds", unitRounds);
        m.put("damping", damping + " x mean diagonal");
        m.put("solverIterations", solverIterations);
        m.put("fisherExamples", fisherExamples);
        m.put("seed", seed);
        return m;
    }

    private static Run find(List<Run> runs, Variant v, boolean structured, double target) {
        for (Run r : runs) {
            if (r.variant().equals(v) && r.structured() == structured && r.target() == target) {
                return r;
            }
        }
        return null;
    }

    private List<Table> tables(List<Variant> variants, List<Run> runs, ClassifierEvaluation baseline) {
        List<Table> tables = new ArrayList<>();
        String dense = String.format(Locale.ROOT, "dense %.4f", baseline.accuracy());
        if (!sparsities.isEmpty()) {
            List<String> headers = new ArrayList<>(List.of("method"));
            sparsities.forEach(s -> headers.add(String.format(Locale.ROOT, "%.0f%%", 100 * s)));
            headers.add("seconds (Fisher) at " + String.format(Locale.ROOT, "%.0f%%", 100 * sparsities.get(sparsities.size() - 1)));
            Table accuracy = new Table("Unstructured: test accuracy against the sparsity of the weight matrices (" + dense + "; "
                    + rounds + " rounds, " + scopeName + " ranking, no fine-tuning)", headers.toArray(String[]::new));
            Table loss = new Table("Unstructured: test loss (dense " + String.format(Locale.ROOT, "%.4f", baseline.meanLoss()) + ")",
                    headers.subList(0, headers.size() - 1).toArray(String[]::new));
            for (Variant v : variants) {
                List<Object> row = new ArrayList<>(List.of(v.label()));
                List<Object> lossRow = new ArrayList<>(List.of(v.label()));
                Run last = null;
                for (double s : sparsities) {
                    Run r = find(runs, v, false, s);
                    row.add(String.format(Locale.ROOT, "%.4f", r.accuracy()));
                    lossRow.add(String.format(Locale.ROOT, "%.4f", r.loss()));
                    last = r;
                }
                row.add(String.format(Locale.ROOT, "%.0f (%.0f)", last.seconds(), last.fisherSeconds()));
                accuracy.row(row.toArray());
                loss.row(lossRow.toArray());
            }
            tables.add(accuracy);
            tables.add(loss);
        }
        if (!unitFractions.isEmpty()) {
            List<String> headers = new ArrayList<>(List.of("method"));
            unitFractions.forEach(u -> headers.add(String.format(Locale.ROOT, "%.0f%% units", 100 * u)));
            headers.add("parameters at " + String.format(Locale.ROOT, "%.0f%%", 100 * unitFractions.get(unitFractions.size() - 1)));
            headers.add("seconds (Fisher) at " + String.format(Locale.ROOT, "%.0f%%", 100 * unitFractions.get(unitFractions.size() - 1)));
            Table structured = new Table("Structured: test accuracy against the fraction of hidden units removed from every hidden layer ("
                    + dense + "; " + unitRounds + " rounds, a smaller network, no fine-tuning)", headers.toArray(String[]::new));
            for (Variant v : variants) {
                if (v.compensation() == Compensation.CONSTRAINED) {
                    continue;
                }
                List<Object> row = new ArrayList<>(List.of(v.label()));
                Run last = null;
                for (double u : unitFractions) {
                    Run r = find(runs, v, true, u);
                    row.add(String.format(Locale.ROOT, "%.4f", r.accuracy()));
                    last = r;
                }
                row.add(Table.count(last.parameters()));
                row.add(String.format(Locale.ROOT, "%.0f (%.0f)", last.seconds(), last.fisherSeconds()));
                structured.row(row.toArray());
            }
            tables.add(structured);
        }
        Table goals = new Table("Goals of issue 7 (points = percentage points of test accuracy)", "goal", "method", "measured", "met");
        for (Map<String, Object> g : goals(runs, baseline)) {
            goals.row(g.get("goal"), g.get("method"), g.get("measured"), Boolean.TRUE.equals(g.get("met")) ? "yes" : "no");
        }
        if (!goals.isEmpty()) {
            tables.add(goals);
        }
        return tables;
    }

    /** The goals, checked for every OBS-symmetry variant that was run. */
    private List<Map<String, Object>> goals(List<Run> runs, ClassifierEvaluation baseline) {
        List<Map<String, Object>> out = new ArrayList<>();
        Run magnitude = runs.stream().filter(r -> r.variant().method() == PruningMethod.MAGNITUDE && !r.structured() && r.target() == 0.9)
                .findFirst().orElse(null);
        for (Run r : runs) {
            if (r.variant().method() != PruningMethod.OBS_SYMMETRY) {
                continue;
            }
            double drop = 100 * (baseline.accuracy() - r.accuracy());
            if (!r.structured() && r.target() == 0.9) {
                out.add(goal("90% unstructured: at most 3 points lost", r, String.format(Locale.ROOT, "%.1f points lost", drop), drop <= 3));
                if (magnitude != null) {
                    double gain = 100 * (r.accuracy() - magnitude.accuracy());
                    out.add(goal("90% unstructured: at least 10 points above magnitude", r,
                            String.format(Locale.ROOT, "%+.1f points", gain), gain >= 10));
                }
            }
            if (r.structured() && r.target() == 0.5) {
                out.add(goal("50% of hidden units removed: at most 3 points lost", r, String.format(Locale.ROOT, "%.1f points lost", drop),
                        drop <= 3));
            }
        }
        return out;
    }

    private static Map<String, Object> goal(String goal, Run r, String measured, boolean met) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("goal", goal);
        m.put("method", r.variant().label());
        m.put("measured", measured);
        m.put("met", met);
        return m;
    }

    private XYChart chart(List<Variant> variants, List<Run> runs, ClassifierEvaluation baseline, boolean structured) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(1000).height(650)
                .title(structured ? "Structured pruning without fine-tuning: hidden units removed from every layer"
                        : "Unstructured pruning without fine-tuning (" + rounds + " rounds, " + scopeName + ")")
                .xAxisTitle(structured ? "hidden units removed (%)" : "sparsity of the weight matrices (%)").yAxisTitle("test accuracy").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW);
        chart.getStyler().setMarkerSize(8);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        List<Double> targets = structured ? unitFractions : sparsities;
        List<Double> xs = targets.stream().map(t -> 100 * t).toList();
        XYSeries denseLine = chart.addSeries(String.format(Locale.ROOT, "dense (%.4f)", baseline.accuracy()), xs,
                targets.stream().map(t -> baseline.accuracy()).toList());
        denseLine.setMarker(SeriesMarkers.NONE);
        denseLine.setLineStyle(SeriesLines.DASH_DASH);
        for (Variant v : variants) {
            if (structured && v.compensation() == Compensation.CONSTRAINED) {
                continue;
            }
            List<Double> ys = new ArrayList<>();
            for (double t : targets) {
                ys.add(find(runs, v, structured, t).accuracy());
            }
            chart.addSeries(v.label(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    private static String markdown(String command, Map<String, Object> json, List<Table> tables) {
        StringBuilder md = new StringBuilder("`").append(command).append("`\n\n");
        md.append("Model ").append(json.get("model")).append(": dense test accuracy ").append(json.get("denseTestAccuracy"))
                .append(", ").append(json.get("denseParameters")).append(" parameters. Fisher: ").append(json.get("fisher")).append(".\n\n");
        md.append("Load average (1/5/15 min) at start ").append(json.get("loadAverageAtStart")).append(", at end ")
                .append(json.get("loadAverageAtEnd")).append("; ").append(json.get("started")).append(" to ").append(json.get("finished"))
                .append(".\n\n");
        for (Table t : tables) {
            md.append(t.markdown()).append('\n');
        }
        return md.toString();
    }

    private static void writeText(Path target, String text) throws IOException {
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static void writeChart(XYChart chart, Path png) throws IOException {
        Path tmp = AtomicFiles.createSiblingTemp(png);
        try {
            try (OutputStream o = Files.newOutputStream(tmp)) {
                BitmapEncoder.saveBitmap(chart, o, BitmapEncoder.BitmapFormat.PNG);
            }
            AtomicFiles.moveIntoPlace(tmp, png, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
