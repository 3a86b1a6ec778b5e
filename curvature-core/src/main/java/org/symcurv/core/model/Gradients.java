package org.symcurv.core.model;

import java.util.Arrays;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Gradients of the mean data loss {@code L(θ) = (1/n) Σ_i ℓ(f(x_i; θ), y_i)} of a DL4J network, as flat
 * vectors in {@code params()} order ({@link ParameterLayout}).
 *
 * <p>DL4J conventions this class hides (DL4J 1.0.0-M2.1, verified in {@code GradientsTest}): after
 * {@code computeGradientAndScore()}, {@code gradient()} is the <em>sum</em> {@code Σ_i ∇ℓ_i} over the
 * minibatch while {@code score()} is the <em>mean</em> loss plus the l1/l2 regularisation penalty; the
 * gradient excludes the penalty (DL4J applies it in the updater); and the gradient arrays are views that
 * the next call overwrites. Here the gradient is divided by {@code n} and copied, and the loss is the data
 * term only (the penalty is subtracted), so the two are consistent.
 *
 * <p>The computation runs in DL4J's training mode, so layers with dropout or weight noise would make it
 * random; they are refused. Feature and label masks are refused too (they change what "mean" means). The
 * network's input and labels are cleared afterwards; its parameters are not modified.
 */
public final class Gradients {
    private Gradients() {
    }

    /**
     * The mean data loss {@code L(θ)} and its gradient {@code ∇L(θ)}.
     *
     * @param meanLoss     {@code L(θ) = (1/n) Σ_i ℓ_i}, without regularisation
     * @param meanGradient {@code ∇L(θ)}, shape {@code [P]}, a fresh array
     */
    public record LossAndGradient(double meanLoss, INDArray meanGradient) {
    }

    /**
     * The mean data loss and its gradient on {@code data}.
     *
     * @param data features {@code [n, nIn]} and labels {@code [n, nOut]}, {@code n ≥ 1}; cast to the network's data type
     * @throws IllegalArgumentException if the data set is empty or masked, or a layer has dropout or weight noise
     */
    public static LossAndGradient meanLossAndGradient(MultiLayerNetwork net, DataSet data) {
        requireDeterministic(net);
        int n = exampleCount(data);
        DataType type = net.params().dataType();
        try {
            net.setInput(data.getFeatures().castTo(type));
            net.setLabels(data.getLabels().castTo(type));
            net.computeGradientAndScore();
            // gradient() is the minibatch sum and a view: copy, then divide.
            INDArray sum = net.gradient().gradient().dup();
            double meanLoss = net.score() - net.calcRegularizationScore(true);
            return new LossAndGradient(meanLoss, sum.reshape(sum.length()).divi(n));
        } finally {
            net.clear();
        }
    }

    /** {@code ∇L(θ) = (1/n) Σ_i ∇ℓ_i}, shape {@code [P]}; see {@link #meanLossAndGradient}. */
    public static INDArray meanGradient(MultiLayerNetwork net, DataSet data) {
        return meanLossAndGradient(net, data).meanGradient();
    }

    /** {@code L(θ) = (1/n) Σ_i ℓ_i} without regularisation; see {@link #meanLossAndGradient}. */
    public static double meanLoss(MultiLayerNetwork net, DataSet data) {
        return meanLossAndGradient(net, data).meanLoss();
    }

    /**
     * The per-example gradients {@code G[i, :] = ∇ℓ_i(θ)}, shape {@code [n, P]}, one backward pass per example
     * (so {@code G.mean(0) = ∇L(θ)}).
     *
     * @throws IllegalArgumentException as {@link #meanLossAndGradient}
     */
    public static INDArray perExample(MultiLayerNetwork net, DataSet data) {
        requireDeterministic(net);
        int n = exampleCount(data);
        DataType type = net.params().dataType();
        INDArray features = data.getFeatures().castTo(type);
        INDArray labels = data.getLabels().castTo(type);
        INDArray out = Nd4j.create(type, n, net.numParams());
        try {
            for (int i = 0; i < n; i++) {
                net.setInput(features.getRow(i, true).dup());
                net.setLabels(labels.getRow(i, true).dup());
                net.computeGradientAndScore();
                INDArray g = net.gradient().gradient();
                out.getRow(i).assign(g.reshape(g.length()));
            }
        } finally {
            net.clear();
        }
        return out;
    }

    private static int exampleCount(DataSet data) {
        if (data.getFeatures() == null || data.getLabels() == null) {
            throw new IllegalArgumentException("the data set needs both features and labels");
        }
        if (data.getFeaturesMaskArray() != null || data.getLabelsMaskArray() != null) {
            throw new IllegalArgumentException("masked data sets are not supported: the mean loss would weight examples unevenly; drop the masks");
        }
        long n = data.getFeatures().size(0);
        if (n < 1) {
            throw new IllegalArgumentException("the data set has no examples: the mean loss is undefined");
        }
        if (data.getLabels().size(0) != n) {
            throw new IllegalArgumentException("features have " + n + " rows but labels have " + data.getLabels().size(0)
                    + " (shapes " + Arrays.toString(data.getFeatures().shape()) + " and " + Arrays.toString(data.getLabels().shape()) + ")");
        }
        return Math.toIntExact(n);
    }

    /** @throws UnsupportedLayerException naming the layer if it has dropout or weight noise */
    static void requireDeterministic(MultiLayerNetwork net) {
        if (net.getLayers() == null) {
            throw new IllegalArgumentException("the network is not initialised: call net.init() first");
        }
        for (int i = 0; i < net.getnLayers(); i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            String name = conf.getClass().getSimpleName();
            if (conf.getIDropout() != null) {
                throw new UnsupportedLayerException(i, name, "has dropout " + conf.getIDropout()
                        + ", which makes training-mode gradients random", "build the network for curvature without dropout");
            }
            if (conf instanceof BaseLayer base && base.getWeightNoise() != null) {
                throw new UnsupportedLayerException(i, name, "has weight noise " + base.getWeightNoise()
                        + ", which makes training-mode gradients random", "build the network for curvature without weight noise");
            }
        }
    }
}
