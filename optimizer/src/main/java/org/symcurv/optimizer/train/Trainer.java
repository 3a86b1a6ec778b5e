package org.symcurv.optimizer.train;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.Update;

/**
 * The training loop for a DL4J {@link MultiLayerNetwork} driven by one of our {@link Optimizer}s (DL4J's own updater is
 * never used): for each minibatch {@code B_t} of a per-epoch shuffle,
 * <pre>
 *   (L_t, g_t) = mean loss and gradient on B_t at θ_t,   (Δθ_t, s_t) = optimizer.update(g_t, s_{t-1}, θ_t),   θ_{t+1} = θ_t + Δθ_t,
 * </pre>
 * with held-out evaluation at epoch ends (and every {@code evaluateEvery} minibatches), and a guard: a minibatch whose
 * loss, gradient or step is not finite is skipped — parameters and optimizer state are kept, the skip is counted and
 * reported — and after more than {@code maxNonFiniteSteps} skips the run stops with a {@link TrainingDivergedException}.
 *
 * <p>{@link #checkpoint()} captures parameters, optimizer state, the data position (each epoch's order is a function of
 * the seed and the epoch) and the clock; {@link #resume} continues from it, and the continued run is bit for bit the
 * uninterrupted one. Not thread-safe.
 */
public final class Trainer {
    /**
     * @param iterations   minibatches consumed
     * @param skipped      steps skipped as non-finite
     * @param trainSeconds training wall-clock (evaluations and checkpoints excluded)
     * @param metrics      the last evaluation's metrics (empty if none ran)
     */
    public record Result(long iterations, long skipped, double trainSeconds, Map<String, Double> metrics) {
    }

    private final MultiLayerNetwork network;
    private final ParameterLayout layout;
    private final Optimizer optimizer;
    private final TrainingData data;
    private final Evaluator evaluator;
    private final TrainingConfig config;
    private final TrainingListener listener;
    private INDArray theta;
    private Optimizer.State state;
    private long iteration;
    private long skipped;
    private double trainSeconds;
    private long orderEpoch = -1;
    private int[] order;
    private double lossSum;
    private long lossCount;
    private Map<String, Double> lastMetrics = Map.of();
    private Regularizer regularizer;

    @SuppressWarnings("unchecked")
    private Trainer(MultiLayerNetwork network, Optimizer optimizer, TrainingData data, Evaluator evaluator, TrainingConfig config,
                    TrainingListener listener) {
        this.network = Objects.requireNonNull(network, "network");
        this.layout = ParameterLayout.ofAnyLayers(network);
        this.optimizer = Objects.requireNonNull(optimizer, "optimizer");
        this.data = Objects.requireNonNull(data, "data");
        this.evaluator = Objects.requireNonNull(evaluator, "evaluator");
        this.config = Objects.requireNonNull(config, "config");
        this.listener = Objects.requireNonNull(listener, "listener");
        if (optimizer.layout().parameterCount() != layout.parameterCount()) {
            throw new IllegalArgumentException("the optimizer was built for " + optimizer.layout().parameterCount()
                    + " parameters but the network has " + layout.parameterCount() + ": build it from this network");
        }
    }

    /** A run from the network's current parameters and a fresh optimizer state. */
    public static Trainer start(MultiLayerNetwork network, Optimizer optimizer, TrainingData data, Evaluator evaluator,
                                TrainingConfig config, TrainingListener listener) {
        Trainer t = new Trainer(network, optimizer, data, evaluator, config, listener);
        t.theta = t.layout.read(network);
        t.state = t.optimizer.init(t.theta);
        return t;
    }

    /**
     * Continues a run from a checkpoint: the network's parameters are overwritten with the checkpoint's.
     *
     * @throws IllegalArgumentException naming the difference when the network, optimizer, batch size or data seed is not
     *                                  the one that wrote the checkpoint
     */
    public static Trainer resume(TrainingCheckpoint checkpoint, MultiLayerNetwork network, Optimizer optimizer, TrainingData data,
                                 Evaluator evaluator, TrainingConfig config, TrainingListener listener) {
        Trainer t = new Trainer(network, optimizer, data, evaluator, config, listener);
        String architecture = architecture(network);
        if (!checkpoint.network().equals(architecture)) {
            throw new IllegalArgumentException("the checkpoint was written for the network\n  " + checkpoint.network()
                    + "\nbut this run has\n  " + architecture + "\nresume with the options (layers, widths, activation) of the run that wrote it");
        }
        if (!checkpoint.optimizer().equals(optimizer.describe())) {
            throw new IllegalArgumentException("the checkpoint was written by the optimizer\n  " + checkpoint.optimizer()
                    + "\nbut this run has\n  " + optimizer.describe() + "\nresume with the same optimizer settings (and epochs, for a schedule)");
        }
        if (checkpoint.batchSize() != config.batchSize() || checkpoint.dataSeed() != config.dataSeed()) {
            throw new IllegalArgumentException("the checkpoint was written with batch size " + checkpoint.batchSize() + " and seed "
                    + checkpoint.dataSeed() + " but this run has batch size " + config.batchSize() + " and seed " + config.dataSeed()
                    + ": the data order would differ; resume with the same --batch and --seed");
        }
        if (checkpoint.params().length() != t.layout.parameterCount()) {
            throw new IllegalArgumentException("the checkpoint holds " + checkpoint.params().length() + " parameters but the network has "
                    + t.layout.parameterCount());
        }
        t.theta = checkpoint.params().dup().reshape(t.layout.parameterCount());
        t.layout.write(t.theta, network);
        t.state = t.optimizer.decode(checkpoint.optimizerState());
        t.iteration = checkpoint.iteration();
        t.skipped = checkpoint.skipped();
        t.trainSeconds = checkpoint.trainSeconds();
        return t;
    }

    /**
     * Adds {@code R(θ)} to every minibatch's loss and {@code ∇R(θ)} to its mean gradient from the next step on (null: none).
     * The term is not part of a checkpoint: a resumed run must be given the same term again. Without one the loop is
     * exactly as before (no extra arithmetic).
     *
     * @return this trainer
     */
    public Trainer withRegularizer(Regularizer term) {
        this.regularizer = term;
        return this;
    }

    /** Minibatches consumed so far. */
    public long iteration() {
        return iteration;
    }

    /** The optimizer's current state (immutable). */
    public Optimizer.State state() {
        return state;
    }

    /** Runs until the budget {@code config.totalIterations()} is used. */
    public Result run() {
        return run(config.totalIterations());
    }

    /**
     * Runs until {@code untilIteration} minibatches (at most the budget) have been consumed.
     *
     * @throws TrainingDivergedException after too many non-finite steps (the last good state is checkpointed first when
     *                                   checkpoints are configured)
     */
    public Result run(long untilIteration) {
        long until = Math.min(untilIteration, config.totalIterations());
        int perEpoch = config.batchesPerEpoch(data.size());
        if (iteration == 0 && config.evaluateAtStart()) {
            evaluate(perEpoch, false);
        }
        while (iteration < until) {
            int epoch = Math.toIntExact(iteration / perEpoch);
            DataSet batch = data.batch(batchIndices(epoch, (int) (iteration % perEpoch)));
            double rate = optimizer.learningRate(state);
            long started = System.nanoTime();
            Gradients.LossAndGradient lg = Gradients.meanLossAndGradient(network, batch);
            if (regularizer != null) {
                Regularizer.ValueAndGradient r = regularizer.valueAndGradient(theta);
                lg = new Gradients.LossAndGradient(lg.meanLoss() + r.value(),
                        lg.meanGradient().add(r.gradient().castTo(lg.meanGradient().dataType()).reshape(lg.meanGradient().shape())));
            }
            String bad = !Double.isFinite(lg.meanLoss()) ? "loss " + lg.meanLoss()
                    : !finite(lg.meanGradient()) ? "gradient" : null;
            Update<Optimizer.State> update = null;
            if (bad == null) {
                try {
                    update = optimizer.update(lg.meanGradient(), state, theta);
                    if (!finite(update.step())) {
                        bad = "optimizer step";
                    }
                } catch (ArithmeticException e) {
                    bad = "optimizer step (" + e.getMessage() + ")";
                }
            }
            if (bad == null) {
                theta = theta.add(update.step());
                layout.write(theta, network);
                state = update.state();
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            trainSeconds += seconds;
            iteration++;
            if (bad != null) {
                skipped++;
                listener.onSkipped(new TrainingListener.Skipped(iteration, bad, skipped));
                if (skipped > config.maxNonFiniteSteps()) {
                    String saved = "";
                    if (config.checkpoint() != null) {
                        writeCheckpoint();
                        saved = "; the last good state is in " + config.checkpoint();
                    }
                    throw new TrainingDivergedException("training diverged: " + skipped + " steps had a non-finite " + bad
                            + " (the allowance is " + config.maxNonFiniteSteps() + "), the last at minibatch " + iteration + " of epoch "
                            + (epoch + 1) + saved + ". Lower the learning rate, add warm-up or gradient clipping, or raise the damping");
                }
            } else {
                lossSum += lg.meanLoss();
                lossCount++;
                listener.onStep(new TrainingListener.Step(iteration, epoch, lg.meanLoss(), rate, seconds, trainSeconds));
            }
            boolean endOfEpoch = iteration % perEpoch == 0;
            boolean last = iteration == config.totalIterations();
            if (endOfEpoch || last || config.evaluateEvery() > 0 && iteration % config.evaluateEvery() == 0) {
                evaluate(perEpoch, endOfEpoch);
            }
            if (config.checkpoint() != null
                    && (endOfEpoch || last || config.checkpointEvery() > 0 && iteration % config.checkpointEvery() == 0)) {
                writeCheckpoint();
            }
        }
        return new Result(iteration, skipped, trainSeconds, lastMetrics);
    }

    private static boolean finite(INDArray v) {
        return org.symcurv.core.Finite.all(v);
    }

    /** The minibatch {@code b} of epoch {@code e}: positions {@code [b·B, (b+1)·B)} of that epoch's permutation. */
    private int[] batchIndices(int epoch, int b) {
        if (orderEpoch != epoch) {
            order = epochOrder(data.size(), config.dataSeed(), epoch);
            orderEpoch = epoch;
        }
        int from = b * config.batchSize();
        return Arrays.copyOfRange(order, from, Math.min(order.length, from + config.batchSize()));
    }

    /** Epoch {@code e}'s order of {@code n} examples: a Fisher–Yates shuffle seeded by {@code (seed, e)} alone. */
    public static int[] epochOrder(int n, long seed, long epoch) {
        SplittableRandom random = new SplittableRandom(seed ^ (0x9E3779B97F4A7C15L * (epoch + 1)));
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return order;
    }

    private void evaluate(int perEpoch, boolean endOfEpoch) {
        lastMetrics = evaluator.evaluate(network);
        double trainLoss = lossCount == 0 ? Double.NaN : lossSum / lossCount;
        lossSum = 0;
        lossCount = 0;
        listener.onEvaluation(new TrainingListener.Evaluation(iteration, (double) iteration / perEpoch, trainSeconds, trainLoss,
                lastMetrics, endOfEpoch));
    }

    /** The current state as a checkpoint (arrays are copied). */
    public TrainingCheckpoint checkpoint() {
        return new TrainingCheckpoint(optimizer.describe(), architecture(network), theta.dup(),
                optimizer.encode(state), iteration, config.dataSeed(), skipped, trainSeconds, config.totalIterations(),
                config.batchSize());
    }

    /**
     * The architecture as one line: per layer its class, parameter shapes, activation and loss (not the seed or
     * counters, which DL4J's configuration JSON also holds).
     */
    public static String architecture(MultiLayerNetwork network) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < network.getnLayers(); i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = network.getLayer(i).conf().getLayer();
            sb.append(i == 0 ? "" : " | ").append(conf.getClass().getSimpleName());
            network.getLayer(i).paramTable().forEach((k, v) -> sb.append(' ').append(k).append(Arrays.toString(v.shape())));
            if (conf instanceof org.deeplearning4j.nn.conf.layers.BaseLayer base && base.getActivationFn() != null) {
                sb.append(' ').append(base.getActivationFn());
            }
            if (conf instanceof org.deeplearning4j.nn.conf.layers.BaseOutputLayer out) {
                sb.append(' ').append(out.getLossFn());
            }
        }
        return sb.toString();
    }

    private void writeCheckpoint() {
        try {
            checkpoint().write(config.checkpoint());
        } catch (IOException e) {
            throw new UncheckedIOException("could not write the checkpoint " + config.checkpoint() + ": " + e.getMessage(), e);
        }
        listener.onCheckpoint(config.checkpoint(), iteration);
    }
}
