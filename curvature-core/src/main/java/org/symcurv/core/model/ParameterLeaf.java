package org.symcurv.core.model;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.LeafSpec;

/**
 * One DL4J parameter tensor as a block of the flat parameter vector {@code θ ∈ R^P}: elements
 * {@code θ[offset, offset + length)} hold the tensor of shape {@code shape}, flattened in {@code order}.
 *
 * <p>For a dense or output layer {@code l} with {@code z = a W + b}: {@code "l_W"} has shape
 * {@code [nIn, nOut]} flattened column-major ({@code 'f'}), so element {@code W[i, j]} sits at
 * {@code offset + i + j·nIn}; {@code "l_b"} has shape {@code [nOut]}.
 *
 * @param name        unique name {@code "<layerIndex>_<key>"}, as in DL4J's {@code paramTable()}, e.g. {@code "0_W"}
 * @param layerIndex  index of the layer in the {@code MultiLayerNetwork}
 * @param key         DL4J's parameter key within the layer, e.g. {@code "W"} or {@code "b"}
 * @param shape       the tensor's shape (in DL4J's orientation), every extent ≥ 1
 * @param order       {@code 'f'} (column-major) or {@code 'c'} (row-major) flattening within the flat vector
 * @param offset      index of the first element in the flat vector
 * @param orientation a human-readable description of the axes, e.g. {@code "[nIn, nOut]: inputs × units of layer 0"}
 */
public record ParameterLeaf(String name, int layerIndex, String key, long[] shape, char order, long offset, String orientation) {
    public ParameterLeaf {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(orientation, "orientation");
        shape = shape.clone();
        for (long s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException("leaf '" + name + "' has an empty axis: shape " + Arrays.toString(shape));
            }
        }
        if (order != 'c' && order != 'f') {
            throw new IllegalArgumentException("leaf '" + name + "' order must be 'c' or 'f', got '" + order + "'");
        }
        if (offset < 0 || layerIndex < 0) {
            throw new IllegalArgumentException("leaf '" + name + "' has negative offset " + offset + " or layer index " + layerIndex);
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements, the product of the extents. */
    public long length() {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    /** Number of axes. */
    public int rank() {
        return shape.length;
    }

    /** The same block as the symmetry vocabulary's {@link LeafSpec}, with one label per axis. */
    public LeafSpec toLeafSpec(List<AxisLabel> labels) {
        return new LeafSpec(name, shape, labels, offset, order);
    }

    /** The leaf with every axis {@link AxisLabel#FREE}. */
    public LeafSpec toFreeLeafSpec() {
        return toLeafSpec(java.util.Collections.nCopies(shape.length, AxisLabel.FREE));
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ParameterLeaf l && name.equals(l.name) && layerIndex == l.layerIndex && key.equals(l.key)
                && Arrays.equals(shape, l.shape) && order == l.order && offset == l.offset && orientation.equals(l.orientation);
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, layerIndex, key, Arrays.hashCode(shape), order, offset, orientation);
    }

    @Override
    public String toString() {
        return name + " " + Arrays.toString(shape) + " order '" + order + "' at " + offset + " (" + orientation + ")";
    }
}
