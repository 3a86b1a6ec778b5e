package org.symcurv.core.symmetry;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One parameter tensor ("leaf") as the curvature sees it: its name, its shape, the label of each axis,
 * where it sits in the flat parameter vector and in which order it is flattened there.
 *
 * <p>For a DL4J dense layer the weight leaf has shape {@code [nIn, nOut]}, flattened in {@code 'f'}
 * (column-major) order, with axis 0 labelled by the previous layer's group and axis 1 by this layer's;
 * the bias has shape {@code [nOut]}.
 *
 * @param name   unique name, e.g. {@code "0_W"}
 * @param shape  the leaf's shape, every extent ≥ 1 (a 0-D leaf has an empty shape and one element)
 * @param labels one label per axis
 * @param offset index of the leaf's first element in the flat parameter vector
 * @param order  {@code 'c'} (row-major) or {@code 'f'} (column-major) flattening
 */
public record LeafSpec(String name, long[] shape, List<AxisLabel> labels, long offset, char order) {
    public LeafSpec {
        Objects.requireNonNull(name, "name");
        shape = shape.clone();
        labels = List.copyOf(labels);
        if (labels.size() != shape.length) {
            throw new IllegalArgumentException("leaf '" + name + "' has " + shape.length + " axes "
                    + Arrays.toString(shape) + " but " + labels.size() + " axis labels " + labels);
        }
        for (long s : shape) {
            if (s < 1) {
                throw new IllegalArgumentException("leaf '" + name + "' has an empty axis: shape " + Arrays.toString(shape));
            }
        }
        if (offset < 0) {
            throw new IllegalArgumentException("leaf '" + name + "' has negative offset " + offset);
        }
        if (order != 'c' && order != 'f') {
            throw new IllegalArgumentException("leaf '" + name + "' order must be 'c' or 'f', got '" + order + "'");
        }
    }

    /** A leaf flattened in row-major order. */
    public static LeafSpec of(String name, long offset, long[] shape, AxisLabel... labels) {
        return new LeafSpec(name, shape, List.of(labels), offset, 'c');
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public int rank() {
        return shape.length;
    }

    public long size(int axis) {
        return shape[axis];
    }

    /** Number of elements. */
    public long length() {
        long n = 1;
        for (long s : shape) {
            n *= s;
        }
        return n;
    }

    public AxisLabel label(int axis) {
        return labels.get(axis);
    }

    /** Product of the extents of the free axes: the number of copies this leaf contributes to each kind. */
    public long copies() {
        long n = 1;
        for (int a = 0; a < shape.length; a++) {
            if (labels.get(a).isFree()) {
                n *= shape[a];
            }
        }
        return n;
    }

    /** The same leaf with other labels. */
    public LeafSpec withLabels(List<AxisLabel> newLabels) {
        return new LeafSpec(name, shape, newLabels, offset, order);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof LeafSpec l && name.equals(l.name) && Arrays.equals(shape, l.shape)
                && labels.equals(l.labels) && offset == l.offset && order == l.order;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), labels, offset, order);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(name).append(" [");
        for (int a = 0; a < shape.length; a++) {
            if (a > 0) {
                sb.append(", ");
            }
            sb.append(shape[a]).append(' ').append(labels.get(a));
        }
        return sb.append(']').toString();
    }
}
