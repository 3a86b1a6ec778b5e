package org.symcurv.apps;

import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import me.tongfei.progressbar.ProgressBar;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.symcurv.apps.common.DataOptions;
import org.symcurv.apps.common.ModelScore;
import org.symcurv.apps.common.ClassifierEvaluation;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.CnnArchitecture;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.apps.common.NetworkArchitecture;
import org.symcurv.apps.common.SharedOptions;
import org.symcurv.core.data.AtomicFiles;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.symcurv.core.data.DataSources;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.PredictionTask;
import org.symcurv.core.model.ModelZip;
import org.symcurv.core.estimate.TaylorEstimator.InvariantPolicy;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.Muon;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Adam;
import org.symcurv.optimizer.MatrixGroups;
import org.symcurv.optimizer.Momentum;
import org.symcurv.optimizer.Shampoo;
import org.symcurv.optimizer.Recipe;
import org.symcurv.optimizer.SymmetryPreconditioner;
import org.symcurv.optimizer.train.ArrayTrainingData;
import org.symcurv.optimizer.train.Evaluator;
import org.symcurv.optimizer.train.Trainer;
import org.symcurv.optimizer.train.TrainingCheckpoint;
import org.symcurv.optimizer.train.TrainingConfig;
import org.symcurv.optimizer.train.TrainingListener;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv train}: fits an MLP classifier or identity/MSE regressor, or a LeNet-style CNN classifier on images
 * ({@link CnnArchitecture}), to its training data ({@link DataOptions};
 * Fashion-MNIST by default, CSV and {@code .npy} standardized by a stored DL4J normalizer) on shuffled minibatches with one of the optimizer
 * module's recipes ({@code symmetry}, {@code shampoo}, {@code muon}, {@code adam}, {@code adamw}, {@code sgd}; our own
 * loop, {@link Trainer}, not DL4J's updater), reports test accuracy and loss after every epoch, and writes the network
 * as a standard DL4J model zip ({@link ModelSerializer}, without updater state: the optimizer state lives in the
 * checkpoint) that plain DL4J can restore. The zip is written to a temporary sibling and renamed into place, so a
 * failed run never leaves half a model, and an existing model is kept unless {@code --force} is given. With
 * {@code --checkpoint} the run can be continued bit for bit by {@code --resume}.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        sortOptions = false,
        description = {"Train an MLP classifier (or, with --task regression, an identity/MSE regressor), or with --arch lenet a CNN",
                "classifier on images, and save it as a DL4J model zip.",
                "Data: --train/--test sources (CSV, .npy, IDX) or Fashion-MNIST; images are pixel/255, CSV and .npy features are",
                "standardized by a NormalizerStandardize stored in the zip."})
public final class TrainCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    DataOptions data;

    @Option(names = "--task", paramLabel = "TASK", defaultValue = "classification",
            description = "classification (softmax, cross-entropy; integer labels) or regression (identity output, MSE; real "
                    + "targets, CSV or .npy) (default: ${DEFAULT-VALUE}).")
    String taskName;

    @Option(names = "--normalizer", paramLabel = "KIND", defaultValue = "auto",
            description = "standardize (DL4J NormalizerStandardize fitted on the training data, targets too for regression, stored "
                    + "in the model zip), none, or auto: standardize for CSV and .npy, none for images (pixel/255) "
                    + "(default: ${DEFAULT-VALUE}).")
    String normalizerName;

    @Option(names = "--out", paramLabel = "FILE", defaultValue = "reports/model.zip",
            description = "Where to write the model zip (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--force", description = "Replace an existing model file.")
    boolean force;

    @Option(names = "--epochs", paramLabel = "N", defaultValue = "5", description = "Passes over the training set (default: ${DEFAULT-VALUE}).")
    int epochs;

    @Option(names = "--arch", paramLabel = "ARCH", defaultValue = "mlp",
            description = "mlp (dense layers --hidden) or lenet (--conv convolution stages of --kernel×--kernel kernels with 2×2 --pool "
                    + "pooling, then dense layers --hidden; image data only) (default: ${DEFAULT-VALUE}).")
    String archName;

    @Option(names = "--hidden", paramLabel = "W[,W...]", hideParamSyntax = true, split = ",",
            description = "Dense hidden layer widths (default: 256,256 for mlp, 120,84 for lenet).")
    List<Integer> hidden;

    @Option(names = "--conv", paramLabel = "C[,C...]", hideParamSyntax = true, split = ",", defaultValue = "6,16",
            description = "lenet: output channels of each convolution stage (default: ${DEFAULT-VALUE}, LeNet-5).")
    List<Integer> convChannels;

    @Option(names = "--kernel", paramLabel = "K", defaultValue = "5", description = "lenet: convolution kernel side (default: ${DEFAULT-VALUE}).")
    int kernel;

    @Option(names = "--pool", paramLabel = "KIND", defaultValue = "max", description = "lenet: max or avg pooling (default: ${DEFAULT-VALUE}).")
    String poolName;

    @Option(names = "--activation", paramLabel = "NAME", defaultValue = "relu", completionCandidates = HiddenActivation.CliNames.class,
            converter = HiddenActivation.Converter.class,
            description = "Hidden nonlinearity, one of: ${COMPLETION-CANDIDATES} (default: ${DEFAULT-VALUE}).")
    HiddenActivation activation;

    @Option(names = "--batch", paramLabel = "B", defaultValue = "128", description = "Minibatch size (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "42",
            description = "Seed of the weight initialisation and the minibatch shuffling (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--optimizer", paramLabel = "NAME", defaultValue = "adam",
            description = "symmetry, shampoo, muon, adam, adamw or sgd (default: ${DEFAULT-VALUE}).")
    String optimizerName;

    @Option(names = "--lr", paramLabel = "RATE",
            description = "Peak learning rate (default: the optimizer's: adam, adamw, shampoo 1e-3; muon 2e-3; sgd 0.05; symmetry 0.03).")
    Double learningRate;

    @Option(names = "--schedule", paramLabel = "KIND", defaultValue = "constant",
            description = "Learning-rate schedule after the warm-up: constant or cosine (decays to --lr-final × the peak at the "
                    + "last step; the symmetry step needs a decay) (default: ${DEFAULT-VALUE}).")
    String scheduleName;

    @Option(names = "--warmup", paramLabel = "STEPS", defaultValue = "0", description = "Linear warm-up steps (default: ${DEFAULT-VALUE}).")
    long warmup;

    @Option(names = "--lr-final", paramLabel = "FRACTION", defaultValue = "0",
            description = "The cosine schedule's final rate as a fraction of the peak (default: ${DEFAULT-VALUE}).")
    double finalFraction;

    @Option(names = "--weight-decay", paramLabel = "L",
            description = "Decoupled weight decay on weight matrices (default: 1e-2 for adamw, else 0).")
    Double weightDecay;

    @Option(names = "--clip", paramLabel = "NORM", defaultValue = "0",
            description = "Clip each gradient to this global norm; 0 turns clipping off (default: ${DEFAULT-VALUE}).")
    double clipNorm;

    @Option(names = "--beta1", paramLabel = "B1", description = "Momentum rate of adam, adamw, shampoo, symmetry (default: 0.9).")
    Double beta1;

    @Option(names = "--beta2", paramLabel = "B2",
            description = "Second-moment rate (default: 0.999 for adam and adamw, 0.99 for shampoo and symmetry).")
    Double beta2;

    @Option(names = "--momentum", paramLabel = "MU", description = "Momentum of sgd and muon (default: 0.9 for sgd, 0.95 for muon).")
    Double momentum;

    @Option(names = "--nesterov", negatable = true, description = "Nesterov momentum for sgd and muon (default: on for muon, off for sgd).")
    Boolean nesterov;

    @Option(names = "--refresh", paramLabel = "K", defaultValue = "10",
            description = "shampoo and symmetry: recompute the inverse every K steps (default: ${DEFAULT-VALUE}).")
    int refresh;

    @Option(names = "--statistics-every", paramLabel = "S", defaultValue = "1",
            description = "symmetry: update the gradient second moment every S steps (default: ${DEFAULT-VALUE}).")
    int statisticsEvery;

    @Option(names = "--damping", paramLabel = "L",
            description = "Relative damping of the inverse (default: 1e-2 for symmetry, 1e-4 for shampoo).")
    Double damping;

    @Option(names = "--damping-scope", paramLabel = "SCOPE", defaultValue = "per-block",
            description = "symmetry: damping relative to each block's largest eigenvalue (per-block) or the whole operator's "
                    + "(global) (default: ${DEFAULT-VALUE}).")
    String dampingScope;

    @Option(names = "--invariant", paramLabel = "POLICY", defaultValue = "adam",
            description = "symmetry: the invariant subspace by an Adam diagonal (adam) or the damped formula (damped-scalar, "
                    + "needs --damping-scope global) (default: ${DEFAULT-VALUE}).")
    String invariantPolicy;

    @Option(names = "--invariant-lr", paramLabel = "RATE",
            description = "symmetry: peak rate of the Adam-style invariant part, following the same schedule (default: 2e-3).")
    Double invariantLearningRate;

    @Option(names = "--group", paramLabel = "TYPE",
            description = "symmetry: use this group type for every hidden layer instead of the one its activation implies: "
                    + "perm, sign, signed-perm or orth.")
    String groupType;

    @Option(names = "--groups", paramLabel = "AXES",
            description = {"symmetry: which axes of each weight matrix keep their group: both (as inferred), out (the unit axis "
                    + "only, the input axis FREE: a full block over the inputs), in or none, for every matrix, or LEAF=… for one "
                    + "(e.g. out,0_W=both); the resulting labels are printed before training (default: both)."})
    String matrixGroups;

    @Option(names = "--damping-floor", paramLabel = "PHI",
            description = "symmetry, per-block damping: each block's shift is at least PHI × the global one, so that a block "
                    + "whose S_w is zero still moves (default: 0.01).")
    Double dampingFloor;

    @Option(names = "--weight-moment", paramLabel = "KIND", defaultValue = "current",
            description = "symmetry: S_w of the current weights (current), S_w := I (identity) or an EMA of it (averaged) "
                    + "(default: ${DEFAULT-VALUE}).")
    String weightMoment;

    @Option(names = "--form", paramLabel = "FORM", defaultValue = "eigen",
            description = "symmetry: H⁻¹ through the symmetric root of S_w + δI (eigen) or its Cholesky factor (cholesky) "
                    + "(default: ${DEFAULT-VALUE}).")
    String form;

    @Option(names = "--polar", paramLabel = "METHOD", defaultValue = "newton-schulz",
            description = "muon: the polar factor exactly (exact) or by 5 Newton–Schulz steps (default: ${DEFAULT-VALUE}).")
    String polar;

    @Option(names = "--checkpoint", paramLabel = "FILE",
            description = "Write a checkpoint (parameters, optimizer state, data position) here after every epoch.")
    Path checkpoint;

    @Option(names = "--checkpoint-every", paramLabel = "N", defaultValue = "0",
            description = "Also checkpoint every N minibatches; 0: only after epochs (default: ${DEFAULT-VALUE}).")
    long checkpointEvery;

    @Option(names = "--resume", paramLabel = "FILE",
            description = "Continue the run saved in this checkpoint (same options; it continues bit for bit).")
    Path resume;

    @Option(names = "--max-skipped", paramLabel = "N", defaultValue = "10",
            description = "Stop after more than N steps with a non-finite loss, gradient or update (default: ${DEFAULT-VALUE}).")
    int maxSkipped;

    @Mixin
    SharedOptions.Progress progress;

    @Override
    public Integer call() throws IOException {
        validateOptions();
        OptimizerSettings settings = optimizerSettings();
        PrintWriter stdout = spec.commandLine().getOut();
        Path target = out.toAbsolutePath().normalize();
        if (Files.isDirectory(target)) {
            throw new SymcurvCli.CommandFailure(out + " is a directory; --out needs a file name such as " + out.resolve("model.zip"));
        }
        if (Files.exists(target) && !force) {
            throw new SymcurvCli.CommandFailure(out + " already exists; pass --force to replace it or choose another --out");
        }
        TrainingCheckpoint saved = null;
        if (resume != null) {
            try {
                saved = TrainingCheckpoint.read(resume);
            } catch (java.nio.file.NoSuchFileException e) {
                throw new SymcurvCli.CommandFailure("cannot resume: " + resume + " does not exist");
            } catch (IOException e) {
                throw new SymcurvCli.CommandFailure("cannot resume from " + resume + ": " + SymcurvCli.describe(e));
            }
        }
        PredictionTask task = parseTask();
        LabelledData rawTrain = data.readTrain(task);
        LabelledData rawTest = data.readTest(task);
        if (rawTest.featureCount() != rawTrain.featureCount() || rawTest.outputCount() != rawTrain.outputCount()
                && task == PredictionTask.REGRESSION) {
            throw new SymcurvCli.CommandFailure(rawTest.source() + " has " + rawTest.featureCount() + " features and " + rawTest.outputCount()
                    + " targets, but the training data " + rawTrain.source() + " has " + rawTrain.featureCount() + " and " + rawTrain.outputCount());
        }
        if (task == PredictionTask.CLASSIFICATION) {
            int classes = Math.max(2, Math.max(rawTrain.numClasses(), rawTest.numClasses()));
            rawTrain = rawTrain.withNumClasses(classes);
            rawTest = rawTest.withNumClasses(classes);
        }
        NormalizerStandardize normalizer = switch (normalizerName.toLowerCase(Locale.ROOT)) {
            case "standardize" -> DataSources.standardizer(rawTrain);
            case "none" -> null;
            case "auto" -> rawTrain.isImages() ? null : DataSources.standardizer(rawTrain);
            default -> throw new ParameterException(spec.commandLine(), "--normalizer must be standardize, none or auto, got '" + normalizerName + "'");
        };
        LabelledData train = rawTrain.normalized(normalizer);
        LabelledData test = rawTest.normalized(normalizer);
        Path tmp = createTemporaryOutput(target);
        try {
            NetworkArchitecture architecture = architecture(train, task);
            MultiLayerNetwork network = architecture.newNetworkWithoutUpdater(seed);
            TrainingConfig config = new TrainingConfig(batchSize, (long) epochs * ((train.size() + batchSize - 1) / batchSize), seed, 0,
                    false, maxSkipped, checkpoint, checkpointEvery);
            settings = withTotalSteps(settings, config.totalIterations());
            Optimizer optimizer = settings.build(network);
            stdout.printf(Locale.ROOT, "training %s %s %s (%,d parameters) on %,d examples of %s%s%n",
                    architecture.describe(), architecture.kind(), task == PredictionTask.CLASSIFICATION ? "classifier" : "regressor", architecture.parameterCount(),
                    train.size(), train.source(), normalizer == null ? "" : " (standardized: NormalizerStandardize"
                            + (task == PredictionTask.REGRESSION ? " on features and targets" : " on features") + ", stored in the model)");
            stdout.printf(Locale.ROOT, "optimizer %s%n", optimizer.describe());
            optimizer.link(SymmetryPreconditioner.class).ifPresent(s -> {
                stdout.printf(Locale.ROOT, "symmetry groups: %s; largest block %d copies; weight matrices:%n", s.decomposition().spec().groups(),
                        s.largestActiveBlock());
                s.decomposition().spec().leaves().stream().filter(l -> l.rank() == 2).forEach(l -> stdout.printf(Locale.ROOT, "  %s%n", l));
            });
            stdout.printf(Locale.ROOT, "batch %d, seed %d, %d epoch%s (%,d steps); testing on %,d examples%n",
                    batchSize, seed, epochs, epochs == 1 ? "" : "s", config.totalIterations(), test.size());
            stdout.flush();

            final LabelledData testSet = test;
            Evaluator evaluator = net -> {
                ModelScore e = ModelScore.of(net, testSet, normalizer);
                Map<String, Double> metrics = new java.util.LinkedHashMap<>();
                metrics.put("loss", e.meanLoss());
                metrics.put(e.task() == PredictionTask.CLASSIFICATION ? "accuracy" : "rmse",
                        e.task() == PredictionTask.CLASSIFICATION ? e.accuracy() : e.rmse());
                metrics.put("count", (double) e.count());
                return metrics;
            };
            ArrayTrainingData examples = new ArrayTrainingData(train.features(), train.labels());
            Reporter reporter = new Reporter(stdout, config.batchesPerEpoch(train.size()), saved == null ? 0 : saved.trainSeconds());
            Trainer trainer;
            if (saved != null) {
                try {
                    trainer = Trainer.resume(saved, network, optimizer, examples, evaluator, config, reporter);
                } catch (IllegalArgumentException mismatch) { // a checkpoint of another run: the user's input, not a bug
                    throw new SymcurvCli.CommandFailure("cannot resume from " + resume + ": " + mismatch.getMessage(), mismatch);
                }
                stdout.printf(Locale.ROOT, "resuming from %s after %,d of %,d steps%n", resume, saved.iteration(), config.totalIterations());
                stdout.flush();
            } else {
                trainer = Trainer.start(network, optimizer, examples, evaluator, config, reporter);
            }
            try {
                trainer.run();
            } finally {
                reporter.closeBar();
            }
            try {
                ModelZip.write(target, network, normalizer, force);
            } catch (IOException e) {
                throw new SymcurvCli.CommandFailure("could not write the model to " + out + ": " + SymcurvCli.describe(e), e);
            }
            stdout.printf(Locale.ROOT, "model written to %s%n", out);
            stdout.flush();
            return 0;
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private OptimizerSettings optimizerSettings() {
        Recipe recipe;
        try {
            recipe = Recipe.parse(optimizerName);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        OptimizerSettings s = OptimizerSettings.defaults(recipe);
        try {
            // each option changes the links that have the setting (e.g. --beta2 Adam's, Shampoo's and the symmetry link's)
            if (beta1 != null || beta2 != null) {
                s = s.with(Adam.Settings.class, a -> a.withBetas(beta1 != null ? beta1 : a.beta1(), beta2 != null ? beta2 : a.beta2()))
                        .with(Shampoo.Settings.class, x -> x.withBetas(beta1 != null ? beta1 : x.beta1(), beta2 != null ? beta2 : x.beta2())
                                .withRest(x.rest().withBetas(beta1 != null ? beta1 : x.rest().beta1(), beta2 != null ? beta2 : x.rest().beta2())))
                        .with(Muon.Settings.class, x -> x.withRest(x.rest().withBetas(beta1 != null ? beta1 : x.rest().beta1(),
                                beta2 != null ? beta2 : x.rest().beta2())))
                        .with(SymmetryPreconditioner.Settings.class, x -> x.withOptions(x.options().withBetas(
                                beta1 != null ? beta1 : x.options().beta1(), beta2 != null ? beta2 : x.options().beta2())));
            }
            if (momentum != null || nesterov != null) {
                s = s.with(Momentum.Settings.class, m -> new Momentum.Settings(momentum != null ? momentum : m.momentum(),
                                nesterov != null ? nesterov : m.nesterov()))
                        .with(Muon.Settings.class, m -> m.withMomentum(momentum != null ? momentum : m.momentum(),
                                nesterov != null ? nesterov : m.nesterov()));
            }
            if (weightDecay != null) {
                s = s.withWeightDecay(weightDecay);
            }
            s = s.withClipNorm(clipNorm).with(Shampoo.Settings.class, x -> x.withRefreshInterval(refresh));
            if (damping != null) {
                s = s.with(Shampoo.Settings.class, x -> x.withDamping(damping));
            }
            Damping.Scope scope = switch (dampingScope.toLowerCase(Locale.ROOT)) {
                case "per-block" -> Damping.Scope.PER_BLOCK;
                case "global" -> Damping.Scope.GLOBAL;
                default -> throw new IllegalArgumentException("--damping-scope must be per-block or global, got '" + dampingScope + "'");
            };
            InvariantPolicy policy = switch (invariantPolicy.toLowerCase(Locale.ROOT)) {
                case "adam" -> InvariantPolicy.ADAM;
                case "damped-scalar" -> InvariantPolicy.DAMPED_SCALAR;
                default -> throw new IllegalArgumentException("--invariant must be adam or damped-scalar, got '" + invariantPolicy + "'");
            };
            if (invariantLearningRate != null && !(invariantLearningRate > 0)) {
                throw new IllegalArgumentException("--invariant-lr must be a positive number, got " + invariantLearningRate);
            }
            // the Options constructor checks the combination now (e.g. damped-scalar with per-block damping): a usage error
            s = s.with(SymmetryPreconditioner.Settings.class, x -> {
                double lambda = damping != null ? damping : x.options().damping().relative();
                SymmetryPreconditioner.Options o = x.options();
                SymmetryPreconditioner.Settings y = x.withOptions(new SymmetryPreconditioner.Options(o.beta1(), o.beta2(),
                        scope == Damping.Scope.GLOBAL ? Damping.global(lambda) : Damping.perBlock(lambda), refresh, statisticsEvery, policy,
                        o.adamEpsilon(), o.invariantScale(), dampingFloor != null ? dampingFloor : o.dampingFloor(),
                        SymmetryPreconditioner.WeightMoment.valueOf(word(weightMoment, "--weight-moment", "current", "identity", "averaged")),
                        SymmetryPreconditioner.Form.valueOf(word(form, "--form", "eigen", "cholesky"))));
                y = matrixGroups != null ? y.withMatrixGroups(MatrixGroups.parse(matrixGroups)) : y;
                y = groupType != null ? y.withGroupType(GroupType.parse(groupType)) : y;
                return invariantLearningRate != null ? y.withInvariantLearningRate(invariantLearningRate) : y;
            });
            Muon.Polar p = switch (polar.toLowerCase(Locale.ROOT)) {
                case "exact" -> Muon.Polar.EXACT;
                case "newton-schulz" -> Muon.Polar.NEWTON_SCHULZ;
                default -> throw new IllegalArgumentException("--polar must be exact or newton-schulz, got '" + polar + "'");
            };
            s = s.with(Muon.Settings.class, m -> m.withPolar(p, m.newtonSchulzSteps()));
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage());
        }
        return s;
    }

    /** {@code value} upper-cased when it is one of {@code words} (ignoring case); otherwise a message naming the option. */
    private static String word(String value, String option, String... words) {
        for (String w : words) {
            if (w.equalsIgnoreCase(value.trim())) {
                return w.toUpperCase(Locale.ROOT);
            }
        }
        throw new IllegalArgumentException(option + " must be one of " + String.join(", ", words) + ", got '" + value + "'");
    }

    /** The schedule needs the run's length: set it once the data (and so the number of steps) is known. */
    private OptimizerSettings withTotalSteps(OptimizerSettings s, long totalSteps) {
        double peak = learningRate != null ? learningRate : s.schedule().peak();
        LearningRateSchedule schedule;
        if (scheduleName.equalsIgnoreCase("cosine")) {
            if (warmup >= totalSteps) {
                throw new ParameterException(spec.commandLine(), "--warmup " + warmup + " leaves no steps for the cosine decay of a "
                        + totalSteps + "-step run");
            }
            schedule = LearningRateSchedule.warmupCosine(peak, warmup, totalSteps, finalFraction);
        } else {
            schedule = LearningRateSchedule.warmupConstant(peak, warmup);
        }
        return s.withSchedule(schedule);
    }

    private PredictionTask parseTask() {
        return switch (taskName.toLowerCase(Locale.ROOT)) {
            case "classification" -> PredictionTask.CLASSIFICATION;
            case "regression" -> PredictionTask.REGRESSION;
            default -> throw new ParameterException(spec.commandLine(), "--task must be classification or regression, got '" + taskName + "'");
        };
    }

    private void validateOptions() {
        if (epochs < 1) {
            throw new ParameterException(spec.commandLine(), "--epochs must be at least 1, got " + epochs);
        }
        if (batchSize < 1) {
            throw new ParameterException(spec.commandLine(), "--batch must be at least 1, got " + batchSize);
        }
        if (learningRate != null && (!(learningRate > 0) || Double.isInfinite(learningRate))) {
            throw new ParameterException(spec.commandLine(), "--lr must be a positive number, got " + learningRate);
        }
        if (!archName.equalsIgnoreCase("mlp") && !archName.equalsIgnoreCase("lenet")) {
            throw new ParameterException(spec.commandLine(), "--arch must be mlp or lenet, got '" + archName + "'");
        }
        if (!poolName.equalsIgnoreCase("max") && !poolName.equalsIgnoreCase("avg")) {
            throw new ParameterException(spec.commandLine(), "--pool must be max or avg, got '" + poolName + "'");
        }
        if (hidden == null) {
            hidden = archName.equalsIgnoreCase("lenet") ? List.of(120, 84) : List.of(256, 256);
        }
        if (convChannels.isEmpty() || convChannels.stream().anyMatch(c -> c == null || c < 1) || kernel < 1) {
            throw new ParameterException(spec.commandLine(), "--conv needs positive channel counts such as 6,16 and --kernel a positive side, got "
                    + convChannels + " and " + kernel);
        }
        if (archName.equalsIgnoreCase("mlp") && hidden.isEmpty() || hidden.stream().anyMatch(width -> width == null || width < 1)) {
            throw new ParameterException(spec.commandLine(), "--hidden needs positive layer widths such as 256,256, got " + hidden);
        }
        if (!scheduleName.equalsIgnoreCase("constant") && !scheduleName.equalsIgnoreCase("cosine")) {
            throw new ParameterException(spec.commandLine(), "--schedule must be constant or cosine, got '" + scheduleName + "'");
        }
        if (warmup < 0 || !(finalFraction >= 0 && finalFraction <= 1)) {
            throw new ParameterException(spec.commandLine(), "--warmup must be ≥ 0 and --lr-final in [0, 1], got " + warmup + " and "
                    + finalFraction);
        }
        if (refresh < 1 || statisticsEvery < 1 || maxSkipped < 0 || checkpointEvery < 0 || clipNorm < 0) {
            throw new ParameterException(spec.commandLine(), "--refresh and --statistics-every must be ≥ 1, --max-skipped, "
                    + "--checkpoint-every and --clip ≥ 0");
        }
        if (checkpointEvery > 0 && checkpoint == null) {
            throw new ParameterException(spec.commandLine(), "--checkpoint-every needs --checkpoint FILE");
        }
    }

    /** The network {@code --arch} asks for, sized to the data. */
    private NetworkArchitecture architecture(LabelledData train, PredictionTask task) {
        if (archName.equalsIgnoreCase("mlp")) {
            return new MlpArchitecture(train.featureCount(), hidden, activation, train.outputCount(), task);
        }
        if (task != PredictionTask.CLASSIFICATION) {
            throw new ParameterException(spec.commandLine(), "--arch lenet trains classifiers only; use --arch mlp for --task regression");
        }
        if (!train.isImages()) {
            throw new SymcurvCli.CommandFailure("--arch lenet needs images (an IDX source, whose files give rows and columns); " + train.source()
                    + " holds " + train.featureCount() + " features without an image shape: use --arch mlp for it");
        }
        return new CnnArchitecture(train.height(), train.width(), convChannels, kernel, poolName.equalsIgnoreCase("max"), hidden, activation,
                train.outputCount());
    }

    /** Creates the temporary sibling now, so an unwritable destination fails before any training. */
    private Path createTemporaryOutput(Path target) {
        try {
            return AtomicFiles.createSiblingTemp(target);
        } catch (IOException e) {
            throw new SymcurvCli.CommandFailure("cannot write the model to " + out + ": " + SymcurvCli.describe(e)
                    + "; choose a writable --out", e);
        }
    }

    /** Prints one line per epoch, warnings for skipped steps, and a progress bar per epoch on a console. */
    private final class Reporter implements TrainingListener {
        private final PrintWriter stdout;
        private final int batchesPerEpoch;
        private ProgressBar bar;
        private int barEpoch = -1;
        private double lossSum;
        private long lossCount;
        private double epochStartSeconds;

        Reporter(PrintWriter stdout, int batchesPerEpoch, double startSeconds) {
            this.stdout = stdout;
            this.batchesPerEpoch = batchesPerEpoch;
            this.epochStartSeconds = startSeconds;
        }

        @Override
        public void onStep(Step step) {
            lossSum += step.loss();
            lossCount++;
            if (!progress.shown()) {
                return;
            }
            if (bar == null || barEpoch != step.epoch()) {
                closeBar();
                barEpoch = step.epoch();
                bar = progress.bar("epoch " + (step.epoch() + 1) + "/" + epochs, batchesPerEpoch, " steps");
                bar.stepTo((step.iteration() - 1) % batchesPerEpoch);
            }
            bar.step();
            bar.setExtraMessage(String.format(Locale.ROOT, "loss %.4f", lossSum / lossCount));
        }

        @Override
        public void onSkipped(Skipped skipped) {
            spec.commandLine().getErr().printf(Locale.ROOT, "warning: step %d skipped, non-finite %s (%d skipped so far)%n",
                    skipped.iteration(), skipped.reason(), skipped.skipped());
            spec.commandLine().getErr().flush();
        }

        @Override
        public void onEvaluation(Evaluation e) {
            if (!e.endOfEpoch() && e.iteration() % batchesPerEpoch != 0 && e.iteration() != (long) epochs * batchesPerEpoch) {
                return;
            }
            closeBar();
            int epoch = (int) Math.ceil(e.epoch() - 1e-9);
            Map<String, Double> m = e.metrics();
            String score = m.containsKey("accuracy") ? String.format(Locale.ROOT, "test accuracy %.4f", m.get("accuracy"))
                    : String.format(Locale.ROOT, "test RMSE %.4g", m.get("rmse"));
            stdout.printf(Locale.ROOT, "epoch %d/%d: train loss %.4f, test loss %.4f, %s (%d examples), %.1f s%n",
                    epoch, epochs, lossCount == 0 ? Double.NaN : lossSum / lossCount, m.get("loss"), score,
                    m.get("count").longValue(), e.trainSeconds() - epochStartSeconds);
            stdout.flush();
            lossSum = 0;
            lossCount = 0;
            epochStartSeconds = e.trainSeconds();
        }

        @Override
        public void onCheckpoint(Path path, long iteration) {
            if (iteration % batchesPerEpoch == 0) {
                stdout.printf(Locale.ROOT, "checkpoint written to %s (step %,d)%n", path, iteration);
                stdout.flush();
            }
        }

        void closeBar() {
            if (bar != null) {
                bar.close();
                bar = null;
            }
        }
    }
}
