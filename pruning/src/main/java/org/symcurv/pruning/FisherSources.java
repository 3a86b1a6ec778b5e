package org.symcurv.pruning;

import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.FisherSource;

/** The Fisher the pruning command and benchmark estimate before every round: the one place that picks its settings. */
public final class FisherSources {
    /** Examples per forward/backward pass of the pruning Fisher. */
    public static final int BATCH = 500;

    private FisherSources() {
    }

    /**
     * The Monte Carlo Fisher on {@code features} (labels drawn from the model's predictive with {@code seed}), from
     * gradient factors in batches of {@value #BATCH}.
     *
     * @param features {@code [N, inputs]}; kept, not copied
     */
    public static FisherSource monteCarlo(INDArray features, long seed) {
        return FisherSource.monteCarlo(features, seed).withBatchSize(BATCH);
    }
}
