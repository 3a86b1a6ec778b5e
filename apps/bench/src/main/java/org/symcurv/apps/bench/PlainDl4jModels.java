package org.symcurv.apps.bench;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.learning.config.IUpdater;
import org.nd4j.linalg.learning.config.Nesterovs;
import org.nd4j.linalg.learning.config.RmsProp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.data.ImageDataSet;

/**
 * Models the toolkit was not tuned on, trained the way a DL4J user would: a {@link MultiLayerConfiguration} built
 * with {@code NeuralNetConfiguration.Builder}, {@code net.fit(iterator)} over shuffled minibatches for a few epochs —
 * no symcurv code in the loop (the data arrive as DL4J {@link DataSet}s, pixels / 255 as every symcurv model sees them).
 * Different widths, depths, activations, optimizers and seeds, so that a default chosen on one does not pass by luck.
 */
final class PlainDl4jModels {
    private PlainDl4jModels() {
    }

    /**
     * One recipe.
     *
     * @param name    file name stem and table label
     * @param conv    output channels of LeNet-style stages (5×5 convolution, stride 1, no padding, then 2×2 max pooling),
     *                before the dense layers; empty for an MLP
     * @param hidden  dense hidden widths
     * @param updater the DL4J updater
     * @param epochs  passes over the 60,000 training images
     * @param seed    DL4J's weight-init seed and the shuffling seed
     */
    record Recipe(String name, List<Integer> conv, List<Integer> hidden, Activation activation, IUpdater updater, WeightInit init, int epochs,
                  int batchSize, long seed) {
        /** An MLP. */
        Recipe(String name, List<Integer> hidden, Activation activation, IUpdater updater, WeightInit init, int epochs, int batchSize, long seed) {
            this(name, List.of(), hidden, activation, updater, init, epochs, batchSize, seed);
        }

        String describe() {
            StringBuilder sb = new StringBuilder("784");
            conv.forEach(c -> sb.append("-c").append(c));
            hidden.forEach(h -> sb.append('-').append(h));
            return sb.append("-10 ").append(activation.name().toLowerCase(java.util.Locale.ROOT)).append(", ").append(updater.getClass().getSimpleName())
                    .append(' ').append(updater.getLearningRate(0, 0)).append(", ").append(epochs).append(" epochs, batch ").append(batchSize)
                    .append(", seed ").append(seed).toString();
        }

        /**
         * A DL4J user's configuration; a CNN is built from {@code InputType.convolutionalFlat(side, side, 1)} on square
         * images of {@code inputs} pixels, so DL4J infers every {@code nIn} and inserts the preprocessors.
         */
        MultiLayerConfiguration configuration(int inputs, int classes) {
            NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder().seed(seed).updater(updater).weightInit(init).list();
            for (int c : conv) {
                list.layer(new ConvolutionLayer.Builder(5, 5).stride(1, 1).nOut(c).activation(activation).build());
                list.layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build());
            }
            int in = inputs;
            for (int h : hidden) {
                DenseLayer.Builder dense = new DenseLayer.Builder().nOut(h).activation(activation);
                list.layer((conv.isEmpty() ? dense.nIn(in) : dense).build());
                in = h;
            }
            OutputLayer.Builder output = new OutputLayer.Builder(LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX);
            list.layer((conv.isEmpty() ? output.nIn(in) : output).build());
            if (!conv.isEmpty()) {
                int side = (int) Math.round(Math.sqrt(inputs));
                list.setInputType(InputType.convolutionalFlat(side, side, 1));
            }
            return list.build();
        }
    }

    /** The recipes by name. */
    static final Map<String, Recipe> RECIPES = new LinkedHashMap<>();

    static {
        // the model: 784-256-256-10 ReLU, Adam, 2 epochs
        add(new Recipe("relu-256-256-adam", List.of(256, 256), Activation.RELU, new Adam(1e-3), WeightInit.XAVIER, 2, 128, 123));
        // wide and shallow, an odd activation (signed-permutation symmetry), SGD with Nesterov momentum
        add(new Recipe("tanh-512-nesterov", List.of(512), Activation.TANH, new Nesterovs(0.05, 0.9), WeightInit.XAVIER, 2, 128, 2024));
        // deeper and narrower, ELU, RMSProp
        // LeNet-5 (two 5×5 convolutions with max pooling, dense 120-84), ReLU, Adam: the CNN a DL4J user trains first
        add(new Recipe("lenet5-relu-adam", List.of(6, 16), List.of(120, 84), Activation.RELU, new Adam(1e-3), WeightInit.RELU, 2, 64, 5));
        add(new Recipe("elu-128x3-rmsprop", List.of(128, 128, 128), Activation.ELU, new RmsProp(5e-4), WeightInit.RELU, 2, 100, 77));
    }

    private static void add(Recipe r) {
        RECIPES.put(r.name(), r);
    }

    /** Trains {@code recipe} on {@code train} with DL4J's own {@code fit}. */
    static MultiLayerNetwork train(Recipe recipe, ImageDataSet train) {
        MultiLayerNetwork net = new MultiLayerNetwork(recipe.configuration(train.featureCount(), train.numClasses()));
        net.init();
        DataSet all = train.toDataSet();
        for (int epoch = 0; epoch < recipe.epochs(); epoch++) {
            all.shuffle(recipe.seed() * 31 + epoch);
            for (DataSet batch : all.batchBy(recipe.batchSize())) {
                net.fit(batch);
            }
        }
        return net;
    }
}
