package org.symcurv.core.estimate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A minibatch of per-example gradients in factored form: each leaf's gradient is a product of factors over runs of
 * consecutive axes, {@code g_i|leaf = u_{1,i} ⊗ u_{2,i} ⊗ …} with {@code u_{p,i}} a tensor over the leaf's axes
 * {@code a_p … a_{p+1} − 1} (symmetry-curvature.md section 5.2):
 * <ul>
 *   <li>one factor per axis when the gradient factors completely, e.g. a dense layer's {@code ∂ℓ_i/∂W = a_i ⊗ δ_i}
 *       (input activation times backpropagated error) and {@code ∂ℓ_i/∂b = δ_i}: no per-example gradient is ever
 *       materialised;</li>
 *   <li>a factor over several axes when it does not: a dense weight reading a flattened image as {@code [H·W, C, nOut]}
 *       is {@code A_i ⊗ δ_i} with {@code A_i[s, c] = a_i[c·H·W + s]} over its first two axes, and a convolution's kernel
 *       {@code Σ_p δ_{i,p} ⊗ x_{i,p}} is one factor over all four axes (its materialised gradient).</li>
 * </ul>
 * Factor {@code p} is an {@code [N, size(a_p), size(a_p + 1), …]} array indexed by the leaf's axes (not by its flat
 * order); the factors of a leaf cover its axes in order.
 *
 * @param spec    the parameter layout the leaves follow
 * @param factors per leaf (in {@code spec.leaves()} order), its factors in axis order
 * @param count   {@code N}, the number of examples
 */
public record FactoredGradients(SymmetrySpec spec, List<List<INDArray>> factors, long count) {
    /**
     * @throws IllegalArgumentException naming the leaf and axis when a factor's shape does not fit
     */
    public FactoredGradients {
        List<List<INDArray>> copy = new ArrayList<>();
        if (factors.size() != spec.leaves().size()) {
            throw new IllegalArgumentException("expected factors for " + spec.leaves().size() + " leaves, got " + factors.size());
        }
        for (int l = 0; l < factors.size(); l++) {
            LeafSpec leaf = spec.leaves().get(l);
            List<INDArray> parts = factors.get(l);
            int axis = 0;
            for (INDArray f : parts) {
                if (f.rank() < 2 || f.size(0) != count || axis + f.rank() - 1 > leaf.rank()) {
                    throw new IllegalArgumentException("gradient factor of leaf '" + leaf.name() + "' from axis " + axis + " must have shape [" + count
                            + ", sizes of axes " + axis + "…] of leaf shape " + Arrays.toString(leaf.shape()) + ", got " + Arrays.toString(f.shape()));
                }
                for (int a = 1; a < f.rank(); a++, axis++) {
                    if (f.size(a) != leaf.size(axis)) {
                        long[] expected = {count, leaf.size(axis)};
                        throw new IllegalArgumentException("gradient factor of leaf '" + leaf.name() + "' axis " + axis
                                + " must have shape " + Arrays.toString(expected) + " (size " + leaf.size(axis) + " on that axis), got "
                                + Arrays.toString(f.shape()));
                    }
                }
            }
            if (axis != leaf.rank()) {
                throw new IllegalArgumentException("leaf '" + leaf.name() + "' has " + leaf.rank() + " axes but its "
                        + parts.size() + " gradient factors cover " + axis);
            }
            copy.add(List.copyOf(parts));
        }
        factors = List.copyOf(copy);
    }

    /** The factors of one leaf in axis order: one {@code [N, size(axis)]} array per axis when {@link #factorsPerAxis}. */
    public List<INDArray> leafFactors(int leafIndex) {
        return factors.get(leafIndex);
    }

    /** Whether leaf {@code leafIndex} has one factor per axis (its gradient is one outer product of vectors). */
    public boolean factorsPerAxis(int leafIndex) {
        return factors.get(leafIndex).size() == spec.leaves().get(leafIndex).rank();
    }

    /** Whether every leaf has one factor per axis. */
    public boolean factorsPerAxis() {
        for (int l = 0; l < factors.size(); l++) {
            if (!factorsPerAxis(l)) {
                return false;
            }
        }
        return true;
    }

    /** The first leaf axis that factor {@code part} of leaf {@code leafIndex} covers. */
    public int firstAxis(int leafIndex, int part) {
        int axis = 0;
        for (int p = 0; p < part; p++) {
            axis += factors.get(leafIndex).get(p).rank() - 1;
        }
        return axis;
    }
}
