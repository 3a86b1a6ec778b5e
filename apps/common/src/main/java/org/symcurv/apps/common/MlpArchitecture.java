package org.symcurv.apps.common;

import java.util.List;
import org.symcurv.core.data.PredictionTask;
import java.util.stream.Collectors;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.symcurv.core.InvalidSettingException;

/**
 * A multilayer perceptron classifier
 * {@code p(y | x) = softmax(W_{L+1} h_L + b_{L+1}),  h_l = σ(W_l h_{l−1} + b_l),  h_0 = x},
 * trained on the softmax cross-entropy {@code −log p(y | x)} averaged over a minibatch. As a DL4J
 * {@link MultiLayerNetwork}: dense layers with weights {@code [nIn, nOut]}, float32, then an output layer
 * with {@code MCXENT} loss. Immutable.
 *
 * @param inputs     input width, e.g. 784
 * @param hidden     the hidden widths, in order, each ≥ 1 (may be empty: multinomial logistic regression)
 * @param activation the hidden nonlinearity {@code σ}
 * @param classes    number of classes, ≥ 2; for a regressor, the number of real outputs {@code t ≥ 1}
 * @param task       {@link PredictionTask#CLASSIFICATION} (softmax, {@code MCXENT}) or {@link PredictionTask#REGRESSION}
 *                   (identity output {@code ŷ = W_{L+1} h_L + b_{L+1}}, DL4J's {@code MSE} {@code (1/t)‖ŷ − y‖²})
 */
public record MlpArchitecture(int inputs, List<Integer> hidden, HiddenActivation activation, int classes, PredictionTask task) implements NetworkArchitecture {
    /** A classifier. */
    public MlpArchitecture(int inputs, List<Integer> hidden, HiddenActivation activation, int classes) {
        this(inputs, hidden, activation, classes, PredictionTask.CLASSIFICATION);
    }

    public MlpArchitecture {
        hidden = List.copyOf(hidden);
        java.util.Objects.requireNonNull(task, "task");
        if (inputs < 1) {
            throw new InvalidSettingException("an MLP needs at least one input, got " + inputs);
        }
        if (task == PredictionTask.REGRESSION && classes < 1) {
            throw new InvalidSettingException("a regressor needs at least 1 output, got " + classes);
        }
        if (task == PredictionTask.CLASSIFICATION && classes < 2) {
            throw new InvalidSettingException("a classifier needs at least 2 classes, got " + classes);
        }
        for (int width : hidden) {
            if (width < 1) {
                throw new InvalidSettingException("hidden layer widths must be at least 1, got " + hidden);
            }
        }
        java.util.Objects.requireNonNull(activation, "activation");
    }

    /**
     * The DL4J configuration: Adam with the given step size, weights drawn from a generator seeded with
     * {@code seed}, no regularisation.
     */
    @Override
    public MultiLayerConfiguration configuration(double learningRate, long seed) {
        if (!(learningRate > 0) || Double.isInfinite(learningRate)) {
            throw new InvalidSettingException("learning rate must be a positive number, got " + learningRate);
        }
        NeuralNetConfiguration.ListBuilder layers = new NeuralNetConfiguration.Builder()
                .seed(seed)
                .dataType(DataType.FLOAT)
                .updater(new Adam(learningRate))
                .weightInit(activation.weightInit())
                .list();
        int nIn = inputs;
        int index = 0;
        for (int width : hidden) {
            layers.layer(index++, new DenseLayer.Builder().nIn(nIn).nOut(width).activation(activation.activation()).build());
            nIn = width;
        }
        boolean classifier = task == PredictionTask.CLASSIFICATION;
        layers.layer(index, new OutputLayer.Builder(classifier ? LossFunctions.LossFunction.MCXENT : LossFunctions.LossFunction.MSE)
                .nIn(nIn).nOut(classes).activation(classifier ? Activation.SOFTMAX : Activation.IDENTITY).weightInit(org.deeplearning4j.nn.weights.WeightInit.XAVIER)
                .build());
        return layers.build();
    }

    /** A freshly initialised network of this architecture. */
    public MultiLayerNetwork newNetwork(double learningRate, long seed) {
        MultiLayerNetwork network = new MultiLayerNetwork(configuration(learningRate, seed));
        network.init();
        return network;
    }

    @Override
    public String kind() {
        return "MLP";
    }

    /** Number of parameters, {@code Σ_l (nIn_l + 1)·nOut_l}. */
    @Override
    public long parameterCount() {
        long count = 0;
        int nIn = inputs;
        for (int width : hidden) {
            count += (long) (nIn + 1) * width;
            nIn = width;
        }
        return count + (long) (nIn + 1) * classes;
    }

    /** E.g. {@code 784-256-256-10 relu}. */
    @Override
    public String describe() {
        String widths = hidden.stream().map(String::valueOf).collect(Collectors.joining("-"));
        return inputs + "-" + (widths.isEmpty() ? "" : widths + "-") + classes + " " + activation.cliName();
    }
}
