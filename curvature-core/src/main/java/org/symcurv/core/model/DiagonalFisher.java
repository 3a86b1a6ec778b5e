package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.estimate.FactoredGradients;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The diagonal Monte Carlo Fisher {@code diag F = (1/N) Σ_i g_i ⊙ g_i} of a dense network, straight from the gradient
 * factors: for a weight {@code ∂ℓ_i/∂W = a_i ⊗ δ_i}, so {@code Σ_i g_i² = (A ⊙ A)ᵀ (Δ ⊙ Δ)}, one product per batch. It is
 * the same operator as {@link FisherEstimation} gives for the {@code SIGN}-on-every-axis spec of {@code Presets.diagonal}
 * (whose orbit average keeps exactly the diagonal), with the same label draws (one {@code Random(seed)} consumed batch by
 * batch in order), but without the estimator's loop over one family member per parameter, which takes minutes for a
 * 784 × 256 weight.
 */
public final class DiagonalFisher {
    private DiagonalFisher() {
    }

    /**
     * @param spec      a spec with only {@code SIGN} groups, one per axis (e.g. {@code Presets.diagonal} of the posterior's leaves)
     * @param features  {@code [N, nIn]}; not modified
     * @param seed      seeds the Monte Carlo labels, as {@link FisherEstimation#monteCarlo}
     * @param batchSize examples per pass (the labels depend on it only through the order of draws, which it does not change)
     * @return the Fisher as a structured operator on {@code spec}, float64
     * @throws IllegalArgumentException if {@code spec} has a group other than {@code SIGN} or a leaf with a free axis
     */
    public static Curvature estimate(MultiLayerNetwork net, SymmetrySpec spec, INDArray features, long seed, int batchSize) {
        for (Group g : spec.groups()) {
            if (g.type() != GroupType.SIGN) {
                throw new IllegalArgumentException("the diagonal Fisher needs SIGN groups on every axis (Presets.diagonal); group " + g + " is not");
            }
        }
        for (LeafSpec leaf : spec.leaves()) {
            for (int a = 0; a < leaf.rank(); a++) {
                if (leaf.label(a).isFree()) {
                    throw new IllegalArgumentException("the diagonal Fisher needs a SIGN group on every axis; leaf '" + leaf.name() + "' axis " + a + " is free");
                }
            }
        }
        PerExampleFactors factors = PerExampleFactors.of(net);
        long n = features.size(0);
        if (n < 1) {
            throw new IllegalArgumentException("no examples: the Fisher is an average over at least one example");
        }
        List<INDArray> sums = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            sums.add(Nd4j.zeros(DataType.DOUBLE, leaf.shape()));
        }
        Random random = new Random(seed);
        for (long start = 0; start < n; start += batchSize) {
            long end = Math.min(n, start + batchSize);
            FactoredGradients batch = factors.withSampledLabels(features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), 1, random, spec);
            for (int l = 0; l < spec.leaves().size(); l++) {
                List<INDArray> f = batch.leafFactors(l);
                INDArray last = f.get(f.size() - 1).castTo(DataType.DOUBLE);
                INDArray deltaSquared = last.mul(last);
                if (f.size() == 2) {
                    INDArray a = f.get(0).castTo(DataType.DOUBLE);
                    sums.get(l).addi(a.mul(a).transpose().mmul(deltaSquared));
                } else {
                    sums.get(l).addi(deltaSquared.sum(0));
                }
            }
        }
        INDArray diagonal = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        for (int l = 0; l < spec.leaves().size(); l++) {
            LeafSpec leaf = spec.leaves().get(l);
            KindDecomposition.addToLeaf(diagonal, leaf, sums.get(l).divi(n));
        }
        // each kind is one SIGN character per parameter with one copy: its [F, 1, 1] block holds those parameters' entries
        KindDecomposition kinds = KindDecomposition.of(spec);
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            INDArray z = kinds.copyMatrix(k, diagonal);
            if (z.size(1) != 1 || z.size(2) != 1) {
                throw new IllegalArgumentException("kind " + kinds.describe(k) + " is not one parameter per family member; use Presets.diagonal");
            }
            blocks.add(z.reshape(z.size(0), 1, 1).dup('c'));
        }
        return Curvature.of(kinds, blocks);
    }
}
