package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.preprocessor.FeedForwardToCnnPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.symmetry.LeafSpec;

/**
 * The one walk through a DL4J {@code MultiLayerNetwork} that the curvature code shares: the per-example gradient
 * factors ({@link PerExampleFactors}), the exact float64 oracles ({@link ExactCurvature}) and the output Jacobians
 * ({@link OutputJacobian}). The network is a chain of {@link WalkLayer}s, {@code a_0 = x}, {@code a_l = f_l(a_{l−1})},
 * whose last layer gives the output pre-activation {@code z_L}, followed by the {@link OutputLoss}
 * {@code ℓ(z_L, y)} (the output activation folded in). Backpropagating an output error {@code ∂(·)/∂z_L} through the
 * layers gives every layer's parameter gradient; which error is backpropagated — the loss gradient at sampled or true
 * labels, or a unit vector per output — is the caller's.
 *
 * <p>Layers understood today: {@link DenseLayer} (any DL4J activation; no layer normalisation), {@code ConvolutionLayer}
 * (2-D, NCHW, any kernel, stride and padding, dilation 1, {@code ConvolutionMode} Truncate, Strict or Same, with or without
 * bias, any activation), {@code SubsamplingLayer} (MAX and AVG pooling, any kernel, stride and padding, Truncate/Strict/Same),
 * {@code GlobalPoolingLayer} (MAX and AVG over H×W), {@code DropoutLayer} (the identity at inference), and one
 * {@link OutputLayer} at the end; the input preprocessors DL4J
 * inserts for {@code InputType.convolutionalFlat(h, w, c)}: {@code FeedForwardToCnnPreProcessor} (flat features to an
 * image) and {@code CnnToFeedForwardPreProcessor} (an image to a dense layer). Batched arrays between layers are always
 * {@code [N, width]}, an image {@code [C, H, W]} flattened row-major as DL4J flattens it, so the preprocessors are
 * identities here. A new layer type is one {@link WalkLayer} implementation and one case in {@link #layerOf}; anything
 * else is refused with its layer index and class ({@link UnsupportedLayerException}). The pass is the network's
 * inference-mode function: dropout and weight noise, which act only in training, are not applied. The network's current parameters are read at every call; the network is
 * never modified.
 */
public final class NetworkWalk {
    /** What the walk supports, for refusals. */
    static final String REMEDY = "symcurv's curvature code handles DenseLayer (no layer normalisation), ConvolutionLayer (2-D, NCHW, "
            + "dilation 1, ConvolutionMode Truncate/Strict/Same), SubsamplingLayer and GlobalPoolingLayer (MAX or AVG) and DropoutLayer, with DL4J's "
            + "FeedForwardToCnnPreProcessor and CnnToFeedForwardPreProcessor (setInputType(InputType.convolutionalFlat(h, w, c))), "
            + "followed by one OutputLayer (softmax + MCXENT/NEGATIVELOGLIKELIHOOD, identity + MSE or sigmoid + XENT, no per-output "
            + "loss weights)";
    /** What the exact oracles support beyond the walk. */
    static final String EXACT_REMEDY = "the exact oracle handles hidden activations " + Arrays.toString(ScalarActivation.Kind.values());

    private final List<WalkLayer> layers;
    private final OutputLoss loss;
    private final IActivation outputActivation;
    private final ParameterLayout layout;

    private NetworkWalk(List<WalkLayer> layers, OutputLoss loss, IActivation outputActivation, ParameterLayout layout) {
        this.layers = List.copyOf(layers);
        this.loss = loss;
        this.outputActivation = outputActivation;
        this.layout = layout;
    }

    /**
     * Reads the architecture of {@code net}.
     *
     * @throws UnsupportedLayerException naming the layer index and class of the first layer the walk does not understand
     * @throws IllegalArgumentException  if the network is not initialised or has no layers
     */
    public static NetworkWalk of(MultiLayerNetwork net) {
        Objects.requireNonNull(net, "net");
        if (net.getLayers() == null) {
            throw new IllegalArgumentException("the network is not initialised: call net.init() first");
        }
        int count = net.getnLayers();
        if (count == 0) {
            throw new IllegalArgumentException("the network has no layers; " + REMEDY);
        }
        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        List<WalkLayer> layers = new ArrayList<>();
        OutputLoss loss = null;
        IActivation outputActivation = null;
        // the previous layer's output: an image [C, H, W] (flattened row-major) or null for flat features
        long[] image = null;
        for (int i = 0; i < count; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            String name = conf.getClass().getSimpleName();
            boolean last = i == count - 1;
            Long previousWidth = layers.isEmpty() ? null : layers.get(layers.size() - 1).outputWidth();
            InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(i);
            if (pre instanceof FeedForwardToCnnPreProcessor toImage && pre.getClass() == FeedForwardToCnnPreProcessor.class) {
                long[] shape = {toImage.getNumChannels(), toImage.getInputHeight(), toImage.getInputWidth()};
                long width = shape[0] * shape[1] * shape[2];
                if (image != null || previousWidth != null && previousWidth != width) {
                    throw new UnsupportedLayerException(i, name, "has a FeedForwardToCnnPreProcessor to " + Arrays.toString(shape) + " but its input is "
                            + (image != null ? "the image " + Arrays.toString(image) : previousWidth + " features"), REMEDY);
                }
                image = shape;
            } else if (pre instanceof CnnToFeedForwardPreProcessor flatten && pre.getClass() == CnnToFeedForwardPreProcessor.class) {
                long[] shape = {flatten.getNumChannels(), flatten.getInputHeight(), flatten.getInputWidth()};
                if (flatten.getFormat() != CNN2DFormat.NCHW) {
                    throw new UnsupportedLayerException(i, name, "flattens images in format " + flatten.getFormat(), REMEDY);
                }
                if (image == null || !Arrays.equals(image, shape)) {
                    throw new UnsupportedLayerException(i, name, "has a CnnToFeedForwardPreProcessor from " + Arrays.toString(shape) + " but its input is "
                            + (image != null ? "the image " + Arrays.toString(image) : "not an image"), REMEDY);
                }
                image = null;
            } else if (pre != null) {
                throw new UnsupportedLayerException(i, name, "has an input preprocessor " + pre.getClass().getSimpleName(), REMEDY);
            }
            if ((conf.getClass() == OutputLayer.class) != last && ParameterLayout.isPlainDense(conf)) {
                throw new UnsupportedLayerException(i, name, last ? "is the last layer but not an OutputLayer, so the loss is unknown"
                        : "is an OutputLayer before the end of the network", REMEDY);
            }
            if (last && !ParameterLayout.isPlainDense(conf)) {
                throw new UnsupportedLayerException(i, name, "is the last layer but not an OutputLayer, so the loss is unknown", REMEDY);
            }
            WalkLayer layer = layerOf(net, i, conf, last, layout, image, previousWidth);
            if (previousWidth != null && layer.inputWidth() != previousWidth) {
                throw new UnsupportedLayerException(i, name, "takes " + layer.inputWidth() + " inputs but layer " + (i - 1) + " gives "
                        + previousWidth, REMEDY);
            }
            layers.add(layer);
            image = layer.outputImage();
            if (last) {
                outputActivation = ((BaseLayer) conf).getActivationFn();
                Optional<OutputLoss> l = OutputLoss.fromDl4j(outputActivation, ((OutputLayer) conf).getLossFn());
                if (l.isEmpty()) {
                    throw new UnsupportedLayerException(i, name, "combines activation " + outputActivation + " with loss "
                            + ((OutputLayer) conf).getLossFn() + ", which has no per-example Fisher or exact oracle here", REMEDY);
                }
                loss = l.get();
            }
        }
        return new NetworkWalk(layers, loss, outputActivation, layout);
    }

    /**
     * The one place that maps a DL4J layer configuration to its {@link WalkLayer}.
     *
     * @param image         the layer's input image {@code [C, H, W]} (after its preprocessor), or {@code null} if flat
     * @param previousWidth the previous layer's output width, or {@code null} for the first layer
     */
    private static WalkLayer layerOf(MultiLayerNetwork net, int i, org.deeplearning4j.nn.conf.layers.Layer conf, boolean last, ParameterLayout layout,
                                     long[] image, Long previousWidth) {
        String name = conf.getClass().getSimpleName();
        boolean dense = conf.getClass() == DenseLayer.class && !((DenseLayer) conf).hasLayerNorm() || conf.getClass() == OutputLayer.class && last;
        if (dense && image != null) {
            throw new UnsupportedLayerException(i, name, "reads an image " + Arrays.toString(image) + " without a CnnToFeedForwardPreProcessor", REMEDY);
        }
        if (conf.getClass() == DenseLayer.class && !((DenseLayer) conf).hasLayerNorm()) {
            FeedForwardLayer ff = (FeedForwardLayer) conf;
            return new DenseWalkLayer(net, i, name, ff.getNIn(), ff.getNOut(), ((DenseLayer) conf).hasBias(), ((BaseLayer) conf).getActivationFn(), false, layout);
        }
        if (conf.getClass() == OutputLayer.class && last) {
            FeedForwardLayer ff = (FeedForwardLayer) conf;
            return new DenseWalkLayer(net, i, name, ff.getNIn(), ff.getNOut(), ((OutputLayer) conf).hasBias(), ((BaseLayer) conf).getActivationFn(), true, layout);
        }
        if (conf.getClass() == ConvolutionLayer.class) {
            ConvolutionLayer c = (ConvolutionLayer) conf;
            requireImageWindow(i, name, image, c.getCnn2dDataFormat(), c.getDilation(), c.getConvolutionMode());
            if (c.getNIn() != image[0]) {
                throw new UnsupportedLayerException(i, name, "has nIn " + c.getNIn() + " but its input has " + image[0] + " channels", REMEDY);
            }
            return new ConvolutionWalkLayer(net, i, name, image, Math.toIntExact(c.getNOut()), c.getKernelSize(), c.getStride(), c.getPadding(),
                    c.getConvolutionMode(), c.hasBias(), c.getActivationFn(), layout);
        }
        if (conf.getClass() == SubsamplingLayer.class) {
            SubsamplingLayer s = (SubsamplingLayer) conf;
            requireImageWindow(i, name, image, s.getCnn2dDataFormat(), s.getDilation(), s.getConvolutionMode());
            if (s.getPoolingType() != PoolingType.MAX && s.getPoolingType() != PoolingType.AVG) {
                throw new UnsupportedLayerException(i, name, "pools by " + s.getPoolingType() + "; the walk knows MAX and AVG pooling", REMEDY);
            }
            return new SubsamplingWalkLayer(i, name, image, s.getKernelSize(), s.getStride(), s.getPadding(), s.getConvolutionMode(),
                    s.getPoolingType() == PoolingType.MAX, s.isAvgPoolIncludePadInDivisor());
        }
        if (conf.getClass() == GlobalPoolingLayer.class) {
            GlobalPoolingLayer g = (GlobalPoolingLayer) conf;
            if (image == null) {
                throw new UnsupportedLayerException(i, name, "pools a flat input; the walk's global pooling takes an image [C, H, W]", REMEDY);
            }
            int[] dimensions = g.getPoolingDimensions();
            if (dimensions != null && !(dimensions.length == 2 && dimensions[0] == 2 && dimensions[1] == 3)) {
                throw new UnsupportedLayerException(i, name, "pools over dimensions " + Arrays.toString(dimensions) + "; the walk pools over [2, 3] (H, W of NCHW)", REMEDY);
            }
            if (g.getPoolingType() != PoolingType.MAX && g.getPoolingType() != PoolingType.AVG) {
                throw new UnsupportedLayerException(i, name, "pools by " + g.getPoolingType() + "; the walk knows MAX and AVG pooling", REMEDY);
            }
            return SubsamplingWalkLayer.global(i, name, image, g.getPoolingType() == PoolingType.MAX, g.isCollapseDimensions());
        }
        if (conf.getClass() == DropoutLayer.class) {
            long width = image != null ? image[0] * image[1] * image[2] : previousWidth != null ? previousWidth : ((FeedForwardLayer) conf).getNIn();
            return new IdentityWalkLayer(i, name, width, image);
        }
        throw new UnsupportedLayerException(i, name, "is not a layer the walk understands", REMEDY);
    }

    /** @throws UnsupportedLayerException unless the layer slides a dilation-1 window over an NCHW image in Truncate, Strict or Same mode */
    private static void requireImageWindow(int i, String name, long[] image, CNN2DFormat format, int[] dilation, ConvolutionMode mode) {
        if (image == null) {
            throw new UnsupportedLayerException(i, name, "needs an image input [C, H, W]; build the network with setInputType(InputType.convolutionalFlat(h, w, c))"
                    + " so DL4J inserts its preprocessors", REMEDY);
        }
        if (format != CNN2DFormat.NCHW) {
            throw new UnsupportedLayerException(i, name, "uses the data format " + format, REMEDY);
        }
        if (dilation != null && (dilation[0] != 1 || dilation[1] != 1)) {
            throw new UnsupportedLayerException(i, name, "has dilation " + Arrays.toString(dilation), REMEDY);
        }
        if (mode != ConvolutionMode.Truncate && mode != ConvolutionMode.Strict && mode != ConvolutionMode.Same) {
            throw new UnsupportedLayerException(i, name, "uses ConvolutionMode." + mode, REMEDY);
        }
    }

    /** The layers in network order. */
    List<WalkLayer> layers() {
        return layers;
    }

    /** Number of layers {@code L}. */
    public int layerCount() {
        return layers.size();
    }

    /** The output layer's loss, which decides {@code δ_L} and how labels are sampled. */
    public OutputLoss outputLoss() {
        return loss;
    }

    /** The parameter layout the exact pieces read {@code θ} in. */
    public ParameterLayout layout() {
        return layout;
    }

    /** Features per example the network takes. */
    public long inputCount() {
        return layers.get(0).inputWidth();
    }

    /** Number of network outputs {@code o}. */
    public long outputCount() {
        return layers.get(layers.size() - 1).outputWidth();
    }

    /** The architecture in one line, e.g. {@code 784→256 relu → 256→10 softmax, softmax cross entropy}. */
    public String architecture() {
        StringBuilder sb = new StringBuilder();
        for (int l = 0; l < layers.size(); l++) {
            sb.append(l == 0 ? "" : " → ").append(layers.get(l).describe());
        }
        return sb.append(", ").append(loss.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')).toString();
    }

    // ------------------------------------------------------------------ parameters

    /** A network parameter as the walk sees it: layer {@code layer}'s parameter {@code key} (leaf {@code "layer_key"}). */
    public record Parameter(int layer, String key) {
    }

    /**
     * The layer and key of a spec leaf {@code "l_K"}, checked against the network's parameter of that name and shape.
     *
     * @throws IllegalArgumentException naming the leaf if it is not a parameter of this network with the network's shape
     */
    public Parameter parameter(LeafSpec leaf) {
        String name = leaf.name();
        int underscore = name.indexOf('_');
        int layer = -1;
        if (underscore > 0) {
            try {
                layer = Integer.parseInt(name.substring(0, underscore));
            } catch (NumberFormatException e) {
                layer = -1;
            }
        }
        String key = underscore > 0 ? name.substring(underscore + 1) : "";
        if (layer < 0 || layer >= layers.size() || !layers.get(layer).parameterKeys().contains(key)) {
            throw new IllegalArgumentException("spec leaf '" + name + "' is not a parameter of this network; its parameters are "
                    + parameterNames() + ": build the spec from this network (SpecInference.infer)");
        }
        long[] expected = layers.get(layer).parameterShape(key);
        if (!Arrays.equals(leaf.shape(), expected)) {
            throw new IllegalArgumentException("spec leaf '" + name + "' has shape " + Arrays.toString(leaf.shape())
                    + " but the network's parameter has shape " + Arrays.toString(expected) + ": build the spec from this network");
        }
        return new Parameter(layer, key);
    }

    /** The names {@code "l_K"} of the network's parameters in {@code params()} order. */
    public List<String> parameterNames() {
        List<String> names = new ArrayList<>();
        for (WalkLayer layer : layers) {
            for (String key : layer.parameterKeys()) {
                names.add(layer.index() + "_" + key);
            }
        }
        return names;
    }

    // ------------------------------------------------------------------ batched passes

    /**
     * A batch's forward pass: per layer its input, output and cache; the last output is {@code z_L}.
     *
     * @param passes one per layer, in network order
     */
    record Forward(List<WalkLayer.Pass> passes) {
        public Forward {
            passes = List.copyOf(passes);
        }

        /** {@code z_L}, {@code [N, o]}. */
        public INDArray outputs() {
            return passes.get(passes.size() - 1).output();
        }

        /** Layer {@code l}'s input {@code a_{l−1}}, {@code [N, inputWidth]}. */
        public INDArray input(int layer) {
            return passes.get(layer).input();
        }

        /** Number of examples {@code N}. */
        public long examples() {
            return outputs().size(0);
        }
    }

    /**
     * The forward pass of a batch in {@code type}.
     *
     * @param features {@code [N ≥ 1, inputCount]}, cast to {@code type}; not modified
     * @throws IllegalArgumentException naming the expected and actual shape
     */
    Forward forward(INDArray features, DataType type) {
        INDArray a = requireFeatures(features).castTo(type);
        List<WalkLayer.Pass> passes = new ArrayList<>();
        for (WalkLayer layer : layers) {
            WalkLayer.Pass pass = layer.forward(a, type);
            passes.add(pass);
            a = pass.output();
        }
        return new Forward(passes);
    }

    /** The output activation {@code ŷ = φ_L(z_L)} of a forward pass (softmax probabilities, …), a new array. */
    INDArray prediction(Forward forward) {
        return outputActivation.getActivation(forward.outputs().dup(), false);
    }

    /**
     * Backpropagates {@code Δ_L = ∂(·)/∂z_L} through layers {@code L−1 … lowestLayer}.
     *
     * @param outputError    {@code [k·N, o]}, rows {@code i·k + s} belonging to example {@code i}; not modified
     * @param rowsPerExample {@code k ≥ 1}
     * @param lowestLayer    the lowest layer whose backward pass is needed
     * @return per layer from {@code lowestLayer} up, that layer's backward pass ({@code null} entries below it)
     */
    List<WalkLayer.Backward> backward(Forward forward, INDArray outputError, int rowsPerExample, int lowestLayer) {
        if (rowsPerExample < 1) {
            throw new IllegalArgumentException("samples per example must be ≥ 1, got " + rowsPerExample);
        }
        if (lowestLayer < 0 || lowestLayer >= layers.size()) {
            throw new IllegalArgumentException("layer " + lowestLayer + " outside [0, " + layers.size() + ")");
        }
        WalkLayer.Backward[] out = new WalkLayer.Backward[layers.size()];
        INDArray error = outputError;
        for (int l = layers.size() - 1; l >= lowestLayer; l--) {
            out[l] = layers.get(l).backward(forward.passes().get(l), error, rowsPerExample, l > lowestLayer);
            error = out[l].inputError();
        }
        return Collections.unmodifiableList(Arrays.asList(out));
    }

    /**
     * The factored per-example gradient of one parameter ({@link WalkLayer#gradientFactors}): one {@code [k·N, size]}
     * array per axis.
     */
    List<INDArray> gradientFactors(Forward forward, List<WalkLayer.Backward> backward, int rowsPerExample, Parameter parameter) {
        int l = parameter.layer();
        return layers.get(l).gradientFactors(forward.passes().get(l), backward.get(l), rowsPerExample, parameter.key());
    }

    /** Whether the parameter's per-example gradient factors ({@link WalkLayer#factors}). */
    boolean factors(Parameter parameter) {
        return layers.get(parameter.layer()).factors(parameter.key());
    }

    /** The materialised per-example gradient of one parameter ({@link WalkLayer#perExampleGradient}): {@code [k·N, leafLength]}. */
    INDArray perExampleGradient(Forward forward, List<WalkLayer.Backward> backward, int rowsPerExample, Parameter parameter) {
        int l = parameter.layer();
        return layers.get(l).perExampleGradient(forward.passes().get(l), backward.get(l), rowsPerExample, parameter.key());
    }

    /** {@link WalkLayer#squaredGradientSum} of one parameter: {@code [leafLength]}. */
    INDArray squaredGradientSum(Forward forward, List<WalkLayer.Backward> backward, int rowsPerExample, Parameter parameter, DataType type) {
        int l = parameter.layer();
        return layers.get(l).squaredGradientSum(forward.passes().get(l), backward.get(l), rowsPerExample, parameter.key(), type);
    }

    /**
     * @throws IllegalArgumentException naming the expected and actual shape
     */
    INDArray requireFeatures(INDArray features) {
        if (features == null || features.rank() != 2 || features.size(1) != inputCount() || features.size(0) < 1) {
            throw new IllegalArgumentException("features must have shape [N ≥ 1, " + inputCount() + "] (examples × network inputs), got "
                    + (features == null ? "null" : Arrays.toString(features.shape())));
        }
        return features;
    }

    /** Every row of {@code a} ({@code [n, …]}) repeated {@code k} times in place ({@code i ↦ i·k + s}); {@code a} itself for {@code k = 1}. */
    static INDArray repeatRows(INDArray a, int k) {
        if (k == 1) {
            return a;
        }
        long n = a.size(0);
        long d = a.length() / Math.max(n, 1);
        long[] shape = a.shape().clone();
        shape[0] = n * k;
        return Nd4j.zeros(a.dataType(), n, k, d).addi(a.reshape('c', new long[] {n, 1, d})).reshape('c', shape);
    }

    // ------------------------------------------------------------------ exact float64 passes, one example

    /**
     * @throws UnsupportedLayerException naming the first layer without exact pieces
     */
    void requireExact() {
        for (WalkLayer layer : layers) {
            Optional<String> problem = layer.exactProblem();
            if (problem.isPresent()) {
                throw new UnsupportedLayerException(layer.index(), layer.layerClass(), problem.get(), EXACT_REMEDY);
            }
        }
    }

    /** One example's forward pass; the last output is {@code z_L}. */
    WalkLayer.ExactPass[] exactForward(double[] theta, double[] x) {
        if (x.length != inputCount()) {
            throw new IllegalArgumentException("an input has length " + x.length + " but the first layer has nIn " + inputCount());
        }
        WalkLayer.ExactPass[] passes = new WalkLayer.ExactPass[layers.size()];
        double[] a = x;
        for (int l = 0; l < layers.size(); l++) {
            passes[l] = layers.get(l).exactForward(theta, a);
            a = passes[l].output();
        }
        return passes;
    }

    /** Backpropagates {@code ∂(·)/∂z_L} and adds {@code weight ·} the parameter gradient to {@code gradient}. */
    void exactBackward(double[] theta, WalkLayer.ExactPass[] passes, double[] outputError, double[] gradient, double weight) {
        double[] e = outputError;
        for (int l = layers.size() - 1; l >= 0; l--) {
            e = layers.get(l).exactBackward(theta, passes[l], e, gradient, weight, l > 0);
        }
    }

    /** The forward directional derivatives along {@code v}, per layer; the last output is {@code J v = R(z_L)}. */
    WalkLayer.ExactTangent[] exactTangents(double[] theta, double[] v, WalkLayer.ExactPass[] passes) {
        WalkLayer.ExactTangent[] tangents = new WalkLayer.ExactTangent[layers.size()];
        double[] ra = new double[Math.toIntExact(inputCount())];
        for (int l = 0; l < layers.size(); l++) {
            tangents[l] = layers.get(l).exactTangent(theta, v, passes[l], ra);
            ra = tangents[l].output();
        }
        return tangents;
    }

    /**
     * The R-operator's backward half: with {@code e_L = ∂(·)/∂z_L} and {@code R(e_L)}, adds {@code weight · R(∇)} to
     * {@code gradient} layer by layer.
     */
    void exactTangentBackward(double[] theta, double[] v, WalkLayer.ExactPass[] passes, WalkLayer.ExactTangent[] tangents,
                              double[] outputError, double[] outputErrorTangent, double[] gradient, double weight) {
        double[] e = outputError;
        double[] re = outputErrorTangent;
        double[] zeros = new double[Math.toIntExact(inputCount())];
        for (int l = layers.size() - 1; l >= 0; l--) {
            double[] inputTangent = l == 0 ? zeros : tangents[l - 1].output();
            double[][] next = layers.get(l).exactTangentBackward(theta, v, passes[l], inputTangent, tangents[l], e, re, gradient, weight, l > 0);
            e = next[0];
            re = next[1];
        }
    }

    @Override
    public String toString() {
        return "NetworkWalk[" + architecture() + "]";
    }
}
