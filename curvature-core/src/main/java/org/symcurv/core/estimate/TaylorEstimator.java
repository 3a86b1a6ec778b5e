package org.symcurv.core.estimate;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.KindDecomposition;

/**
 * The Taylor estimate of the Hessian from single gradients (symmetry-curvature.md section 5.1; the paper's Eq. 10).
 * Around the invariant point {@code w* = R1(w)}, {@code δ_g := ḡ - R1(ḡ) ≈ H* δ_w} with {@code δ_w := w - R1(w)};
 * after orbit averaging {@code S_g ≈ H S_w H} with {@code S_w = R2(δ_w, δ_w)}, {@code S_g = R2(δ_g, δ_g)}, whose
 * positive-definite solution is the geometric mean
 * <pre>
 *   H   = S_w^{-1/2} (S_w^{1/2} S_g S_w^{1/2})^{1/2} S_w^{-1/2}
 *   H⁻¹ = S_w^{1/2} (S_w^{1/2} S_g S_w^{1/2})^{-1/2} S_w^{1/2}
 * </pre>
 * all blockwise with damped powers. {@code ḡ} is the bias-corrected momentum ({@code β1}), {@code S_g} a
 * bias-corrected exponential moving average ({@code β2}), {@code S_w} from the current weights only (or {@code I}
 * when {@link Options#identityWeightMoment()}, which turns the estimate into {@code H = S_g^{1/2}}: Muon, Shampoo
 * and the Adam-like diagonal, section 6).
 *
 * <p>The invariant kind {@code κ0} receives no information ({@code δ} has no {@code κ0} part). Policy
 * {@link InvariantPolicy#ADAM} (default, our design choice) preconditions {@code R1(ḡ)} with an Adam-style diagonal
 * second moment; {@link InvariantPolicy#DAMPED_SCALAR} (paper-faithful) keeps whatever the damped formula gives there.
 *
 * <p>Mutable state; not thread-safe. {@link #snapshot()} and {@link #restore} give an exact copy for checkpoints.
 */
public final class TaylorEstimator {

    /** How the invariant subspace {@code κ0} is preconditioned. */
    public enum InvariantPolicy { ADAM, DAMPED_SCALAR }

    /**
     * @param beta1                momentum of the gradient, {@code 0 ≤ β1 < 1}
     * @param beta2                EMA rate of {@code S_g}, {@code 0 ≤ β2 < 1}
     * @param identityWeightMoment use {@code S_w := I}
     * @param invariantPolicy      how {@code κ0} is preconditioned
     * @param adamEpsilon          the {@code ε} of the Adam-style invariant part
     */
    public record Options(double beta1, double beta2, boolean identityWeightMoment, InvariantPolicy invariantPolicy,
                          double adamEpsilon) {
        public static final Options DEFAULT = new Options(0.9, 0.99, false, InvariantPolicy.ADAM, 1e-8);

        public Options {
            if (!(beta1 >= 0 && beta1 < 1) || !(beta2 >= 0 && beta2 < 1)) {
                throw new IllegalArgumentException("need 0 ≤ β1 < 1 and 0 ≤ β2 < 1, got β1=" + beta1 + ", β2=" + beta2);
            }
            if (!(adamEpsilon > 0)) {
                throw new IllegalArgumentException("Adam epsilon must be > 0, got " + adamEpsilon);
            }
        }

        public Options withBetas(double b1, double b2) {
            return new Options(b1, b2, identityWeightMoment, invariantPolicy, adamEpsilon);
        }

        public Options withIdentityWeightMoment(boolean identity) {
            return new Options(beta1, beta2, identity, invariantPolicy, adamEpsilon);
        }

        public Options withInvariantPolicy(InvariantPolicy policy) {
            return new Options(beta1, beta2, identityWeightMoment, policy, adamEpsilon);
        }
    }

    /** An exact copy of the estimator's state. */
    public record State(long step, INDArray momentum, Curvature gradientMoment, INDArray invariantSecondMoment) {
    }

    private final KindDecomposition kinds;
    private final Options options;
    private final BlockBudget budget;
    private long step;
    private INDArray momentum;
    private Curvature gradientMoment;
    private INDArray invariantSecondMoment;
    private INDArray lastWeights;

    public TaylorEstimator(KindDecomposition kinds, Options options) {
        this(kinds, options, BlockBudget.DEFAULT);
    }

    /**
     * @param budget blocks above it keep only their diagonal, or construction fails naming the leaves and kind
     */
    public TaylorEstimator(KindDecomposition kinds, Options options, BlockBudget budget) {
        this.kinds = kinds;
        this.options = options;
        this.budget = budget;
        for (int k = 0; k < kinds.kinds().size(); k++) {
            budget.dense(kinds.kinds().get(k).copies(), kinds.describe(k), kinds.kinds().get(k).leafNames());
        }
    }

    public KindDecomposition decomposition() {
        return kinds;
    }

    public Options options() {
        return options;
    }

    /** Number of gradients seen. */
    public long step() {
        return step;
    }

    /**
     * Takes one gradient at the current weights: updates the momentum, {@code S_g} and the invariant second moment.
     *
     * @param weights  {@code w}, flat {@code [P]}; not modified (a copy is kept for {@code S_w})
     * @param gradient {@code ∇L(w)}, flat {@code [P]}; not modified
     * @throws ArithmeticException if the gradient holds NaN or infinity (state is left unchanged)
     */
    public void observe(INDArray weights, INDArray gradient) {
        if (!org.symcurv.core.Finite.all(gradient)) {
            throw new ArithmeticException("gradient contains NaN or infinity at step " + (step + 1) + "; the estimator state was not changed");
        }
        long p = kinds.spec().parameterCount();
        if (gradient.length() != p || weights.length() != p) {
            throw new IllegalArgumentException("weights and gradient must have " + p + " entries, got "
                    + weights.length() + " and " + gradient.length());
        }
        step++;
        double b1 = options.beta1();
        double b2 = options.beta2();
        momentum = momentum == null ? gradient.mul(1 - b1) : momentum.mul(b1).addi(gradient.mul(1 - b1));
        INDArray gBar = momentumEstimate();
        INDArray deltaG = gBar.sub(OrbitAverage.firstOrder(kinds, gBar));
        Curvature sample = OrbitAverage.secondMoment(kinds, deltaG.reshape(1, p), budget);
        gradientMoment = gradientMoment == null ? sample.scale(1 - b2) : gradientMoment.scale(b2).plus(sample.scale(1 - b2));
        INDArray invariantGradient = OrbitAverage.firstOrder(kinds, gradient);
        INDArray square = invariantGradient.mul(invariantGradient).muli(1 - b2);
        invariantSecondMoment = invariantSecondMoment == null ? square : invariantSecondMoment.mul(b2).addi(square);
        lastWeights = weights.dup();
    }

    /** The bias-corrected momentum {@code ḡ = m / (1 - β1^t)}. */
    public INDArray momentumEstimate() {
        requireObserved();
        return momentum.div(1 - Math.pow(options.beta1(), step));
    }

    /** The bias-corrected {@code S_g}. */
    public Curvature gradientMoment() {
        requireObserved();
        return gradientMoment.scale(1.0 / (1 - Math.pow(options.beta2(), step)));
    }

    /** {@code S_w = R2(δ_w, δ_w)} at the last observed weights, or {@code I}. */
    public Curvature weightMoment() {
        requireObserved();
        if (options.identityWeightMoment()) {
            return Curvature.scaledIdentity(kinds, 1.0, momentum.dataType());
        }
        INDArray deltaW = lastWeights.sub(OrbitAverage.firstOrder(kinds, lastWeights));
        return OrbitAverage.secondMoment(kinds, deltaW.reshape(1, deltaW.length()), budget);
    }

    /** {@code H = S_w^{-1/2} (S_w^{1/2} S_g S_w^{1/2})^{1/2} S_w^{-1/2}} with damped powers. */
    public Curvature hessian(Damping damping) {
        Curvature sw = weightMoment();
        Curvature root = sw.power(0.5, damping);
        Curvature middle = root.sandwich(gradientMoment());
        return sw.power(-0.5, damping).sandwich(middle.power(0.5, damping));
    }

    /** {@code H⁻¹ = S_w^{1/2} (S_w^{1/2} S_g S_w^{1/2})^{-1/2} S_w^{1/2}} with damped powers. */
    public Curvature inverseHessian(Damping damping) {
        Curvature root = weightMoment().power(0.5, damping);
        Curvature middle = root.sandwich(gradientMoment());
        return root.sandwich(middle.power(-0.5, damping));
    }

    /**
     * The preconditioned direction {@code H⁻¹ ḡ} for a given inverse (possibly computed some steps ago), with the
     * invariant part replaced by {@code R1(ḡ) / (√v̂ + ε)} under {@link InvariantPolicy#ADAM}.
     *
     * @param inverseHessian from {@link #inverseHessian(Damping)}
     */
    public INDArray direction(Curvature inverseHessian) {
        INDArray gBar = momentumEstimate();
        if (options.invariantPolicy() == InvariantPolicy.DAMPED_SCALAR) {
            return inverseHessian.multiply(gBar);
        }
        INDArray invariant = OrbitAverage.firstOrder(kinds, gBar);
        INDArray nonInvariant = inverseHessian.multiply(gBar.sub(invariant));
        INDArray vHat = invariantSecondMoment.div(1 - Math.pow(options.beta2(), step));
        INDArray adam = invariant.div(Transforms.sqrt(vHat, true).addi(options.adamEpsilon()));
        // nonInvariant has no κ0 part (the input had none and H⁻¹ keeps kinds apart)
        return nonInvariant.addi(adam);
    }

    /** An exact copy of the state for checkpoints. */
    public State snapshot() {
        requireObserved();
        return new State(step, momentum.dup(), gradientMoment.scale(1.0), invariantSecondMoment.dup());
    }

    /** Restores a {@link #snapshot()}; the weights are taken again at the next {@link #observe}. */
    public void restore(State state, INDArray weights) {
        this.step = state.step();
        this.momentum = state.momentum().dup();
        this.gradientMoment = state.gradientMoment();
        this.invariantSecondMoment = state.invariantSecondMoment().dup();
        this.lastWeights = weights.dup();
    }

    private void requireObserved() {
        if (step == 0) {
            throw new IllegalStateException("no gradient observed yet: call observe(weights, gradient) first");
        }
    }

}
