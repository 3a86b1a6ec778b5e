package org.symcurv.pruning;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.Convolution2D;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.DropoutLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.GlobalPoolingLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.conf.preprocessor.CnnToFeedForwardPreProcessor;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.INDArrayIndex;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;

/**
 * Removing hidden units of dense layers and output channels of convolutional layers. Unit (or channel) {@code i} of
 * hidden layer {@code l}, read by the next parameterised layer {@code n} (subsampling, global pooling and dropout layers
 * in between pass it through), owns the block {@code Q_{l,i}}: its slice of {@code l}'s weight, its bias entry, and its slice of
 * {@code n}'s weight (leaf shapes of {@link ParameterLayout}):
 *
 * <table>
 *   <caption>the block of unit or channel i</caption>
 *   <tr><th>leaf</th><th>shape</th><th>slice</th></tr>
 *   <tr><td>dense {@code W_l}</td><td>{@code [nIn, nOut]} or {@code [H·W, C, nOut]}</td><td>{@code W_l[:, i]} or {@code W_l[:, :, i]}</td></tr>
 *   <tr><td>convolution {@code W_l}</td><td>{@code [out, in, kh, kw]}</td><td>{@code W_l[i, :, :, :]}</td></tr>
 *   <tr><td>{@code b_l}</td><td>{@code [nOut]}</td><td>{@code b_l[i]} (a convolution may have no bias)</td></tr>
 *   <tr><td>dense {@code W_n} (also after a global pooling of channels)</td><td>{@code [nIn, nOut]}</td><td>row {@code W_n[i, :]}</td></tr>
 *   <tr><td>convolution {@code W_n}</td><td>{@code [out, in, kh, kw]}</td><td>{@code W_n[:, i, :, :]}</td></tr>
 *   <tr><td>dense {@code W_n} after flattening</td><td>{@code [H·W, C, nOut]}</td><td>{@code W_n[:, i, :]}: DL4J's input
 *       rows {@code i·H·W + s}</td></tr>
 * </table>
 *
 * With the outgoing slice at zero the unit cannot affect the output, so deleting it gives a smaller network with
 * exactly the same function: fewer units or output channels in {@code l}, fewer inputs (input channels, or rows of
 * the flattened image, with the {@link CnnToFeedForwardPreProcessor}'s channel count) in {@code n}.
 */
public final class NetworkSurgery {
    private NetworkSurgery() {
    }

    /**
     * One removable layer: {@code layer}'s units (axis {@code unitAxis} of {@code weight}, entries of {@code bias})
     * feed axis {@code nextAxis} of {@code next}'s weight.
     */
    record Hidden(int layer, int nextLayer, ParameterLeaf weight, ParameterLeaf bias, int unitAxis, ParameterLeaf next, int nextAxis) {
        int units() {
            return (int) weight.shape()[unitAxis];
        }
    }

    private static boolean isConvolution(org.deeplearning4j.nn.conf.layers.Layer conf) {
        return conf.getClass() == ConvolutionLayer.class || conf.getClass() == Convolution2D.class;
    }

    private static boolean passesThrough(org.deeplearning4j.nn.conf.layers.Layer conf) {
        return conf.getClass() == SubsamplingLayer.class || conf.getClass() == DropoutLayer.class || conf.getClass() == GlobalPoolingLayer.class;
    }

    /** The removable layers, keyed by index, or why layer {@code l} is not one (for the message). */
    private static Map<Integer, Hidden> hidden(MultiLayerNetwork net, ParameterLayout layout) {
        Map<Integer, Hidden> out = new LinkedHashMap<>();
        for (int l = 0; l + 1 < net.getnLayers(); l++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(l).conf().getLayer();
            boolean dense = conf.getClass() == DenseLayer.class;
            if (!dense && !isConvolution(conf)) {
                continue;
            }
            int n = l + 1;
            while (n < net.getnLayers() && passesThrough(net.getLayer(n).conf().getLayer())) {
                n++;
            }
            if (n == net.getnLayers()) {
                continue;
            }
            org.deeplearning4j.nn.conf.layers.Layer nextConf = net.getLayer(n).conf().getLayer();
            boolean nextDense = nextConf.getClass() == DenseLayer.class || nextConf.getClass() == OutputLayer.class;
            if (!nextDense && !isConvolution(nextConf) || (dense && !nextDense)) {
                continue;
            }
            List<ParameterLeaf> own = layout.leavesOfLayer(l);
            ParameterLeaf w = layout.leaf(l + "_W");
            ParameterLeaf b = own.stream().filter(leaf -> leaf.key().equals("b")).findFirst().orElse(null);
            if (dense && b == null) {
                continue;
            }
            ParameterLeaf next = layout.leaf(n + "_W");
            int nextAxis = isConvolution(nextConf) || next.rank() == 3 ? 1 : 0;
            boolean globallyPooled = false;
            for (int j = l + 1; j < n; j++) {
                globallyPooled |= net.getLayer(j).conf().getLayer().getClass() == GlobalPoolingLayer.class;
            }
            if (!dense && nextDense && next.rank() != 3 && !(globallyPooled && next.rank() == 2)) {
                continue;
            }
            out.put(l, new Hidden(l, n, w, b, dense ? w.rank() - 1 : 0, next, nextAxis));
        }
        return out;
    }

    /** The leaves and axes that hidden layer {@code layer}'s units index. */
    static Hidden describe(MultiLayerNetwork net, int layer) {
        return hidden(ParameterLayout.of(net), net, layer);
    }

    private static Hidden hidden(ParameterLayout layout, MultiLayerNetwork net, int layer) {
        Hidden h = hidden(net, layout).get(layer);
        if (h == null) {
            throw new IllegalArgumentException("layer " + layer + " is not a hidden dense or convolutional layer; hidden layers: " + hiddenLayers(net));
        }
        return h;
    }

    /**
     * The hidden layers whose units or channels can be removed, in order: every {@code DenseLayer} with a bias
     * followed (through dropout layers) by a dense or output layer, and every {@code ConvolutionLayer} followed
     * (through subsampling, global pooling and dropout layers) by another convolution or, after flattening or global
     * pooling, a dense or output layer.
     *
     * @throws IllegalArgumentException if the network has no such layer
     */
    public static List<Integer> hiddenLayers(MultiLayerNetwork net) {
        List<Integer> out = new ArrayList<>(hidden(net, ParameterLayout.of(net)).keySet());
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the network has no hidden dense layer (with a bias) or convolutional layer followed by a dense, output "
                    + "or convolutional layer: there are no units or channels to remove");
        }
        return out;
    }

    /** Number of units (dense) or output channels (convolution) of hidden layer {@code l}. */
    public static int units(MultiLayerNetwork net, int layer) {
        return hidden(ParameterLayout.of(net), net, layer).units();
    }

    /**
     * The flat indices of unit {@code unit}'s block {@code Q} (the table in the class comment): its slice of
     * {@code W_l} in the leaf's row-major order, then {@code b_l[unit]} if there is a bias, then its slice of
     * {@code W_n} in row-major order. The order is the same for every unit, so a permutation of the layer's units
     * maps one block onto another entry by entry.
     */
    public static long[] unitBlock(MultiLayerNetwork net, int layer, int unit) {
        return unitBlock(hidden(ParameterLayout.of(net), net, layer), unit);
    }

    /** {@link #unitBlock} of every unit of the layer: row {@code i} is unit {@code i}'s block. */
    public static long[][] unitBlocks(MultiLayerNetwork net, int layer) {
        Hidden h = hidden(ParameterLayout.of(net), net, layer);
        long[][] out = new long[h.units()][];
        for (int i = 0; i < out.length; i++) {
            out[i] = unitBlock(h, i);
        }
        return out;
    }

    private static long[] unitBlock(Hidden h, int unit) {
        int layer = h.layer();
        if (unit < 0 || unit >= h.units()) {
            throw new IndexOutOfBoundsException("layer " + layer + " has " + h.units() + " units; no unit " + unit);
        }
        long[] own = slice(h.weight(), h.unitAxis(), unit);
        long[] next = slice(h.next(), h.nextAxis(), unit);
        int bias = h.bias() == null ? 0 : 1;
        long[] out = new long[own.length + bias + next.length];
        System.arraycopy(own, 0, out, 0, own.length);
        if (bias == 1) {
            out[own.length] = h.bias().offset() + unit;
        }
        System.arraycopy(next, 0, out, own.length + bias, next.length);
        return out;
    }

    /** The flat indices of {@code leaf[…, i, …]} (index {@code i} on {@code axis}), in the row-major order of the other axes. */
    private static long[] slice(ParameterLeaf leaf, int axis, int i) {
        long[] shape = leaf.shape();
        int rank = shape.length;
        long[] strides = new long[rank];
        long s = 1;
        if (leaf.order() == 'c') {
            for (int a = rank - 1; a >= 0; a--) {
                strides[a] = s;
                s *= shape[a];
            }
        } else {
            for (int a = 0; a < rank; a++) {
                strides[a] = s;
                s *= shape[a];
            }
        }
        long count = leaf.length() / shape[axis];
        long[] out = new long[(int) count];
        long[] index = new long[rank];
        for (long e = 0; e < count; e++) {
            long rest = e;
            for (int a = rank - 1; a >= 0; a--) {
                if (a == axis) {
                    index[a] = i;
                    continue;
                }
                index[a] = rest % shape[a];
                rest /= shape[a];
            }
            long q = leaf.offset();
            for (int a = 0; a < rank; a++) {
                q += index[a] * strides[a];
            }
            out[(int) e] = q;
        }
        return out;
    }

    /**
     * {@code θ} with the blocks of the given units set to zero: the "masked big network" that computes what the
     * smaller network of {@link #keepUnits} computes.
     *
     * @param theta   {@code [P]}; not modified
     * @param removed layer index → units to zero
     */
    public static INDArray maskUnits(MultiLayerNetwork net, INDArray theta, Map<Integer, int[]> removed) {
        INDArray out = theta.reshape(theta.length()).dup();
        for (Map.Entry<Integer, int[]> e : removed.entrySet()) {
            long[][] blocks = unitBlocks(net, e.getKey());
            for (int unit : e.getValue()) {
                for (long q : blocks[unit]) {
                    out.putScalar(q, 0.0);
                }
            }
        }
        return out;
    }

    /**
     * A new, smaller network: the same configuration with hidden layer {@code l} reduced to the units (channels)
     * {@code kept.get(l)} (in that order), and parameters copied from {@code theta}, each leaf restricted to the kept
     * indices on its unit axes (the table in the class comment). Layers not named keep all their units. The next
     * layer's input count follows (for a dense layer after flattening, {@code kept · H·W} inputs and the
     * preprocessor's channel count). The network's data type is the original's; plain DL4J runs, saves and loads it.
     *
     * @param net   the network whose configuration is shrunk; not modified
     * @param theta its parameters {@code [P]} (e.g. after a compensating update); not modified
     * @param kept  hidden layer index → the units to keep, each index once, at least one
     * @throws IllegalArgumentException for a layer that is not hidden, an empty or repeated unit list
     */
    public static MultiLayerNetwork keepUnits(MultiLayerNetwork net, INDArray theta, Map<Integer, int[]> kept) {
        ParameterLayout layout = ParameterLayout.of(net);
        Map<Integer, Hidden> hidden = hidden(net, layout);
        SortedMap<Integer, int[]> keep = new TreeMap<>();
        for (Map.Entry<Integer, int[]> e : kept.entrySet()) {
            int l = e.getKey();
            Hidden h = hidden.get(l);
            if (h == null) {
                throw new IllegalArgumentException("layer " + l + " is not a hidden dense or convolutional layer; hidden layers: " + hidden.keySet());
            }
            int[] units = e.getValue();
            int n = h.units();
            if (units.length == 0) {
                throw new IllegalArgumentException("layer " + l + " must keep at least one unit");
            }
            if (Arrays.stream(units).distinct().count() != units.length || Arrays.stream(units).anyMatch(u -> u < 0 || u >= n)) {
                throw new IllegalArgumentException("units to keep in layer " + l + " must be distinct indices in [0, " + n + "), got "
                        + Arrays.toString(units));
            }
            keep.put(l, units.clone());
        }
        MultiLayerConfiguration conf = net.getLayerWiseConfigurations().clone();
        for (Map.Entry<Integer, int[]> e : keep.entrySet()) {
            Hidden h = hidden.get(e.getKey());
            int k = e.getValue().length;
            ((FeedForwardLayer) conf.getConf(h.layer()).getLayer()).setNOut(k);
            for (int j = h.layer() + 1; j < h.nextLayer(); j++) {
                if (conf.getConf(j).getLayer() instanceof FeedForwardLayer through && through.getNIn() == h.units()) {
                    through.setNIn(k); // a DropoutLayer between dense layers records the width it passes
                    through.setNOut(k);
                }
            }
            FeedForwardLayer next = (FeedForwardLayer) conf.getConf(h.nextLayer()).getLayer();
            InputPreProcessor pre = conf.getInputPreProcess(h.nextLayer());
            if (h.next().rank() == 3) {
                long positions = h.next().shape()[0];
                next.setNIn(k * positions);
                if (pre instanceof CnnToFeedForwardPreProcessor flatten) {
                    flatten.setNumChannels(k);
                }
            } else {
                next.setNIn(k);
            }
        }
        MultiLayerNetwork smaller = new MultiLayerNetwork(conf);
        smaller.init();
        Map<String, INDArray> values = new LinkedHashMap<>();
        INDArray flat = layout.asFlat(theta, "theta");
        Map<String, List<long[]>> restrictions = new LinkedHashMap<>(); // leaf → {axis, kept...}
        for (Map.Entry<Integer, int[]> e : keep.entrySet()) {
            Hidden h = hidden.get(e.getKey());
            long[] units = Arrays.stream(e.getValue()).asLongStream().toArray();
            restrictions.computeIfAbsent(h.weight().name(), x -> new ArrayList<>()).add(prepend(h.unitAxis(), units));
            if (h.bias() != null) {
                restrictions.computeIfAbsent(h.bias().name(), x -> new ArrayList<>()).add(prepend(0, units));
            }
            restrictions.computeIfAbsent(h.next().name(), x -> new ArrayList<>()).add(prepend(h.nextAxis(), units));
        }
        for (ParameterLeaf leaf : layout.leaves()) {
            INDArray value = layout.leafValue(flat, leaf.name());
            for (long[] r : restrictions.getOrDefault(leaf.name(), List.of())) {
                INDArrayIndex[] index = new INDArrayIndex[leaf.rank()];
                Arrays.fill(index, NDArrayIndex.all());
                index[(int) r[0]] = NDArrayIndex.indices(Arrays.copyOfRange(r, 1, r.length));
                value = value.get(index).dup();
            }
            values.put(leaf.name(), value.dup());
        }
        ParameterLayout smallerLayout = ParameterLayout.of(smaller);
        smallerLayout.write(smallerLayout.flatten(values), smaller);
        return smaller;
    }

    private static long[] prepend(long first, long[] rest) {
        long[] out = new long[rest.length + 1];
        out[0] = first;
        System.arraycopy(rest, 0, out, 1, rest.length);
        return out;
    }
}
