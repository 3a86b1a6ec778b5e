package org.symcurv.optimizer;

import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An Optax-style gradient transformation with explicit state: {@code (u_t, s_t) = update(g_t, s_{t-1}, θ_t)},
 * starting from {@code s_0 = init(θ_0)}. A direction transform (Adam's {@code m̂/(√v̂+ε)}, the symmetry estimate
 * {@code H⁻¹ḡ}, …) returns its direction as {@code u_t}; a complete {@link Optimizer} returns the parameter step
 * {@code Δθ_t} to add, {@code θ_{t+1} = θ_t + Δθ_t}.
 *
 * <p>The state type {@code S} is immutable: {@code update} never modifies {@code state}, {@code gradient} or
 * {@code params}, so a caller may keep an old state (to skip a bad step, or to checkpoint) at no cost. This is
 * deliberately not DL4J's {@code IUpdater}: that holds one flat array per fused parameter block and cannot
 * carry structured curvature (architecture.md, "Preconditioner").
 *
 * <p>Vectors are flat parameter vectors {@code [P]} in the network's {@code params()} order.
 *
 * @param <S> the state type
 */
public interface Preconditioner<S> {

    /**
     * The initial state {@code s_0}.
     *
     * @param params {@code θ_0}, {@code [P]}; not modified
     */
    S init(INDArray params);

    /**
     * One step of the transformation.
     *
     * @param gradient {@code g_t}, {@code [P]}, finite; not modified
     * @param state    {@code s_{t-1}}; not modified
     * @param params   {@code θ_t}, {@code [P]}; not modified
     * @return the update {@code u_t} (a new {@code [P]} array) and the new state {@code s_t}
     * @throws IllegalArgumentException if the vectors do not have {@code P} entries
     */
    Update<S> update(INDArray gradient, S state, INDArray params);

    /** The state as named arrays and numbers, for checkpoints: {@code decode(encode(s))} equals {@code s} exactly. */
    StateTree encode(S state);

    /**
     * Reads a state written by {@link #encode}.
     *
     * @throws IllegalArgumentException naming the entry when the tree does not hold this transformation's state
     */
    S decode(StateTree tree);

    /** A one-line description with the settings, e.g. {@code adam(β1=0.9, β2=0.999, ε=1e-8)}. */
    String describe();

    /** Whether the transform keeps no state (its {@link #encode} is empty); a chain then stores nothing for it. */
    default boolean stateless() {
        return false;
    }
}
