package org.symcurv.pruning;

import java.util.Objects;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.data.MinibatchIterator;

/**
 * Recovery after pruning: {@code steps} Adam steps on the training loss with the pruning mask held,
 * {@code θ ← m ∘ (θ − η Adam(∇L))} after every step, so pruned weights stay exactly zero (a smaller network from
 * structured pruning has no mask: it is simply trained). Minibatches are drawn from the data in a seeded order,
 * a new epoch starting when one runs out.
 *
 * <p>The updater is a fresh {@code Adam(η)} on every layer (the model file's own updater and its state are not used:
 * a pruned model is written without updater state).
 */
public final class Recovery {
    /** Default Adam step size: small, so that recovery repairs the pruned network rather than retraining it. */
    public static final double DEFAULT_LEARNING_RATE = 1e-4;
    /** Default minibatch size. */
    public static final int DEFAULT_BATCH_SIZE = 128;

    private Recovery() {
    }

    /**
     * Fine-tunes a copy of {@code net}.
     *
     * @param net          the pruned network; not modified
     * @param mask         the pruned parameters held at zero ({@code null}: none, e.g. a smaller network)
     * @param data         training images and labels
     * @param steps        Adam steps, {@code ≥ 0} (0 returns an unchanged copy)
     * @param batchSize    images per step
     * @param learningRate Adam's {@code η > 0}
     * @param seed         seeds the minibatch order
     * @return the fine-tuned copy (the same mask applies to it)
     * @throws IllegalArgumentException for a negative step count, a non-positive batch size or rate, or a mask of
     *                                  another parameter count
     */
    public static MultiLayerNetwork fineTune(MultiLayerNetwork net, PruningMask mask, ImageDataSet data, int steps, int batchSize,
                                             double learningRate, long seed) {
        Objects.requireNonNull(net, "net");
        Objects.requireNonNull(data, "data");
        if (steps < 0) {
            throw new IllegalArgumentException("recovery steps must be at least 0, got " + steps);
        }
        if (batchSize < 1 || !(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new IllegalArgumentException("recovery needs a batch size ≥ 1 and a positive learning rate, got " + batchSize + " and " + learningRate);
        }
        if (mask != null && mask.parameterCount() != net.numParams()) {
            throw new IllegalArgumentException("the mask covers " + mask.parameterCount() + " parameters but the network has " + net.numParams());
        }
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations().clone();
        for (NeuralNetConfiguration layer : conf.getConfs()) {
            if (layer.getLayer() instanceof BaseLayer base) {
                base.setIUpdater(new Adam(learningRate));
                base.setBiasUpdater(null);
            }
        }
        MultiLayerNetwork tuned = new MultiLayerNetwork(conf);
        tuned.init(net.params().dup(), false);
        INDArray keep = mask == null ? null : mask.keepVector(tuned.params().dataType());
        if (keep != null) {
            tuned.params().muli(keep);
        }
        MinibatchIterator batches = data.minibatches(batchSize, seed);
        for (int s = 0; s < steps; s++) {
            if (!batches.hasNext()) {
                batches.reset();
            }
            DataSet batch = batches.next();
            tuned.fit(batch);
            if (keep != null) {
                tuned.params().muli(keep); // params() is a view of the network's flat buffer (DEVELOPERS.md trap 2)
            }
        }
        return tuned;
    }
}
