package org.symcurv.core.testing;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;

/**
 * Small float64 DL4J multilayer perceptrons and random data sets for tests, all reproducible from a seed.
 *
 * <p>A network {@code x ↦ φ_L(… φ_1(x W_1 + b_1) … W_L + b_L)} is built with
 * {@code .dataType(DataType.DOUBLE)}, Xavier weights from DL4J's seeded initialiser and, unlike DL4J's
 * default of zero, biases drawn from {@code N(0, 0.1²)} so that tests see every parameter matter. The
 * updater is {@link NoOp}: the tests drive the network, DL4J never trains it.
 *
 * <pre>{@code
 * MultiLayerNetwork net = TinyNetworks.mlp(7).inputs(5).dense(4, Activation.TANH).dense(3, Activation.RELU)
 *         .softmaxCrossEntropy(3);
 * DataSet data = TinyNetworks.classificationData(11, 32, 5, 3);
 * }</pre>
 */
public final class TinyNetworks {
    /** Standard deviation of the random biases. */
    public static final double BIAS_SCALE = 0.1;

    private TinyNetworks() {
    }

    /** Starts a network whose weight initialisation and biases follow {@code seed}. */
    public static Builder mlp(long seed) {
        return new Builder(seed);
    }

    /**
     * The architecture of the shared fixtures {@code tiny-mlp-curvature.json}: 5 inputs, dense 4 and 3 with
     * {@code hidden} activation, softmax cross-entropy over 3 classes. The parameters are arbitrary; tests
     * overwrite them with the fixture's {@code theta}.
     */
    public static MultiLayerNetwork fixtureMlp(Activation hidden) {
        return mlp(0).inputs(5).dense(4, hidden).dense(3, hidden).softmaxCrossEntropy(3);
    }

    /** Fluent description of a dense network; each terminal method builds and initialises it. */
    public static final class Builder {
        private final long seed;
        private int inputs = -1;
        private final List<Integer> sizes = new ArrayList<>();
        private final List<IActivation> activations = new ArrayList<>();

        private Builder(long seed) {
            this.seed = seed;
        }

        /** Number of input features. */
        public Builder inputs(int n) {
            this.inputs = n;
            return this;
        }

        /** Appends a hidden {@link DenseLayer} of {@code units} units. */
        public Builder dense(int units, Activation activation) {
            return dense(units, activation.getActivationFunction());
        }

        /** Appends a hidden {@link DenseLayer} with a configured activation, e.g. {@code new ActivationLReLU(0.25)}. */
        public Builder dense(int units, IActivation activation) {
            sizes.add(units);
            activations.add(activation);
            return this;
        }

        /** Ends with a softmax {@link OutputLayer} and mean multi-class cross-entropy (DL4J {@code MCXENT}). */
        public MultiLayerNetwork softmaxCrossEntropy(int classes) {
            return build(classes, Activation.SOFTMAX, LossFunction.MCXENT);
        }

        /** Ends with an identity {@link OutputLayer} and DL4J {@code MSE}: per example {@code Σ_k (z_k − y_k)² / outputs}. */
        public MultiLayerNetwork identityMeanSquaredError(int outputs) {
            return build(outputs, Activation.IDENTITY, LossFunction.MSE);
        }

        /** Ends with an {@link OutputLayer} of the given activation and DL4J loss function. */
        public MultiLayerNetwork output(int outputs, Activation activation, LossFunction loss) {
            return build(outputs, activation, loss);
        }

        /** The configuration only (no parameters), for tests that need to modify it. */
        public NeuralNetConfiguration.ListBuilder configuration(int outputs, Activation outputActivation, LossFunction loss) {
            if (inputs < 1) {
                throw new IllegalStateException("call inputs(n) with n ≥ 1 before adding the output layer");
            }
            NeuralNetConfiguration.ListBuilder list = new NeuralNetConfiguration.Builder()
                    .seed(seed)
                    .dataType(DataType.DOUBLE)
                    .weightInit(WeightInit.XAVIER)
                    .updater(new NoOp())
                    .list();
            int previous = inputs;
            for (int i = 0; i < sizes.size(); i++) {
                int units = sizes.get(i);
                list.layer(new DenseLayer.Builder().nIn(previous).nOut(units).activation(activations.get(i)).build());
                previous = units;
            }
            list.layer(new OutputLayer.Builder(loss).nIn(previous).nOut(outputs).activation(outputActivation).build());
            return list;
        }

        private MultiLayerNetwork build(int outputs, Activation outputActivation, LossFunction loss) {
            return initialise(configuration(outputs, outputActivation, loss).build(), seed);
        }
    }

    /**
     * Builds and initialises a network from {@code configuration}, then replaces every bias ("b" parameter)
     * with {@code N(0, 0.1²)} draws from {@code seed}.
     */
    public static MultiLayerNetwork initialise(MultiLayerConfiguration configuration, long seed) {
        MultiLayerNetwork net = new MultiLayerNetwork(configuration);
        net.init();
        SeededRandom random = new SeededRandom(seed ^ 0x5DEECE66DL);
        for (String key : net.paramTable().keySet()) {
            if (key.endsWith("_b")) {
                INDArray b = net.getParam(key);
                INDArray values = Nd4j.create(random.gaussianVector((int) b.length(), BIAS_SCALE), b.shape()).castTo(b.dataType());
                net.setParam(key, values);
            }
        }
        return net;
    }

    /**
     * {@code n} examples with {@code N(0, 1)} features {@code [n, inputs]} and uniformly random one-hot labels
     * {@code [n, classes]}, both float64.
     */
    public static DataSet classificationData(long seed, int n, int inputs, int classes) {
        SeededRandom random = new SeededRandom(seed);
        double[][] x = random.gaussianMatrix(n, inputs, 1.0);
        double[][] y = new double[n][classes];
        for (int i = 0; i < n; i++) {
            y[i][random.nextInt(classes)] = 1.0;
        }
        return new DataSet(DenseMatrices.toArray(x), DenseMatrices.toArray(y));
    }

    /** {@code n} examples with {@code N(0, 1)} features {@code [n, inputs]} and independent 0/1 targets {@code [n, outputs]} (multi-label). */
    public static DataSet binaryData(long seed, int n, int inputs, int outputs) {
        SeededRandom random = new SeededRandom(seed);
        double[][] x = random.gaussianMatrix(n, inputs, 1.0);
        double[][] y = new double[n][outputs];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < outputs; k++) {
                y[i][k] = random.nextInt(2);
            }
        }
        return new DataSet(DenseMatrices.toArray(x), DenseMatrices.toArray(y));
    }

    /** {@code n} examples with {@code N(0, 1)} features {@code [n, inputs]} and {@code N(0, 1)} targets {@code [n, outputs]}. */
    public static DataSet regressionData(long seed, int n, int inputs, int outputs) {
        SeededRandom random = new SeededRandom(seed);
        double[][] x = random.gaussianMatrix(n, inputs, 1.0);
        double[][] y = random.gaussianMatrix(n, outputs, 1.0);
        return new DataSet(DenseMatrices.toArray(x), DenseMatrices.toArray(y));
    }

    /** One-hot float64 labels {@code [n, classes]} for class indices {@code labels[i] ∈ [0, classes)}. */
    public static INDArray oneHot(int[] labels, int classes) {
        double[][] y = new double[labels.length][classes];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= classes) {
                throw new IllegalArgumentException("label " + labels[i] + " of example " + i + " is outside [0, " + classes + ")");
            }
            y[i][labels[i]] = 1.0;
        }
        return DenseMatrices.toArray(y);
    }
}
