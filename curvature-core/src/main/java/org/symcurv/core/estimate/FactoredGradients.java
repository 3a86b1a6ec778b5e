package org.symcurv.core.estimate;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A minibatch of per-example gradients that factor over each leaf's axes, {@code g_i|leaf = ⊗_axis u_{axis,i}}:
 * for a dense layer {@code ∂ℓ_i/∂W = a_i ⊗ δ_i} (input activation times backpropagated error) and
 * {@code ∂ℓ_i/∂b = δ_i}. No per-example gradient is ever materialised (symmetry-curvature.md section 5.2).
 *
 * @param spec    the parameter layout the leaves follow
 * @param factors per leaf (in {@code spec.leaves()} order), per axis, an {@code [N, size(axis)]} array
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
            List<INDArray> perAxis = factors.get(l);
            if (perAxis.size() != leaf.rank()) {
                throw new IllegalArgumentException("leaf '" + leaf.name() + "' has " + leaf.rank() + " axes but "
                        + perAxis.size() + " gradient factors");
            }
            for (int a = 0; a < perAxis.size(); a++) {
                long[] expected = {count, leaf.size(a)};
                if (!Arrays.equals(perAxis.get(a).shape(), expected)) {
                    throw new IllegalArgumentException("gradient factor of leaf '" + leaf.name() + "' axis " + a
                            + " must have shape " + Arrays.toString(expected) + ", got " + Arrays.toString(perAxis.get(a).shape()));
                }
            }
            copy.add(List.copyOf(perAxis));
        }
        factors = List.copyOf(copy);
    }

    /** The factors of one leaf, one {@code [N, size(axis)]} array per axis. */
    public List<INDArray> leafFactors(int leafIndex) {
        return factors.get(leafIndex);
    }
}
