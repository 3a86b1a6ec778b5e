package org.symcurv.optimizer;

import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Heavy-ball momentum, the direction of SGD with momentum (PyTorch convention): {@code b_t = μ b_{t-1} + g_t},
 * {@code u_t = b_t}, or with Nesterov's correction {@code u_t = g_t + μ b_t}. With {@code μ = 0} it is plain SGD,
 * {@code u_t = g_t}.
 */
public final class Momentum implements Preconditioner<Momentum.State> {
    /**
     * @param momentum {@code 0 ≤ μ < 1}
     * @param nesterov Nesterov's correction (needs {@code μ > 0})
     */
    public record Settings(double momentum, boolean nesterov) implements TransformSettings {
        public Settings {
            new Momentum(momentum, nesterov);
        }

        @Override
        public Momentum build(Target target) {
            return new Momentum(momentum, nesterov);
        }
    }

    /** @param buffer {@code b_t}, {@code [P]} */
    public record State(INDArray buffer) {
    }

    private final double momentum;
    private final boolean nesterov;

    /** @throws IllegalArgumentException unless {@code 0 ≤ μ < 1}, or when Nesterov is asked for without momentum */
    public Momentum(double momentum, boolean nesterov) {
        Vectors.requireProbability(momentum, "momentum μ");
        if (nesterov && momentum == 0) {
            throw new IllegalArgumentException("Nesterov momentum needs μ > 0; set a momentum such as 0.9 or drop Nesterov");
        }
        this.momentum = momentum;
        this.nesterov = nesterov;
    }

    public double momentum() {
        return momentum;
    }

    public boolean nesterov() {
        return nesterov;
    }

    @Override
    public State init(INDArray params) {
        return new State(Nd4j.zeros(params.dataType(), params.length()));
    }

    @Override
    public Update<State> update(INDArray gradient, State state, INDArray params) {
        INDArray g = Vectors.flat(gradient, state.buffer().length(), "gradient");
        INDArray buffer = state.buffer().mul(momentum).addi(g);
        INDArray direction = nesterov ? g.add(buffer.mul(momentum)) : buffer.dup();
        return new Update<>(direction, new State(buffer));
    }

    @Override
    public StateTree encode(State state) {
        return StateTree.builder().put("buffer", state.buffer()).build();
    }

    @Override
    public State decode(StateTree tree) {
        return new State(tree.array("buffer"));
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "momentum(μ=%s%s)", momentum, nesterov ? ", nesterov" : "");
    }
}
