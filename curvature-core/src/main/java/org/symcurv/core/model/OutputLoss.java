package org.symcurv.core.model;

import java.util.Optional;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.nd4j.linalg.lossfunctions.impl.LossNegativeLogLikelihood;

/**
 * The per-example loss {@code ℓ(z, y)} of an output layer as a function of its pre-activation
 * {@code z ∈ R^o} (the output activation folded in), with its gradient {@code ∇_z ℓ} and Hessian
 * {@code ∇²_z ℓ} in float64. These three are what the GGN {@code Jᵀ (∇²_z ℓ) J} and the exact Hessian need.
 *
 * <p>DL4J clips probabilities away from 0 and 1 (softmax at 1e-10, sigmoid at 1e-5) when computing these
 * losses; the formulas here do not, so they agree with DL4J except for saturated outputs.
 */
public enum OutputLoss {
    /**
     * Softmax with multi-class cross-entropy (DL4J {@code MCXENT} or {@code NEGATIVELOGLIKELIHOOD}):
     * {@code ℓ = −Σ_k y_k log p_k}, {@code p = softmax(z)}; {@code ∇ℓ = (Σ_k y_k) p − y},
     * {@code ∇²ℓ = (Σ_k y_k)(diag p − p pᵀ)}.
     */
    SOFTMAX_CROSS_ENTROPY,
    /**
     * Identity with DL4J's {@code MSE}, the squared error averaged over the {@code o} outputs:
     * {@code ℓ = (1/o) Σ_k (z_k − y_k)²}; {@code ∇ℓ = 2(z − y)/o}, {@code ∇²ℓ = (2/o) I}.
     */
    IDENTITY_MEAN_SQUARED_ERROR,
    /**
     * Sigmoid with binary cross-entropy per output (DL4J {@code XENT}):
     * {@code ℓ = −Σ_k [y_k log σ(z_k) + (1 − y_k) log(1 − σ(z_k))]}; {@code ∇ℓ = σ(z) − y},
     * {@code ∇²ℓ = diag(σ(z)(1 − σ(z)))}.
     */
    SIGMOID_BINARY_CROSS_ENTROPY;

    /**
     * The loss DL4J's output activation and loss function compute together, if supported (exact classes,
     * no per-output weights).
     */
    public static Optional<OutputLoss> fromDl4j(IActivation activation, ILossFunction loss) {
        Class<?> a = activation.getClass();
        Class<?> l = loss.getClass();
        if (a == ActivationSoftmax.class && (l == LossMCXENT.class || l == LossNegativeLogLikelihood.class)
                && ((LossMCXENT) loss).getWeights() == null) {
            return Optional.of(SOFTMAX_CROSS_ENTROPY);
        }
        if (a == ActivationIdentity.class && l == LossMSE.class && ((LossMSE) loss).getWeights() == null) {
            return Optional.of(IDENTITY_MEAN_SQUARED_ERROR);
        }
        if (a == ActivationSigmoid.class && l == LossBinaryXENT.class && ((LossBinaryXENT) loss).getWeights() == null) {
            return Optional.of(SIGMOID_BINARY_CROSS_ENTROPY);
        }
        return Optional.empty();
    }

    /** {@code ℓ(z, y)}; {@code z} and {@code y} have length {@code o} and are not modified. */
    public double value(double[] z, double[] y) {
        switch (this) {
            case SOFTMAX_CROSS_ENTROPY: {
                double lse = logSumExp(z);
                double s = 0;
                for (int k = 0; k < z.length; k++) {
                    s -= y[k] * (z[k] - lse);
                }
                return s;
            }
            case IDENTITY_MEAN_SQUARED_ERROR: {
                double s = 0;
                for (int k = 0; k < z.length; k++) {
                    double d = z[k] - y[k];
                    s += d * d;
                }
                return s / z.length;
            }
            case SIGMOID_BINARY_CROSS_ENTROPY: {
                double s = 0;
                for (int k = 0; k < z.length; k++) {
                    // log σ(z) = −softplus(−z), log(1 − σ(z)) = −softplus(z)
                    s += y[k] * softplus(-z[k]) + (1 - y[k]) * softplus(z[k]);
                }
                return s;
            }
            default:
                throw new AssertionError(this);
        }
    }

    /** {@code ∇_z ℓ(z, y)}, a new array of length {@code o}. */
    public double[] gradient(double[] z, double[] y) {
        double[] g = new double[z.length];
        switch (this) {
            case SOFTMAX_CROSS_ENTROPY -> {
                double[] p = softmax(z);
                double total = 0;
                for (double yk : y) {
                    total += yk;
                }
                for (int k = 0; k < z.length; k++) {
                    g[k] = total * p[k] - y[k];
                }
            }
            case IDENTITY_MEAN_SQUARED_ERROR -> {
                for (int k = 0; k < z.length; k++) {
                    g[k] = 2 * (z[k] - y[k]) / z.length;
                }
            }
            case SIGMOID_BINARY_CROSS_ENTROPY -> {
                for (int k = 0; k < z.length; k++) {
                    g[k] = ScalarActivation.sigmoid(z[k]) - y[k];
                }
            }
        }
        return g;
    }

    /** {@code ∇²_z ℓ(z, y)}, a new symmetric {@code o × o} matrix. */
    public double[][] hessian(double[] z, double[] y) {
        int o = z.length;
        double[][] h = new double[o][o];
        switch (this) {
            case SOFTMAX_CROSS_ENTROPY -> {
                double[] p = softmax(z);
                double total = 0;
                for (double yk : y) {
                    total += yk;
                }
                for (int k = 0; k < o; k++) {
                    for (int m = 0; m < o; m++) {
                        h[k][m] = total * ((k == m ? p[k] : 0) - p[k] * p[m]);
                    }
                }
            }
            case IDENTITY_MEAN_SQUARED_ERROR -> {
                for (int k = 0; k < o; k++) {
                    h[k][k] = 2.0 / o;
                }
            }
            case SIGMOID_BINARY_CROSS_ENTROPY -> {
                for (int k = 0; k < o; k++) {
                    double s = ScalarActivation.sigmoid(z[k]);
                    h[k][k] = s * (1 - s);
                }
            }
        }
        return h;
    }

    static double[] softmax(double[] z) {
        double lse = logSumExp(z);
        double[] p = new double[z.length];
        for (int k = 0; k < z.length; k++) {
            p[k] = Math.exp(z[k] - lse);
        }
        return p;
    }

    static double logSumExp(double[] z) {
        double max = Double.NEGATIVE_INFINITY;
        for (double v : z) {
            max = Math.max(max, v);
        }
        double s = 0;
        for (double v : z) {
            s += Math.exp(v - max);
        }
        return max + Math.log(s);
    }

    private static double softplus(double z) {
        return z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
    }
}
