package org.symcurv.uncertainty;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The leaves of a posterior (all of a network's, or some, laid out contiguously in their own order) inside the network's
 * flat parameter vector {@code params()}: a copy between the two layouts, leaf by leaf.
 */
public final class LeafSubset {
    private final SymmetrySpec spec;
    private final long[] networkOffsets;

    private LeafSubset(SymmetrySpec spec, long[] networkOffsets) {
        this.spec = spec;
        this.networkOffsets = networkOffsets;
    }

    /**
     * @throws IllegalArgumentException naming the leaf if one is not a parameter of the network with the same shape and
     *                                  flattening order
     */
    public static LeafSubset of(SymmetrySpec spec, ParameterLayout network) {
        long[] offsets = new long[spec.leaves().size()];
        for (int i = 0; i < offsets.length; i++) {
            LeafSpec leaf = spec.leaves().get(i);
            ParameterLeaf p;
            try {
                p = network.leaf(leaf.name());
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("the posterior's leaf '" + leaf.name() + "' is not a parameter of this model; its parameters: "
                        + network.leaves().stream().map(ParameterLeaf::name).toList() + ": use the model the posterior was fitted to", e);
            }
            if (!Arrays.equals(p.shape(), leaf.shape()) || p.order() != leaf.order()) {
                throw new IllegalArgumentException("the posterior's leaf '" + leaf.name() + "' has shape " + Arrays.toString(leaf.shape())
                        + " (order '" + leaf.order() + "') but the model's has " + Arrays.toString(p.shape()) + " (order '" + p.order()
                        + "'): use the model the posterior was fitted to");
            }
            offsets[i] = p.offset();
        }
        return new LeafSubset(spec, offsets);
    }

    public SymmetrySpec spec() {
        return spec;
    }

    /** The posterior's leaves of a network vector {@code [P_net]}: a new {@code [P]} array. */
    public INDArray extract(INDArray networkVector) {
        INDArray flat = networkVector.reshape(networkVector.length());
        INDArray out = org.nd4j.linalg.factory.Nd4j.create(flat.dataType(), spec.parameterCount());
        for (int i = 0; i < networkOffsets.length; i++) {
            LeafSpec leaf = spec.leaves().get(i);
            out.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                    .assign(flat.get(NDArrayIndex.interval(networkOffsets[i], networkOffsets[i] + leaf.length())));
        }
        return out;
    }

    /** Writes {@code values} ({@code [P]}, posterior layout) into {@code networkVector} ({@code [P_net]}, modified). */
    public void insert(INDArray values, INDArray networkVector) {
        INDArray flat = networkVector.reshape(networkVector.length());
        INDArray v = values.reshape(values.length()).castTo(flat.dataType());
        for (int i = 0; i < networkOffsets.length; i++) {
            LeafSpec leaf = spec.leaves().get(i);
            flat.get(NDArrayIndex.interval(networkOffsets[i], networkOffsets[i] + leaf.length()))
                    .assign(v.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())));
        }
    }
}
