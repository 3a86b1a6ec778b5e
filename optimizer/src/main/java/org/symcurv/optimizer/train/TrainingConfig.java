package org.symcurv.optimizer.train;

import java.nio.file.Path;

/**
 * How the loop runs.
 *
 * @param batchSize            examples per minibatch (the last one of an epoch may be smaller)
 * @param totalIterations      the budget in minibatches (skipped ones count)
 * @param dataSeed             seeds each epoch's shuffle: epoch {@code e}'s order depends only on it and {@code e}
 * @param evaluateEvery        evaluate every this many minibatches ({@code 0}: only at epoch ends)
 * @param evaluateAtStart      evaluate once before the first step
 * @param maxNonFiniteSteps    stop with {@link TrainingDivergedException} when more steps than this have been skipped
 * @param checkpoint           where to write checkpoints, or null for none
 * @param checkpointEvery      also checkpoint every this many minibatches ({@code 0}: only at epoch ends and the end)
 */
public record TrainingConfig(int batchSize, long totalIterations, long dataSeed, long evaluateEvery, boolean evaluateAtStart,
                             int maxNonFiniteSteps, Path checkpoint, long checkpointEvery) {
    public TrainingConfig {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        if (totalIterations < 1) {
            throw new IllegalArgumentException("the training budget must be at least one minibatch, got " + totalIterations);
        }
        if (evaluateEvery < 0 || checkpointEvery < 0 || maxNonFiniteSteps < 0) {
            throw new IllegalArgumentException("evaluation and checkpoint intervals and the non-finite step allowance must be ≥ 0");
        }
    }

    /** {@code totalIterations} minibatches of {@code batchSize}, evaluating at epoch ends, 10 non-finite steps allowed, no checkpoints. */
    public static TrainingConfig of(int batchSize, long totalIterations, long dataSeed) {
        return new TrainingConfig(batchSize, totalIterations, dataSeed, 0, false, 10, null, 0);
    }

    /** Minibatches per epoch of {@code n} examples, {@code ⌈n / batchSize⌉}. */
    public int batchesPerEpoch(int n) {
        return (n + batchSize - 1) / batchSize;
    }

    public TrainingConfig withEvaluation(long every, boolean atStart) {
        return new TrainingConfig(batchSize, totalIterations, dataSeed, every, atStart, maxNonFiniteSteps, checkpoint, checkpointEvery);
    }

    public TrainingConfig withCheckpoint(Path path, long every) {
        return new TrainingConfig(batchSize, totalIterations, dataSeed, evaluateEvery, evaluateAtStart, maxNonFiniteSteps, path, every);
    }

    public TrainingConfig withMaxNonFiniteSteps(int max) {
        return new TrainingConfig(batchSize, totalIterations, dataSeed, evaluateEvery, evaluateAtStart, max, checkpoint, checkpointEvery);
    }

    public TrainingConfig withTotalIterations(long total) {
        return new TrainingConfig(batchSize, total, dataSeed, evaluateEvery, evaluateAtStart, maxNonFiniteSteps, checkpoint, checkpointEvery);
    }
}
