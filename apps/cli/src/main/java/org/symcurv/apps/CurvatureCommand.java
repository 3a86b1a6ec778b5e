package org.symcurv.apps;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.apps.common.DataOptions;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.model.ModelZip;
import org.symcurv.core.io.CurvatureFile;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.PerExampleFactors;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;
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
 * {@code symcurv curvature}: the symmetry-averaged Fisher {@code F = (1/N) Σ_i R2(g_i, g_i)} of a trained DL4J model
 * over its training examples ({@link DataOptions}: Fashion-MNIST by default, or the user's IDX, CSV or {@code .npy} source,
 * normalized by the model's normalizer) (symmetry-curvature.md section 5.2), written as a curvature file
 * ({@link CurvatureFile}) and, for small models, as a dense CSV matrix. Outputs are written to temporary siblings
 * and renamed into place; existing files are kept unless {@code --force} is given.
 */
@Command(name = "curvature",
        mixinStandardHelpOptions = true,
        description = {"Estimate the symmetry-averaged Fisher of a trained model on its training data",
                "(--train SOURCE, or Fashion-MNIST) and write it as a curvature file (.scv).",
                "A normalizer stored in the model zip is applied to the features first."})
public final class CurvatureCommand implements Callable<Integer> {
    /** Largest model for which {@code --dense-out} writes the {@code P × P} matrix (5,000² numbers are ~0.5 GB of text). */
    static final int DENSE_OUT_MAX_PARAMETERS = 5_000;

    /** What the per-example gradients are taken at. */
    enum Estimator {
        /** Labels drawn from the model's predictive: the Fisher (the GGN in expectation). */
        FISHER("fisher", FisherSource.Labels.MONTE_CARLO),
        /** The training labels: the empirical Fisher. */
        EMPIRICAL_FISHER("empirical-fisher", FisherSource.Labels.EMPIRICAL);

        final String cliName;
        final FisherSource.Labels type;

        Estimator(String cliName, FisherSource.Labels type) {
            this.cliName = cliName;
            this.type = type;
        }

        static final class CliNames implements Iterable<String> {
            @Override
            public java.util.Iterator<String> iterator() {
                return java.util.Arrays.stream(values()).map(e -> e.cliName).iterator();
            }
        }

        static final class Converter implements ITypeConverter<Estimator> {
            @Override
            public Estimator convert(String name) {
                for (Estimator e : values()) {
                    if (e.cliName.equalsIgnoreCase(name.trim())) {
                        return e;
                    }
                }
                throw new TypeConversionException("unknown estimator '" + name + "'; choose one of " + String.join(", ", new CliNames()));
            }
        }
    }

    /** The group types by their command-line names. */
    static final class GroupNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.Arrays.stream(GroupType.values()).map(t -> t.name().toLowerCase(Locale.ROOT).replace('_', '-')).iterator();
        }
    }

    static final class GroupConverter implements ITypeConverter<GroupType> {
        @Override
        public GroupType convert(String name) {
            try {
                return GroupType.parse(name);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", required = true,
            description = "The DL4J model zip, e.g. written by 'symcurv train' (DenseLayers and a softmax/MCXENT, identity/MSE or sigmoid/XENT OutputLayer).")
    Path model;

    @Mixin
    DataOptions data;

    @Option(names = "--estimator", paramLabel = "NAME", defaultValue = "fisher", converter = Estimator.Converter.class,
            completionCandidates = Estimator.CliNames.class,
            description = "fisher: gradients at labels sampled from the model (the Fisher, the GGN in expectation); "
                    + "empirical-fisher: gradients at the training labels (default: ${DEFAULT-VALUE}).")
    Estimator estimator;

    @Option(names = "--group", paramLabel = "TYPE", converter = GroupConverter.class, completionCandidates = GroupNames.class,
            description = "Symmetry group of every hidden layer, one of: ${COMPLETION-CANDIDATES} "
                    + "(default: inferred from each layer's activation, the largest exact symmetry).")
    GroupType group;

    @Option(names = "--examples", paramLabel = "N",
            description = "Average over N training examples drawn at random without replacement (seeded by --seed; default: all).")
    Integer examples;

    @Option(names = "--samples", paramLabel = "K", defaultValue = "1",
            description = "Labels sampled per example for --estimator fisher (default: ${DEFAULT-VALUE}).")
    int samplesPerExample;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "256", description = "Images per forward/backward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the sampled labels and of the --examples subset (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--damping", paramLabel = "LAMBDA", defaultValue = "0",
            description = "Store F + LAMBDA·s_max·I instead of F, s_max the largest eigenvalue of F (relative damping as in the "
                    + "paper's Eq. 10; makes the operator positive definite; default: ${DEFAULT-VALUE}, the plain estimate).")
    double damping;

    @Option(names = "--max-block", paramLabel = "M", defaultValue = "4096",
            description = "Largest block stored dense, in copies (memory M² per block; default: ${DEFAULT-VALUE}).")
    int maxBlock;

    @Option(names = "--diagonal-fallback",
            description = "Keep only the diagonal of blocks larger than --max-block instead of failing.")
    boolean diagonalFallback;

    @Option(names = "--out", paramLabel = "FILE", required = true, description = "Where to write the curvature file, e.g. fisher.scv.")
    Path out;

    @Option(names = "--dense-out", paramLabel = "FILE",
            description = "Also write the dense P×P matrix as CSV, rows and columns in DL4J params() order (models of at most "
                    + DENSE_OUT_MAX_PARAMETERS + " parameters).")
    Path denseOut;

    @Option(names = "--force", description = "Replace existing output files.")
    boolean force;

    @Mixin
    SharedOptions.Progress progress;

    @Override
    public Integer call() throws IOException {
        validateOptions();
        long started = System.nanoTime();
        PrintWriter stdout = spec.commandLine().getOut();
        Path target = checkedOutput(out, "--out");
        Path denseTarget = denseOut == null ? null : checkedOutput(denseOut, "--dense-out");
        if (denseTarget != null && denseTarget.equals(target)) {
            throw new SymcurvCli.CommandFailure("--out and --dense-out name the same file " + out + "; give them different names");
        }

        ModelZip.Contents contents = ModelZip.read(model);
        MultiLayerNetwork network = contents.network();
        PerExampleFactors factors;
        SymmetrySpec symmetry;
        try {
            factors = PerExampleFactors.of(network);
            SpecInference.Options options = group == null ? SpecInference.Options.defaults() : SpecInference.Options.defaults().withGroupType(group);
            symmetry = SpecInference.infer(network, options);
        } catch (IllegalArgumentException e) {
            throw new SymcurvCli.CommandFailure("cannot estimate the curvature of " + model + ": " + e.getMessage(), e);
        }
        long parameters = symmetry.parameterCount();
        if (denseTarget != null && parameters > DENSE_OUT_MAX_PARAMETERS) {
            throw new SymcurvCli.CommandFailure("--dense-out writes the dense matrix only for models of at most " + DENSE_OUT_MAX_PARAMETERS
                    + " parameters; " + model + " has " + String.format(Locale.ROOT, "%,d", parameters) + "; drop --dense-out");
        }

        LabelledData train = this.data.trainFor(contents);
        if (examples != null && examples > train.size()) {
            throw new ParameterException(spec.commandLine(), "--examples " + examples + " is more than the " + train.size()
                    + " training examples of " + train.source());
        }
        LabelledData data = examples == null || examples == train.size() ? train : train.sample(examples, seed);

        FisherSource estimation = (estimator.type == FisherSource.Labels.MONTE_CARLO
                ? FisherSource.monteCarlo(data.features(), seed).withSamplesPerExample(samplesPerExample)
                : FisherSource.empirical(data.features(), data.labels()))
                .withBatchSize(batchSize)
                .withBudget(new BlockBudget(maxBlock, diagonalFallback))
                .withAccumulatorType(DataType.DOUBLE);
        stdout.printf(Locale.ROOT, "model %s: %,d parameters, %s%n", model, parameters, factors.architecture());
        stdout.printf(Locale.ROOT, "estimating the %s on %,d training examples of %s%s%n", describeEstimator(), data.size(), data.source(),
                contents.normalizer() == null ? "" : " (normalized by the model's " + contents.normalizer().getClass().getSimpleName() + ")");
        stdout.println(symmetry);
        stdout.flush();

        long estimateStarted = System.nanoTime();
        Curvature fisher;
        try (ProgressBar bar = progress.bar(estimator.cliName, data.size(), " img")) {
            fisher = estimation.symmetric(network, symmetry, (done, total) -> {
                        if (bar != null) {
                            bar.stepTo(done);
                        }
                    });
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SymcurvCli.CommandFailure("cannot estimate the curvature of " + model + ": " + e.getMessage(), e);
        }
        double estimateSeconds = (System.nanoTime() - estimateStarted) / 1e9;
        double shift = 0;
        if (damping > 0) {
            shift = damping * Math.max(fisher.maxEigenvalue(), 0.0);
            fisher = fisher.plusIdentity(shift);
        }

        stdout.println(fisher);
        long bytes = fisher.storedFloats() * fisher.dataType().width();
        stdout.printf(Locale.ROOT, "trace %.6g; stored %,d numbers (%s, %.2f MiB)%s%n", fisher.trace(), fisher.storedFloats(),
                fisher.dataType().name().toLowerCase(Locale.ROOT), bytes / (1024.0 * 1024.0),
                damping > 0 ? String.format(Locale.ROOT, "; damping %s × s_max = %.6g added to the diagonal", damping, shift) : "");

        CurvatureFile.write(target, fisher, metadata(data, shift, symmetry), force);
        stdout.printf(Locale.ROOT, "curvature written to %s%n", out);
        if (denseTarget != null) {
            writeDense(fisher, denseTarget);
            stdout.printf(Locale.ROOT, "dense %d × %d matrix (params() order) written to %s%n", parameters, parameters, denseOut);
        }
        stdout.printf(Locale.ROOT, "estimate %.1f s, total %.1f s%n", estimateSeconds, (System.nanoTime() - started) / 1e9);
        stdout.flush();
        return 0;
    }

    private void validateOptions() {
        if (batchSize < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batchSize);
        }
        if (examples != null && examples < 1) {
            throw new ParameterException(spec.commandLine(), "--examples must be at least 1, got " + examples);
        }
        if (samplesPerExample < 1) {
            throw new ParameterException(spec.commandLine(), "--samples must be at least 1, got " + samplesPerExample);
        }
        if (samplesPerExample != 1 && estimator == Estimator.EMPIRICAL_FISHER) {
            throw new ParameterException(spec.commandLine(), "--samples applies to --estimator fisher; the empirical Fisher uses each image's one label");
        }
        if (!(damping >= 0) || Double.isInfinite(damping)) {
            throw new ParameterException(spec.commandLine(), "--damping must be a finite number ≥ 0, got " + damping);
        }
        if (maxBlock < 1) {
            throw new ParameterException(spec.commandLine(), "--max-block must be at least 1, got " + maxBlock);
        }
    }

    /**
     * The absolute output path, after checking it is not a directory, is not kept by an existing file, and can be
     * written (a temporary sibling is created and removed), so that nothing is estimated for an output that would fail.
     */
    private Path checkedOutput(Path file, String option) {
        Path target = file.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            throw new SymcurvCli.CommandFailure(file + " is a directory; " + option + " needs a file name such as " + file.resolve("fisher.scv"));
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

    private String describeEstimator() {
        return estimator == Estimator.FISHER
                ? "Fisher (" + samplesPerExample + " label" + (samplesPerExample == 1 ? "" : "s") + " sampled from the model per example, seed " + seed + ")"
                : "empirical Fisher (gradients at the training labels)";
    }

    private Map<String, String> metadata(LabelledData data, double shift, SymmetrySpec symmetry) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(CurvatureFile.ESTIMATOR, estimator.cliName);
        m.put(CurvatureFile.GROUP_TYPE, group == null ? "inferred" : group.name().toLowerCase(Locale.ROOT).replace('_', '-'));
        m.put(CurvatureFile.MODEL, model.toAbsolutePath().normalize().toString());
        m.put(CurvatureFile.DATA, data.source());
        m.put(CurvatureFile.EXAMPLES, Integer.toString(data.size()));
        m.put(CurvatureFile.SEED, Long.toString(seed));
        if (estimator == Estimator.FISHER) {
            m.put("label-samples", Integer.toString(samplesPerExample));
        }
        m.put("damping", damping > 0 ? damping + " × s_max = " + shift : "0");
        m.put("groups", describeGroups(symmetry));
        return m;
    }

    private static String describeGroups(SymmetrySpec symmetry) {
        StringBuilder sb = new StringBuilder();
        for (Group g : symmetry.groups()) {
            sb.append(sb.length() == 0 ? "" : " ").append(g);
        }
        return sb.length() == 0 ? "none" : sb.toString();
    }

    /** The dense matrix as CSV: row {@code i}, column {@code j} is {@code S[i, j]}, indices in DL4J params() order. */
    private void writeDense(Curvature curvature, Path target) throws IOException {
        INDArray dense = curvature.toDense().castTo(DataType.DOUBLE);
        Path tmp = AtomicFiles.createSiblingTemp(target);
        boolean moved = false;
        try {
            try (BufferedWriter writer = Files.newBufferedWriter(tmp, StandardCharsets.US_ASCII)) {
                long p = dense.rows();
                for (long i = 0; i < p; i++) {
                    double[] row = dense.getRow(i).toDoubleVector();
                    StringBuilder line = new StringBuilder(row.length * 12);
                    for (int j = 0; j < row.length; j++) {
                        if (j > 0) {
                            line.append(',');
                        }
                        // Double.toString is the shortest decimal that reads back to the same double
                        line.append(row[j]);
                    }
                    writer.write(line.toString());
                    writer.newLine();
                }
            }
            AtomicFiles.moveIntoPlace(tmp, target, force);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }
}
