package org.symcurv.optimizer.train;

import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Held-out metrics of a network, by name in a fixed order (the first is the one a run is judged by). Evaluation
 * runs in inference mode and must not change the network's parameters.
 */
@FunctionalInterface
public interface Evaluator {

    /** Examples per forward pass. */
    int BATCH = 1000;

    /** Metric name to value, in a fixed order. */
    Map<String, Double> evaluate(MultiLayerNetwork network);

    /**
     * A softmax classifier's mean cross-entropy {@code loss = −(1/n) Σ_i log max(p(y_i | x_i), 1e-10)} and
     * {@code accuracy = (1/n) Σ_i [argmax_k p(k | x_i) = y_i]}, from one forward pass per batch.
     *
     * @param features {@code [n, f]}
     * @param oneHot   {@code [n, K]}
     */
    static Evaluator classification(INDArray features, INDArray oneHot) {
        return network -> {
            long n = features.size(0);
            double lossSum = 0;
            long correct = 0;
            for (long from = 0; from < n; from += BATCH) {
                long to = Math.min(n, from + BATCH);
                INDArray x = features.get(NDArrayIndex.interval(from, to), NDArrayIndex.all());
                INDArray y = oneHot.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).castTo(DataType.DOUBLE);
                INDArray p = network.output(x, false).castTo(DataType.DOUBLE);
                INDArray chosen = p.mul(y).sum(1);
                lossSum -= Transforms.log(Transforms.max(chosen, 1e-10, false), false).sumNumber().doubleValue();
                correct += p.argMax(1).eq(y.argMax(1)).castTo(DataType.INT).sumNumber().longValue();
            }
            Map<String, Double> out = new LinkedHashMap<>();
            out.put("loss", lossSum / n);
            out.put("accuracy", (double) correct / n);
            return out;
        };
    }

    /**
     * The mean loss {@code (1/n) Σ_i ℓ_i} as DL4J's output layer scores it ({@code score(data, false)} per batch, weighted
     * by batch size), under {@code name}.
     */
    static Evaluator meanLoss(String name, INDArray features, INDArray labels) {
        return network -> {
            long n = features.size(0);
            double sum = 0;
            for (long from = 0; from < n; from += BATCH) {
                long to = Math.min(n, from + BATCH);
                org.nd4j.linalg.dataset.DataSet d = new org.nd4j.linalg.dataset.DataSet(
                        features.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()),
                        labels.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()));
                sum += network.score(d, false) * (to - from);
            }
            Map<String, Double> out = new LinkedHashMap<>();
            out.put(name, sum / n);
            return out;
        };
    }

    /** No metrics. */
    static Evaluator none() {
        return network -> new LinkedHashMap<>();
    }

    /** Both evaluators' metrics, this one's first. */
    default Evaluator and(Evaluator other) {
        return network -> {
            Map<String, Double> out = new LinkedHashMap<>(evaluate(network));
            out.putAll(other.evaluate(network));
            return out;
        };
    }

}
