package org.symcurv.optimizer.train;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.ImageDataSet;

/** Examples held as two in-memory arrays, features {@code [n, …]} and labels {@code [n, …]}, gathered by row. */
public final class ArrayTrainingData implements TrainingData {
    private final INDArray features;
    private final INDArray labels;

    /**
     * @param features {@code [n, f]}, kept (not copied): do not modify it
     * @param labels   {@code [n, k]}, kept; may be the features themselves (an autoencoder)
     * @throws IllegalArgumentException if the row counts differ or there are no rows
     */
    public ArrayTrainingData(INDArray features, INDArray labels) {
        if (features.rank() != 2 || labels.rank() != 2 || features.size(0) != labels.size(0) || features.size(0) < 1) {
            throw new IllegalArgumentException("features and labels must be matrices with the same number (≥ 1) of rows, got "
                    + Arrays.toString(features.shape()) + " and " + Arrays.toString(labels.shape()));
        }
        this.features = features;
        this.labels = labels;
    }

    /** Images and their one-hot classes. */
    public static ArrayTrainingData classification(ImageDataSet data) {
        return new ArrayTrainingData(data.features(), data.labelsOneHot());
    }

    /** Images as both input and target. */
    public static ArrayTrainingData autoencoder(ImageDataSet data) {
        INDArray x = data.features();
        return new ArrayTrainingData(x, x);
    }

    @Override
    public int size() {
        return Math.toIntExact(features.size(0));
    }

    @Override
    public DataSet batch(int[] indices) {
        INDArray x = Nd4j.pullRows(features, 1, indices);
        INDArray y = labels == features ? x.dup() : Nd4j.pullRows(labels, 1, indices);
        return new DataSet(x, y);
    }
}
