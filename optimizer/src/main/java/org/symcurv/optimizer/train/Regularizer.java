package org.symcurv.optimizer.train;

import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An extra term {@code R(θ)} of the training objective, {@code L̃(θ) = L_B(θ) + R(θ)}: the loop adds {@code R(θ_t)} to the
 * reported minibatch loss and {@code ∇R(θ_t)} to the mean minibatch gradient before the optimizer sees it. EWC's
 * quadratic penalty is one (continual-learning module). The term must not depend on the minibatch.
 */
@FunctionalInterface
public interface Regularizer {

    /**
     * {@code R(θ)} and {@code ∇R(θ)} together (most terms share the work, e.g. {@code ½ dᵀFd} and {@code Fd}).
     *
     * @param value    {@code R(θ)}
     * @param gradient {@code ∇R(θ)}, {@code [P]}, a new array the caller may keep
     */
    record ValueAndGradient(double value, INDArray gradient) {
        public ValueAndGradient {
            Objects.requireNonNull(gradient, "gradient");
        }
    }

    /**
     * @param theta the flat parameters {@code [P]} in {@code params()} order; not modified
     */
    ValueAndGradient valueAndGradient(INDArray theta);

    /** {@code R(θ)}. */
    default double value(INDArray theta) {
        return valueAndGradient(theta).value();
    }

    /** {@code ∇R(θ)}, {@code [P]}. */
    default INDArray gradient(INDArray theta) {
        return valueAndGradient(theta).gradient();
    }
}
