package org.symcurv.continual;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.operator.Curvature;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Update;
import org.symcurv.optimizer.train.Evaluator;
import org.symcurv.optimizer.train.Trainer;
import org.symcurv.optimizer.train.TrainingConfig;
import org.symcurv.optimizer.train.TrainingData;
import org.symcurv.optimizer.train.TrainingListener;

/**
 * A network learning a sequence of tasks with EWC: it trains on the objective {@code L_B(θ) + R(θ)} ({@link EwcPenalty}
 * of the {@link ConsolidatedState}), and at each task end {@link #consolidate}s the task's Fisher. The library entry point
 * for the CLI, the benchmark and the streaming service:
 * <pre>
 *   ContinualLearner learner = ContinualLearner.create(net, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 100), OptimizerSettings.defaults(Recipe.ADAM));
 *   for (DataSet batch : task1) learner.trainOn(batch);        // or learner.trainTask(data, config, listener)
 *   learner.consolidate(task1Images, seed);
 *   learner.save(Path.of("model.zip"), true);                    // a plain DL4J zip with the consolidated state inside
 *   ContinualLearner later = ContinualLearner.load(Path.of("model.zip"), settings, optimizerSettings);
 * </pre>
 * The optimizer's moments start afresh at every task boundary (each {@link #consolidate}, each {@link #trainTask}) and are
 * not part of {@link #save}; everything else needed to continue (parameters, anchors, Fishers, task count) is. A checkpoint
 * in the middle of a task adds them with {@link #optimizerState} and {@link #restoreOptimizerState}. Not thread-safe.
 */
public final class ContinualLearner {
    /** The zip entry holding the consolidated state inside a saved model. */
    public static final String STATE_ENTRY = "symcurv-continual-state.bin";

    /**
     * One {@link #trainOn} step.
     *
     * @param dataLoss the minibatch's mean loss before the step
     * @param penalty  {@code R(θ)} before the step
     * @param applied  false when the loss, gradient or step was not finite and the step was skipped (nothing changed)
     */
    public record Step(double dataLoss, double penalty, boolean applied) {
    }

    /**
     * One consolidation.
     *
     * @param tasks        tasks consolidated, this one included
     * @param examples     images the Fisher was averaged over
     * @param seconds      wall-clock of the Fisher estimate and the state update
     * @param fisherFloats numbers stored for this task's Fisher
     * @param stateFloats  numbers stored for all the state's Fishers
     */
    public record Consolidation(int tasks, long examples, double seconds, long fisherFloats, long stateFloats) {
    }

    private final MultiLayerNetwork network;
    private final ParameterLayout layout;
    private final EwcSettings settings;
    private final OptimizerSettings optimizerSettings;
    private final Optimizer optimizer;
    private ConsolidatedState state;
    private EwcPenalty penalty;
    private INDArray theta;
    private Optimizer.State optimizerState;

    @SuppressWarnings("unchecked")
    private ContinualLearner(MultiLayerNetwork network, EwcSettings settings, OptimizerSettings optimizerSettings, ConsolidatedState state) {
        this.network = Objects.requireNonNull(network, "network");
        this.layout = ParameterLayout.ofAnyLayers(network);
        this.settings = Objects.requireNonNull(settings, "settings");
        this.optimizerSettings = Objects.requireNonNull(optimizerSettings, "optimizerSettings");
        this.optimizer = optimizerSettings.build(network);
        this.state = state;
        this.penalty = EwcPenalty.of(state, settings.lambda(), penaltyType(network));
        this.theta = layout.read(network);
        this.optimizerState = optimizer.init(theta);
    }

    /**
     * A learner with nothing consolidated, from the network's current parameters (the network is trained in place).
     *
     * @throws org.symcurv.core.model.UnsupportedLayerException if the method's Fisher does not support a layer
     */
    public static ContinualLearner create(MultiLayerNetwork network, EwcSettings settings, OptimizerSettings optimizer) {
        if (settings.method().usesFisher()) {
            TaskFisher.spec(network, settings.method()); // fail now, not at the first task end
        }
        return new ContinualLearner(network, settings, optimizer, ConsolidatedState.empty(network, settings));
    }

    /**
     * Loads a model saved by {@link #save} with its consolidated state; a plain DL4J model zip (no state inside) starts
     * with nothing consolidated.
     *
     * @param settings must name the method and mode the state was consolidated with; {@code λ} is taken from it
     * @throws ConsolidatedStateException when the state is corrupt, or its method or mode differ from {@code settings}
     * @throws IOException                when the model cannot be read
     */
    public static ContinualLearner load(Path modelZip, EwcSettings settings, OptimizerSettings optimizer) throws IOException {
        MultiLayerNetwork network = ModelSerializer.restoreMultiLayerNetwork(modelZip.toFile(), false);
        byte[] bytes = null;
        try (ZipFile zip = new ZipFile(modelZip.toFile())) {
            ZipEntry entry = zip.getEntry(STATE_ENTRY);
            if (entry != null) {
                try (InputStream in = zip.getInputStream(entry)) {
                    bytes = in.readAllBytes();
                }
            }
        }
        return restore(network, bytes, modelZip + " (entry " + STATE_ENTRY + ")", settings, optimizer);
    }

    /**
     * The learner of {@code network} at its current parameters with the consolidated state {@code stateBytes} (as
     * {@link ConsolidatedState#toBytes} wrote it; null: nothing consolidated). {@link #load} is this after reading a zip.
     *
     * @param source names where the bytes came from, for messages
     * @throws ConsolidatedStateException when the state is corrupt, does not fit the network, or its method or mode differ
     *                                    from {@code settings}
     */
    public static ContinualLearner restore(MultiLayerNetwork network, byte[] stateBytes, String source, EwcSettings settings,
                                           OptimizerSettings optimizer) throws ConsolidatedStateException {
        ConsolidatedState state = stateBytes == null ? ConsolidatedState.empty(network, settings)
                : ConsolidatedState.fromBytes(stateBytes, source, network);
        if (state.method() != settings.method() || state.mode() != settings.mode()
                || state.mode() == EwcMode.ONLINE && state.gamma() != settings.gamma()) {
            throw new ConsolidatedStateException(source + " holds a state consolidated with " + state.method().cliName() + ", "
                    + state.mode().cliName() + (state.mode() == EwcMode.ONLINE ? " (γ " + state.gamma() + ")" : "") + " but "
                    + settings.describe() + " was asked for: continue with the method and mode it was saved with");
        }
        return new ContinualLearner(network, settings, optimizer, state);
    }

    public MultiLayerNetwork network() {
        return network;
    }

    public EwcSettings settings() {
        return settings;
    }

    public OptimizerSettings optimizerSettings() {
        return optimizerSettings;
    }

    public ConsolidatedState state() {
        return state;
    }

    /** The penalty currently added to the training objective. */
    public EwcPenalty penalty() {
        return penalty;
    }

    /**
     * The optimizer's state (step count and moments) as a {@link org.symcurv.optimizer.StateTree}, for a checkpoint taken
     * in the middle of a task; {@link #restoreOptimizerState} puts it back.
     */
    public org.symcurv.optimizer.StateTree optimizerState() {
        return optimizer.encode(optimizerState);
    }

    /**
     * Continues from an optimizer state saved by {@link #optimizerState} for this network and optimizer.
     *
     * @throws IllegalArgumentException when the state was written for another optimizer or network (names and shapes differ)
     */
    public void restoreOptimizerState(org.symcurv.optimizer.StateTree saved) {
        org.symcurv.optimizer.StateTree expected = optimizer.encode(optimizer.init(theta));
        if (!expected.sameLayout(saved)) {
            throw new IllegalArgumentException("the saved optimizer state was written for another optimizer or network than "
                    + optimizer.describe() + " on " + theta.length() + " parameters");
        }
        optimizerState = optimizer.decode(saved);
    }

    /** Tasks consolidated so far. */
    public int tasks() {
        return state.tasks();
    }

    /**
     * One optimizer step on {@code minibatch} for {@code L_B(θ) + R(θ)}. A step whose loss, gradient or update is not finite
     * is skipped (parameters and optimizer state kept) and reported in the result.
     *
     * @param minibatch features {@code [n, nIn]} and one-hot labels {@code [n, K]}, {@code n ≥ 1}; not modified
     */
    public Step trainOn(DataSet minibatch) {
        Gradients.LossAndGradient lg = Gradients.meanLossAndGradient(network, minibatch);
        EwcPenalty.ValueAndGradient r = penalty.valueAndGradient(theta);
        INDArray g = lg.meanGradient().add(r.gradient().castTo(lg.meanGradient().dataType()).reshape(lg.meanGradient().shape()));
        if (!Double.isFinite(lg.meanLoss()) || !Double.isFinite(r.value()) || !finite(g)) {
            return new Step(lg.meanLoss(), r.value(), false);
        }
        Update<Optimizer.State> update;
        try {
            update = optimizer.update(g, optimizerState, theta);
        } catch (ArithmeticException e) {
            return new Step(lg.meanLoss(), r.value(), false);
        }
        if (!finite(update.step())) {
            return new Step(lg.meanLoss(), r.value(), false);
        }
        theta = theta.add(update.step());
        layout.write(theta, network);
        optimizerState = update.state();
        return new Step(lg.meanLoss(), r.value(), true);
    }

    /**
     * Trains one task with the optimizer's loop ({@link Trainer}, fresh optimizer moments, the penalty as its
     * {@link org.symcurv.optimizer.train.Regularizer}); the same objective as {@link #trainOn}, with shuffled epochs.
     *
     * @throws org.symcurv.optimizer.train.TrainingDivergedException after too many non-finite steps
     */
    public Trainer.Result trainTask(TrainingData data, TrainingConfig config, Evaluator evaluator, TrainingListener listener) {
        layout.write(theta, network);
        Trainer trainer = Trainer.start(network, optimizer, data, evaluator, config, listener);
        if (!penalty.isZero()) {
            trainer.withRegularizer(penalty);
        }
        Trainer.Result result = trainer.run();
        theta = layout.read(network);
        optimizerState = trainer.state();
        return result;
    }

    /** {@link #consolidate(INDArray, long, FisherSource.Progress)} on a task's images, without progress. */
    public Consolidation consolidate(ImageDataSet taskImages, long seed) {
        return consolidate(taskImages.features(), seed, FisherSource.Progress.NONE);
    }

    /**
     * Ends a task: estimates the method's Fisher at the current parameters over {@code taskFeatures} (Monte Carlo labels
     * seeded by {@code seed}), folds it into the state (separate: a new anchor; online: {@code γ F̃ + F}), rebuilds the
     * penalty and resets the optimizer's moments. Fine-tuning only counts the task.
     *
     * @param taskFeatures {@code [N, nIn]} images of the finished task, {@code N ≥ 1}; not modified
     */
    public Consolidation consolidate(INDArray taskFeatures, long seed, FisherSource.Progress listener) {
        long started = System.nanoTime();
        Curvature fisher = null;
        if (settings.method().usesFisher()) {
            fisher = TaskFisher.estimate(network, settings.method(), taskFeatures, seed, settings.fisherBatchSize(), listener);
        }
        state = state.consolidate(theta, fisher);
        penalty = EwcPenalty.of(state, settings.lambda(), penaltyType(network));
        optimizerState = optimizer.init(theta);
        double seconds = (System.nanoTime() - started) / 1e9;
        return new Consolidation(state.tasks(), taskFeatures.size(0), seconds, fisher == null ? 0 : fisher.storedFloats(), state.fisherFloats());
    }

    /**
     * Writes the model as a standard DL4J zip ({@code ModelSerializer.restoreMultiLayerNetwork} reads it) with the consolidated
     * state as the extra entry {@value #STATE_ENTRY}, atomically.
     *
     * @param replace whether an existing file may be replaced
     * @throws FileAlreadyExistsException when it exists and {@code replace} is false (nothing written)
     */
    public void save(Path modelZip, boolean replace) throws IOException {
        if (!replace && Files.exists(modelZip)) {
            throw new FileAlreadyExistsException(modelZip.toString(), null, "it already exists and replacing it was not asked for");
        }
        layout.write(theta, network);
        ByteArrayOutputStream model = new ByteArrayOutputStream();
        ModelSerializer.writeModel(network, model, false);
        byte[] stateBytes = state.toBytes();
        Path tmp = AtomicFiles.createSiblingTemp(modelZip);
        try {
            try (OutputStream file = Files.newOutputStream(tmp); ZipOutputStream out = new ZipOutputStream(file);
                 ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(model.toByteArray()))) {
                for (ZipEntry e = in.getNextEntry(); e != null; e = in.getNextEntry()) {
                    out.putNextEntry(new ZipEntry(e.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
                out.putNextEntry(new ZipEntry(STATE_ENTRY));
                out.write(stateBytes);
                out.closeEntry();
            }
            AtomicFiles.moveIntoPlace(tmp, modelZip, replace);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** The penalty is computed at the network's precision: float32 networks get a float32 penalty, others float64. */
    private static org.nd4j.linalg.api.buffer.DataType penaltyType(MultiLayerNetwork network) {
        return network.params().dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT ? org.nd4j.linalg.api.buffer.DataType.FLOAT
                : org.nd4j.linalg.api.buffer.DataType.DOUBLE;
    }

    private static boolean finite(INDArray v) {
        return org.symcurv.core.Finite.all(v);
    }
}
