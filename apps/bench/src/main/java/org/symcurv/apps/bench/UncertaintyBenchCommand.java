package org.symcurv.apps.bench;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.symcurv.apps.common.EvaluationReports;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.apps.common.ModelFiles;
import org.symcurv.apps.common.ReportFiles;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.data.MinibatchIterator;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.uncertainty.GlmLink;
import org.symcurv.uncertainty.LaplaceFit;
import org.symcurv.uncertainty.LaplacePosterior;
import org.symcurv.uncertainty.LaplacePredictive;
import org.symcurv.uncertainty.MarginalLikelihood;
import org.symcurv.uncertainty.OodScore;
import org.symcurv.uncertainty.PredictiveEvaluation;
import org.symcurv.uncertainty.PredictiveKind;
import org.symcurv.uncertainty.PriorGrid;
import org.symcurv.uncertainty.PriorPrecision;
import org.symcurv.uncertainty.SyntheticShift;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench uncertainty}: MAP against Laplace posteriors of one over-confident Fashion-MNIST MLP, all in one
 * process on the same data and seeds: the diagonal and the symmetry-averaged Fisher, over the last layer and over all
 * weights, each with the prior precision by marginal likelihood (scalar; per layer for all weights) and by validation
 * NLL on a grid, each with the GLM predictive (probit, pairwise probit, Monte Carlo link) and Monte Carlo over sampled
 * networks. Test images 0 … V−1 are the validation set of the grid; the others are the test set; the OOD sets are the
 * five built-in shifts of a seeded subset of the test set. Prints the tables and a goal check, writes JSON and a
 * reliability diagram under {@code --out-dir}.
 */
@Command(name = "uncertainty",
        mixinStandardHelpOptions = true,
        description = {"MAP vs diagonal and symmetry Laplace (last layer, all weights) on an over-confident Fashion-MNIST MLP:",
                "accuracy, NLL, Brier, ECE, OOD AUROC, fit time, posterior memory. Writes JSON + PNG under --out-dir."})
public final class UncertaintyBenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", defaultValue = "reports/bench-uncertainty/map.zip",
            description = "The MAP model; trained here with the recipe below and saved there if it does not exist (default: ${DEFAULT-VALUE}).")
    Path model;

    @Option(names = "--epochs", paramLabel = "E", defaultValue = "25",
            description = "Recipe when --model is missing: 784-256-256-10 ReLU (He init), Adam at a constant 1e-3, batch 128, seed --seed, "
                    + "E epochs over the --train-images training images (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--train-images", paramLabel = "N", defaultValue = "10000",
            description = "The training set D of the MAP and of the posterior: N training images drawn at random (seeded by --seed; "
                    + "60000 = all); the posterior's N·F uses this N (default: ${DEFAULT-VALUE}).")
    int trainImages;

    @Option(names = "--data", paramLabel = "DIR", description = "Fashion-MNIST directory (default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path dataDir;

    @Option(names = "--examples", paramLabel = "N", defaultValue = "10000",
            description = "Images of D the Fisher is estimated on (seeded subset when fewer than D; N·F uses all of D) (default: ${DEFAULT-VALUE}).")
    int examples;

    @Option(names = "--validation", paramLabel = "V", defaultValue = "2000",
            description = "Test images 0 … V−1 validate the prior grid; the rest are the test set (default: ${DEFAULT-VALUE}).")
    int validation;

    @Option(names = "--grid", paramLabel = "FROM:TO:PER_DECADE", defaultValue = "-2:8:1",
            description = "Prior grid λ = 10^FROM … 10^TO (default: ${DEFAULT-VALUE}).")
    String grid;

    @Option(names = "--ood-count", paramLabel = "N", defaultValue = "1000", description = "Images per OOD set (default: ${DEFAULT-VALUE}).")
    int oodCount;

    @Option(names = "--samples", paramLabel = "S", defaultValue = "1000", description = "Logit samples per image, glm-mc (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--network-samples", paramLabel = "S", defaultValue = "10", description = "Sampled networks, nn-mc (default: ${DEFAULT-VALUE}).")
    int networkSamples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed of everything random (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--only", paramLabel = "NAME", split = ",",
            description = "Run only these posteriors: diagonal-last, symmetry-last, diagonal-all, symmetry-all (default: all four).")
    List<String> only;

    @Option(names = "--priors", paramLabel = "METHOD", split = ",", defaultValue = "marglik,grid",
            description = "Prior-precision methods fitted for each posterior: marglik (scalar), marglik-layer (one λ per layer, "
                    + "all-weights posteriors only; slow: tens of operator inverses), grid (validation NLL) (default: ${DEFAULT-VALUE}).")
    List<String> priors;

    @Option(names = "--out-dir", paramLabel = "DIR", defaultValue = "reports/bench-uncertainty", description = "Where JSON and PNG go (default: ${DEFAULT-VALUE}).")
    Path outDir;

    /** What one fitted posterior cost and chose. */
    record Fit(String name, LaplaceFit.Structure structure, LaplaceFit.Subset subset, String priorMethod, PriorPrecision prior,
               double logEvidence, double fisherSeconds, double priorSeconds, long storedFloats, long parameters) {
    }

    @Override
    public Integer call() throws IOException {
        if (validation < 1 || oodCount < 1 || examples < 1 || samples < 1 || networkSamples < 1) {
            throw new ParameterException(spec.commandLine(), "--validation, --ood-count, --examples, --samples and --network-samples must be positive");
        }
        for (String method : priors) {
            if (!List.of("marglik", "marglik-layer", "grid").contains(method)) {
                throw new ParameterException(spec.commandLine(), "--priors takes marglik, marglik-layer and grid, got '" + method + "'");
            }
        }
        PrintWriter out = spec.commandLine().getOut();
        long started = System.nanoTime();
        Files.createDirectories(outDir);
        Path dir = FashionMnist.locate(dataDir);
        ImageDataSet fullTrain = FashionMnist.loadTrain(dir);
        if (trainImages < 1 || trainImages > fullTrain.size()) {
            throw new ParameterException(spec.commandLine(), "--train-images must be between 1 and " + fullTrain.size());
        }
        ImageDataSet train = trainImages == fullTrain.size() ? fullTrain : fullTrain.sample(trainImages, seed);
        ImageDataSet allTest = FashionMnist.loadTest(dir);
        if (validation >= allTest.size()) {
            throw new ParameterException(spec.commandLine(), "--validation must leave test images to test on");
        }
        MultiLayerNetwork network = mapModel(train, allTest, out);
        ImageDataSet valid = allTest.subset(0, validation);
        ImageDataSet test = allTest.subset(validation, allTest.size());
        Map<String, ImageDataSet> ood = EvaluationReports.oodSets(test, List.of(SyntheticShift.values()), List.of(), oodCount, seed);
        ImageDataSet fisherData = examples >= train.size() ? train : train.sample(examples, seed);
        out.printf(Locale.ROOT, "machine: %d cores, load %s; test images %d … %d (%,d), validation 0 … %d, OOD sets %s of %,d images, entropy score%n",
                Runtime.getRuntime().availableProcessors(), loadAverage(), validation, allTest.size() - 1, test.size(), validation - 1,
                ood.keySet(), oodCount);
        out.printf(Locale.ROOT, "D: %,d training images (seed %d); Fisher: 1 Monte Carlo label per image on %,d of them; N = %,d%n",
                train.size(), seed, fisherData.size(), train.size());
        out.flush();

        List<PredictiveEvaluation.Row> rows = new ArrayList<>(PredictiveEvaluation.evaluate("MAP", LaplacePredictive.map(network),
                List.of(PredictiveKind.MAP), test, ood, OodScore.ENTROPY, samples, seed));
        out.print(PredictiveEvaluation.table(rows));
        out.flush();
        List<Fit> fits = new ArrayList<>();
        Map<String, String> rowToFit = new LinkedHashMap<>();
        double logLikelihood = LaplaceFit.logLikelihood(network, train.features(), train.labels());
        for (LaplaceFit.Subset subset : List.of(LaplaceFit.Subset.LAST_LAYER, LaplaceFit.Subset.ALL)) {
            for (LaplaceFit.Structure structure : List.of(LaplaceFit.Structure.DIAGONAL, LaplaceFit.Structure.SYMMETRY)) {
                String name = structure.cliName() + "-" + (subset == LaplaceFit.Subset.ALL ? "all" : "last");
                if (only != null && !only.contains(name)) {
                    continue;
                }
                SymmetrySpec posteriorSpec = LaplaceFit.posteriorSpec(network, structure, subset, null);
                long t0 = System.nanoTime();
                FisherSource source = FisherSource.monteCarlo(fisherData.features(), seed);
                Curvature fisher = structure == LaplaceFit.Structure.DIAGONAL ? source.diagonal(network, posteriorSpec)
                        : source.symmetric(network, posteriorSpec);
                double fisherSeconds = (System.nanoTime() - t0) / 1e9;
                INDArray mean = LaplaceFit.mean(network, posteriorSpec);
                List<String> priorMethods = new ArrayList<>();
                for (String method : priors) {
                    if (!method.equals("marglik-layer") || subset == LaplaceFit.Subset.ALL) {
                        priorMethods.add(method);
                    }
                }
                for (String method : priorMethods) {
                    long p0 = System.nanoTime();
                    PriorPrecision prior;
                    switch (method) {
                        case "marglik" -> prior = MarginalLikelihood.maximizeScalar(fisher, train.size(), mean, logLikelihood).prior();
                        case "marglik-layer" -> prior = MarginalLikelihood.maximizePerLayer(fisher, train.size(), mean, logLikelihood, 100, 1e-3).prior();
                        default -> {
                            LaplacePosterior start = LaplacePosterior.of(fisher, train.size(), PriorPrecision.scalar(1, posteriorSpec), mean);
                            prior = PriorGrid.byValidationNll(LaplacePredictive.of(network, start), valid.features(), valid.labels(), gridValues(),
                                    GlmLink.PROBIT, samples, seed).best();
                        }
                    }
                    double priorSeconds = (System.nanoTime() - p0) / 1e9;
                    LaplacePosterior posterior = LaplacePosterior.of(fisher, train.size(), prior, mean);
                    Fit fit = new Fit(name, structure, subset, method, prior, posterior.logMarginalLikelihood(logLikelihood), fisherSeconds,
                            priorSeconds, posterior.storedFloats(), posterior.parameterCount());
                    fits.add(fit);
                    out.printf(Locale.ROOT, "%n%s, prior %s: %s, log evidence %.1f; Fisher %.1f s, prior %.1f s; %,d stored numbers for %,d parameters%n",
                            name, method, prior, fit.logEvidence(), fisherSeconds, priorSeconds, fit.storedFloats(), fit.parameters());
                    out.flush();
                    LaplacePredictive predictive = LaplacePredictive.of(network, posterior);
                    String label = name + " " + method;
                    List<PredictiveEvaluation.Row> these = new ArrayList<>(PredictiveEvaluation.evaluate(label, predictive,
                            List.of(PredictiveKind.GLM_PROBIT, PredictiveKind.GLM_PAIRWISE_PROBIT, PredictiveKind.GLM_MONTE_CARLO),
                            test, ood, OodScore.ENTROPY, samples, seed));
                    these.addAll(PredictiveEvaluation.evaluate(label, predictive, List.of(PredictiveKind.SAMPLED_NETWORKS), test, ood,
                            OodScore.ENTROPY, networkSamples, seed));
                    out.print(PredictiveEvaluation.table(these));
                    out.flush();
                    rows.addAll(these);
                    these.forEach(r -> rowToFit.put(r.method(), name + " " + method));
                }
            }
        }
        out.printf(Locale.ROOT, "%n== all results (test images %d … %d; AUROC by predictive entropy) ==%n", validation, allTest.size() - 1);
        out.print(PredictiveEvaluation.table(rows));
        out.println();
        out.print(goalCheck(rows));
        writeOutputs(rows, fits);
        out.printf(Locale.ROOT, "%nJSON and reliability diagram in %s; total %.1f min, load %s%n", outDir, (System.nanoTime() - started) / 6e10, loadAverage());
        out.flush();
        return 0;
    }

    /**
     * Per prior method and subset, the symmetry posterior's glm-probit row against the MAP and the diagonal posterior's
     * glm-probit row: ECE ratio (goal ≤ ½), accuracy change (goal |Δ| ≤ 0.5 points), NLL (goal below both), mean AUROC
     * gain (goal ≥ 5 points).
     */
    static String goalCheck(List<PredictiveEvaluation.Row> rows) {
        PredictiveEvaluation.Row map = rows.get(0);
        StringBuilder sb = new StringBuilder("goal check (symmetry glm-probit vs MAP and vs diagonal glm-probit, same subset and prior method):\n");
        sb.append(String.format(Locale.ROOT, "%-28s %9s %9s %10s %10s %10s %s%n", "posterior", "ECE/MAP", "Δacc pts", "NLL", "NLL diag", "ΔAUROC pts", "goals met"));
        for (PredictiveEvaluation.Row r : rows) {
            if (!r.method().startsWith("symmetry") || r.kind() != PredictiveKind.GLM_PROBIT) {
                continue;
            }
            String diagonalName = r.method().replaceFirst("^symmetry", "diagonal");
            PredictiveEvaluation.Row diagonal = rows.stream().filter(x -> x.method().equals(diagonalName)).findFirst().orElse(null);
            double eceRatio = r.metrics().ece() / map.metrics().ece();
            double deltaAccuracy = 100 * (r.metrics().accuracy() - map.metrics().accuracy());
            double deltaAuroc = 100 * (r.meanAuroc() - map.meanAuroc());
            boolean nllGoal = r.metrics().nll() < map.metrics().nll() && (diagonal == null || r.metrics().nll() < diagonal.metrics().nll());
            String met = (eceRatio <= 0.5 ? "ECE " : "") + (Math.abs(deltaAccuracy) <= 0.5 ? "acc " : "") + (nllGoal ? "NLL " : "")
                    + (deltaAuroc >= 5 ? "AUROC" : "");
            sb.append(String.format(Locale.ROOT, "%-28s %9.3f %+9.2f %10.4f %10s %+10.2f %s%n", r.method().replace(" / glm-probit", ""), eceRatio,
                    deltaAccuracy, r.metrics().nll(), diagonal == null ? "-" : String.format(Locale.ROOT, "%.4f", diagonal.metrics().nll()), deltaAuroc,
                    met.isBlank() ? "none" : met.trim()));
        }
        return sb.toString();
    }

    private void writeOutputs(List<PredictiveEvaluation.Row> rows, List<Fit> fits) throws IOException {
        String rowsJson = EvaluationReports.toJson(rows, Map.of("model", model.toString(), "test", validation + "..9999", "ood-score", "entropy",
                "examples", Integer.toString(examples), "seed", Long.toString(seed), "load", loadAverage()));
        StringBuilder sb = new StringBuilder("{\n  \"fits\": [");
        for (int i = 0; i < fits.size(); i++) {
            Fit f = fits.get(i);
            sb.append(i == 0 ? "\n" : ",\n").append(String.format(Locale.ROOT,
                    "    {\"posterior\": \"%s\", \"prior_method\": \"%s\", \"prior\": \"%s\", \"log_evidence\": %s, \"fisher_seconds\": %.2f, "
                            + "\"prior_seconds\": %.2f, \"stored_floats\": %d, \"parameters\": %d}",
                    f.name(), f.priorMethod(), f.prior(), Double.isFinite(f.logEvidence()) ? Double.toString(f.logEvidence()) : "null", f.fisherSeconds(),
                    f.priorSeconds(), f.storedFloats(), f.parameters()));
        }
        sb.append("\n  ],\n  \"evaluation\": ").append(rowsJson.strip().replace("\n", "\n  ")).append("\n}\n");
        ReportFiles.writeText(outDir.resolve("uncertainty.json"), sb.toString(), true);
        List<PredictiveEvaluation.Row> plotted = new ArrayList<>();
        plotted.add(rows.get(0));
        rows.stream().filter(r -> r.kind() == PredictiveKind.GLM_PROBIT && r.method().contains(" marglik /")).forEach(plotted::add);
        EvaluationReports.writeReliabilityDiagram(plotted, outDir.resolve("reliability.png"), true, "Reliability, Fashion-MNIST test, glm-probit, marglik prior");
    }

    private double[] gridValues() {
        String[] parts = grid.split(":");
        if (parts.length != 3) {
            throw new ParameterException(spec.commandLine(), "--grid needs FROM:TO:PER_DECADE, got " + grid);
        }
        return PriorGrid.logSpaced(Double.parseDouble(parts[0]), Double.parseDouble(parts[1]), Integer.parseInt(parts[2]));
    }

    /** The MAP: read from --model, or trained by the recipe and written there. */
    private MultiLayerNetwork mapModel(ImageDataSet train, ImageDataSet test, PrintWriter out) throws IOException {
        if (Files.isRegularFile(model)) {
            out.printf(Locale.ROOT, "MAP model %s (read)%n", model);
            return ModelFiles.loadModel(model);
        }
        MlpArchitecture architecture = new MlpArchitecture(train.featureCount(), List.of(256, 256), HiddenActivation.RELU, train.numClasses());
        MultiLayerNetwork network = architecture.newNetwork(1e-3, seed);
        out.printf(Locale.ROOT, "training the MAP: %s, Adam 1e-3 constant, batch 128, seed %d, %d epochs on %,d images%n", architecture.describe(),
                seed, epochs, train.size());
        ImageDataSet testSample = test.subset(0, Math.min(2000, test.size()));
        out.flush();
        MinibatchIterator batches = train.minibatches(128, seed);
        for (int epoch = 1; epoch <= epochs; epoch++) {
            batches.reset();
            while (batches.hasNext()) {
                network.fit(batches.next());
            }
            double[][] p = network.output(testSample.features()).castTo(DataType.DOUBLE).toDoubleMatrix();
            double[][] q = network.output(train.subset(0, Math.min(2000, train.size())).features()).castTo(DataType.DOUBLE).toDoubleMatrix();
            var onTest = org.symcurv.uncertainty.ClassificationMetrics.of(p, testSample.labels());
            var onTrain = org.symcurv.uncertainty.ClassificationMetrics.of(q, train.subset(0, Math.min(2000, train.size())).labels());
            out.printf(Locale.ROOT, "  epoch %d: train NLL %.4f, accuracy %.4f; test images 0-1999 NLL %.4f, accuracy %.4f, ECE %.4f%n", epoch,
                    onTrain.nll(), onTrain.accuracy(), onTest.nll(), onTest.accuracy(), onTest.ece());
            out.flush();
        }
        Path target = model.toAbsolutePath().normalize();
        Files.createDirectories(target.getParent());
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            ModelSerializer.writeModel(network, tmp.toFile(), true);
            AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return network;
    }

    private static String loadAverage() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+")[0];
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }
}
