package org.symcurv.pruning;

/**
 * How OBS moves the remaining weights after removing a set {@code Q} in one round.
 */
public enum Compensation {
    /**
     * The single-weight updates summed, {@code δθ = −F̃⁻¹ Σ_{q∈Q} (w_q / [F̃⁻¹]_qq) e_q}: one application of {@code F̃⁻¹}
     * (symmetry-curvature.md section 9). It ignores how the removed weights interact, which is harmless for a few and
     * harmful when a round removes many correlated ones.
     */
    SUMMED,
    /**
     * The joint update {@code argmin ½ δᵀF̃δ} with every removed weight held at zero ({@link ConstrainedObs}),
     * by preconditioned conjugate gradients.
     */
    CONSTRAINED,
    /** No update: OBS saliencies only rank the weights. */
    NONE
}
