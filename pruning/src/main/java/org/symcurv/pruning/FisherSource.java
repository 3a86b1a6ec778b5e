package org.symcurv.pruning;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Where the pruners get the Fisher {@code F = E_x E_{y~p(y|x)}[g gᵀ]} of the network they are pruning, re-estimated
 * at the current (already partly pruned) weights before every round (symmetry-curvature.md section 5.2).
 * Implementations fix the data, the labels (sampled from the model, or the true ones) and the seed; calling twice
 * on the same network gives the same result.
 */
public interface FisherSource {
    /**
     * Progress of one estimate, called on the calling thread.
     */
    @FunctionalInterface
    interface Progress {
        /**
         * @param done  examples processed so far
         * @param total examples to process
         */
        void update(long done, long total);

        /** Ignores progress. */
        Progress NONE = (done, total) -> { };
    }

    /**
     * The symmetry-averaged Fisher {@code (1/N) Σ_i R2(g_i, g_i)} of {@code net} in the structure of {@code spec}.
     *
     * @param net  a dense network; not modified
     * @param spec the network's leaves labelled with groups (e.g. {@code SpecInference.infer(net)})
     * @return a float64 {@link Curvature} on {@code spec}
     */
    Curvature symmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress);

    /**
     * The diagonal Fisher {@code diag(F)_q = (1/N) Σ_i g_{i,q}²}, as a {@link Curvature} whose every parameter is its
     * own kind ({@link DiagonalCurvature}).
     *
     * @param net a dense network; not modified
     * @return a float64 diagonal {@link Curvature}
     */
    Curvature diagonal(MultiLayerNetwork net, Progress progress);

    /**
     * The symmetry-averaged Fisher of the unit-rescaled parameters, {@code F ≈ S F' S} ({@link ScaledCurvature}).
     *
     * @throws UnsupportedOperationException if this source cannot rescale (the default)
     */
    default ScaledCurvature unitScaledSymmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        throw new UnsupportedOperationException(describe() + " does not offer the unit-scaled symmetry Fisher; use FactoredFisher");
    }

    /** A short description for reports, e.g. "Monte Carlo Fisher, 2,000 examples, seed 7". */
    String describe();
}
