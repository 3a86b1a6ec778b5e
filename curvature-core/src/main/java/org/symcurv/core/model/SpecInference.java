package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.LossLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
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
 * Infers the {@link SymmetrySpec} of a DL4J dense network from its configuration (symmetry-curvature.md
 * section 2): the units of each hidden {@link DenseLayer} {@code l} form a group {@code "h<l>"} of
 * {@code nOut} units whose type follows the activation {@code φ_l}, since a group element {@code A} is an
 * exact symmetry when {@code φ(zA) = φ(z)A}:
 *
 * <ul>
 *   <li>elementwise {@code φ} (ReLU, leaky ReLU, ELU, SELU, sigmoid, hard sigmoid, softplus, swish, GELU, mish,
 *       thresholded ReLU, rectified tanh): permutations, {@link GroupType#PERM};</li>
 *   <li>elementwise and odd (tanh, softsign, hard tanh, rational tanh, cube): signed permutations,
 *       {@link GroupType#SIGNED_PERM};</li>
 *   <li>identity: the orthogonal group, {@link GroupType#ORTH}.</li>
 * </ul>
 *
 * <p>Labels, with {@code W_l} of shape {@code [nIn, nOut]}: {@code W_l} axis 0 carries the previous layer's
 * group ({@link AxisLabel#FREE} for the network input), axis 1 this layer's group; {@code b_l} axis 0 this
 * layer's group. The output layer's units are {@code FREE} (they index the outputs, on which the loss is
 * not invariant). A final parameter-free {@link LossLayer} is understood as the loss: the layer before it
 * is then the output.
 *
 * <p>Anything else is refused with the layer index and class, unless
 * {@link Options#treatUnknownLayersAsFree()} is set; then, since {@code FREE} never claims a symmetry, the
 * result is safe, only coarser:
 * <ul>
 *   <li>another layer class (batch normalisation, convolution, activation or dropout layers, …), a dense
 *       layer with layer normalisation: all its axes are {@code FREE}, and so are the axes of its neighbours
 *       that face it (no group is assumed across it);</li>
 *   <li>a hidden activation that is not a known deterministic elementwise function (softmax, PReLU, RReLU):
 *       that layer's units form no group (its input axis keeps the previous layer's group);</li>
 *   <li>an input preprocessor before a layer other than the first: the units it reshapes form no group.</li>
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
        Objects.requireNonNull(options, "options");
        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        int count = net.getnLayers();
        // understood[i]: layer i's parameters are labelled by the dense rules (otherwise all FREE).
        boolean[] understood = new boolean[count];
        for (int i = 0; i < count; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            String problem = problemWith(net, i, conf, count);
            if (problem != null && !options.treatUnknownLayersAsFree()) {
                throw new UnsupportedLayerException(i, conf.getClass().getSimpleName(), problem,
                        "pass " + OPTION + " to label its axes FREE (no symmetry is assumed across it)");
            }
            understood[i] = ParameterLayout.isPlainDense(conf) && !(conf.getClass() == OutputLayer.class && i < count - 1);
        }
        // A hidden layer's units form a group only if the next layer is a dense layer that reads them as they are.
        Group[] unitGroups = new Group[count];
        List<Group> groups = new ArrayList<>();
        for (int i = 0; i + 1 < count; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            boolean consumed = understood[i + 1] && net.getLayerWiseConfigurations().getInputPreProcess(i + 1) == null;
            if (!understood[i] || conf.getClass() != DenseLayer.class || !consumed) {
                continue;
            }
            Optional<GroupType> type = groupTypeOf(((BaseLayer) conf).getActivationFn());
            if (type.isPresent()) {
                unitGroups[i] = new Group("h" + i, options.groupType().orElse(type.get()), Math.toIntExact(((DenseLayer) conf).getNOut()));
                groups.add(unitGroups[i]);
            }
        }
        return new SymmetrySpec(groups, layout.leafSpecs(leaf -> labels(leaf, understood, unitGroups)));
    }

    private static List<AxisLabel> labels(ParameterLeaf leaf, boolean[] understood, Group[] unitGroups) {
        int i = leaf.layerIndex();
        if (!understood[i]) {
            return java.util.Collections.nCopies(leaf.rank(), AxisLabel.FREE);
        }
        AxisLabel units = label(unitGroups[i]);
        if (leaf.key().equals("W") && leaf.rank() == 3) {
            // a dense layer after a CnnToFeedForwardPreProcessor: [H·W, C, nOut]
            return List.of(AxisLabel.FREE, AxisLabel.FREE, units);
        }
        if (leaf.key().equals("W")) {
            return List.of(i > 0 ? label(unitGroups[i - 1]) : AxisLabel.FREE, units);
        }
        return List.of(units);
    }

    private static AxisLabel label(Group group) {
        return group == null ? AxisLabel.FREE : AxisLabel.of(group.name());
    }

    /** Why layer {@code i} is not fully understood, or {@code null} if it is. */
    private static String problemWith(MultiLayerNetwork net, int i, org.deeplearning4j.nn.conf.layers.Layer conf, int count) {
        boolean last = i == count - 1;
        Class<?> c = conf.getClass();
        if (c == LossLayer.class && last) {
            return null;
        }
        if (c != DenseLayer.class && c != OutputLayer.class) {
            return "is not a dense layer, so SpecInference cannot tell which symmetries it preserves";
        }
        if (c == DenseLayer.class && ((DenseLayer) conf).hasLayerNorm()) {
            return "has layer normalisation, whose gain and bias SpecInference does not label";
        }
        if (c == OutputLayer.class && !last) {
            return "is an OutputLayer before the end of the network";
        }
        InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(i);
        if (pre != null && i > 0) {
            return "has an input preprocessor " + pre.getClass().getSimpleName() + " that reshapes the previous layer's units";
        }
        if (c == DenseLayer.class && !last) {
            IActivation activation = ((BaseLayer) conf).getActivationFn();
            if (groupTypeOf(activation).isEmpty()) {
                return "has activation " + activation + ", which is not a known deterministic elementwise function (so no permutation of its units is"
                        + " known to be a symmetry)";
            }
        }
        return null;
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
     * with other behaviour is not misread).
     */
    public static Optional<GroupType> groupTypeOf(IActivation activation) {
        return Optional.ofNullable(GROUP_TYPE_BY_ACTIVATION.get(activation.getClass()));
    }
}
