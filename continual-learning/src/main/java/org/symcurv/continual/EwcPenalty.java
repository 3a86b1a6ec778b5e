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
 * gradient does not). Arithmetic in float64. Immutable.
 */
public final class EwcPenalty implements Regularizer {
    private final double lambda;
    private final Curvature operator;
    private final INDArray anchor;
    private final INDArray linear;
    private final double constant;

    private EwcPenalty(double lambda, Curvature operator, INDArray anchor, INDArray linear, double constant) {
        this.lambda = lambda;
        this.operator = operator;
        this.anchor = anchor;
        this.linear = linear;
        this.constant = constant;
    }

    /**
     * The penalty of {@code state} at strength {@code λ}; zero (an operator-free term) when nothing is consolidated.
     *
     * @throws IllegalArgumentException if {@code λ} is negative or not finite
     */
    public static EwcPenalty of(ConsolidatedState state, double lambda) {
        Objects.requireNonNull(state, "state");
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("the EWC strength λ must be a finite number ≥ 0, got " + lambda);
        }
        List<ConsolidatedState.Anchor> anchors = state.anchors();
        if (anchors.isEmpty()) {
            return new EwcPenalty(lambda, null, null, null, 0);
        }
        if (anchors.size() == 1) {
            return new EwcPenalty(lambda, anchors.get(0).fisher(), anchors.get(0).theta(), null, 0);
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
        return new EwcPenalty(lambda, sum, null, b, c);
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
     * @return {@code R(θ)} and {@code ∇R(θ)} ({@code [P]}, float64); zero gradient when {@link #isZero()}
     * @throws IllegalArgumentException if {@code θ} has the wrong length
     */
    @Override
    public ValueAndGradient valueAndGradient(INDArray theta) {
        if (operator == null) {
            return new ValueAndGradient(0.0, org.nd4j.linalg.factory.Nd4j.zeros(DataType.DOUBLE, theta.length()));
        }
        long p = operator.spec().parameterCount();
        if (theta.length() != p) {
            throw new IllegalArgumentException("the penalty acts on " + p + " parameters but θ has " + theta.length());
        }
        INDArray x = theta.castTo(DataType.DOUBLE).reshape(p);
        if (anchor != null) {
            INDArray d = x.sub(anchor);
            INDArray fd = operator.multiply(d);
            double value = 0.5 * lambda * d.mul(fd).sumNumber().doubleValue();
            return new ValueAndGradient(value, fd.muli(lambda));
        }
        INDArray ax = operator.multiply(x);
        double quadratic = x.mul(ax).sumNumber().doubleValue() - 2 * x.mul(linear).sumNumber().doubleValue() + constant;
        return new ValueAndGradient(0.5 * lambda * quadratic, ax.subi(linear).muli(lambda));
    }
}
