package org.symcurv.apps.bench;

import java.util.SplittableRandom;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.data.MinibatchIterator;

/** Training the benchmarked networks and drawing Monte Carlo labels, reproducibly from seeds. */
final class BenchTraining {
    private BenchTraining() {
    }

    /**
     * {@code steps} Adam steps (the network's configured updater) on seeded shuffled minibatches, starting a new
     * epoch when one runs out.
     *
     * @return the mean minibatch loss over the last {@code min(steps, 50)} steps (0 steps: NaN)
     */
    static double train(MultiLayerNetwork net, ImageDataSet train, int steps, int batchSize, long seed) {
        MinibatchIterator batches = train.minibatches(batchSize, seed);
        int window = Math.min(steps, 50);
        double recent = 0;
        for (int s = 0; s < steps; s++) {
            if (!batches.hasNext()) {
                batches.reset();
            }
            DataSet batch = batches.next();
            net.fit(batch);
            if (s >= steps - window) {
                recent += net.score();
            }
        }
        return window == 0 ? Double.NaN : recent / window;
    }

    /**
     * One label per row drawn from the categorical distribution in that row ({@code [n, k]}, rows summing to 1;
     * round-off leftovers go to the last class), one-hot, in {@code probabilities}' data type.
     */
    static INDArray sampleLabels(INDArray probabilities, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long n = probabilities.size(0);
        int k = (int) probabilities.size(1);
        double[][] p = probabilities.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleMatrix();
        INDArray out = Nd4j.zeros(probabilities.dataType(), n, k);
        for (int i = 0; i < n; i++) {
            double u = random.nextDouble();
            int label = k - 1;
            double cumulative = 0;
            for (int c = 0; c < k; c++) {
                cumulative += p[i][c];
                if (u < cumulative) {
                    label = c;
                    break;
                }
            }
            out.putScalar(i, label, 1.0);
        }
        return out;
    }
}
