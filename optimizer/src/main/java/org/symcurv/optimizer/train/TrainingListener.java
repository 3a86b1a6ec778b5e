package org.symcurv.optimizer.train;

import java.nio.file.Path;
import java.util.Map;

/**
 * What the training loop reports (library code never prints: the CLI turns these into lines and a progress bar).
 * Every method has an empty default.
 */
public interface TrainingListener {

    /**
     * One minibatch processed.
     *
     * @param iteration    minibatches consumed so far, this one included ({@code 1 … totalIterations})
     * @param epoch        the epoch of this minibatch, from 0
     * @param loss         its mean training loss (before the step)
     * @param learningRate {@code η_t} used for the step
     * @param stepSeconds  wall-clock of this step (gradient, optimizer update, parameter write)
     * @param trainSeconds wall-clock of all steps so far (evaluations and checkpoints excluded)
     */
    record Step(long iteration, int epoch, double loss, double learningRate, double stepSeconds, double trainSeconds) {
    }

    /**
     * A held-out evaluation.
     *
     * @param iteration    minibatches consumed so far
     * @param epoch        epochs completed (fractional: {@code iteration / batchesPerEpoch})
     * @param trainSeconds training wall-clock so far
     * @param trainLoss    the mean minibatch loss since the previous evaluation (NaN at iteration 0)
     * @param metrics      the evaluator's metrics
     * @param endOfEpoch   whether it closes an epoch
     */
    record Evaluation(long iteration, double epoch, double trainSeconds, double trainLoss, Map<String, Double> metrics,
                      boolean endOfEpoch) {
        public Evaluation {
            metrics = Map.copyOf(new java.util.LinkedHashMap<>(metrics));
        }
    }

    /**
     * A step skipped because the loss, the gradient or the step was not finite; parameters and optimizer state were kept.
     *
     * @param iteration the minibatch that was skipped
     * @param reason    what was not finite
     * @param skipped   steps skipped so far, this one included
     */
    record Skipped(long iteration, String reason, long skipped) {
    }

    default void onStep(Step step) {
    }

    default void onEvaluation(Evaluation evaluation) {
    }

    default void onSkipped(Skipped skipped) {
    }

    /** A checkpoint was written after {@code iteration} minibatches. */
    default void onCheckpoint(Path path, long iteration) {
    }

    /** The no-op listener. */
    TrainingListener NONE = new TrainingListener() {
    };
}
