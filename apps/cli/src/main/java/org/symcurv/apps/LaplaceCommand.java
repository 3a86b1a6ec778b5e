package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.apps.common.DataOptions;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.PredictionTask;
import org.symcurv.core.model.ModelZip;
import org.symcurv.core.model.FisherSource;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.uncertainty.GlmLink;
import org.symcurv.uncertainty.LaplaceFit;
import org.symcurv.uncertainty.LaplacePosterior;
import org.symcurv.uncertainty.LaplacePredictive;
import org.symcurv.uncertainty.MarginalLikelihood;
import org.symcurv.uncertainty.PosteriorFile;
import org.symcurv.uncertainty.PriorGrid;
import org.symcurv.uncertainty.PriorPrecision;
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
 * {@code symcurv laplace}: the Laplace posterior {@code N(θ*, (N F + Λ)⁻¹)} of a trained classifier (softmax) or regressor
 * (identity/MSE, Gaussian noise σ² = o/2), with {@code F} the symmetry-averaged (or diagonal) Monte Carlo Fisher (the GGN in
 * expectation) per example over the training examples ({@link DataOptions}; Fashion-MNIST by default), {@code N} the
 * training set size and {@code Λ} the prior precision chosen by the marginal likelihood or by a validation grid; written
 * as a posterior file that {@code symcurv evaluate --posterior} reads.
 */
@Command(name = "laplace",
        mixinStandardHelpOptions = true,
        description = {"Fit a Laplace posterior N(θ*, (N·F + Λ)⁻¹) to a trained classifier or identity/MSE regressor; write it as a .scv file.",
                "F: the Monte Carlo Fisher per training example, symmetry-averaged (default) or diagonal; N: the training set size;",
                "Λ: prior precision by marginal likelihood (scalar or per layer), by validation NLL on a grid, or given."})
public final class LaplaceCommand implements Callable<Integer> {
    /** How the prior precision is chosen. */
    enum PriorMethod {
        MARGLIK("marglik"), MARGLIK_LAYER("marglik-layer"), GRID("grid"), FIXED("fixed");

        final String cliName;

        PriorMethod(String cliName) {
            this.cliName = cliName;
        }

        static final class Converter implements ITypeConverter<PriorMethod> {
            @Override
            public PriorMethod convert(String value) {
                for (PriorMethod m : values()) {
                    if (m.cliName.equalsIgnoreCase(value.trim())) {
                        return m;
                    }
                }
                throw new TypeConversionException("unknown prior method '" + value + "'; choose marglik, marglik-layer, grid or fixed");
            }
        }
    }

    static final class StructureConverter implements ITypeConverter<LaplaceFit.Structure> {
        @Override
        public LaplaceFit.Structure convert(String value) {
            try {
                return LaplaceFit.Structure.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    static final class LinkConverter implements ITypeConverter<GlmLink> {
        @Override
        public GlmLink convert(String value) {
            try {
                return GlmLink.parse(value);
            } catch (IllegalArgumentException e) {
                throw new TypeConversionException(e.getMessage());
            }
        }
    }

    @Spec
    CommandSpec spec;

    @Option(names = "--model", paramLabel = "FILE", required = true,
            description = "The DL4J model zip (e.g. from 'symcurv train'): DenseLayers and a softmax/MCXENT OutputLayer.")
    Path model;

    @Option(names = "--out", paramLabel = "FILE", required = true, description = "Where to write the posterior, e.g. posterior.scv.")
    Path out;

    @Mixin
    DataOptions data;

    @Option(names = "--last-layer", description = "Posterior over the output layer's weight and bias only, the rest staying at θ* (the default).")
    boolean lastLayerGiven;

    @Option(names = "--all-weights", description = "Posterior over every weight and bias instead of the last layer (measured wider than the data "
            + "support on models trained for a few epochs: docs/BENCHMARKS.md).")
    boolean allWeights;

    /** Whether the posterior covers the last layer only: the default, chosen by measurement (docs/BENCHMARKS.md, bench defaults). */
    boolean lastLayer;

    @Option(names = "--structure", paramLabel = "NAME", defaultValue = "symmetry", converter = StructureConverter.class,
            description = "symmetry: the symmetry-averaged Fisher; diagonal: the diagonal Fisher (baseline) (default: ${DEFAULT-VALUE}).")
    LaplaceFit.Structure structure;

    @Option(names = "--group", paramLabel = "TYPE", converter = CurvatureCommand.GroupConverter.class,
            completionCandidates = CurvatureCommand.GroupNames.class,
            description = "Group type of every hidden layer for --structure symmetry: ${COMPLETION-CANDIDATES} (default: inferred from the activations).")
    GroupType group;

    @Option(names = "--prior", paramLabel = "METHOD", defaultValue = "marglik", converter = PriorMethod.Converter.class,
            description = "marglik: scalar λ maximising the Laplace log evidence; marglik-layer: one λ per layer, likewise; grid: the λ of "
                    + "--grid with the lowest NLL on --validation test examples; fixed: --prior-precision (default: ${DEFAULT-VALUE}).")
    PriorMethod priorMethod;

    @Option(names = "--prior-precision", paramLabel = "LAMBDA", description = "λ for --prior fixed.")
    Double priorPrecision;

    @Option(names = "--validation", paramLabel = "N", defaultValue = "2000",
            description = "--prior grid: validate on test examples 0 … N−1 (then evaluate on the others: 'symcurv evaluate --test-from N') (default: ${DEFAULT-VALUE}).")
    int validation;

    @Option(names = "--grid", paramLabel = "FROM:TO:PER_DECADE", defaultValue = "-3:7:2",
            description = "--prior grid: λ = 10^FROM … 10^TO with PER_DECADE points per decade (default: ${DEFAULT-VALUE}).")
    String grid;

    @Option(names = "--link", paramLabel = "NAME", defaultValue = "probit", converter = LinkConverter.class,
            description = "--prior grid: the GLM predictive validated: probit, pairwise-probit or mc (default: ${DEFAULT-VALUE}).")
    GlmLink link;

    @Option(names = "--examples", paramLabel = "N",
            description = "Estimate F on N training examples drawn at random (seeded by --seed; default: all). N in N·F stays the full training set.")
    Integer examples;

    @Option(names = "--samples", paramLabel = "K", defaultValue = "1", description = "Labels sampled per example for the Fisher (default: ${DEFAULT-VALUE}).")
    int samples;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "256", description = "Images per forward/backward pass (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42", description = "Seed of the Fisher's labels and the --examples subset (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--force", description = "Replace an existing output file.")
    boolean force;

    @Mixin
    SharedOptions.Progress progress;

    @Override
    public Integer call() throws IOException {
        if (allWeights && lastLayerGiven) {
            throw new ParameterException(spec.commandLine(), "--all-weights and --last-layer exclude each other; give one (the default is the last layer)");
        }
        lastLayer = !allWeights;
        validateOptions();
        long started = System.nanoTime();
        PrintWriter stdout = spec.commandLine().getOut();
        Path target = EvaluateCommand.checkedOutput(out, "--out", force);
        ModelZip.Contents contents = ModelZip.read(model);
        MultiLayerNetwork network = contents.network();
        PredictionTask task = contents.task();
        if (task == PredictionTask.REGRESSION && priorMethod == PriorMethod.GRID) {
            throw new ParameterException(spec.commandLine(), "--prior grid chooses the prior by a classifier's validation NLL; "
                    + model + " is a regressor: use --prior marglik, marglik-layer or fixed");
        }
        SymmetrySpec posteriorSpec;
        try {
            posteriorSpec = LaplaceFit.posteriorSpec(network, structure, lastLayer ? LaplaceFit.Subset.LAST_LAYER : LaplaceFit.Subset.ALL, group);
        } catch (IllegalArgumentException e) {
            throw new SymcurvCli.CommandFailure("cannot fit a Laplace posterior to " + model + ": " + e.getMessage(), e);
        }
        LabelledData train = data.trainFor(contents);
        if (examples != null && examples > train.size()) {
            throw new ParameterException(spec.commandLine(), "--examples " + examples + " is more than the " + train.size()
                    + " training examples of " + train.source());
        }
        LabelledData fisherData = examples == null || examples == train.size() ? train : train.sample(examples, seed);
        stdout.printf(Locale.ROOT, "model %s: %,d parameters; posterior over %s (%,d parameters), %s structure%n", model, network.numParams(),
                lastLayer ? "the last layer" : "all weights", posteriorSpec.parameterCount(), structure.cliName());
        stdout.printf(Locale.ROOT, "Fisher: %d Monte Carlo label%s per example on %,d training examples of %s (seed %d); N = %,d%n", samples,
                samples == 1 ? "" : "s", fisherData.size(), train.source(), seed, train.size());
        stdout.flush();

        long fitStarted = System.nanoTime();
        Curvature fisher;
        try (ProgressBar bar = progress.bar("Fisher", fisherData.size(), " img")) {
            FisherSource source = FisherSource.monteCarlo(fisherData.features(), seed).withSamplesPerExample(samples).withBatchSize(batchSize);
            FisherSource.Progress progress = (done, total) -> {
                if (bar != null) {
                    bar.stepTo(done);
                }
            };
            fisher = structure == LaplaceFit.Structure.DIAGONAL ? source.diagonal(network, posteriorSpec, progress)
                    : source.symmetric(network, posteriorSpec, progress);
        } catch (IllegalArgumentException | ArithmeticException e) {
            throw new SymcurvCli.CommandFailure("cannot estimate the Fisher of " + model + ": " + e.getMessage(), e);
        }
        double fisherSeconds = (System.nanoTime() - fitStarted) / 1e9;
        INDArray mean = LaplaceFit.mean(network, posteriorSpec);
        double logLikelihood = task == PredictionTask.CLASSIFICATION
                ? LaplaceFit.logLikelihood(network, train.features(), train.classes())
                : LaplaceFit.gaussianLogLikelihood(network, train.features(), train.labels());
        long priorStarted = System.nanoTime();
        PriorPrecision prior;
        String priorNote;
        switch (priorMethod) {
            case MARGLIK -> {
                MarginalLikelihood.Result r = MarginalLikelihood.maximizeScalar(fisher, train.size(), mean, logLikelihood);
                prior = r.prior();
                priorNote = r.converged() ? "maximum of the log evidence" : "at the end of the searched range 1e-17 … 2e17";
            }
            case MARGLIK_LAYER -> {
                MarginalLikelihood.Result r = MarginalLikelihood.maximizePerLayer(fisher, train.size(), mean, logLikelihood, 100, 1e-3);
                prior = r.prior();
                priorNote = (r.converged() ? "converged" : "not converged") + " after " + r.iterations() + " fixed-point iterations";
            }
            case GRID -> {
                LabelledData test = data.testFor(contents);
                if (validation < 1 || validation >= test.size()) {
                    throw new ParameterException(spec.commandLine(), "--validation must be between 1 and " + (test.size() - 1) + ", got " + validation);
                }
                LabelledData valid = test.subset(0, validation);
                double[] lambdas = gridValues();
                LaplacePosterior start = LaplacePosterior.of(fisher, train.size(), PriorPrecision.scalar(1.0, posteriorSpec), mean);
                PriorGrid.Result r = PriorGrid.byValidationNll(LaplacePredictive.of(network, start), valid.features(), valid.classes(),
                        lambdas, link, 1000, seed);
                prior = r.best();
                int best = java.util.Arrays.stream(lambdas).boxed().toList().indexOf(prior.of(posteriorSpec.leaves().get(0).name()));
                priorNote = String.format(Locale.ROOT, "validation NLL %.4f (%s) on test examples 0 … %d, grid of %d", r.nll()[best], link.cliName(),
                        validation - 1, lambdas.length) + (best == 0 || best == lambdas.length - 1 ? "; AT THE GRID'S EDGE: widen --grid" : "");
            }
            case FIXED -> {
                prior = PriorPrecision.scalar(priorPrecision, posteriorSpec);
                priorNote = "given";
            }
            default -> throw new AssertionError(priorMethod);
        }
        double priorSeconds = (System.nanoTime() - priorStarted) / 1e9;
        LaplacePosterior posterior = LaplacePosterior.of(fisher, train.size(), prior, mean);
        double logEvidence = posterior.logMarginalLikelihood(logLikelihood);
        double fitSeconds = (System.nanoTime() - fitStarted) / 1e9;

        stdout.println(fisher);
        stdout.printf(Locale.ROOT, "prior precision %s (%s, %s)%n", prior, priorMethod.cliName, priorNote);
        stdout.printf(Locale.ROOT, "log p(D | θ*) = %.2f; Laplace log evidence %.2f%n", logLikelihood, logEvidence);
        stdout.printf(Locale.ROOT, "posterior memory: %,d stored numbers (%.2f MiB as float64); fit %.1f s (Fisher %.1f s, prior %.1f s)%n",
                posterior.storedFloats(), posterior.storedFloats() * 8 / (1024.0 * 1024.0), fitSeconds, fisherSeconds, priorSeconds);
        Map<String, String> metadata = new LinkedHashMap<>();
        metadata.put("model", model.toAbsolutePath().normalize().toString());
        metadata.put("data", train.source());
        metadata.put(PosteriorFile.STRUCTURE, structure.cliName() + (structure == LaplaceFit.Structure.SYMMETRY
                ? " (" + (group == null ? "inferred groups" : group.name().toLowerCase(Locale.ROOT)) + ")" : ""));
        metadata.put(PosteriorFile.SUBSET, lastLayer ? "last-layer" : "all");
        metadata.put("fisher", "monte-carlo, " + samples + " label(s) per example, " + fisherData.size() + " examples, seed " + seed);
        metadata.put("prior-method", priorMethod.cliName + ": " + priorNote);
        metadata.put("log-evidence", Double.toString(logEvidence));
        PosteriorFile.write(target, posterior, metadata, force);
        stdout.printf(Locale.ROOT, "posterior written to %s (total %.1f s)%n", out, (System.nanoTime() - started) / 1e9);
        stdout.flush();
        return 0;
    }

    private double[] gridValues() {
        String[] parts = grid.split(":");
        try {
            if (parts.length == 3) {
                return PriorGrid.logSpaced(Double.parseDouble(parts[0]), Double.parseDouble(parts[1]), Integer.parseInt(parts[2]));
            }
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--grid " + grid + ": " + e.getMessage());
        }
        throw new ParameterException(spec.commandLine(), "--grid needs FROM:TO:PER_DECADE such as -3:7:2, got " + grid);
    }

    private void validateOptions() {
        if (batchSize < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batchSize);
        }
        if (samples < 1) {
            throw new ParameterException(spec.commandLine(), "--samples must be at least 1, got " + samples);
        }
        if (examples != null && examples < 1) {
            throw new ParameterException(spec.commandLine(), "--examples must be at least 1, got " + examples);
        }
        if (priorMethod == PriorMethod.FIXED && (priorPrecision == null || !(priorPrecision > 0) || priorPrecision.isInfinite())) {
            throw new ParameterException(spec.commandLine(), "--prior fixed needs --prior-precision LAMBDA > 0");
        }
        if (priorMethod != PriorMethod.FIXED && priorPrecision != null) {
            throw new ParameterException(spec.commandLine(), "--prior-precision goes with --prior fixed (the other methods choose λ)");
        }
        if (group != null && structure == LaplaceFit.Structure.DIAGONAL) {
            throw new ParameterException(spec.commandLine(), "--group applies to --structure symmetry");
        }
        if (priorMethod == PriorMethod.GRID) {
            gridValues();
        }
    }
}
