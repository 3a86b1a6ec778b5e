package org.symcurv.optimizer;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The result {@code (u_t, s_t)} of {@link Preconditioner#update}.
 *
 * @param step  {@code u_t}, {@code [P]}: a direction for a direction transform, the parameter step {@code Δθ_t}
 *              for an {@link Optimizer}
 * @param state {@code s_t}
 * @param <S>   the state type
 */
public record Update<S>(INDArray step, S state) {
    public Update {
        Objects.requireNonNull(step, "step");
        Objects.requireNonNull(state, "state");
    }
}
