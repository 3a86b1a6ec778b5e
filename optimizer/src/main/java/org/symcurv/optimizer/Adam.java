package org.symcurv.optimizer;

import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

/**
 * Adam's direction (Kingma and Ba, 2015): {@code m_t = β1 m_{t-1} + (1-β1) g_t}, {@code v_t = β2 v_{t-1} + (1-β2) g_t²},
 * {@code u_t = m̂_t / (√v̂_t + ε)} with {@code m̂_t = m_t/(1-β1^t)}, {@code v̂_t = v_t/(1-β2^t)}, elementwise. This is
 * the PyTorch/Optax placement of {@code ε}; DL4J adds {@code ε} to {@code √v_t} before bias correction, which
 * differs only when {@code √v̂} is comparable to {@code ε}.
 *
 * <p>It works on vectors of any length {@code n} given at {@link #init}; the recipes use it for whole parameter
 * vectors and, inside Muon and Shampoo, for the leaves those leave alone (biases).
 */
public final class Adam implements Preconditioner<Adam.State> {
    /**
     * @param beta1   {@code 0 ≤ β1 < 1}
     * @param beta2   {@code 0 ≤ β2 < 1}
     * @param epsilon {@code ε > 0}
     */
    public record Settings(double beta1, double beta2, double epsilon) implements TransformSettings {
        /** β1 0.9, β2 0.999, ε 1e-8. */
        public static final Settings DEFAULT = new Settings(0.9, 0.999, 1e-8);

        public Settings {
            Vectors.requireProbability(beta1, "Adam β1");
            Vectors.requireProbability(beta2, "Adam β2");
            Vectors.requirePositive(epsilon, "Adam ε");
        }

        public Settings withBetas(double b1, double b2) {
            return new Settings(b1, b2, epsilon);
        }

        public Settings withEpsilon(double e) {
            return new Settings(beta1, beta2, e);
        }

        /** The transform itself (it needs nothing of the target). */
        public Adam adam() {
            return new Adam(beta1, beta2, epsilon);
        }

        @Override
        public Adam build(Target target) {
            return adam();
        }
    }

    /**
     * @param count {@code t}, the number of updates taken
     * @param m     {@code m_t}, {@code [n]}
     * @param v     {@code v_t}, {@code [n]}
     */
    public record State(long count, INDArray m, INDArray v) {
    }

    private final double beta1;
    private final double beta2;
    private final double epsilon;

    /** @throws IllegalArgumentException unless {@code 0 ≤ β1, β2 < 1} and {@code ε > 0} */
    public Adam(double beta1, double beta2, double epsilon) {
        Vectors.requireProbability(beta1, "Adam β1");
        Vectors.requireProbability(beta2, "Adam β2");
        Vectors.requirePositive(epsilon, "Adam ε");
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.epsilon = epsilon;
    }

    /** β1 = 0.9, β2 = 0.999, ε = 1e-8. */
    public static Adam defaults() {
        return new Adam(0.9, 0.999, 1e-8);
    }

    public double beta1() {
        return beta1;
    }

    public double beta2() {
        return beta2;
    }

    public double epsilon() {
        return epsilon;
    }

    @Override
    public State init(INDArray params) {
        return new State(0, Nd4j.zeros(params.dataType(), params.length()), Nd4j.zeros(params.dataType(), params.length()));
    }

    @Override
    public Update<State> update(INDArray gradient, State state, INDArray params) {
        INDArray g = Vectors.flat(gradient, state.m().length(), "gradient");
        long t = state.count() + 1;
        INDArray m = state.m().mul(beta1).addi(g.mul(1 - beta1));
        INDArray v = state.v().mul(beta2).addi(g.mul(g).muli(1 - beta2));
        INDArray denominator = Transforms.sqrt(v.div(1 - Math.pow(beta2, t)), false).addi(epsilon);
        INDArray direction = m.div(1 - Math.pow(beta1, t)).divi(denominator);
        return new Update<>(direction, new State(t, m, v));
    }

    @Override
    public StateTree encode(State state) {
        return StateTree.builder().put("count", state.count()).put("m", state.m()).put("v", state.v()).build();
    }

    @Override
    public State decode(StateTree tree) {
        return new State(tree.longValue("count"), tree.array("m"), tree.array("v"));
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "adam(β1=%s, β2=%s, ε=%s)", beta1, beta2, epsilon);
    }
}
