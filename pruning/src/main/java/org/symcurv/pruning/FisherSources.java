package org.symcurv.pruning;

import org.nd4j.linalg.api.ndarray.INDArray;

/** The Fisher sources the command line and the benchmarks use: the one place that picks the implementation. */
public final class FisherSources {
    private FisherSources() {
    }

    /**
     * The Monte Carlo Fisher on {@code features} (labels drawn from the model's predictive with {@code seed}).
     *
     * @param features {@code [N, inputs]}; copied
     */
    public static FisherSource monteCarlo(INDArray features, long seed) {
        return FactoredFisher.monteCarlo(features, seed);
    }
}
