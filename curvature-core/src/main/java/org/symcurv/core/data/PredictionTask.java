package org.symcurv.core.data;

/**
 * What the targets of a data set are: class indices {@code y_i ∈ {0, …, K−1}} (a softmax classifier, one-hot inside DL4J
 * data sets) or real vectors {@code y_i ∈ ℝ^t} (a regressor with an identity output and mean squared error).
 */
public enum PredictionTask {
    CLASSIFICATION,
    REGRESSION;

    /** The command-line name: {@code classification} or {@code regression}. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
