package org.symcurv.optimizer;

import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Gradient clipping by the global norm, {@code u = g · min(1, c/‖g‖₂)} over the whole vector {@code g [P]}; stateless.
 * The input itself is returned when it is not longer than {@code c}.
 */
public final class ClipByGlobalNorm implements Preconditioner<NoState> {
    /** @param maxNorm {@code c > 0} */
    public record Settings(double maxNorm) implements TransformSettings {
        public Settings {
            Vectors.requirePositive(maxNorm, "gradient clipping norm");
        }

        @Override
        public ClipByGlobalNorm build(Target target) {
            return new ClipByGlobalNorm(maxNorm);
        }
    }

    private final double maxNorm;

    public ClipByGlobalNorm(double maxNorm) {
        Vectors.requirePositive(maxNorm, "gradient clipping norm");
        this.maxNorm = maxNorm;
    }

    @Override
    public NoState init(INDArray params) {
        return NoState.INSTANCE;
    }

    @Override
    public Update<NoState> update(INDArray gradient, NoState state, INDArray params) {
        double norm = gradient.norm2Number().doubleValue();
        return new Update<>(norm > maxNorm ? gradient.mul(maxNorm / norm) : gradient, NoState.INSTANCE);
    }

    @Override
    public boolean stateless() {
        return true;
    }

    @Override
    public StateTree encode(NoState state) {
        return StateTree.empty();
    }

    @Override
    public NoState decode(StateTree tree) {
        return NoState.INSTANCE;
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "gradients clipped to norm %s", maxNorm);
    }
}
