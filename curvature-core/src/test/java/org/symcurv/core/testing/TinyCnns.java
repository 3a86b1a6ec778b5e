package org.symcurv.core.testing;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.Layer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.deeplearning4j.nn.weights.WeightInit;

/**
 * Tiny float64 convolutional networks built with plain DL4J for the CNN tests: flat inputs through
 * {@code InputType.convolutionalFlat(h, w, c)} (so DL4J inserts its preprocessors), convolutions, pooling, dropout,
 * dense layers and an output layer, biases drawn as in {@link TinyNetworks#initialise}.
 *
 * <pre>
 *   TinyCnns.builder(7).input(6, 6, 1).conv(2, 3, Activation.TANH).maxPool(2).dense(4, Activation.SIGMOID).softmax(3)
 * </pre>
 */
public final class TinyCnns {
    private TinyCnns() {
    }

    public static Builder builder(long seed) {
        return new Builder(seed);
    }

    /** 6×6×1 → conv 3×3 (2 channels, tanh) → max pool 2×2 → dense 3 (tanh) → softmax 3: 20 + 27 + 12 = 59 parameters. */
    public static MultiLayerNetwork lenetLike(long seed) {
        return builder(seed).input(6, 6, 1).conv(2, 3, Activation.TANH).maxPool(2).dense(3, Activation.TANH).softmax(3);
    }

    public static final class Builder {
        private final long seed;
        private final List<Layer> layers = new ArrayList<>();
        private int height;
        private int width;
        private int channels;

        private Builder(long seed) {
            this.seed = seed;
        }

        public Builder input(int h, int w, int c) {
            height = h;
            width = w;
            channels = c;
            return this;
        }

        /** A {@code k×k} convolution with stride 1, no padding, Truncate mode, with bias. */
        public Builder conv(int out, int k, Activation activation) {
            return conv(out, new int[] {k, k}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Truncate, true, activation);
        }

        public Builder conv(int out, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode, boolean bias, Activation activation) {
            layers.add(new ConvolutionLayer.Builder(kernel, stride, padding).nOut(out).convolutionMode(mode).hasBias(bias)
                    .activation(activation).build());
            return this;
        }

        public Builder maxPool(int k) {
            return pool(PoolingType.MAX, new int[] {k, k}, new int[] {k, k}, new int[] {0, 0}, ConvolutionMode.Truncate);
        }

        public Builder pool(PoolingType type, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode) {
            layers.add(new SubsamplingLayer.Builder(type, kernel, stride, padding).convolutionMode(mode).build());
            return this;
        }

        /** A {@link GlobalPoolingLayer} over H×W, collapsing to {@code [N, C]} or keeping {@code [N, C, 1, 1]}. */
        public Builder globalPool(PoolingType type, boolean collapse) {
            layers.add(new GlobalPoolingLayer.Builder(type).collapseDimensions(collapse).build());
            return this;
        }

        /** A {@link DropoutLayer} (identity at inference). */
        public Builder dropout(double retain) {
            layers.add(new DropoutLayer.Builder(retain).build());
            return this;
        }

        public Builder dense(int units, Activation activation) {
            layers.add(new DenseLayer.Builder().nOut(units).activation(activation).build());
            return this;
        }

        public MultiLayerNetwork softmax(int classes) {
            return output(new OutputLayer.Builder(LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX).build());
        }

        public MultiLayerNetwork meanSquaredError(int outputs) {
            return output(new OutputLayer.Builder(LossFunction.MSE).nOut(outputs).activation(Activation.IDENTITY).build());
        }

        private MultiLayerNetwork output(Layer outputLayer) {
            if (height < 1) {
                throw new IllegalStateException("call input(h, w, c) first");
            }
            NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.DOUBLE)
                    .weightInit(WeightInit.XAVIER).updater(new NoOp()).list();
            for (Layer layer : layers) {
                list.layer(layer.clone());
            }
            list.layer(outputLayer);
            list.setInputType(InputType.convolutionalFlat(height, width, channels));
            return TinyNetworks.initialise(list.build(), seed);
        }
    }
}
