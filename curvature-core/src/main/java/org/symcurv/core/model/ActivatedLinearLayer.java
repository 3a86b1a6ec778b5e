package org.symcurv.core.model;

import java.util.Optional;

/**
 * The exact float64 pieces shared by every layer {@code a_out = φ(z)}, {@code z = L_θ(a_in)} whose pre-activation is
 * linear in its input and in its parameters {@code θ = (weights, bias)} (dense: {@code z = a_in W + b}; convolution:
 * {@code z = a_in ⋆ K + b}), written once:
 *
 * <pre>
 *   backward:   δ = e ⊙ φ'(z),   ∂ℓ/∂a_in = L_θᵀ δ,   ∂ℓ/∂θ = (∂z/∂θ)ᵀ δ
 *   R-forward:  R(z) = L_θ(R(a_in)) + L_v(a_in),   R(a_out) = φ'(z) ⊙ R(z)
 *   R-backward: R(δ) = R(e) ⊙ φ'(z) + e ⊙ φ''(z) ⊙ R(z),
 *               R(∂ℓ/∂θ) = (∂z/∂θ)ᵀ|_{R(a_in)} δ + (∂z/∂θ)ᵀ|_{a_in} R(δ)  (the bias only in the second term),
 *               R(∂ℓ/∂a_in) = L_θᵀ R(δ) + L_vᵀ δ
 * </pre>
 *
 * with {@code e = ∂ℓ/∂a_out} and {@code v} the direction ({@code L_v} the map with the direction's weights and bias).
 * The network's output layer has no {@code φ} here (its activation belongs to the {@link OutputLoss}). A subclass gives
 * the three linear maps on plain {@code double[]} vectors.
 */
abstract class ActivatedLinearLayer implements WalkLayer {
    /** The float64 twin of {@code φ} ({@code null} for none, or when {@link #exactProblem} says why not). */
    private final ScalarActivation exactActivation;
    private final String exactProblem;

    /**
     * @param exactActivation {@code φ}'s float64 twin, {@code null} for the output layer (identity here)
     * @param exactProblem    why the exact pieces cannot be used, or {@code null}
     */
    ActivatedLinearLayer(ScalarActivation exactActivation, String exactProblem) {
        this.exactActivation = exactActivation;
        this.exactProblem = exactProblem;
    }

    /** {@code L_params(in)} with the weights of {@code params} (θ, or a direction), plus their bias if {@code withBias}. */
    abstract double[] linear(double[] params, double[] in, boolean withBias);

    /** {@code L_paramsᵀ delta}, the error at the input of the linear map (no bias). */
    abstract double[] linearTransposed(double[] params, double[] delta);

    /** Adds {@code weight · (∂z/∂θ)ᵀ delta} at input {@code in} to the weight block of {@code gradient}, and to the bias block if {@code withBias}. */
    abstract void addGradient(double[] gradient, double[] in, double[] delta, double weight, boolean withBias);

    @Override
    public Optional<String> exactProblem() {
        return Optional.ofNullable(exactProblem);
    }

    private void requireExact() {
        if (exactProblem != null) {
            throw new UnsupportedLayerException(index(), layerClass(), exactProblem, NetworkWalk.EXACT_REMEDY);
        }
    }

    @Override
    public ExactPass exactForward(double[] theta, double[] input) {
        requireExact();
        if (input.length != inputWidth()) {
            throw new IllegalArgumentException("an input has length " + input.length + " but layer " + index() + " takes " + inputWidth());
        }
        double[] z = linear(theta, input, true);
        if (exactActivation == null) {
            return new ExactPass(input, z, z);
        }
        double[] a = new double[z.length];
        for (int j = 0; j < z.length; j++) {
            a[j] = exactActivation.value(z[j]);
        }
        return new ExactPass(input, a, z);
    }

    /** {@code δ = e ⊙ φ'(z)}. */
    private double[] preActivationError(ExactPass pass, double[] outputError) {
        if (exactActivation == null) {
            return outputError;
        }
        double[] z = pass.cache();
        double[] delta = new double[outputError.length];
        for (int i = 0; i < delta.length; i++) {
            delta[i] = outputError[i] * exactActivation.derivative(z[i]);
        }
        return delta;
    }

    @Override
    public double[] exactBackward(double[] theta, ExactPass pass, double[] outputError, double[] gradient, double weight, boolean inputError) {
        double[] delta = preActivationError(pass, outputError);
        addGradient(gradient, pass.input(), delta, weight, true);
        return inputError ? linearTransposed(theta, delta) : null;
    }

    @Override
    public ExactTangent exactTangent(double[] theta, double[] v, ExactPass pass, double[] inputTangent) {
        double[] rz = sum(linear(theta, inputTangent, false), linear(v, pass.input(), true));
        if (exactActivation == null) {
            return new ExactTangent(rz, rz);
        }
        double[] z = pass.cache();
        double[] ra = new double[rz.length];
        for (int j = 0; j < rz.length; j++) {
            ra[j] = exactActivation.derivative(z[j]) * rz[j];
        }
        return new ExactTangent(ra, rz);
    }

    @Override
    public double[][] exactTangentBackward(double[] theta, double[] v, ExactPass pass, double[] inputTangent, ExactTangent tangent,
                                           double[] outputError, double[] outputErrorTangent, double[] gradient, double weight, boolean inputError) {
        double[] delta;
        double[] rDelta;
        if (exactActivation == null) {
            delta = outputError;
            rDelta = outputErrorTangent;
        } else {
            double[] z = pass.cache();
            double[] rz = tangent.cache();
            delta = new double[outputError.length];
            rDelta = new double[outputError.length];
            for (int i = 0; i < delta.length; i++) {
                double d1 = exactActivation.derivative(z[i]);
                delta[i] = outputError[i] * d1;
                rDelta[i] = outputErrorTangent[i] * d1 + outputError[i] * exactActivation.secondDerivative(z[i]) * rz[i];
            }
        }
        addGradient(gradient, inputTangent, delta, weight, false);
        addGradient(gradient, pass.input(), rDelta, weight, true);
        if (!inputError) {
            return new double[][] {null, null};
        }
        double[] e = linearTransposed(theta, delta);
        double[] re = sum(linearTransposed(theta, rDelta), linearTransposed(v, delta));
        return new double[][] {e, re};
    }

    static double[] sum(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }
}
