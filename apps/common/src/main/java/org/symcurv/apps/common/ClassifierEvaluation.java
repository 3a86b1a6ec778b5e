package org.symcurv.apps.common;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.data.MinibatchIterator;

/**
 * How well a classifier does on a labelled set: accuracy {@code (1/n) Σ_i [argmax_k p(k | x_i) = y_i]} and
 * mean loss {@code (1/n) Σ_i ℓ(x_i, y_i)} as DL4J scores it (softmax cross-entropy for our MLPs, without
 * regularisation terms since none are configured).
 *
 * @param correct   number of examples whose most probable class is the label
 * @param count     number of examples {@code n}
 * @param meanLoss  mean loss per example
 */
public record ClassifierEvaluation(long correct, long count, double meanLoss) {
    /** Examples per forward pass: bounds memory without slowing the pass down. */
    public static final int EVALUATION_BATCH = 1000;

    public double accuracy() {
        return count == 0 ? Double.NaN : (double) correct / count;
    }

    /** Evaluates {@code network} on {@code data} in batches, in the stored order, in inference mode. */
    public static ClassifierEvaluation of(MultiLayerNetwork network, ImageDataSet data) {
        long correct = 0;
        double lossSum = 0;
        MinibatchIterator batches = data.minibatchesInOrder(EVALUATION_BATCH);
        while (batches.hasNext()) {
            DataSet batch = batches.next();
            INDArray predicted = network.output(batch.getFeatures(), false).argMax(1);
            INDArray actual = batch.getLabels().argMax(1);
            correct += predicted.eq(actual).castTo(DataType.INT).sumNumber().longValue();
            lossSum += network.score(batch, false) * batch.numExamples();
        }
        return new ClassifierEvaluation(correct, data.size(), data.size() == 0 ? Double.NaN : lossSum / data.size());
    }
}
