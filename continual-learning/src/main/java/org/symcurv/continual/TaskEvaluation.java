package org.symcurv.continual;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.data.ImageDataSet;

/**
 * Accuracy of a classifier on a task: {@code (1/n) Σ_i [argmax_{k ∈ C} p(k | x_i) = y_i]}, where {@code C} is the task's
 * classes under {@link Scenario#TASK_INCREMENTAL} (the head mask) and all classes otherwise. One forward pass per 1,000
 * images, inference mode; the network is not modified.
 */
public final class TaskEvaluation {
    private TaskEvaluation() {
    }

    /** The accuracy of {@code network} on {@code images} under {@code scenario} for {@code task}; NaN for an empty set. */
    public static double accuracy(MultiLayerNetwork network, ImageDataSet images, ContinualTask task, Scenario scenario) {
        int n = images.size();
        if (n == 0) {
            return Double.NaN;
        }
        int[] labels = images.labels();
        boolean[] mask = scenario.masksHead() ? task.headMask(images.numClasses()) : null;
        INDArray features = images.features();
        long correct = 0;
        for (int from = 0; from < n; from += 1000) {
            int to = Math.min(n, from + 1000);
            INDArray p = network.output(features.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()), false).castTo(DataType.DOUBLE);
            double[][] rows = p.toDoubleMatrix();
            for (int i = 0; i < rows.length; i++) {
                int best = -1;
                for (int k = 0; k < rows[i].length; k++) {
                    if ((mask == null || mask[k]) && (best < 0 || rows[i][k] > rows[i][best])) {
                        best = k;
                    }
                }
                if (best == labels[from + i]) {
                    correct++;
                }
            }
        }
        return (double) correct / n;
    }
}
