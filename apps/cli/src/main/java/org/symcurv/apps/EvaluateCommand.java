package org.symcurv.apps;

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
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.apps.common.DataOptions;
import org.symcurv.apps.common.EvaluationReports;
import org.symcurv.apps.common.ReportFiles;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.PredictionTask;
import org.symcurv.core.model.ModelZip;
import org.symcurv.uncertainty.RegressionMetrics;
import org.symcurv.core.data.IdxFormat;
import org.symcurv.core.data.IdxImages;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.uncertainty.ClassificationMetrics;
import org.symcurv.uncertainty.LaplacePosterior;
import org.symcurv.uncertainty.LaplacePredictive;
import org.symcurv.uncertainty.LeafSubset;
import org.symcurv.uncertainty.OodScore;
import org.symcurv.uncertainty.PosteriorFile;
import org.symcurv.uncertainty.PredictiveEvaluation;
import org.symcurv.uncertainty.PredictiveKind;
import org.symcurv.uncertainty.SyntheticShift;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.TypeConversionException;

/**
 * {@code symcurv evaluate}: accuracy, NLL, Brier score and ECE (15 bins) of a classifier on its test examples
 * ({@link DataOptions}; Fashion-MNIST by default), or RMSE, Gaussian NLL and interval coverage of an identity/MSE regressor,
 * and out-of-distribution AUROC against IDX image files ({@code --ood}) and built-in synthetic shifts ({@code --shift}),
 * for the MAP and, with {@code --posterior}, the Laplace predictives (linearised GLM with probit, pairwise probit or
 * Monte Carlo link; Monte Carlo over sampled networks), printed as one table; optionally a reliability diagram (PNG) and
 * the numbers as JSON.
 */
@Command(name = "evaluate",
        mixinStandardHelpOptions = true,
        description = {"Evaluate a classifier (MAP) and, with --posterior, its Laplace predictives: accuracy, NLL, Brier, ECE (15 bins)",
                "on the test data, OOD AUROC against --ood IDX files and --shift synthetic shifts; one table. For an identity/MSE",
                "regressor: RMSE, Gaussian NLL and 50/90/95% interval coverage of the MAP and Laplace predictives."})
public final class EvaluateCommand implements Callable<Integer> {
    static final class KindConverter implements ITypeConverter<PredictiveKind> {
        @Override
        public PredictiveKind convert(String value) {
            try {
                return PredictiveKind.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class ScoreConverter implements ITypeConverter<OodScore> {
        @Override
        public OodScore convert(String value) {
            try {
                return OodScore.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class OodFileConverter implements ITypeConverter<EvaluationReports.OodFile> {
        @Override
        public EvaluationReports.OodFile convert(String value) {
            try {
                return EvaluationReports.OodFile.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class ShiftConverter implements ITypeConverter<SyntheticShift> {
        @Override
        public SyntheticShift convert(String value) {
            try {
                return SyntheticShift.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", required = true, description = "The DL4J model zip (the MAP θ*).")
    Path model;

    @Option(names = "--posterior", paramLabel = "FILE", description = "A posterior from 'symcurv laplace' for this model.")
    Path posteriorFile;

    @Mixin
    DataOptions data;

    @Option(names = "--predictive", paramLabel = "NAME", split = ",", converter = KindConverter.class,
            description = "Which predictives, comma-separated: map, glm-probit, glm-pairwise, glm-mc, nn-mc "
                    + "(default: map alone, or all five with --posterior).")
    List<PredictiveKind> kinds;

    @Option(names = "--samples", paramLabel = "S", defaultValue = "1000", description = "Logit samples per image for glm-mc (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--network-samples", paramLabel = "S", defaultValue = "20", description = "Sampled networks for nn-mc (default: ${DEFAULT-VALUE}).")
    int networkSamples;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed of the Monte Carlo draws, the shifts and the OOD subsets (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--test-from", paramLabel = "I", defaultValue = "0",
            description = "Evaluate on test examples I … I+COUNT−1 (e.g. 2000 after 'symcurv laplace --prior grid --validation 2000') (default: ${DEFAULT-VALUE}).")
    int testFrom;

    @Option(names = "--test-count", paramLabel = "COUNT", description = "Number of test examples (default: all from --test-from on).")
    Integer testCount;

    @Option(names = "--ood", paramLabel = "[NAME=]FILE", converter = OodFileConverter.class,
            description = "An IDX3 image file (of the model's image size, .gz or not) of out-of-distribution images, its AUROC column headed NAME "
                    + "(default: the file's name); repeatable.")
    List<EvaluationReports.OodFile> oodFiles = new ArrayList<>();

    @Option(names = "--shift", paramLabel = "NAME", split = ",", converter = ShiftConverter.class,
            description = "Built-in OOD sets made from the evaluated test images: rotate90, vflip, invert, noise, permute (comma-separated; "
                    + "default: all five unless --ood is given; 'none' is not a name: give --ood instead).")
    List<SyntheticShift> shifts;

    @Option(names = "--ood-count", paramLabel = "N", defaultValue = "2000",
            description = "Images per OOD set (a seeded subset; default: ${DEFAULT-VALUE}).")
    int oodCount;

    @Option(names = "--ood-score", paramLabel = "NAME", defaultValue = "variance", converter = ScoreConverter.class,
            description = "OOD score: variance (tr J Σ Jᵀ, the total variance of the linearised logits, for the glm predictives; entropy "
                    + "for map and nn-mc, which have none), entropy (predictive entropy) or max-prob (1 − max probability) (default: ${DEFAULT-VALUE}).")
    OodScore oodScore;

    @Option(names = "--reliability", paramLabel = "FILE.png", description = "Write a reliability diagram (accuracy against confidence per bin).")
    Path reliability;

    @Option(names = "--json", paramLabel = "FILE", description = "Write the table's numbers (and the bins) as JSON.")
    Path json;

    @Option(names = "--force", description = "Replace existing --reliability / --json files.")
    boolean force;

    @Mixin
    SharedOptions.Progress progress;

    @Override
    public Integer call() throws IOException {
        validateOptions();
        PrintWriter stdout = spec.commandLine().getOut();
        Path pngTarget = reliability == null ? null : checkedOutput(reliability, "--reliability", force);
        Path jsonTarget = json == null ? null : checkedOutput(json, "--json", force);
        ModelZip.Contents contents = ModelZip.read(model);
        MultiLayerNetwork network = contents.network();
        LabelledData allTest = data.testFor(contents);
        int count = testCount == null ? allTest.size() - testFrom : testCount;
        if (testFrom < 0 || count < 1 || testFrom + count > allTest.size()) {
            throw new ParameterException(spec.commandLine(), "--test-from " + testFrom + " and --test-count " + count + " must select examples within the "
                    + allTest.size() + " test examples of " + allTest.source());
        }
        LabelledData selected = allTest.subset(testFrom, testFrom + count);
        if (selected.task() == PredictionTask.REGRESSION) {
            return evaluateRegression(stdout, contents, selected, jsonTarget);
        }
        ImageDataSet test = selected.asImageDataSet();
        List<SyntheticShift> defaultShifts = selected.isImages() ? List.of(SyntheticShift.values()) : List.of();
        Map<String, ImageDataSet> ood = EvaluationReports.oodSets(test, shifts == null && oodFiles.isEmpty() ? defaultShifts
                : shifts == null ? List.of() : shifts, oodFiles, oodCount, seed);

        LaplacePosterior posterior = null;
        String label = "";
        if (posteriorFile != null) {
            PosteriorFile.Contents file = readPosterior(posteriorFile);
            posterior = posteriorAt(file, network);
            label = file.metadata().getOrDefault(PosteriorFile.STRUCTURE, "posterior") + ", " + file.metadata().getOrDefault(PosteriorFile.SUBSET, "?");
            stdout.printf(Locale.ROOT, "posterior %s: %s, %,d parameters, N = %,d, %s%n", posteriorFile, label, posterior.parameterCount(),
                    posterior.dataSize(), posterior.prior());
        }
        List<PredictiveKind> chosen = kinds != null ? kinds : posterior == null ? List.of(PredictiveKind.MAP) : List.of(PredictiveKind.values());
        if (posterior == null && chosen.stream().anyMatch(k -> k != PredictiveKind.MAP)) {
            throw new ParameterException(spec.commandLine(), "--predictive " + chosen + " needs --posterior (without one only 'map' exists)");
        }
        stdout.printf(Locale.ROOT, "evaluating %s on test examples %d … %d of %s; OOD sets (%s, %,d examples each): %s%n", model, testFrom,
                testFrom + count - 1, selected.source(), oodScore.effective(posterior != null).cliName(), oodCount, ood.isEmpty() ? "none" : String.join(", ", ood.keySet()));
        stdout.flush();

        List<PredictiveEvaluation.Row> rows = new ArrayList<>();
        LaplacePredictive predictive = posterior == null ? LaplacePredictive.map(network) : LaplacePredictive.of(network, posterior);
        try (ProgressBar bar = progress.bar("predictives", chosen.size(), "")) {
            for (PredictiveKind kind : chosen) {
                int s = kind == PredictiveKind.SAMPLED_NETWORKS ? networkSamples : samples;
                rows.addAll(PredictiveEvaluation.evaluate(kind == PredictiveKind.MAP ? "" : label, predictive, List.of(kind), test, ood, oodScore, s, seed));
                if (bar != null) {
                    bar.step();
                }
            }
        }
        stdout.println();
        stdout.print(PredictiveEvaluation.table(rows));
        stdout.printf(Locale.ROOT, "(AUROC columns: %s; ECE over %d confidence bins)%n", oodScore == OodScore.VARIANCE
                ? "variance of the linearised logits for glm rows, entropy for map and nn-mc rows" : oodScore.cliName(), ClassificationMetrics.ECE_BINS);
        if (pngTarget != null) {
            EvaluationReports.writeReliabilityDiagram(rows, pngTarget, force, "Reliability, test examples " + testFrom + "–" + (testFrom + count - 1));
            stdout.printf(Locale.ROOT, "reliability diagram written to %s%n", reliability);
        }
        if (jsonTarget != null) {
            ReportFiles.writeText(jsonTarget, EvaluationReports.toJson(rows, Map.of("model", model.toString(), "posterior", String.valueOf(posteriorFile),
                    "test", testFrom + ".." + (testFrom + count - 1), "ood-score", oodScore.cliName())), force);
            stdout.printf(Locale.ROOT, "numbers written to %s%n", json);
        }
        stdout.flush();
        return 0;
    }

    /**
     * The regression table: RMSE, Gaussian NLL and 50/90/95% interval coverage, in the targets' own units, of the MAP
     * predictive {@code N(ŷ, σ²)} ({@code σ² = o/2}, DL4J's MSE) and, with a posterior, the linearised Laplace predictive
     * {@code N(ŷ, diag(J Σ Jᵀ) + σ²)}.
     */
    private int evaluateRegression(PrintWriter stdout, ModelZip.Contents contents, LabelledData test, Path jsonTarget) throws IOException {
        if (reliability != null) {
            throw new ParameterException(spec.commandLine(), "--reliability draws a classifier's confidence bins; " + model + " is a regressor");
        }
        MultiLayerNetwork network = contents.network();
        INDArray features = test.features();
        double[][] targets = test.labels().castTo(DataType.DOUBLE).toDoubleMatrix();
        int outputs = test.targetCount();
        double[] offset = new double[outputs];
        double[] scale = new double[outputs];
        java.util.Arrays.fill(scale, 1.0);
        String units = "the model's units";
        if (contents.normalizer() instanceof org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize z && z.isFitLabel()) {
            offset = z.getLabelMean().castTo(DataType.DOUBLE).reshape(outputs).toDoubleVector();
            scale = z.getLabelStd().castTo(DataType.DOUBLE).reshape(outputs).toDoubleVector();
            for (int i = 0; i < targets.length; i++) {
                for (int k = 0; k < outputs; k++) {
                    targets[i][k] = scale[k] * targets[i][k] + offset[k];
                }
            }
            units = "the targets' units (the model's standardizer reverted)";
        }
        Map<String, RegressionMetrics> rows = new LinkedHashMap<>();
        double[][] mean = network.output(features, false).castTo(DataType.DOUBLE).toDoubleMatrix();
        double noise = outputs / 2.0;
        double[][] mapVariance = new double[mean.length][outputs];
        for (double[] row : mapVariance) {
            java.util.Arrays.fill(row, noise);
        }
        rows.put("map", RegressionMetrics.of(mean, mapVariance, targets, offset, scale));
        if (posteriorFile != null) {
            PosteriorFile.Contents file = readPosterior(posteriorFile);
            LaplacePosterior posterior = posteriorAt(file, network);
            stdout.printf(Locale.ROOT, "posterior %s: %s, %,d parameters, N = %,d, %s%n", posteriorFile,
                    file.metadata().getOrDefault(PosteriorFile.STRUCTURE, "posterior") + ", " + file.metadata().getOrDefault(PosteriorFile.SUBSET, "?"),
                    posterior.parameterCount(), posterior.dataSize(), posterior.prior());
            LaplacePredictive.RegressionPrediction p = LaplacePredictive.of(network, posterior).regression(features);
            rows.put("laplace-glm", RegressionMetrics.of(p.mean(), p.variance(), targets, offset, scale));
        }
        stdout.printf(Locale.ROOT, "evaluating regressor %s on %,d test examples of %s; noise variance σ² = o/2 = %s (DL4J's MSE); "
                + "in %s%n%n", model, test.size(), test.source(), noise, units);
        stdout.printf(Locale.ROOT, "%-12s %10s %10s %9s %9s %9s%n", "predictive", "RMSE", "NLL", "cover50", "cover90", "cover95");
        StringBuilder jsonText = new StringBuilder("{\"model\": \"" + model + "\", \"test\": \"" + test.source().replace("\\", "\\\\") + "\", \"rows\": [");
        for (Map.Entry<String, RegressionMetrics> e : rows.entrySet()) {
            RegressionMetrics m = e.getValue();
            stdout.printf(Locale.ROOT, "%-12s %10.4g %10.4f %9.3f %9.3f %9.3f%n", e.getKey(), m.rmse(), m.nll(), m.coverage50(), m.coverage90(),
                    m.coverage95());
            jsonText.append(jsonText.charAt(jsonText.length() - 1) == '[' ? "" : ", ").append(String.format(Locale.ROOT,
                    "{\"predictive\": \"%s\", \"rmse\": %s, \"nll\": %s, \"coverage50\": %s, \"coverage90\": %s, \"coverage95\": %s}",
                    e.getKey(), m.rmse(), m.nll(), m.coverage50(), m.coverage90(), m.coverage95()));
        }
        stdout.println("(NLL: mean Gaussian negative log likelihood per example; coverK: fraction of targets inside the central K% interval)");
        if (jsonTarget != null) {
            ReportFiles.writeText(jsonTarget, jsonText.append("]}\n").toString(), force);
            stdout.printf(Locale.ROOT, "numbers written to %s%n", json);
        }
        stdout.flush();
        return 0;
    }

    /** The posterior of the file centred at the network's parameters. */
    private LaplacePosterior posteriorAt(PosteriorFile.Contents file, MultiLayerNetwork network) {
        try {
            LeafSubset subset = LeafSubset.of(file.fisher().spec(), ParameterLayout.of(network));
            return file.posterior(subset.extract(network.params().dup()));
        } catch (IllegalArgumentException e) {
            throw new SymcurvCli.CommandFailure(posteriorFile + " does not fit " + model + ": " + e.getMessage(), e);
        }
    }

    private void validateOptions() {
        if (samples < 1 || networkSamples < 1) {
            throw new ParameterException(spec.commandLine(), "--samples and --network-samples must be at least 1");
        }
        if (oodCount < 1) {
            throw new ParameterException(spec.commandLine(), "--ood-count must be at least 1, got " + oodCount);
        }
    }

    static PosteriorFile.Contents readPosterior(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new SymcurvCli.CommandFailure(file + (Files.exists(file) ? " is not a regular file" : " does not exist")
                    + "; --posterior needs a file written by 'symcurv laplace'");
        }
        try {
            return PosteriorFile.read(file);
        } catch (IOException | IllegalArgumentException e) {
            throw new SymcurvCli.CommandFailure("cannot read the posterior " + file + ": " + SymcurvCli.describe(e), e);
        }
    }

    /**
     * The absolute output path after checking it is not a directory, not kept by an existing file, and writable (a
     * temporary sibling is created and removed).
     */
    public static Path checkedOutput(Path file, String option, boolean force) {
        Path target = file.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            throw new SymcurvCli.CommandFailure(file + " is a directory; " + option + " needs a file name");
        }
        if (Files.exists(target) && !force) {
            throw new SymcurvCli.CommandFailure(file + " already exists; pass --force to replace it or choose another " + option);
        }
        try {
            Files.delete(AtomicFiles.createSiblingTemp(target));
        } catch (IOException e) {
            throw new SymcurvCli.CommandFailure("cannot write " + file + ": " + SymcurvCli.describe(e) + "; choose a writable " + option, e);
        }
        return target;
    }

}
