package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.deeplearning4j.nn.api.Layer;
import org.deeplearning4j.nn.conf.CNN2DFormat;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.LeafSpec;

/**
 * The flat parameter vector {@code θ ∈ R^P} of a DL4J {@link MultiLayerNetwork} as a list of leaves: the
 * tensors of {@code paramTable()}, layer by layer, each occupying a contiguous block of {@code θ}
 * (symmetry-curvature.md section 2). The order of {@code θ} is exactly that of DL4J's {@code params()}:
 * for a dense layer {@code l}, {@code W_l[nIn, nOut]} flattened column-major, then {@code b_l[nOut]}; for a
 * {@code ConvolutionLayer} {@code l}, its bias {@code b_l[out]} first, then {@code W_l[out, in, kH, kW]} row-major
 * ({@code 'c'}), as DL4J's {@code paramTable()} orders them. A dense layer fed through a
 * {@code CnnToFeedForwardPreProcessor} from {@code C} channels of {@code H×W} (DL4J flattens {@code [C, H, W]} row-major,
 * input row {@code r = c·H·W + s}) has the 3-axis weight leaf {@code [H·W, C, nOut]} in order {@code 'f'}: its flat index
 * {@code s + H·W·c + H·W·C·j} is DL4J's {@code r + nIn·j}, so the channel axis can carry the convolution's group.
 *
 * <p>Flat vectors are rank-1 {@code [P]} arrays, like {@code params()} in DL4J 1.0.0-M2.1; methods that
 * take one also accept {@code [1, P]} or {@code [P, 1]}. Immutable; it holds no reference to the network it
 * was built from and can be used with any network of the same architecture.
 */
public final class ParameterLayout {
    private final List<ParameterLeaf> leaves;
    private final Map<String, ParameterLeaf> leavesByName;
    private final long parameterCount;

    private ParameterLayout(List<ParameterLeaf> leaves) {
        this.leaves = List.copyOf(leaves);
        Map<String, ParameterLeaf> byName = new LinkedHashMap<>();
        long end = 0;
        for (ParameterLeaf leaf : this.leaves) {
            byName.put(leaf.name(), leaf);
            end += leaf.length();
        }
        this.leavesByName = Collections.unmodifiableMap(byName);
        this.parameterCount = end;
    }

    /**
     * The layout of a network made of {@link DenseLayer}s (without layer normalisation), {@link OutputLayer}s and
     * {@link ConvolutionLayer}s, with any input preprocessors; layers without parameters (subsampling, dropout, …)
     * are allowed and contribute no leaves.
     *
     * @throws UnsupportedLayerException naming the layer index and class for any other layer with parameters
     * @throws IllegalStateException     if DL4J's parameter views are not laid out contiguously in {@code params()}
     */
    public static ParameterLayout of(MultiLayerNetwork net) {
        return build(net, false);
    }

    /**
     * The layout of any network: dense, output and convolution layers as in {@link #of}, every other layer's parameters as
     * DL4J stores them (shape and flattening order of the {@code paramTable()} view, orientation
     * "as stored by DL4J"). Use it when the caller treats the unknown layers' leaves as free.
     *
     * @throws IllegalStateException if DL4J's parameter views are not laid out contiguously in {@code params()}
     */
    public static ParameterLayout ofAnyLayers(MultiLayerNetwork net) {
        return build(net, true);
    }

    private static ParameterLayout build(MultiLayerNetwork net, boolean allowAnyLayer) {
        if (net.getLayers() == null) {
            throw new IllegalArgumentException("the network is not initialised: call net.init() before taking its parameter layout");
        }
        INDArray params = net.params();
        long paramsOffset = params == null ? 0 : params.offset();
        List<ParameterLeaf> leaves = new ArrayList<>();
        long offset = 0;
        for (int i = 0; i < net.getnLayers(); i++) {
            Layer layer = net.getLayer(i);
            org.deeplearning4j.nn.conf.layers.Layer conf = layer.conf().getLayer();
            Map<String, INDArray> table = layer.paramTable();
            if (table == null || table.isEmpty()) {
                continue;
            }
            String layerClass = conf.getClass().getSimpleName();
            boolean dense = isPlainDense(conf);
            boolean convolution = conf.getClass() == ConvolutionLayer.class;
            if (!dense && !convolution && !allowAnyLayer) {
                throw new UnsupportedLayerException(i, layerClass,
                        "has parameters " + table.keySet() + " that ParameterLayout.of does not lay out (it knows DenseLayer without layer"
                                + " normalisation, OutputLayer and ConvolutionLayer)",
                        "use ParameterLayout.ofAnyLayers to take such leaves as DL4J stores them");
            }
            // a dense layer reading C channels of H×W through a CnnToFeedForwardPreProcessor: W as [H·W, C, nOut] 'f'
            CnnToFeedForwardPreProcessor flatten = dense && net.getLayerWiseConfigurations().getInputPreProcess(i) instanceof CnnToFeedForwardPreProcessor f
                    ? f : null;
            if (flatten != null && flatten.getFormat() != CNN2DFormat.NCHW && !allowAnyLayer) {
                throw new UnsupportedLayerException(i, layerClass, "reads its input through a CnnToFeedForwardPreProcessor in format " + flatten.getFormat(),
                        "build the network with CNN2DFormat.NCHW (DL4J's default)");
            }
            for (Map.Entry<String, INDArray> entry : table.entrySet()) {
                String key = entry.getKey();
                INDArray view = entry.getValue();
                String name = i + "_" + key;
                if (view.offset() - paramsOffset != offset) {
                    throw new IllegalStateException("DL4J's view of parameter '" + name + "' starts at flat index " + (view.offset() - paramsOffset)
                            + " but the leaves before it end at " + offset + ": params() is not laid out layer by layer in paramTable order");
                }
                long[] shape;
                String orientation;
                char order = flatteningOrder(view, name);
                if (dense && key.equals("W") && flatten != null && flatten.getFormat() == CNN2DFormat.NCHW && order == 'f'
                        && view.rank() == 2 && view.size(0) == flatten.getNumChannels() * flatten.getInputHeight() * flatten.getInputWidth()) {
                    shape = new long[] {flatten.getInputHeight() * flatten.getInputWidth(), flatten.getNumChannels(), view.size(1)};
                    orientation = "[H·W, C, nOut]: axis 0 positions (" + flatten.getInputHeight() + "×" + flatten.getInputWidth()
                            + ") of the flattened input, axis 1 its channels, axis 2 units of layer " + i + " (input row c·H·W + s)";
                } else if (dense && key.equals("W")) {
                    shape = view.shape();
                    orientation = "[nIn, nOut]: axis 0 inputs of layer " + i + ", axis 1 units of layer " + i;
                } else if (dense && key.equals("b")) {
                    shape = new long[] {view.length()};
                    orientation = "[nOut]: units of layer " + i;
                } else if (convolution && key.equals("W") && view.rank() == 4) {
                    shape = view.shape();
                    orientation = "[out, in, kH, kW]: axis 0 output channels of layer " + i + ", axis 1 input channels, axes 2-3 the kernel";
                } else if (convolution && key.equals("b")) {
                    shape = new long[] {view.length()};
                    orientation = "[out]: output channels of layer " + i;
                } else if ((dense || convolution) && !allowAnyLayer) {
                    throw new UnsupportedLayerException(i, layerClass, "has an unexpected parameter '" + key + "' besides W and b",
                            "use ParameterLayout.ofAnyLayers");
                } else {
                    shape = view.rank() == 2 && view.rows() == 1 ? new long[] {view.length()} : view.shape();
                    orientation = "as stored by DL4J (" + layerClass + ")";
                }
                leaves.add(new ParameterLeaf(name, i, key, shape, order, offset, orientation));
                offset += view.length();
            }
        }
        if (offset != net.numParams()) {
            throw new IllegalStateException("the layers' parameter tables hold " + offset + " parameters but the network reports "
                    + net.numParams() + ": params() contains something the layout does not see");
        }
        return new ParameterLayout(leaves);
    }

    /** A {@link DenseLayer} without layer normalisation, or an {@link OutputLayer} (exact classes, not subclasses). */
    static boolean isPlainDense(org.deeplearning4j.nn.conf.layers.Layer conf) {
        return (conf.getClass() == DenseLayer.class && !((DenseLayer) conf).hasLayerNorm()) || conf.getClass() == OutputLayer.class;
    }

    /** The order in which a contiguous view lays out its elements: 'c' if row-major, 'f' if column-major. */
    private static char flatteningOrder(INDArray view, String name) {
        long[] shape = view.shape();
        long[] stride = view.stride();
        if (shape.length <= 1) {
            return 'c';
        }
        boolean c = true;
        long expected = 1;
        for (int a = shape.length - 1; a >= 0; a--) {
            if (shape[a] != 1 && stride[a] != expected) {
                c = false;
            }
            expected *= shape[a];
        }
        boolean f = true;
        expected = 1;
        for (int a = 0; a < shape.length; a++) {
            if (shape[a] != 1 && stride[a] != expected) {
                f = false;
            }
            expected *= shape[a];
        }
        if (c && f) {
            return view.ordering();
        }
        if (c) {
            return 'c';
        }
        if (f) {
            return 'f';
        }
        throw new IllegalStateException("DL4J's view of parameter '" + name + "' (shape " + Arrays.toString(shape) + ", stride "
                + Arrays.toString(stride) + ") is not contiguous in params()");
    }

    /** The leaves in flat order. */
    public List<ParameterLeaf> leaves() {
        return leaves;
    }

    /** @throws IllegalArgumentException naming the known leaves if there is no leaf called {@code name} */
    public ParameterLeaf leaf(String name) {
        ParameterLeaf leaf = leavesByName.get(name);
        if (leaf == null) {
            throw new IllegalArgumentException("no parameter leaf '" + name + "'; leaves: " + leavesByName.keySet());
        }
        return leaf;
    }

    /** The leaves of one layer, in flat order (empty for a layer without parameters). */
    public List<ParameterLeaf> leavesOfLayer(int layerIndex) {
        List<ParameterLeaf> out = new ArrayList<>();
        for (ParameterLeaf leaf : leaves) {
            if (leaf.layerIndex() == layerIndex) {
                out.add(leaf);
            }
        }
        return out;
    }

    /** {@code P}, the length of the flat parameter vector. */
    public long parameterCount() {
        return parameterCount;
    }

    /**
     * A copy of the network's parameters {@code θ}, shape {@code [P]}, in the network's data type.
     *
     * @throws IllegalArgumentException if the network's parameter tables do not match this layout
     */
    public INDArray read(MultiLayerNetwork net) {
        requireMatches(net);
        return net.params().dup().reshape(parameterCount);
    }

    /**
     * Overwrites the network's parameters with {@code theta} (cast to the network's data type); {@code theta}
     * is not modified.
     *
     * @param theta a vector of length {@code P}
     * @throws IllegalArgumentException if {@code theta} has the wrong length or the network does not match
     */
    public void write(INDArray theta, MultiLayerNetwork net) {
        requireMatches(net);
        INDArray flat = asFlat(theta, "theta");
        INDArray current = net.params();
        // setParams copies into the network's own buffer (the layers' views stay valid).
        net.setParams(flat.castTo(current.dataType()).reshape(current.shape()).dup());
    }

    /**
     * The flat vector {@code θ} with each leaf's block filled from {@code values}; each value must have the
     * leaf's shape (a {@code [1, n]} row is accepted for a leaf of shape {@code [n]}). The data type is
     * that of the first value.
     *
     * @param values one tensor per leaf, keyed by leaf name; not modified
     * @throws IllegalArgumentException naming the leaf when one is missing, extra or of the wrong shape
     */
    public INDArray flatten(Map<String, INDArray> values) {
        for (String name : values.keySet()) {
            leaf(name);
        }
        INDArray out = null;
        for (ParameterLeaf leaf : leaves) {
            INDArray value = values.get(leaf.name());
            if (value == null) {
                throw new IllegalArgumentException("no value for parameter leaf '" + leaf.name() + "'; every leaf of " + leavesByName.keySet() + " needs one");
            }
            if (value.length() != leaf.length() || !(Arrays.equals(value.shape(), leaf.shape()) || leaf.rank() == 1 && value.isVector())) {
                throw new IllegalArgumentException("value for leaf '" + leaf.name() + "' has shape " + Arrays.toString(value.shape())
                        + " but the leaf has shape " + Arrays.toString(leaf.shape()));
            }
            if (out == null) {
                out = org.nd4j.linalg.factory.Nd4j.create(value.dataType(), parameterCount);
            }
            out.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                    .assign(value.reshape(leaf.order(), new long[] {leaf.length()}).castTo(out.dataType()));
        }
        if (out == null) {
            out = org.nd4j.linalg.factory.Nd4j.create(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 0);
        }
        return out;
    }

    /**
     * The leaves of {@code theta} as separate tensors (copies) of the leaves' shapes, keyed by leaf name in
     * flat order.
     *
     * @param theta a vector of length {@code P}; not modified
     */
    public Map<String, INDArray> unflatten(INDArray theta) {
        INDArray flat = asFlat(theta, "theta");
        Map<String, INDArray> out = new LinkedHashMap<>();
        for (ParameterLeaf leaf : leaves) {
            out.put(leaf.name(), slice(flat, leaf));
        }
        return out;
    }

    /** A copy of one leaf's block of {@code theta}, in the leaf's shape. */
    public INDArray leafValue(INDArray theta, String name) {
        return slice(asFlat(theta, "theta"), leaf(name));
    }

    private static INDArray slice(INDArray flat, ParameterLeaf leaf) {
        INDArray block = flat.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())).dup();
        return block.reshape(leaf.order(), leaf.shape()).dup('c');
    }

    /** The leaves as {@link LeafSpec}s with every axis {@link AxisLabel#FREE}. */
    public List<LeafSpec> leafSpecs() {
        return leafSpecs(leaf -> Collections.nCopies(leaf.rank(), AxisLabel.FREE));
    }

    /**
     * The leaves as {@link LeafSpec}s, labelled by {@code labels} (one label per axis of the leaf's shape).
     *
     * @throws IllegalArgumentException naming the leaf if the number of labels differs from its rank
     */
    public List<LeafSpec> leafSpecs(Function<ParameterLeaf, List<AxisLabel>> labels) {
        List<LeafSpec> specs = new ArrayList<>();
        for (ParameterLeaf leaf : leaves) {
            specs.add(leaf.toLeafSpec(labels.apply(leaf)));
        }
        return specs;
    }

    /**
     * {@code v} as a rank-1 {@code [P]} array (a view when possible).
     *
     * @throws IllegalArgumentException naming {@code what} and the shapes if {@code v} is not a vector of length {@code P}
     */
    public INDArray asFlat(INDArray v, String what) {
        boolean vector = v.rank() == 1 || (v.rank() == 2 && (v.rows() == 1 || v.columns() == 1));
        if (!vector || v.length() != parameterCount) {
            throw new IllegalArgumentException(what + " must be a vector of length " + parameterCount + " (the parameter count), got shape "
                    + Arrays.toString(v.shape()));
        }
        return v.rank() == 1 ? v : v.reshape(parameterCount);
    }

    /**
     * @throws IllegalArgumentException naming the first difference if {@code net}'s parameter tables do not
     *                                  have this layout's leaves and shapes
     */
    public void requireMatches(MultiLayerNetwork net) {
        if (net.getLayers() == null) {
            throw new IllegalArgumentException("the network is not initialised: call net.init() first");
        }
        if (net.numParams() != parameterCount) {
            throw new IllegalArgumentException("the network has " + net.numParams() + " parameters but this layout has " + parameterCount
                    + ": build the layout from this network");
        }
        Map<String, INDArray> table = net.paramTable();
        for (ParameterLeaf leaf : leaves) {
            INDArray view = table.get(leaf.name());
            if (view == null || view.length() != leaf.length()) {
                throw new IllegalArgumentException("the network's parameter '" + leaf.name() + "' "
                        + (view == null ? "does not exist" : "has shape " + Arrays.toString(view.shape()))
                        + " but this layout expects shape " + Arrays.toString(leaf.shape()) + ": build the layout from this network");
            }
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParameterLayout l && leaves.equals(l.leaves);
    }

    @Override
    public int hashCode() {
        return leaves.hashCode();
    }

    /** One line per leaf. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("ParameterLayout (").append(parameterCount).append(" parameters)");
        for (ParameterLeaf leaf : leaves) {
            sb.append("\n  ").append(leaf);
        }
        return sb.toString();
    }
}
