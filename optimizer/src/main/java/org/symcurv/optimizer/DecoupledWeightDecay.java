package org.symcurv.optimizer;

import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Decoupled weight decay (Loshchilov and Hutter, 2019), {@code u' = u + λ M θ}, where {@code M} is the 0/1 mask of the
 * matrix leaves (rank ≥ 2; biases are not decayed) and {@code θ [P]} the current parameters; stateless. Placed before
 * the schedule, the step becomes {@code −η_t (u + λ M θ)}.
 */
public final class DecoupledWeightDecay implements Preconditioner<NoState> {
    /** @param rate {@code λ > 0} */
    public record Settings(double rate) implements TransformSettings {
        public Settings {
            Vectors.requirePositive(rate, "weight decay");
        }

        @Override
        public DecoupledWeightDecay build(Target target) {
            return new DecoupledWeightDecay(rate, target.layout());
        }
    }

    private final double rate;
    private final SymmetrySpec layout;

    public DecoupledWeightDecay(double rate, SymmetrySpec layout) {
        Vectors.requirePositive(rate, "weight decay");
        this.rate = rate;
        this.layout = java.util.Objects.requireNonNull(layout, "layout");
    }

    @Override
    public NoState init(INDArray params) {
        return NoState.INSTANCE;
    }

    @Override
    public Update<NoState> update(INDArray direction, NoState state, INDArray params) {
        INDArray w = Vectors.flat(params, layout.parameterCount(), "params");
        INDArray decay = Nd4j.zeros(w.dataType(), w.length());
        for (LeafSpec leaf : layout.leaves()) {
            if (leaf.rank() >= 2) {
                decay.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                        .assign(w.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())));
            }
        }
        return new Update<>(direction.add(decay.muli(rate)), NoState.INSTANCE);
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
        return String.format(Locale.ROOT, "decoupled weight decay %s on matrices", rate);
    }
}
