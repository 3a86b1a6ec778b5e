package org.symcurv.core.operator;

import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A Fisher written as {@code F ≈ S F' S} with {@code S = diag(s)}: {@code F'} is the symmetry-averaged Fisher of the
 * rescaled parameters {@code θ' = s ∘ θ}, whose per-example gradients are {@code g_i / s}. OBS is invariant under such a
 * reparameterisation, so the pruners work on {@code θ'} with {@code F'} and map an update back as {@code δθ = δθ' / s}:
 * the saliency {@code θ'_q² / (2 [F̃'⁻¹]_qq)} is the loss increase of removing {@code q} either way.
 *
 * <p>Why: averaging over permutations of a layer's units gives every unit the same curvature, so the plain symmetry
 * Fisher cannot tell a busy unit from a dead one. Dividing each unit's gradient factor by its root mean square before
 * averaging, and multiplying back after, keeps the per-unit scale exactly while the group average still supplies the
 * correlations (our design choice for pruning, not the paper's).
 *
 * @param scaled {@code F'}, on the same parameters
 * @param scale  {@code s}, {@code [P]} float64, all entries {@code > 0}
 */
public record ScaledCurvature(Curvature scaled, INDArray scale) {
    /**
     * @throws IllegalArgumentException if the scale has the wrong length or an entry that is not positive and finite
     */
    public ScaledCurvature {
        Objects.requireNonNull(scaled, "scaled");
        long p = scaled.spec().parameterCount();
        if (scale.length() != p) {
            throw new IllegalArgumentException("the scale of " + p + " parameters needs " + p + " entries, got " + scale.length());
        }
        scale = scale.reshape(p).castTo(DataType.DOUBLE).dup();
        double min = p == 0 ? 1.0 : scale.minNumber().doubleValue();
        if (!(min > 0.0) || !org.symcurv.core.Finite.all(scale)) {
            throw new IllegalArgumentException("scale entries must be positive and finite, smallest is " + min);
        }
    }

    /** {@code F} itself, unscaled ({@code s = 1}). */
    public static ScaledCurvature unscaled(Curvature fisher) {
        return new ScaledCurvature(fisher, Nd4j.ones(DataType.DOUBLE, fisher.spec().parameterCount()));
    }

    /** {@code θ' = s ∘ θ}, a new vector. */
    public INDArray toScaled(INDArray theta) {
        return theta.reshape(theta.length()).castTo(DataType.DOUBLE).mul(scale);
    }

    /** {@code δθ = δθ' / s}, a new vector. */
    public INDArray fromScaled(INDArray scaledDelta) {
        return scaledDelta.reshape(scaledDelta.length()).castTo(DataType.DOUBLE).div(scale);
    }

    /** {@code diag(F) ≈ s² ∘ diag(F')}. */
    public INDArray diagonal() {
        return scaled.diagonal().castTo(DataType.DOUBLE).mul(scale).muli(scale);
    }
}
