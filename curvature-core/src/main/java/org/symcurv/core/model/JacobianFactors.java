package org.symcurv.core.model;

import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The factored output Jacobian of a batch ({@link OutputJacobian}): {@code ∂z_{L,c}(x_e)/∂W_l = a_{l−1,e} ⊗ δ_{l,e,c}}
 * and {@code ∂z_{L,c}(x_e)/∂b_l = δ_{l,e,c}}, for layers {@code lowestLayer … L−1}. All float64.
 *
 * @param outputs     {@code z_L}, {@code [n, C]}
 * @param lowestLayer the first layer with factors
 * @param inputs      per layer from {@code lowestLayer}: {@code A_l = a_{l−1}}, {@code [n, nIn_l]} (shared by all outputs)
 * @param errors      per layer from {@code lowestLayer}: {@code Δ_l}, {@code [n, C, nOut_l]}
 */
public record JacobianFactors(INDArray outputs, int lowestLayer, List<INDArray> inputs, List<INDArray> errors) {
    public JacobianFactors {
        inputs = List.copyOf(inputs);
        errors = List.copyOf(errors);
    }

    /** {@code n}. */
    public long examples() {
        return outputs.size(0);
    }

    /** {@code C}. */
    public int outputCount() {
        return Math.toIntExact(outputs.size(1));
    }

    /** {@code A_l}, {@code [n, nIn_l]}. */
    public INDArray input(int layer) {
        return inputs.get(index(layer));
    }

    /** {@code Δ_l}, {@code [n, C, nOut_l]}. */
    public INDArray error(int layer) {
        return errors.get(index(layer));
    }

    private int index(int layer) {
        int i = layer - lowestLayer;
        if (i < 0 || i >= inputs.size()) {
            throw new IllegalArgumentException("no Jacobian factors for layer " + layer + "; they cover layers " + lowestLayer + " … "
                    + (lowestLayer + inputs.size() - 1) + ": compute them from a lower layer");
        }
        return i;
    }

    /** The layer and role of a network leaf {@code "l_W"} or {@code "l_b"}. */
    public record Leaf(int layer, boolean weight) {
        public static Leaf parse(LeafSpec leaf) {
            String name = leaf.name();
            int u = name.lastIndexOf('_');
            try {
                if (u > 0) {
                    int layer = Integer.parseInt(name.substring(0, u));
                    String key = name.substring(u + 1);
                    if (key.equals("W") && leaf.rank() == 2 || key.equals("b") && leaf.rank() == 1) {
                        return new Leaf(layer, key.equals("W"));
                    }
                }
            } catch (NumberFormatException e) {
                // fall through to the message below
            }
            throw new IllegalArgumentException("leaf '" + name + "' is not a dense layer's weight 'l_W' [nIn, nOut] or bias 'l_b' [nOut]");
        }
    }

    /**
     * The Jacobian-vector products {@code J(x_e) v_s} for parameter vectors {@code v_s} on the leaves of {@code spec}
     * (linearised network outputs {@code z_L + J v}): {@code Σ_l (a_{l−1,e} V_{W_l} + v_{b_l}) · δ_{l,e,c}}.
     *
     * @param vectors {@code [S, P]} in {@code spec}'s layout; not modified
     * @return {@code [S, n, C]}
     */
    public INDArray times(INDArray vectors, SymmetrySpec spec) {
        long s = vectors.size(0);
        long n = examples();
        int c = outputCount();
        INDArray v = vectors.castTo(DataType.DOUBLE);
        INDArray acc = Nd4j.zeros(DataType.DOUBLE, n, s, c);
        for (LeafSpec leaf : spec.leaves()) {
            Leaf parsed = Leaf.parse(leaf);
            INDArray segment = v.get(NDArrayIndex.all(), NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())).dup('c');
            INDArray delta = error(parsed.layer()); // [n, C, nOut]
            long out = delta.size(2);
            INDArray u; // [n, S, nOut]: a V_W per sample, or v_b
            if (parsed.weight()) {
                long in = leaf.size(0);
                // each row's leaf as [nIn, nOut] in the leaf's flattening order, arranged [nIn, S, nOut]
                INDArray bySample = leaf.order() == 'f'
                        ? segment.reshape('c', new long[] {s, out, in}).permute(2, 0, 1).dup('c')
                        : segment.reshape('c', new long[] {s, in, out}).permute(1, 0, 2).dup('c');
                u = input(parsed.layer()).mmul(bySample.reshape('c', new long[] {in, s * out})).reshape('c', new long[] {n, s, out});
            } else {
                u = Nd4j.zeros(DataType.DOUBLE, n, s, out).addi(segment.reshape('c', new long[] {1, s, out}));
            }
            // Σ_k u[e, s, k] δ[e, c, k]
            acc.addi(Nd4j.matmul(u, delta.permute(0, 2, 1).dup('c')));
        }
        return acc.permute(1, 0, 2).dup('c');
    }

}
