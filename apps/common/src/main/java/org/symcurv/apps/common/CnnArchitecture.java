package org.symcurv.apps.common;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;
import org.symcurv.core.InvalidSettingException;

/**
 * A LeNet-style convolutional classifier on {@code height × width} single-channel images:
 * {@code h_0 = x}, per convolution stage {@code h_s = pool(σ(K_s ⋆ h_{s−1} + b_s))} (a {@code kernel × kernel}
 * convolution, stride 1, no padding, then {@code 2 × 2} max or average pooling with stride 2), then the flattened
 * {@code [C, H, W]} feature map through dense layers {@code σ(W h + b)} and a softmax output trained on the
 * cross-entropy. As a DL4J {@link MultiLayerNetwork} built from {@code InputType.convolutionalFlat(height, width, 1)},
 * so it takes flat {@code height·width} inputs (DL4J inserts the reshaping preprocessors); float32.
 * LeNet-5 on 28×28 images is {@code convChannels = [6, 16]}, {@code kernel = 5}, {@code hidden = [120, 84]}:
 * 28 → 24 → 12 → 8 → 4, so the first dense layer reads 16·4·4 = 256 features (44,426 parameters with 10 classes).
 *
 * @param height       image rows, ≥ 1
 * @param width        image columns, ≥ 1
 * @param convChannels output channels of each convolution stage, each ≥ 1, at least one stage
 * @param kernel       the square kernel's side, ≥ 1
 * @param maxPooling   max pooling ({@code true}) or average pooling
 * @param hidden       dense hidden widths after the convolutions, each ≥ 1 (may be empty)
 * @param activation   the hidden nonlinearity {@code σ} of every convolution and dense layer
 * @param classes      number of classes, ≥ 2
 */
public record CnnArchitecture(int height, int width, List<Integer> convChannels, int kernel, boolean maxPooling, List<Integer> hidden,
                              HiddenActivation activation, int classes) implements NetworkArchitecture {
    /** LeNet-5's widths: two 5×5 convolutions with 6 and 16 channels, max pooling, dense 120 and 84. */
    public static CnnArchitecture lenet5(int height, int width, HiddenActivation activation, int classes) {
        return new CnnArchitecture(height, width, List.of(6, 16), 5, true, List.of(120, 84), activation, classes);
    }

    public CnnArchitecture {
        convChannels = List.copyOf(convChannels);
        hidden = List.copyOf(hidden);
        Objects.requireNonNull(activation, "activation");
        if (height < 1 || width < 1) {
            throw new InvalidSettingException("a CNN needs images of at least 1×1 pixels, got " + height + "×" + width);
        }
        if (convChannels.isEmpty() || convChannels.stream().anyMatch(c -> c == null || c < 1)) {
            throw new InvalidSettingException("a CNN needs at least one convolution stage with a positive channel count, got " + convChannels);
        }
        if (hidden.stream().anyMatch(w -> w == null || w < 1)) {
            throw new InvalidSettingException("hidden layer widths must be at least 1, got " + hidden);
        }
        if (kernel < 1) {
            throw new InvalidSettingException("the convolution kernel must be at least 1×1, got " + kernel);
        }
        if (classes < 2) {
            throw new InvalidSettingException("a classifier needs at least 2 classes, got " + classes);
        }
        int[] map = featureMapSize(height, width, kernel, convChannels.size());
        if (map[0] < 1 || map[1] < 1) {
            throw new InvalidSettingException(String.format(Locale.ROOT, "%d×%d images are too small for %d stages of a %d×%d convolution and 2×2 "
                    + "pooling (stage %d would have no pixels left): use fewer --conv stages or a smaller --kernel", height, width,
                    convChannels.size(), kernel, kernel, map[2] + 1));
        }
    }

    /**
     * Rows and columns after {@code stages} stages of a valid {@code kernel × kernel} convolution and 2×2 pooling,
     * {@code h ↦ ⌊(h − k + 1)/2⌋}, and the index of the first stage left without pixels ({@code stages} if none).
     */
    private static int[] featureMapSize(int height, int width, int kernel, int stages) {
        int h = height;
        int w = width;
        for (int s = 0; s < stages; s++) {
            h = (h - kernel + 1) / 2;
            w = (w - kernel + 1) / 2;
            if (h < 1 || w < 1) {
                return new int[] {h, w, s};
            }
        }
        return new int[] {h, w, stages};
    }

    /** Rows × columns of the last stage's feature map. */
    public int[] featureMapSize() {
        int[] map = featureMapSize(height, width, kernel, convChannels.size());
        return new int[] {map[0], map[1]};
    }

    @Override
    public int inputs() {
        return height * width;
    }

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
                .convolutionMode(ConvolutionMode.Truncate)
                .list();
        int index = 0;
        for (int channels : convChannels) {
            layers.layer(index++, new ConvolutionLayer.Builder(kernel, kernel).stride(1, 1).nOut(channels).activation(activation.activation()).build());
            layers.layer(index++, new SubsamplingLayer.Builder(maxPooling ? SubsamplingLayer.PoolingType.MAX : SubsamplingLayer.PoolingType.AVG)
                    .kernelSize(2, 2).stride(2, 2).build());
        }
        for (int units : hidden) {
            layers.layer(index++, new DenseLayer.Builder().nOut(units).activation(activation.activation()).build());
        }
        layers.layer(index, new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nOut(classes).activation(Activation.SOFTMAX)
                .weightInit(WeightInit.XAVIER).build());
        return layers.setInputType(InputType.convolutionalFlat(height, width, 1)).build();
    }

    /** {@code Σ_s (k²·C_{s−1} + 1)·C_s + Σ_l (nIn_l + 1)·nOut_l}. */
    @Override
    public long parameterCount() {
        long count = 0;
        long in = 1;
        for (int channels : convChannels) {
            count += ((long) kernel * kernel * in + 1) * channels;
            in = channels;
        }
        int[] map = featureMapSize();
        long nIn = in * map[0] * map[1];
        for (int units : hidden) {
            count += (nIn + 1) * units;
            nIn = units;
        }
        return count + (nIn + 1) * classes;
    }

    /** E.g. {@code 28×28 conv5 6-16 maxpool, dense 120-84, 10 classes, relu}. */
    @Override
    public String describe() {
        String conv = convChannels.stream().map(String::valueOf).collect(Collectors.joining("-"));
        String dense = hidden.stream().map(String::valueOf).collect(Collectors.joining("-"));
        return String.format(Locale.ROOT, "%d×%d conv%d %s %s, dense %s, %d classes, %s", height, width, kernel, conv,
                maxPooling ? "maxpool" : "avgpool", dense.isEmpty() ? "none" : dense, classes, activation.cliName());
    }

    @Override
    public String kind() {
        return "CNN";
    }
}
