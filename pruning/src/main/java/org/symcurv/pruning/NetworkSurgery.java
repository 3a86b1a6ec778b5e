package org.symcurv.pruning;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.TreeMap;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;

/**
 * Removing hidden units from a dense network. Unit {@code i} of hidden layer {@code l} owns the block
 * {@code Q_{l,i}} = its incoming column {@code W_l[:, i]}, its bias {@code b_l[i]} and its outgoing row
 * {@code W_{l+1}[i, :]} (DL4J weights are {@code [nIn, nOut]}); with the outgoing row at zero the unit cannot affect
 * the output, so deleting it gives a smaller network with exactly the same function.
 */
public final class NetworkSurgery {
    private NetworkSurgery() {
    }

    /**
     * The hidden layers whose units can be removed: every {@code DenseLayer} followed by another layer with
     * parameters (dense or output), in order.
     *
     * @throws IllegalArgumentException if the network has no such layer
     */
    public static List<Integer> hiddenLayers(MultiLayerNetwork net) {
        ParameterLayout layout = ParameterLayout.of(net);
        List<Integer> out = new ArrayList<>();
        for (int l = 0; l + 1 < net.getnLayers(); l++) {
            boolean dense = net.getLayer(l).conf().getLayer().getClass() == DenseLayer.class;
            if (dense && !layout.leavesOfLayer(l + 1).isEmpty() && layout.leavesOfLayer(l).size() == 2) {
                out.add(l);
            }
        }
        if (out.isEmpty()) {
            throw new IllegalArgumentException("the network has no hidden dense layer (with a bias) followed by a dense or output layer: "
                    + "there are no units to remove");
        }
        return out;
    }

    /** Number of units of layer {@code l}. */
    public static int units(ParameterLayout layout, int layer) {
        return (int) layout.leaf(layer + "_W").shape()[1];
    }

    /**
     * The flat indices of unit {@code unit}'s block {@code Q}: {@code W_l[j, unit]} for every input {@code j}, then
     * {@code b_l[unit]}, then {@code W_{l+1}[unit, k]} for every unit {@code k} of the next layer. The order is the
     * same for every unit, so a permutation of the layer's units maps one block onto another entry by entry.
     */
    public static long[] unitBlock(ParameterLayout layout, int layer, int unit) {
        ParameterLeaf w = layout.leaf(layer + "_W");
        ParameterLeaf b = layout.leaf(layer + "_b");
        ParameterLeaf next = layout.leaf((layer + 1) + "_W");
        long nIn = w.shape()[0];
        long nOut = w.shape()[1];
        long nNext = next.shape()[1];
        if (unit < 0 || unit >= nOut) {
            throw new IndexOutOfBoundsException("layer " + layer + " has " + nOut + " units; no unit " + unit);
        }
        long[] out = new long[(int) (nIn + 1 + nNext)];
        int i = 0;
        for (long j = 0; j < nIn; j++) {
            out[i++] = index(w, j, unit);
        }
        out[i++] = b.offset() + unit;
        for (long k = 0; k < nNext; k++) {
            out[i++] = index(next, unit, k);
        }
        return out;
    }

    /** The flat index of entry {@code [row, column]} of a matrix leaf. */
    static long index(ParameterLeaf leaf, long row, long column) {
        long rows = leaf.shape()[0];
        long columns = leaf.shape()[1];
        return leaf.offset() + (leaf.order() == 'f' ? row + column * rows : row * columns + column);
    }

    /**
     * {@code θ} with the blocks of the given units set to zero: the "masked big network" that computes what the
     * smaller network of {@link #keepUnits} computes.
     *
     * @param theta   {@code [P]}; not modified
     * @param removed layer index → units to zero
     */
    public static INDArray maskUnits(ParameterLayout layout, INDArray theta, Map<Integer, int[]> removed) {
        INDArray out = theta.reshape(theta.length()).dup();
        for (Map.Entry<Integer, int[]> e : removed.entrySet()) {
            for (int unit : e.getValue()) {
                for (long q : unitBlock(layout, e.getKey(), unit)) {
                    out.putScalar(q, 0.0);
                }
            }
        }
        return out;
    }

    /**
     * A new, smaller network: the same configuration with hidden layer {@code l} reduced to the units
     * {@code kept.get(l)} (in that order), and parameters copied from {@code theta}: {@code W_l[kept_{l−1}, kept_l]},
     * {@code b_l[kept_l]}. Layers not named keep all their units. The network's data type is the original's.
     *
     * @param net   the network whose configuration is shrunk; not modified
     * @param theta its parameters {@code [P]} (e.g. after a compensating update); not modified
     * @param kept  hidden layer index → the units to keep, each index once, at least one
     * @throws IllegalArgumentException for a layer that is not hidden, an empty or repeated unit list
     */
    public static MultiLayerNetwork keepUnits(MultiLayerNetwork net, INDArray theta, Map<Integer, int[]> kept) {
        ParameterLayout layout = ParameterLayout.of(net);
        List<Integer> hidden = hiddenLayers(net);
        SortedMap<Integer, int[]> keep = new TreeMap<>();
        for (Map.Entry<Integer, int[]> e : kept.entrySet()) {
            int l = e.getKey();
            if (!hidden.contains(l)) {
                throw new IllegalArgumentException("layer " + l + " is not a hidden dense layer; hidden layers: " + hidden);
            }
            int[] units = e.getValue();
            int n = units(layout, l);
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
        for (int l = 0; l < net.getnLayers(); l++) {
            if (keep.containsKey(l)) {
                ((FeedForwardLayer) conf.getConf(l).getLayer()).setNOut(keep.get(l).length);
            }
            if (keep.containsKey(l - 1)) {
                ((FeedForwardLayer) conf.getConf(l).getLayer()).setNIn(keep.get(l - 1).length);
            }
        }
        MultiLayerNetwork smaller = new MultiLayerNetwork(conf);
        smaller.init();
        Map<String, INDArray> values = new LinkedHashMap<>();
        INDArray flat = layout.asFlat(theta, "theta");
        for (ParameterLeaf leaf : layout.leaves()) {
            INDArray value = layout.leafValue(flat, leaf.name());
            int l = leaf.layerIndex();
            if (leaf.key().equals("W")) {
                if (keep.containsKey(l - 1)) {
                    value = value.getRows(keep.get(l - 1));
                }
                if (keep.containsKey(l)) {
                    value = value.getColumns(keep.get(l));
                }
            } else if (keep.containsKey(l)) {
                value = value.reshape(value.length()).get(org.nd4j.linalg.indexing.NDArrayIndex.indices(toLong(keep.get(l))));
            }
            values.put(leaf.name(), value.dup());
        }
        ParameterLayout smallerLayout = ParameterLayout.of(smaller);
        smallerLayout.write(smallerLayout.flatten(values), smaller);
        return smaller;
    }

    private static long[] toLong(int[] v) {
        return Arrays.stream(v).asLongStream().toArray();
    }
}
