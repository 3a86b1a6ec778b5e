package org.symcurv.continual;

import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.optimizer.train.Regularizer;

/**
 * The EWC penalty (Kirkpatrick et al., 2017) on structured curvature:
 * <pre>
 *   R(θ) = ½λ Σ_t (θ − θ*_t)ᵀ F_t (θ − θ*_t),     ∇R(θ) = λ Σ_t F_t (θ − θ*_t),
 * </pre>
 * over the anchors of a {@link ConsolidatedState} (one in online mode). Every product goes through
 * {@link Curvature#multiply} (symmetry-curvature.md section 4): no dense {@code P × P} matrix is ever formed. With one anchor
 * the value is {@code ½λ dᵀ(F d)} for {@code d = θ − θ*}, sharing the product with the gradient. With several (separate
 * mode) the sum is collapsed once, at construction, into {@code A = Σ F_t}, {@code b = Σ F_t θ*_t},
 * {@code c = Σ θ*_tᵀ F_t θ*_t}, so that {@code ∇R = λ(Aθ − b)} and {@code R = ½λ(θᵀAθ − 2bᵀθ + c)}: one operator product per
 * step however many tasks are protected (the same quadratic; the value then loses some digits to cancellation, the
 * gradient does not). Arithmetic in float64 by default; {@link #of(ConsolidatedState, double, DataType)} with {@code FLOAT}
 * computes in float32 (the precision of a float32 network's own gradient, and about twice as fast: the product costs
 * {@code Σ_κ d_κ m_κ²} multiply-adds, for the 784-256-256-10 MLP about 1.5 forward/backward passes of a batch of 128).
 * Immutable.
 */
public final class EwcPenalty implements Regularizer {
    private final double lambda;
    private final Curvature operator;
    private final INDArray anchor;
    private final INDArray linear;
    private final double constant;
    private final DataType type;

    private EwcPenalty(double lambda, Curvature operator, INDArray anchor, INDArray linear, double constant, DataType type) {
        this.lambda = lambda;
        this.type = type;
        Curvature op = operator == null || operator.dataType() == type ? operator : operator.mapBlocks(k -> operator.block(k).castTo(type));
        this.operator = op;
        this.anchor = anchor == null ? null : anchor.castTo(type);
        this.linear = linear == null ? null : linear.castTo(type);
        this.constant = constant;
    }

    private INDArray apply(INDArray x) {
        return operator.multiply(x);
    }

    /**
     * The penalty of {@code state} at strength {@code λ}; zero (an operator-free term) when nothing is consolidated.
     *
     * @throws IllegalArgumentException if {@code λ} is negative or not finite
     */
    public static EwcPenalty of(ConsolidatedState state, double lambda) {
        return of(state, lambda, DataType.DOUBLE);
    }

    /**
     * The penalty computed in {@code type} ({@code DOUBLE}, or {@code FLOAT} for training a float32 network); the
     * collapsed separate-mode sums are formed in float64 first.
     *
     * @throws IllegalArgumentException if {@code λ} is negative or not finite, or {@code type} is neither
     */
    public static EwcPenalty of(ConsolidatedState state, double lambda, DataType type) {
        Objects.requireNonNull(state, "state");
        if (type != DataType.DOUBLE && type != DataType.FLOAT) {
            throw new IllegalArgumentException("the penalty is computed in DOUBLE or FLOAT, not " + type);
        }
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("the EWC strength λ must be a finite number ≥ 0, got " + lambda);
        }
        List<ConsolidatedState.Anchor> anchors = state.anchors();
        if (anchors.isEmpty()) {
            return new EwcPenalty(lambda, null, null, null, 0, type);
        }
        if (anchors.size() == 1) {
            return new EwcPenalty(lambda, anchors.get(0).fisher(), anchors.get(0).theta(), null, 0, type);
        }
        Curvature sum = null;
        INDArray b = null;
        double c = 0;
        for (ConsolidatedState.Anchor a : anchors) {
            INDArray ft = a.fisher().multiply(a.theta());
            c += a.theta().mul(ft).sumNumber().doubleValue();
            b = b == null ? ft : b.addi(ft);
            sum = sum == null ? a.fisher() : sum.plus(a.fisher());
        }
        return new EwcPenalty(lambda, sum, null, b, c, type);
    }

    public double lambda() {
        return lambda;
    }

    /** Whether the penalty is identically zero (nothing consolidated, or {@code λ = 0}). */
    public boolean isZero() {
        return operator == null || lambda == 0;
    }

    /**
     * @param theta {@code [P]} (any floating type; {@code [1, P]} and {@code [P, 1]} are accepted); not modified
     * @return {@code R(θ)} and {@code ∇R(θ)} ({@code [P]}, in the penalty's type); zero gradient when {@link #isZero()}
     * @throws IllegalArgumentException if {@code θ} has the wrong length
     */
    @Override
    public ValueAndGradient valueAndGradient(INDArray theta) {
        if (operator == null) {
            return new ValueAndGradient(0.0, org.nd4j.linalg.factory.Nd4j.zeros(type, theta.length()));
        }
        long p = operator.spec().parameterCount();
        if (theta.length() != p) {
            throw new IllegalArgumentException("the penalty acts on " + p + " parameters but θ has " + theta.length());
        }
        INDArray x = theta.castTo(type).reshape(p);
        if (anchor != null) {
            INDArray d = x.sub(anchor);
            INDArray fd = apply(d);
            double value = 0.5 * lambda * d.mul(fd).sumNumber().doubleValue();
            return new ValueAndGradient(value, fd.muli(lambda));
        }
        INDArray ax = apply(x);
        double quadratic = x.mul(ax).sumNumber().doubleValue() - 2 * x.mul(linear).sumNumber().doubleValue() + constant;
        return new ValueAndGradient(0.5 * lambda * quadratic, ax.subi(linear).muli(lambda));
    }
}
