package org.symcurv.apps.bench;

import java.io.IOException;
import java.io.PrintWriter;
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
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.apps.common.ClassifierEvaluation;
import org.symcurv.apps.common.EvaluationReports;
import org.symcurv.apps.common.Json;
import org.symcurv.apps.common.ReportFiles;
import org.symcurv.apps.common.ModelFiles;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.pruning.Compensation;
import org.symcurv.pruning.FisherSources;
import org.symcurv.pruning.NeuronPruner;
import org.symcurv.pruning.ObsDamping;
import org.symcurv.pruning.PruningListener;
import org.symcurv.pruning.PruningMask;
import org.symcurv.pruning.PruningMethod;
import org.symcurv.pruning.PruningScope;
import org.symcurv.pruning.Recovery;
import org.symcurv.pruning.RoundReport;
import org.symcurv.pruning.UnstructuredPruner;
import org.symcurv.uncertainty.LaplaceFit;
import org.symcurv.uncertainty.LaplacePosterior;
import org.symcurv.uncertainty.LaplacePredictive;
import org.symcurv.uncertainty.LinearizedOutputs;
import org.symcurv.uncertainty.MarginalLikelihood;
import org.symcurv.uncertainty.OodScore;
import org.symcurv.uncertainty.PredictiveEvaluation;
import org.symcurv.uncertainty.PredictiveKind;
import org.symcurv.uncertainty.GlmLink;
import org.symcurv.uncertainty.PriorGrid;
import org.symcurv.uncertainty.PriorPrecision;
import org.symcurv.uncertainty.SyntheticShift;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench defaults}: every default of {@code laplace}/{@code evaluate} and {@code prune} against the
 * baselines the toolkit already has, on several models it was not tuned on — trained by plain DL4J code
 * ({@link PlainDl4jModels}) — and on any model files given. One process, fixed seeds; each model is judged against
 * the goals. Writes {@code defaults.json} and {@code defaults.md} into {@code --out-dir}.
 */
@Command(name = "defaults",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"The defaults of laplace/evaluate and prune against their baselines on models trained by plain DL4J code",
                "(and on --model files): one process, fixed seeds. Writes defaults.json and defaults.md into --out-dir."})
public final class DefaultsBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/bench-defaults",
            description = "Where defaults.json, defaults.md and the trained models (models/) go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    @Option(names = "--zoo", paramLabel = "NAME", split = ",", defaultValue = "relu-256-256-adam,tanh-512-nesterov,elu-128x3-rmsprop",
            description = "Plain-DL4J recipes, trained once and kept under OUT-DIR/models; none for only --model files (default: ${DEFAULT-VALUE}).")
    List<String> zoo;

    @Option(names = "--model", paramLabel = "NAME=FILE", description = "A further model zip (e.g. quickstart=reports/quickstart/model.zip); repeatable.")
    Map<String, Path> extraModels = new LinkedHashMap<>();

    @Option(names = "--parts", paramLabel = "PART", split = ",", defaultValue = "laplace,prune",
            description = "laplace, prune (default: ${DEFAULT-VALUE}).")
    List<String> parts;

    @Option(names = "--laplace", paramLabel = "V", split = ",", defaultValue = "symmetry-all,symmetry-last,diagonal-last",
            description = {"Posteriors STRUCTURE-SUBSET[:PRIOR]: symmetry|diagonal, all|last, prior marglik (default), marglik-layer or grid",
                    "(grid: laplace --prior grid's λ grid 10^-3 … 10^7, validated on the last --validation test images)",
                    "(default: ${DEFAULT-VALUE})."})
    List<String> laplaceVariants;

    @Option(names = "--laplace-examples", paramLabel = "N", defaultValue = "10000",
            description = "Training images of the posterior's Fisher (N in N·F stays 60,000) (default: ${DEFAULT-VALUE}).")
    int laplaceExamples;

    @Option(names = "--validation", paramLabel = "N", defaultValue = "2000",
            description = "Prior grid: validation NLL on the last N test images, which every row's evaluation then leaves out (default: ${DEFAULT-VALUE}).")
    int validation;

    @Option(names = "--ood-count", paramLabel = "N", defaultValue = "2000", description = "Images per built-in shift, as 'evaluate' (default: ${DEFAULT-VALUE}).")
    int oodCount;

    @Option(names = "--test-count", paramLabel = "N", defaultValue = "10000",
            description = "Laplace: evaluate on test images 0 … N−1, the OOD sets made from them (default: all, as 'evaluate').")
    int testCount;

    @Option(names = "--unstructured", paramLabel = "V", split = ",", defaultValue = "obs,obs-diagonal,magnitude",
            description = {"Unstructured variants METHOD[:rounds=K][:damping=L][:fisher=N][:iterations=N][:scaled=false][:compensation=C];",
                    "the first is recovered (default: ${DEFAULT-VALUE})."})
    List<String> unstructuredVariants;

    @Option(names = "--structured", paramLabel = "V", split = ",", defaultValue = "obs-diagonal,obs,magnitude",
            description = "Structured variants, as --unstructured; the first is recovered (default: ${DEFAULT-VALUE}).")
    List<String> structuredVariants;

    @Option(names = "--sparsity", paramLabel = "S", defaultValue = "0.9", description = "Unstructured target (default: ${DEFAULT-VALUE}).")
    double sparsity;

    @Option(names = "--units", paramLabel = "U", defaultValue = "0.5", description = "Structured: fraction of units removed (default: ${DEFAULT-VALUE}).")
    double units;

    @Option(names = "--recover-steps", paramLabel = "N", defaultValue = "469",
            description = "Recovery steps (batch 128; 469 = one epoch) for the first variant of each list; 0: none (default: ${DEFAULT-VALUE}).")
    int recoverSteps;

    @Option(names = "--recover-all", description = "Recover every pruning variant, not only the first of each list.")
    boolean recoverAll;

    /** A pruning configuration: the CLI's defaults unless overridden. */
    record PruneVariant(String text, PruningMethod method, int rounds, double damping, int fisherExamples, int iterations, boolean scaled,
                        Compensation compensation) {
        static PruneVariant parse(String text) {
            String[] parts = text.trim().split(":");
            PruningMethod method = PruningMethod.fromCliName(parts[0]);
            int rounds = 10;
            double damping = 1e-2;
            int fisher = 2000;
            int iterations = 20;
            boolean scaled = true;
            Compensation compensation = Compensation.CONSTRAINED;
            for (int i = 1; i < parts.length; i++) {
                String[] kv = parts[i].split("=", 2);
                if (kv.length != 2) {
                    throw new IllegalArgumentException("'" + parts[i] + "' in '" + text + "' is not KEY=VALUE");
                }
                switch (kv[0]) {
                    case "rounds" -> rounds = Integer.parseInt(kv[1]);
                    case "damping" -> damping = Double.parseDouble(kv[1]);
                    case "fisher" -> fisher = Integer.parseInt(kv[1]);
                    case "iterations" -> iterations = Integer.parseInt(kv[1]);
                    case "scaled" -> scaled = Boolean.parseBoolean(kv[1]);
                    case "compensation" -> compensation = Compensation.valueOf(kv[1].toUpperCase(Locale.ROOT));
                    default -> throw new IllegalArgumentException("unknown key '" + kv[0] + "' in '" + text
                            + "'; keys are rounds, damping, fisher, iterations, scaled, compensation");
                }
            }
            return new PruneVariant(text.trim(), method, rounds, damping, fisher, iterations, scaled, compensation);
        }
    }

    /** A Laplace configuration. */
    record LaplaceVariant(String text, LaplaceFit.Structure structure, LaplaceFit.Subset subset, String prior) {
        static LaplaceVariant parse(String text) {
            String[] parts = text.trim().split(":");
            String[] ss = parts[0].split("-", 2);
            if (ss.length != 2 || !List.of("all", "last").contains(ss[1])) {
                throw new IllegalArgumentException("'" + text + "' is not STRUCTURE-SUBSET such as symmetry-all or diagonal-last");
            }
            String prior = parts.length > 1 ? parts[1] : "marglik";
            if (!List.of("marglik", "marglik-layer", "grid").contains(prior)) {
                throw new IllegalArgumentException("prior '" + prior + "' in '" + text + "': choose marglik, marglik-layer or grid");
            }
            return new LaplaceVariant(text.trim(), LaplaceFit.Structure.parse(ss[0]),
                    ss[1].equals("all") ? LaplaceFit.Subset.ALL : LaplaceFit.Subset.LAST_LAYER, prior);
        }
    }

    @Override
    public Integer call() throws IOException {
        List<PruneVariant> unstructured = new ArrayList<>();
        List<PruneVariant> structured = new ArrayList<>();
        List<LaplaceVariant> laplace = new ArrayList<>();
        try {
            unstructuredVariants.forEach(v -> unstructured.add(PruneVariant.parse(v)));
            structuredVariants.forEach(v -> structured.add(PruneVariant.parse(v)));
            laplaceVariants.forEach(v -> laplace.add(LaplaceVariant.parse(v)));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        if (validation < 1 || validation >= 10000) {
            throw new ParameterException(spec.commandLine(), "--validation must be between 1 and 9,999 (of the 10,000 test images), got " + validation);
        }
        for (String part : parts) {
            if (!List.of("laplace", "prune").contains(part)) {
                throw new ParameterException(spec.commandLine(), "--parts takes laplace and prune, got '" + part + "'");
            }
        }
        zoo = zoo.stream().map(String::trim).filter(n -> !n.isEmpty() && !n.equals("none")).toList();
        for (String name : zoo) {
            if (!PlainDl4jModels.RECIPES.containsKey(name)) {
                throw new ParameterException(spec.commandLine(), "unknown recipe '" + name + "'; recipes: " + PlainDl4jModels.RECIPES.keySet());
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        long started = System.nanoTime();
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet train = FashionMnist.loadTrain(dir);
        ImageDataSet test = FashionMnist.loadTest(dir);
        Path modelsDir = outDir.resolve("models");
        Files.createDirectories(modelsDir);
        String command = "symcurv bench defaults " + String.join(" ", spec.commandLine().getParseResult().originalArgs());
        Map<String, Object> json = new LinkedHashMap<>();
        json.put("benchmark", "defaults");
        json.put("command", command);
        json.put("started", Instant.now().toString());
        json.put("machine", Machine.describe());
        json.put("loadAverageAtStart", Machine.loadAverage());

        Map<String, MultiLayerNetwork> models = new LinkedHashMap<>();
        Map<String, String> descriptions = new LinkedHashMap<>();
        for (String name : zoo) {
            PlainDl4jModels.Recipe recipe = PlainDl4jModels.RECIPES.get(name);
            Path file = modelsDir.resolve(name + ".zip");
            MultiLayerNetwork net;
            if (Files.isRegularFile(file)) {
                net = ModelFiles.loadClassifier(file);
                out.printf(Locale.ROOT, "model %s: read %s%n", name, file);
            } else {
                long t0 = System.nanoTime();
                net = PlainDl4jModels.train(recipe, train);
                Path tmp = AtomicFiles.createSiblingTemp(file);
                try {
                    ModelSerializer.writeModel(net, tmp.toFile(), false);
                    AtomicFiles.moveIntoPlace(tmp, file, true);
                } finally {
                    Files.deleteIfExists(tmp);
                }
                out.printf(Locale.ROOT, "model %s: trained by plain DL4J (%s) in %.0f s, written to %s%n", name, recipe.describe(),
                        (System.nanoTime() - t0) / 1e9, file);
            }
            models.put(name, net);
            descriptions.put(name, recipe.describe() + " (plain DL4J)");
        }
        for (Map.Entry<String, Path> e : extraModels.entrySet()) {
            MultiLayerNetwork net = ModelFiles.loadClassifier(e.getValue());
            ModelFiles.requireFits(net, e.getValue(), train);
            models.put(e.getKey(), net);
            descriptions.put(e.getKey(), e.getValue().toString());
        }
        out.flush();

        List<Map<String, Object>> laplaceRows = new ArrayList<>();
        List<Map<String, Object>> pruneRows = new ArrayList<>();
        List<Table> tables = new ArrayList<>();
        json.put("models", descriptions);
        json.put("laplace", laplaceRows);
        json.put("prune", pruneRows);
        Map<String, ClassifierEvaluation> dense = new LinkedHashMap<>();
        for (Map.Entry<String, MultiLayerNetwork> m : models.entrySet()) {
            ClassifierEvaluation e = ClassifierEvaluation.of(m.getValue(), test);
            dense.put(m.getKey(), e);
            out.printf(Locale.ROOT, "%s: %s; %,d parameters; test accuracy %.4f, loss %.4f%n", m.getKey(), descriptions.get(m.getKey()),
                    m.getValue().numParams(), e.accuracy(), e.meanLoss());
        }
        // every model's Laplace part first, then every model's pruning; the outputs are rewritten after each table
        for (String part : List.of("laplace", "prune")) {
            if (!parts.contains(part)) {
                continue;
            }
            for (Map.Entry<String, MultiLayerNetwork> m : models.entrySet()) {
                out.printf(Locale.ROOT, "%n=== %s: %s, load %s ===%n", m.getKey(), part, Machine.loadAverage());
                out.flush();
                Table t = part.equals("laplace") ? laplace(m.getKey(), m.getValue(), train, test, laplace, laplaceRows, out)
                        : prune(m.getKey(), m.getValue(), dense.get(m.getKey()), train, test, unstructured, structured, pruneRows, out);
                tables.add(t);
                out.println(t.plain());
                out.flush();
                json.put("loadAverageAtEnd", Machine.loadAverage());
                json.put("finished", Instant.now().toString());
                json.put("minutes", (System.nanoTime() - started) / 6e10);
                writeOutputs(command, json, tables);
            }
        }
        out.printf(Locale.ROOT, "%nwrote defaults.json and defaults.md into %s; %.1f min, load %s%n", outDir, (System.nanoTime() - started) / 6e10,
                Machine.loadAverage());
        out.flush();
        return 0;
    }

    private void writeOutputs(String command, Map<String, Object> json, List<Table> tables) throws IOException {
        ReportFiles.writeText(outDir.resolve("defaults.json"), Json.write(json), true);
        StringBuilder md = new StringBuilder("```\n" + command + "\n```\n\n");
        tables.forEach(t -> md.append(t.markdown()).append('\n'));
        ReportFiles.writeText(outDir.resolve("defaults.md"), md.toString(), true);
    }

    private static final List<OodScore> SCORES = List.of(OodScore.ENTROPY, OodScore.MAX_PROBABILITY, OodScore.VARIANCE);

    /** MAP and each posterior's probit predictive with every OOD score, as {@code laplace} + {@code evaluate} compute them. */
    private Table laplace(String model, MultiLayerNetwork net, ImageDataSet train, ImageDataSet test, List<LaplaceVariant> variants,
                          List<Map<String, Object>> rows, PrintWriter out) {
        long seed = 42;
        boolean anyGrid = variants.stream().anyMatch(v -> v.prior().equals("grid"));
        ImageDataSet valid = anyGrid ? test.subset(test.size() - validation, test.size()) : null;
        test = test.subset(0, Math.min(testCount, anyGrid ? test.size() - validation : test.size()));
        Map<String, ImageDataSet> ood = EvaluationReports.oodSets(test, List.of(SyntheticShift.values()), List.of(), oodCount, seed);
        ImageDataSet fisherData = laplaceExamples >= train.size() ? train : train.sample(laplaceExamples, seed);
        double logLikelihood = LaplaceFit.logLikelihood(net, train.features(), train.labels());
        Table table = new Table(model + ": Laplace (probit predictive; Fisher on " + fisherData.size() + " images, N = " + train.size()
                + "; test images 0-" + (test.size() - 1) + (anyGrid ? "; grid λ validated on test images " + (10000 - validation) + "-9999" : "")
                + "; AUROC avg over the 5 shifts of " + oodCount + " images)",
                "posterior", "prior λ", "accuracy", "NLL", "ECE", "AUROC entropy", "AUROC max-prob", "AUROC variance", "invert / noise (variance)",
                "mean tr V test / OOD", "fit s");
        Map<OodScore, List<PredictiveEvaluation.Row>> map = PredictiveEvaluation.evaluate("MAP", LaplacePredictive.map(net), List.of(PredictiveKind.MAP),
                test, ood, SCORES, 1000, seed);
        addLaplaceRow(table, rows, model, "MAP", "—", map, Double.NaN, Double.NaN, 0);
        Map<String, Curvature> fishers = new LinkedHashMap<>();
        for (LaplaceVariant v : variants) {
            long t0 = System.nanoTime();
            SymmetrySpec posteriorSpec = LaplaceFit.posteriorSpec(net, v.structure(), v.subset(), null);
            String key = v.structure() + "-" + v.subset();
            Curvature fisher = fishers.computeIfAbsent(key, k -> v.structure() == LaplaceFit.Structure.DIAGONAL
                    ? FisherSource.monteCarlo(fisherData.features(), seed).diagonal(net, posteriorSpec)
                    : FisherSource.monteCarlo(fisherData.features(), seed).symmetric(net, posteriorSpec));
            INDArray mean = LaplaceFit.mean(net, posteriorSpec);
            PriorPrecision prior = switch (v.prior()) {
                case "marglik" -> MarginalLikelihood.maximizeScalar(fisher, train.size(), mean, logLikelihood).prior();
                case "marglik-layer" -> MarginalLikelihood.maximizePerLayer(fisher, train.size(), mean, logLikelihood, 100, 1e-3).prior();
                case "grid" -> PriorGrid.byValidationNll(LaplacePredictive.of(net, LaplacePosterior.of(fisher, train.size(),
                                PriorPrecision.scalar(1.0, posteriorSpec), mean)), valid.features(), valid.labels(),
                        PriorGrid.logSpaced(-3, 7, 2), GlmLink.PROBIT, 1000, seed).best();
                default -> throw new AssertionError(v.prior());
            };
            LaplacePosterior posterior = LaplacePosterior.of(fisher, train.size(), prior, mean);
            double fitSeconds = (System.nanoTime() - t0) / 1e9;
            LaplacePredictive predictive = LaplacePredictive.of(net, posterior);
            Map<OodScore, List<PredictiveEvaluation.Row>> r = PredictiveEvaluation.evaluate(v.text(), predictive, List.of(PredictiveKind.GLM_PROBIT),
                    test, ood, SCORES, 1000, seed);
            double[] traces = meanTraces(predictive, test, ood);
            addLaplaceRow(table, rows, model, v.text(), prior.toString(), r, traces[0], traces[1], fitSeconds);
            out.printf(Locale.ROOT, "  %s: %s, fit %.1f s, load %s%n", v.text(), prior, fitSeconds, Machine.loadAverage());
            out.flush();
        }
        return table;
    }

    /** Mean {@code tr V(x)} of the linearised logits on the first 500 test images and on the first 500 of every OOD set. */
    private static double[] meanTraces(LaplacePredictive predictive, ImageDataSet test, Map<String, ImageDataSet> ood) {
        double in = meanTrace(predictive.linearize(test.subset(0, Math.min(500, test.size())).features()));
        double sum = 0;
        for (ImageDataSet o : ood.values()) {
            sum += meanTrace(predictive.linearize(o.subset(0, Math.min(500, o.size())).features()));
        }
        return new double[] {in, sum / ood.size()};
    }

    private static double meanTrace(LinearizedOutputs outputs) {
        double total = 0;
        for (double[] v : outputs.variances()) {
            for (double x : v) {
                total += x;
            }
        }
        return total / outputs.size();
    }

    private static void addLaplaceRow(Table table, List<Map<String, Object>> rows, String model, String name, String prior,
                                      Map<OodScore, List<PredictiveEvaluation.Row>> byScore, double traceIn, double traceOod, double seconds) {
        PredictiveEvaluation.Row entropy = byScore.get(OodScore.ENTROPY).get(0);
        PredictiveEvaluation.Row maxProb = byScore.get(OodScore.MAX_PROBABILITY).get(0);
        PredictiveEvaluation.Row variance = byScore.get(OodScore.VARIANCE).get(0);
        table.row(name, prior, f4(entropy.metrics().accuracy()), f4(entropy.metrics().nll()), f4(entropy.metrics().ece()), f4(entropy.meanAuroc()),
                f4(maxProb.meanAuroc()), f4(variance.meanAuroc()), f4(variance.auroc().get("invert")) + " / " + f4(variance.auroc().get("noise")),
                Double.isNaN(traceIn) ? "—" : Table.sig(traceIn) + " / " + Table.sig(traceOod), String.format(Locale.ROOT, "%.1f", seconds));
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("model", model);
        j.put("posterior", name);
        j.put("prior", prior);
        j.put("accuracy", entropy.metrics().accuracy());
        j.put("nll", entropy.metrics().nll());
        j.put("ece", entropy.metrics().ece());
        Map<String, Object> auroc = new LinkedHashMap<>();
        for (Map.Entry<OodScore, List<PredictiveEvaluation.Row>> e : byScore.entrySet()) {
            Map<String, Object> perShift = new LinkedHashMap<>(e.getValue().get(0).auroc());
            perShift.put("mean", e.getValue().get(0).meanAuroc());
            auroc.put(e.getKey().cliName(), perShift);
        }
        j.put("auroc", auroc);
        j.put("meanTraceTest", Double.isFinite(traceIn) ? traceIn : null);
        j.put("meanTraceOod", Double.isFinite(traceOod) ? traceOod : null);
        j.put("fitSeconds", seconds);
        rows.add(j);
    }

    /** Each pruning variant from the same dense model, with recovery for the first of each list. */
    private Table prune(String model, MultiLayerNetwork net, ClassifierEvaluation dense, ImageDataSet train, ImageDataSet test,
                        List<PruneVariant> unstructured, List<PruneVariant> structured, List<Map<String, Object>> rows, PrintWriter out) {
        long seed = 7;
        Table table = new Table(model + String.format(Locale.ROOT, ": pruning (dense test accuracy %.4f, loss %.4f); recovery %d Adam steps "
                        + "(η 1e-4, batch 128)", dense.accuracy(), dense.meanLoss(), recoverSteps),
                "pruning", "accuracy", "lost pts", "test loss", "Δloss held-out: measured / predicted", "recovered accuracy", "lost pts",
                "seconds (recovery)");
        for (int kind = 0; kind < 2; kind++) {
            boolean isStructured = kind == 1;
            List<PruneVariant> variants = isStructured ? structured : unstructured;
            for (int i = 0; i < variants.size(); i++) {
                PruneVariant v = variants.get(i);
                ImageDataSet drawn = train.sample(v.fisherExamples() + 2000, seed);
                ImageDataSet heldOut = drawn.subset(v.fisherExamples(), v.fisherExamples() + 2000);
                FisherSource fisher = FisherSources.monteCarlo(drawn.subset(0, v.fisherExamples()).features(), seed);
                double[] predicted = {0};
                PruningListener listener = new PruningListener() {
                    @Override
                    public void roundFinished(RoundReport report) {
                        predicted[0] += report.predictedLossIncrease();
                    }
                };
                long t0 = System.nanoTime();
                MultiLayerNetwork pruned;
                PruningMask mask = null;
                if (isStructured) {
                    pruned = NeuronPruner.of(v.method(), units).withRounds(v.rounds()).withScope(PruningScope.PER_LAYER)
                            .withDamping(ObsDamping.meanDiagonal(v.damping())).withUnitScaledFisher(v.scaled()).prune(net, fisher, listener).network();
                } else {
                    UnstructuredPruner.Result r = UnstructuredPruner.of(v.method(), sparsity).withRounds(v.rounds()).withScope(PruningScope.GLOBAL)
                            .withDamping(ObsDamping.meanDiagonal(v.damping())).withUnitScaledFisher(v.scaled())
                            .withCompensation(v.compensation(), v.iterations()).prune(net, fisher, listener);
                    pruned = r.network();
                    mask = r.mask();
                }
                double seconds = (System.nanoTime() - t0) / 1e9;
                ClassifierEvaluation after = ClassifierEvaluation.of(pruned, test);
                double measured = ClassifierEvaluation.of(pruned, heldOut).meanLoss() - ClassifierEvaluation.of(net, heldOut).meanLoss();
                ClassifierEvaluation recovered = null;
                double recoverySeconds = 0;
                if (recoverSteps > 0 && (i == 0 || recoverAll)) {
                    long r0 = System.nanoTime();
                    MultiLayerNetwork tuned = Recovery.fineTune(pruned, mask, train, recoverSteps, Recovery.DEFAULT_BATCH_SIZE,
                            Recovery.DEFAULT_LEARNING_RATE, seed);
                    recoverySeconds = (System.nanoTime() - r0) / 1e9;
                    recovered = ClassifierEvaluation.of(tuned, test);
                }
                String label = (isStructured ? String.format(Locale.ROOT, "%.0f%% units, ", 100 * units)
                        : String.format(Locale.ROOT, "%.0f%% weights, ", 100 * sparsity)) + v.text();
                table.row(label, f4(after.accuracy()), points(dense.accuracy() - after.accuracy()), f4(after.meanLoss()),
                        String.format(Locale.ROOT, "%+.4f / %s", measured, Double.isFinite(predicted[0]) ? String.format(Locale.ROOT, "%+.4f", predicted[0]) : "—"),
                        recovered == null ? "—" : f4(recovered.accuracy()), recovered == null ? "—" : points(dense.accuracy() - recovered.accuracy()),
                        String.format(Locale.ROOT, "%.0f%s", seconds, recovered == null ? "" : String.format(Locale.ROOT, " (%.0f)", recoverySeconds)));
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("model", model);
                j.put("kind", isStructured ? "structured" : "unstructured");
                j.put("target", isStructured ? units : sparsity);
                j.put("variant", v.text());
                j.put("denseAccuracy", dense.accuracy());
                j.put("accuracy", after.accuracy());
                j.put("testLoss", after.meanLoss());
                j.put("measuredHeldOutLossChange", measured);
                j.put("predictedLossChange", Double.isFinite(predicted[0]) ? predicted[0] : null);
                j.put("recoveredAccuracy", recovered == null ? null : recovered.accuracy());
                j.put("recoveredTestLoss", recovered == null ? null : recovered.meanLoss());
                j.put("seconds", seconds);
                j.put("recoverySeconds", recoverySeconds);
                j.put("load", Machine.loadAverage());
                rows.add(j);
                out.printf(Locale.ROOT, "  %s: %.4f (%s lost)%s, %.0f s, load %s%n", label, after.accuracy(), points(dense.accuracy() - after.accuracy()),
                        recovered == null ? "" : String.format(Locale.ROOT, ", recovered %.4f", recovered.accuracy()), seconds, Machine.loadAverage());
                out.flush();
            }
        }
        return table;
    }

    private static String f4(double x) {
        return Double.isFinite(x) ? String.format(Locale.ROOT, "%.4f", x) : "—";
    }

    private static String points(double fraction) {
        return String.format(Locale.ROOT, "%.1f", 100 * fraction);
    }
}
