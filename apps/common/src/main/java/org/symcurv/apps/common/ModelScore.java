package org.symcurv.apps.common;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.AbstractDataSetNormalizer;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.PredictionTask;

/**
 * How well a model does on prepared examples (checked and normalised, {@link org.symcurv.core.model.ModelZip.Contents#prepare}):
 * for a classifier, accuracy and the mean loss as DL4J scores it ({@link ClassifierEvaluation}); for a regressor, the
 * mean loss (DL4J's MSE, in the units the model was trained in) and the root mean squared error
 * {@code √((1/(n t)) Σ (ŷ − y)²)} in the targets' own units (predictions and targets turned back by the normaliser when
 * it standardised the targets).
 *
 * @param task     classification or regression
 * @param accuracy fraction correct (NaN for regression)
 * @param rmse     root mean squared error in the targets' units (NaN for classification)
 * @param meanLoss mean loss per example
 * @param count    examples
 */
public record ModelScore(PredictionTask task, double accuracy, double rmse, double meanLoss, long count) {
    public static ModelScore of(MultiLayerNetwork network, LabelledData data, DataNormalization normalizer) {
        if (data.task() == PredictionTask.CLASSIFICATION) {
            ClassifierEvaluation e = ClassifierEvaluation.of(network, data.asImageDataSet());
            return new ModelScore(data.task(), e.accuracy(), Double.NaN, e.meanLoss(), e.count());
        }
        DataSet all = data.toDataSet();
        double loss = network.score(all, false);
        INDArray predicted = network.output(all.getFeatures(), false).dup();
        INDArray targets = all.getLabels().dup();
        if (normalizer instanceof AbstractDataSetNormalizer<?> a && a.isFitLabel()) {
            normalizer.revertLabels(predicted);
            normalizer.revertLabels(targets);
        }
        double rmse = Math.sqrt(predicted.squaredDistance(targets) / predicted.length());
        return new ModelScore(data.task(), Double.NaN, rmse, loss, data.size());
    }

    /** The headline number: {@code accuracy 0.8512} or {@code RMSE 3.21}. */
    public String headline() {
        return task == PredictionTask.CLASSIFICATION ? String.format(java.util.Locale.ROOT, "accuracy %.4f", accuracy)
                : String.format(java.util.Locale.ROOT, "RMSE %.4g", rmse);
    }
}
