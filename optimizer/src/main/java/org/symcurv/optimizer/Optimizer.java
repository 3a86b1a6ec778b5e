package org.symcurv.optimizer;

import java.util.Locale;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A complete optimizer over a direction transform {@code D}: gradient clipping, the direction, decoupled weight decay
 * and the learning-rate schedule,
 * <pre>
 *   g̃_t = g_t · min(1, c/‖g_t‖),   (u_t, s_t) = D(g̃_t, s_{t-1}, θ_t),   Δθ_t = −η_t (u_t + λ M θ_t),
 * </pre>
 * where {@code c} is the clipping norm ({@code ∞} when off), {@code λ} the decoupled weight decay (Loshchilov and
 * Hutter, 2019) and {@code M} the 0/1 mask of the matrix leaves (biases are not decayed). {@code θ_{t+1} = θ_t + Δθ_t}.
 *
 * @param <S> the direction's state type
 */
public final class Optimizer<S> implements Preconditioner<Optimizer.State<S>> {
    /**
     * @param step      {@code t}, the number of updates taken (the schedule's argument)
     * @param direction the direction transform's state
     * @param <S>       its type
     */
    public record State<S>(long step, S direction) {
        public State {
            Objects.requireNonNull(direction, "direction");
        }
    }

    private final String name;
    private final Preconditioner<S> direction;
    private final LearningRateSchedule schedule;
    private final double weightDecay;
    private final double clipNorm;
    private final SymmetrySpec layout;

    /**
     * @param name        the recipe's name, e.g. {@code "adamw"}
     * @param direction   the direction transform
     * @param schedule    {@code η_t}
     * @param weightDecay {@code λ ≥ 0}
     * @param clipNorm    {@code c > 0}, or {@code 0} for no clipping
     * @param layout      the parameter leaves (for the weight-decay mask)
     */
    public Optimizer(String name, Preconditioner<S> direction, LearningRateSchedule schedule, double weightDecay, double clipNorm,
                     SymmetrySpec layout) {
        this.name = Objects.requireNonNull(name, "name");
        this.direction = Objects.requireNonNull(direction, "direction");
        this.schedule = Objects.requireNonNull(schedule, "schedule");
        Vectors.requireNonNegative(weightDecay, "weight decay");
        Vectors.requireNonNegative(clipNorm, "gradient clipping norm");
        this.weightDecay = weightDecay;
        this.clipNorm = clipNorm;
        this.layout = Objects.requireNonNull(layout, "layout");
    }

    public String name() {
        return name;
    }

    public Preconditioner<S> direction() {
        return direction;
    }

    public LearningRateSchedule schedule() {
        return schedule;
    }

    public SymmetrySpec layout() {
        return layout;
    }

    @Override
    public State<S> init(INDArray params) {
        return new State<>(0, direction.init(Vectors.flat(params, layout.parameterCount(), "params")));
    }

    @Override
    public Update<State<S>> update(INDArray gradient, State<S> state, INDArray params) {
        INDArray g = Vectors.flat(gradient, layout.parameterCount(), "gradient");
        INDArray w = Vectors.flat(params, layout.parameterCount(), "params");
        Update<S> d = direction.update(clip(g), state.direction(), w);
        INDArray step = d.step();
        if (weightDecay > 0) {
            INDArray decay = Nd4j.zeros(w.dataType(), w.length());
            for (LeafSpec leaf : layout.leaves()) {
                if (leaf.rank() >= 2) {
                    decay.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                            .assign(w.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())));
                }
            }
            step.addi(decay.muli(weightDecay));
        }
        step.muli(-schedule.at(state.step()));
        return new Update<>(step, new State<>(state.step() + 1, d.state()));
    }

    /** {@code g · min(1, c/‖g‖)}; {@code g} itself when clipping is off or not needed. */
    INDArray clip(INDArray g) {
        if (clipNorm == 0) {
            return g;
        }
        double norm = g.norm2Number().doubleValue();
        return norm > clipNorm ? g.mul(clipNorm / norm) : g;
    }

    @Override
    public StateTree encode(State<S> state) {
        return StateTree.builder().put("step", state.step()).put("direction", direction.encode(state.direction())).build();
    }

    @Override
    public State<S> decode(StateTree tree) {
        return new State<>(tree.longValue("step"), direction.decode(tree.child("direction")));
    }

    @Override
    public String describe() {
        StringBuilder sb = new StringBuilder(name).append(": ").append(direction.describe()).append(", lr ").append(schedule.describe());
        if (weightDecay > 0) {
            sb.append(String.format(Locale.ROOT, ", decoupled weight decay %s on matrices", weightDecay));
        }
        if (clipNorm > 0) {
            sb.append(String.format(Locale.ROOT, ", gradients clipped to norm %s", clipNorm));
        }
        return sb.toString();
    }
}
