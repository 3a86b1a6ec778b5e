package org.symcurv.optimizer.train;

import org.nd4j.linalg.dataset.DataSet;

/** A training set the loop draws minibatches from: {@code n} examples, any subset of which forms a DL4J {@link DataSet}. */
public interface TrainingData {

    /** The number of examples {@code n ≥ 1}. */
    int size();

    /**
     * The examples at {@code indices}, in that order.
     *
     * @param indices each in {@code [0, size())}; not modified
     * @return features and labels of {@code indices.length} examples (new arrays)
     */
    DataSet batch(int[] indices);
}
