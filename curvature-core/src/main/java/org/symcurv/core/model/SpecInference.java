package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.Convolution2D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationCube;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationGELU;
import org.nd4j.linalg.activations.impl.ActivationHardSigmoid;
import org.nd4j.linalg.activations.impl.ActivationHardTanH;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationMish;
import org.nd4j.linalg.activations.impl.ActivationRationalTanh;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationRectifiedTanh;
import org.nd4j.linalg.activations.impl.ActivationSELU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationSwish;
import org.nd4j.linalg.activations.impl.ActivationTanH;
import org.nd4j.linalg.activations.impl.ActivationThresholdedReLU;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Infers the {@link SymmetrySpec} of a DL4J network from its configuration (symmetry-curvature.md sections 2 and
 * 2.1). The units of each hidden {@link DenseLayer} {@code l} ({@code nOut} of them), and the output channels of
 * each hidden {@link ConvolutionLayer} {@code l} ({@code out} of them), form a group {@code "h<l>"}. A group element
 * {@code A} (an orthogonal matrix on the units or channels) transforms {@code l}'s pre-activations {@code z ↦ A z}
 * and the next parameterised layer {@code n} undoes it on its inputs; it is an exact symmetry of the network when
 * everything from {@code z} to {@code n}'s input commutes with {@code A}: {@code f(A z) = A f(z)}. That is the
 * activation {@code φ_l} and, for a convolution, the parameter-free layers between {@code l} and {@code n}:
 *
 * <table>
 *   <caption>which operations commute with which channel actions</caption>
 *   <tr><th>operation {@code f}</th><th>permutations</th><th>sign flips</th><th>orthogonal mixing</th><th>why</th></tr>
 *   <tr><td>elementwise {@code φ} (ReLU, leaky ReLU, ELU, SELU, sigmoid, hard sigmoid, softplus, swish, GELU, mish,
 *       thresholded ReLU, rectified tanh)</td><td>yes</td><td>no</td><td>no</td>
 *       <td>the same function on every unit; {@code φ(−u) ≠ −φ(u)}</td></tr>
 *   <tr><td>odd elementwise {@code φ} (tanh, softsign, hard tanh, rational tanh, cube)</td><td>yes</td><td>yes</td>
 *       <td>no</td><td>{@code φ(−u) = −φ(u)}</td></tr>
 *   <tr><td>identity</td><td>yes</td><td>yes</td><td>yes</td><td>linear</td></tr>
 *   <tr><td>average or sum pooling ({@link SubsamplingLayer}, or {@link GlobalPoolingLayer} over the image)</td><td>yes</td><td>yes</td><td>yes</td>
 *       <td>a linear map of each channel's plane, the same for every channel (zero padding included)</td></tr>
 *   <tr><td>max pooling</td><td>yes</td><td>no</td><td>no</td>
 *       <td>per channel, but {@code max(−u) = −min(u) ≠ −max(u)} and the max of a mixture is no mixture of maxima</td></tr>
 *   <tr><td>p-norm pooling</td><td>yes</td><td>no</td><td>no</td><td>per channel, but even: {@code ‖−u‖_p = ‖u‖_p}</td></tr>
 *   <tr><td>{@link DropoutLayer}</td><td>yes</td><td>yes</td><td>yes</td><td>the identity in an inference-mode network</td></tr>
 *   <tr><td>flattening ({@link CnnToFeedForwardPreProcessor}, NCHW)</td><td>yes</td><td>yes</td><td>yes</td>
 *       <td>relabels the entries: row {@code c·H·W + s} of the dense input is channel {@code c} at position {@code s}</td></tr>
 * </table>
 *
 * <p>A group's type is therefore the largest of {@link GroupType#ORTH} ⊃ {@link GroupType#SIGNED_PERM} ⊃
 * {@link GroupType#PERM} that commutes with all of them: {@code ORTH} for the identity activation with only linear
 * layers up to {@code n}; {@code SIGNED_PERM} for an odd activation (or the identity) with only linear layers up to
 * {@code n}; {@code PERM} otherwise (any known elementwise activation; max or p-norm pooling between). Zero padding,
 * stride and dilation of convolutions and pooling act on each channel's plane alike, so they do not matter.
 * {@link Options#withGroupType} replaces every inferred type (it need not be exact; {@link #explain} says whether it
 * is). {@link #explain} also gives, per group, the derivation for the user to read.
 *
 * <p>Labels (leaves of {@link ParameterLayout#ofAnyLayers}; {@code g_l} is layer {@code l}'s group or
 * {@link AxisLabel#FREE}, {@code g_in} the group of the parameterised layer that feeds {@code l}, FREE for the network
 * input):
 * <ul>
 *   <li>dense or output layer {@code W_l [nIn, nOut]}: {@code (g_in, g_l)}; after flattening {@code C} channels of
 *       {@code H×W}, {@code W_l [H·W, C, nOut]} (order {@code 'f'}): {@code (FREE, g_in, g_l)}; {@code b_l [nOut]}:
 *       {@code (g_l)};</li>
 *   <li>convolution {@code W_l [out, in, kh, kw]}: {@code (g_l, g_in, FREE, FREE)}; {@code b_l [out]}: {@code (g_l)}.</li>
 * </ul>
 * The output layer's units are FREE (they index the outputs, on which the loss is not invariant). A final
 * parameter-free {@link LossLayer} is understood as the loss: the parameterised layer before it is then the output.
 * Subsampling, global pooling (over the image; the dense weight after it is {@code [C, nOut]}, labelled
 * {@code (g_in, g_l)}) and dropout layers, and the flattening preprocessor before a dense layer, pass a group through
 * to the next parameterised layer; any preprocessor is allowed before layer 0 (the input is FREE).
 *
 * <p>Anything else is refused with the layer index and class, unless {@link Options#treatUnknownLayersAsFree()} is
 * set; then, since {@code FREE} never claims a symmetry, the result is safe, only coarser:
 * <ul>
 *   <li>another layer class (batch normalisation, 1-D or 3-D, depthwise or separable convolutions, global pooling over other dimensions,
 *       activation or padding layers, …), a dense layer with layer normalisation, an NHWC convolution or pooling:
 *       all its axes are {@code FREE}, and so are the axes of its neighbours that face it (no group is assumed
 *       across it);</li>
 *   <li>a hidden activation that is not a known deterministic elementwise function (softmax, PReLU, RReLU): that
 *       layer's units form no group (its input axis keeps the previous layer's group);</li>
 *   <li>an input preprocessor before a layer other than the first that is not the flattening before a dense layer:
 *       the units it reshapes form no group.</li>
 * </ul>
 */
public final class SpecInference {
    private static final String OPTION = "SpecInference.Options.defaults().withTreatUnknownLayersAsFree(true)";

    private SpecInference() {
    }

    /**
     * Choices for {@link #infer}: an optional group type that replaces the inferred type of every group (the
     * user's accuracy/cost knob, e.g. {@link GroupType#SIGN}; it need not be an exact symmetry), and whether
     * layers that are not understood become {@code FREE} instead of an error. Immutable.
     */
    public static final class Options {
        private static final Options DEFAULTS = new Options(null, false);

        private final GroupType groupType;
        private final boolean treatUnknownLayersAsFree;

        private Options(GroupType groupType, boolean treatUnknownLayersAsFree) {
            this.groupType = groupType;
            this.treatUnknownLayersAsFree = treatUnknownLayersAsFree;
        }

        /** Types inferred from the activations; unknown layers are an error. */
        public static Options defaults() {
            return DEFAULTS;
        }

        /** The same options with every group of type {@code type}. */
        public Options withGroupType(GroupType type) {
            return new Options(Objects.requireNonNull(type, "type"), treatUnknownLayersAsFree);
        }

        /** The same options with the activations deciding each group's type. */
        public Options withInferredGroupTypes() {
            return new Options(null, treatUnknownLayersAsFree);
        }

        /** The same options with unknown layers labelled {@code FREE} ({@code true}) or refused ({@code false}). */
        public Options withTreatUnknownLayersAsFree(boolean free) {
            return new Options(groupType, free);
        }

        /** The group type that overrides the inferred ones, if any. */
        public Optional<GroupType> groupType() {
            return Optional.ofNullable(groupType);
        }

        /** Whether layers that are not understood become {@code FREE} instead of an error. */
        public boolean treatUnknownLayersAsFree() {
            return treatUnknownLayersAsFree;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Options other && groupType == other.groupType && treatUnknownLayersAsFree == other.treatUnknownLayersAsFree;
        }

        @Override
        public int hashCode() {
            return Objects.hash(groupType, treatUnknownLayersAsFree);
        }

        @Override
        public String toString() {
            return "Options[groupType=" + (groupType == null ? "inferred" : groupType) + ", treatUnknownLayersAsFree=" + treatUnknownLayersAsFree + "]";
        }
    }

    /**
     * An inferred spec with what was assumed: one sentence per hidden parameterised layer, saying which group its
     * units or channels form (or why none) and why that type is the exact one.
     *
     * @param spec        the spec {@link #infer} returns
     * @param assumptions one line per hidden layer, in layer order, e.g. {@code "h0 = the 4 channels of layer 0 …: perm"}
     */
    public record Inferred(SymmetrySpec spec, List<String> assumptions) {
        public Inferred {
            Objects.requireNonNull(spec, "spec");
            assumptions = List.copyOf(assumptions);
        }

        /** The spec's listing ({@link SymmetrySpec#toString}) followed by the assumptions. */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder(spec.toString()).append("\n  assumed:");
            if (assumptions.isEmpty()) {
                sb.append(" no hidden layers");
            }
            for (String line : assumptions) {
                sb.append("\n    ").append(line);
            }
            return sb.toString();
        }
    }

    /** {@link #infer(MultiLayerNetwork, Options)} with {@link Options#defaults()}. */
    public static SymmetrySpec infer(MultiLayerNetwork net) {
        return infer(net, Options.defaults());
    }

    /**
     * The symmetry spec of {@code net}'s parameters, over the layout {@link ParameterLayout#ofAnyLayers}.
     *
     * @throws UnsupportedLayerException naming the layer index, class and the option to use, for the first
     *                                   layer that is not understood (unless the options treat it as free)
     */
    public static SymmetrySpec infer(MultiLayerNetwork net, Options options) {
        return explain(net, options).spec();
    }

    /** What a layer is to the inference. */
    private enum Role {
        DENSE, OUTPUT, CONVOLUTION, POOLING, DROPOUT, LOSS, UNKNOWN;

        boolean parameterised() {
            return this == DENSE || this == OUTPUT || this == CONVOLUTION;
        }

        boolean passesGroups() {
            return this == POOLING || this == DROPOUT;
        }
    }

    /**
     * {@link #infer} together with the derivation of every group's type.
     *
     * @throws UnsupportedLayerException as {@link #infer}
     */
    public static Inferred explain(MultiLayerNetwork net, Options options) {
        Objects.requireNonNull(options, "options");
        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        int count = net.getnLayers();
        Role[] roles = new Role[count];
        String[] problems = new String[count];
        for (int i = 0; i < count; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = layer(net, i);
            problems[i] = classProblem(conf, i == count - 1);
            roles[i] = problems[i] != null ? Role.UNKNOWN : roleOf(conf);
        }
        // A bad preprocessor or an unknown hidden activation leaves the layer understood but forms no group across it.
        for (int i = 0; i < count; i++) {
            if (problems[i] != null) {
                continue;
            }
            InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(i);
            if (pre != null && i > 0 && !isFlattening(pre, roles[i])) {
                problems[i] = "has an input preprocessor " + pre.getClass().getSimpleName() + " that reshapes the previous layer's "
                        + (pre instanceof CnnToFeedForwardPreProcessor ? "channels (SpecInference knows the NCHW flattening before a dense layer)"
                        : "units");
            } else if ((roles[i] == Role.DENSE || roles[i] == Role.CONVOLUTION) && isHidden(roles, i)) {
                IActivation activation = ((BaseLayer) layer(net, i)).getActivationFn();
                if (groupTypeOf(activation).isEmpty()) {
                    problems[i] = "has activation " + activation + ", which is not a known deterministic elementwise function (so no permutation of its "
                            + (roles[i] == Role.CONVOLUTION ? "channels" : "units") + " is known to be a symmetry)";
                }
            }
        }
        for (int i = 0; i < count; i++) {
            if (problems[i] != null && !options.treatUnknownLayersAsFree()) {
                throw new UnsupportedLayerException(i, layer(net, i).getClass().getSimpleName(), problems[i],
                        "pass " + OPTION + " to label its axes FREE (no symmetry is assumed across it)");
            }
        }

        Group[] groupOf = new Group[count];
        int[] fedBy = new int[count];
        Arrays.fill(fedBy, -1);
        List<Group> groups = new ArrayList<>();
        List<String> assumptions = new ArrayList<>();
        for (int l = 0; l < count; l++) {
            if ((roles[l] != Role.DENSE && roles[l] != Role.CONVOLUTION) || !isHidden(roles, l)) {
                continue;
            }
            int n = nextStop(roles, l);
            String units = describeUnits(net, roles, l);
            String path = describePath(net, roles, l, n);
            Optional<GroupType> byActivation = groupTypeOf(((BaseLayer) layer(net, l)).getActivationFn());
            String refusal = null;
            if (!roles[n].parameterised()) {
                refusal = "they feed layer " + n + " (" + layer(net, n).getClass().getSimpleName() + "), which SpecInference does not understand";
            } else if (byActivation.isEmpty()) {
                refusal = "the activation is not a known elementwise function";
            } else if (roles[l] == Role.DENSE && n > l + 1 && java.util.stream.IntStream.range(l + 1, n).anyMatch(j -> roles[j] == Role.POOLING)) {
                refusal = "a pooling layer follows a dense layer";
            } else if (!preprocessorsFit(net, roles, l, n)) {
                refusal = "an input preprocessor reshapes them on the way";
            } else if (roles[l] == Role.CONVOLUTION && roles[n] != Role.CONVOLUTION
                    && !splitsChannels(layout, n, outputsOf(net, l), globallyPooled(net, l, n))) {
                refusal = "the parameter layout of layer " + n + " has no channel axis of size " + outputsOf(net, l);
            }
            if (refusal != null) {
                assumptions.add("layer " + l + ": no group on " + units + " " + path + ": " + refusal);
                continue;
            }
            Derivation d = derive(net, roles, l, n, byActivation.get());
            GroupType type = options.groupType().orElse(d.type());
            Group group = new Group("h" + l, type, outputsOf(net, l));
            groupOf[l] = group;
            fedBy[n] = l;
            groups.add(group);
            String line = group.name() + " = " + units + " " + path + ": " + d.type().cliName() + ", since " + d.reason();
            if (options.groupType().isPresent() && type != d.type()) {
                line += "; replaced by " + type.cliName() + " (Options.withGroupType), "
                        + (type.isSubgroupOf(d.type()) ? "a subgroup of " + d.type().cliName() + ", so also exact"
                        : "which is NOT an exact symmetry here");
            }
            assumptions.add(line);
        }
        SymmetrySpec spec = new SymmetrySpec(groups, layout.leafSpecs(leaf -> labels(leaf, roles, groupOf, fedBy)));
        return new Inferred(spec, assumptions);
    }

    private static org.deeplearning4j.nn.conf.layers.Layer layer(MultiLayerNetwork net, int i) {
        return net.getLayer(i).conf().getLayer();
    }

    /** Why layer {@code i}'s class or configuration is not understood at all, or {@code null}. */
    private static String classProblem(org.deeplearning4j.nn.conf.layers.Layer conf, boolean last) {
        Class<?> c = conf.getClass();
        if (c == LossLayer.class) {
            return last ? null : "is a LossLayer before the end of the network";
        }
        if (c == OutputLayer.class) {
            return last ? null : "is an OutputLayer before the end of the network";
        }
        if (c == DenseLayer.class) {
            return ((DenseLayer) conf).hasLayerNorm() ? "has layer normalisation, whose gain and bias SpecInference does not label" : null;
        }
        if (c == ConvolutionLayer.class || c == Convolution2D.class) {
            CNN2DFormat format = ((ConvolutionLayer) conf).getCnn2dDataFormat();
            return format == null || format == CNN2DFormat.NCHW ? null : "uses data format " + format + "; SpecInference knows NCHW (DL4J's default)";
        }
        if (c == SubsamplingLayer.class) {
            CNN2DFormat format = ((SubsamplingLayer) conf).getCnn2dDataFormat();
            return format == null || format == CNN2DFormat.NCHW ? null : "uses data format " + format + "; SpecInference knows NCHW (DL4J's default)";
        }
        if (c == DropoutLayer.class) {
            return null;
        }
        if (c == GlobalPoolingLayer.class) {
            int[] dims = ((GlobalPoolingLayer) conf).getPoolingDimensions();
            return dims == null || Arrays.equals(dims, new int[] {2, 3}) ? null
                    : "pools over dimensions " + Arrays.toString(dims) + "; SpecInference knows global pooling over the image [2, 3] (per channel)";
        }
        return "is not a layer SpecInference knows (DenseLayer, OutputLayer, ConvolutionLayer, SubsamplingLayer, GlobalPoolingLayer, DropoutLayer,"
                + " a final LossLayer),"
                + " so it cannot tell which symmetries the layer preserves";
    }

    private static Role roleOf(org.deeplearning4j.nn.conf.layers.Layer conf) {
        Class<?> c = conf.getClass();
        if (c == LossLayer.class) {
            return Role.LOSS;
        }
        if (c == OutputLayer.class) {
            return Role.OUTPUT;
        }
        if (c == DenseLayer.class) {
            return Role.DENSE;
        }
        if (c == SubsamplingLayer.class || c == GlobalPoolingLayer.class) {
            return Role.POOLING;
        }
        if (c == DropoutLayer.class) {
            return Role.DROPOUT;
        }
        return Role.CONVOLUTION;
    }

    /** The NCHW flattening of channels before a dense or output layer. */
    private static boolean isFlattening(InputPreProcessor pre, Role role) {
        return pre instanceof CnnToFeedForwardPreProcessor flatten && pre.getClass() == CnnToFeedForwardPreProcessor.class
                && (flatten.getFormat() == null || flatten.getFormat() == CNN2DFormat.NCHW) && (role == Role.DENSE || role == Role.OUTPUT);
    }

    /** The first layer after {@code l} that does not just pass groups through, or {@code -1}. */
    private static int nextStop(Role[] roles, int l) {
        for (int j = l + 1; j < roles.length; j++) {
            if (!roles[j].passesGroups()) {
                return j;
            }
        }
        return -1;
    }

    /** Whether layer {@code l}'s outputs feed another layer (they are not the network's outputs). */
    private static boolean isHidden(Role[] roles, int l) {
        int n = nextStop(roles, l);
        return n >= 0 && roles[n] != Role.LOSS;
    }

    /** The only preprocessor allowed between {@code l} and {@code n}: the flattening of a convolution's channels before a dense {@code n}. */
    private static boolean preprocessorsFit(MultiLayerNetwork net, Role[] roles, int l, int n) {
        for (int j = l + 1; j <= n; j++) {
            InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(j);
            if (pre != null && !(j == n && roles[l] == Role.CONVOLUTION && isFlattening(pre, roles[n]))) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether dense layer {@code n}'s weight has the channels on an axis of its own: the 3-axis leaf
     * {@code [H·W, C, nOut]} after flattening, or {@code [C, nOut]} after a global pooling that collapses the image.
     */
    private static boolean splitsChannels(ParameterLayout layout, int n, int channels, boolean globallyPooled) {
        long[] shape = layout.leaf(n + "_W").shape();
        return (shape.length == 3 && shape[1] == channels) || (globallyPooled && shape.length == 2 && shape[0] == channels);
    }

    private static boolean globallyPooled(MultiLayerNetwork net, int l, int n) {
        for (int j = l + 1; j < n; j++) {
            if (layer(net, j) instanceof GlobalPoolingLayer) {
                return true;
            }
        }
        return false;
    }

    private static int outputsOf(MultiLayerNetwork net, int l) {
        return Math.toIntExact(((org.deeplearning4j.nn.conf.layers.FeedForwardLayer) layer(net, l)).getNOut());
    }

    /** A group type with the reason it is the largest exact one. */
    private record Derivation(GroupType type, String reason) {
    }

    /**
     * The largest group type that commutes with the activation of {@code l} and with every layer and preprocessor
     * from there to {@code n}'s input (the table in the class comment).
     */
    private static Derivation derive(MultiLayerNetwork net, Role[] roles, int l, int n, GroupType byActivation) {
        IActivation activation = ((BaseLayer) layer(net, l)).getActivationFn();
        String why = switch (byActivation) {
            case ORTH -> "the identity activation commutes with any orthogonal mixing";
            case SIGNED_PERM -> activation + " is odd and elementwise (commutes with signed permutations, not with mixing)";
            default -> activation + " is elementwise but not odd (commutes with permutations, not with sign flips)";
        };
        List<String> linear = new ArrayList<>();
        List<String> permutationOnly = new ArrayList<>();
        for (int j = l + 1; j < n; j++) {
            if (roles[j] == Role.POOLING) {
                boolean global = layer(net, j) instanceof GlobalPoolingLayer;
                PoolingType pooling = global ? ((GlobalPoolingLayer) layer(net, j)).getPoolingType() : ((SubsamplingLayer) layer(net, j)).getPoolingType();
                String name = (global ? "global " : "") + pooling.name().toLowerCase(Locale.ROOT).replace("pnorm", "p-norm") + " pooling (layer " + j + ")";
                (pooling == PoolingType.MAX || pooling == PoolingType.PNORM ? permutationOnly : linear).add(name);
            } else if (roles[j] == Role.DROPOUT) {
                linear.add("dropout (layer " + j + ", the identity at inference)");
            }
        }
        if (net.getLayerWiseConfigurations().getInputPreProcess(n) != null) {
            linear.add("the flattening before layer " + n);
        }
        if (!linear.isEmpty()) {
            why += "; " + String.join(", ", linear) + (linear.size() == 1 ? " is linear" : " are linear") + " and the same on every "
                    + (roles[l] == Role.CONVOLUTION ? "channel" : "unit") + " (commute with all)";
        }
        if (permutationOnly.isEmpty() || byActivation == GroupType.PERM) {
            if (!permutationOnly.isEmpty()) {
                why += "; " + String.join(", ", permutationOnly) + " commutes with permutations";
            }
            return new Derivation(byActivation, why);
        }
        why += "; but " + String.join(", ", permutationOnly) + " commutes with permutations only (max(−u) = −min(u), ‖−u‖ = ‖u‖, the max of a"
                + " mixture is no mixture of maxima)";
        return new Derivation(GroupType.PERM, why);
    }

    private static String describeUnits(MultiLayerNetwork net, Role[] roles, int l) {
        org.deeplearning4j.nn.conf.layers.Layer conf = layer(net, l);
        return "the " + outputsOf(net, l) + (roles[l] == Role.CONVOLUTION ? " output channels" : " units") + " of layer " + l + " ("
                + conf.getClass().getSimpleName() + ", " + ((BaseLayer) conf).getActivationFn() + ")";
    }

    private static String describePath(MultiLayerNetwork net, Role[] roles, int l, int n) {
        StringBuilder sb = new StringBuilder();
        for (int j = l + 1; j < n; j++) {
            sb.append("→ ").append(layer(net, j).getClass().getSimpleName()).append(" (layer ").append(j).append(") ");
        }
        if (net.getLayerWiseConfigurations().getInputPreProcess(n) != null) {
            sb.append("→ ").append(net.getLayerWiseConfigurations().getInputPreProcess(n).getClass().getSimpleName()).append(' ');
        }
        return sb.append("→ layer ").append(n).append(" (").append(layer(net, n).getClass().getSimpleName()).append(')').toString();
    }

    private static List<AxisLabel> labels(ParameterLeaf leaf, Role[] roles, Group[] groupOf, int[] fedBy) {
        int i = leaf.layerIndex();
        if (!roles[i].parameterised()) {
            return Collections.nCopies(leaf.rank(), AxisLabel.FREE);
        }
        AxisLabel own = label(groupOf[i]);
        AxisLabel in = fedBy[i] >= 0 ? label(groupOf[fedBy[i]]) : AxisLabel.FREE;
        if (leaf.key().equals("b") && leaf.rank() == 1) {
            return List.of(own);
        }
        if (leaf.key().equals("W") && roles[i] == Role.CONVOLUTION && leaf.rank() == 4) {
            return List.of(own, in, AxisLabel.FREE, AxisLabel.FREE);
        }
        if (leaf.key().equals("W") && roles[i] != Role.CONVOLUTION && leaf.rank() == 2) {
            return List.of(in, own);
        }
        if (leaf.key().equals("W") && roles[i] != Role.CONVOLUTION && leaf.rank() == 3) {
            return List.of(AxisLabel.FREE, in, own);
        }
        throw new IllegalStateException("SpecInference does not know how to label leaf " + leaf + " of layer " + i);
    }

    private static AxisLabel label(Group group) {
        return group == null ? AxisLabel.FREE : AxisLabel.of(group.name());
    }

    private static final Map<Class<?>, GroupType> GROUP_TYPE_BY_ACTIVATION = Map.ofEntries(
            Map.entry(ActivationIdentity.class, GroupType.ORTH),
            Map.entry(ActivationTanH.class, GroupType.SIGNED_PERM),
            Map.entry(ActivationSoftSign.class, GroupType.SIGNED_PERM),
            Map.entry(ActivationHardTanH.class, GroupType.SIGNED_PERM),
            Map.entry(ActivationRationalTanh.class, GroupType.SIGNED_PERM),
            Map.entry(ActivationCube.class, GroupType.SIGNED_PERM),
            Map.entry(ActivationReLU.class, GroupType.PERM),
            Map.entry(ActivationLReLU.class, GroupType.PERM),
            Map.entry(ActivationELU.class, GroupType.PERM),
            Map.entry(ActivationSELU.class, GroupType.PERM),
            Map.entry(ActivationSigmoid.class, GroupType.PERM),
            Map.entry(ActivationHardSigmoid.class, GroupType.PERM),
            Map.entry(ActivationSoftPlus.class, GroupType.PERM),
            Map.entry(ActivationSwish.class, GroupType.PERM),
            Map.entry(ActivationGELU.class, GroupType.PERM),
            Map.entry(ActivationMish.class, GroupType.PERM),
            Map.entry(ActivationThresholdedReLU.class, GroupType.PERM),
            Map.entry(ActivationRectifiedTanh.class, GroupType.PERM));

    /**
     * The largest group of the four that is an exact symmetry of a layer with this activation, if the
     * activation is a known deterministic elementwise function: {@code ORTH} for the identity,
     * {@code SIGNED_PERM} for odd functions, {@code PERM} for the others (exact classes only, so a subclass
     * with other behaviour is not misread). The layers after it may make the exact group smaller
     * ({@link #explain}).
     */
    public static Optional<GroupType> groupTypeOf(IActivation activation) {
        return Optional.ofNullable(GROUP_TYPE_BY_ACTIVATION.get(activation.getClass()));
    }
}
