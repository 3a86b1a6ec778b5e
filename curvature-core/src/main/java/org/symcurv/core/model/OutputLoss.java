package org.symcurv.core.model;

import java.util.Optional;
import java.util.Random;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftmax;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.lossfunctions.ILossFunction;
import org.nd4j.linalg.lossfunctions.impl.LossBinaryXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMCXENT;
import org.nd4j.linalg.lossfunctions.impl.LossMSE;
import org.nd4j.linalg.lossfunctions.impl.LossNegativeLogLikelihood;

/**
 * The per-example loss {@code ℓ(z, y)} of an output layer as a function of its pre-activation
 * {@code z ∈ R^o} (the output activation folded in), with its gradient {@code ∇_z ℓ} and Hessian
 * {@code ∇²_z ℓ} in float64. These three are what the GGN {@code Jᵀ (∇²_z ℓ) J} and the exact Hessian need.
 * For whole batches ({@link NetworkWalk}) the same loss gives {@code δ_L = ∇_z ℓ} from the output activation
 * {@code ŷ} ({@link #outputError}) and draws labels from the model's predictive ({@link #sampleLabels}).
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

    /**
     * {@code δ_L = ∇_z ℓ(z_L, y)} per row, from the output activation {@code ŷ} (softmax probabilities, the identity's
     * {@code z}, or sigmoid probabilities):
     * {@code (Σ_k y_k) ŷ − y} (softmax; {@code ŷ − y} for one-hot labels, exact for soft labels too),
     * {@code 2(ŷ − y)/o} (MSE), {@code ŷ − y} (sigmoid with binary cross-entropy).
     *
     * @param prediction {@code ŷ}, {@code [rows, o]}; not modified
     * @param targets    {@code y}, {@code [rows, o]} in the same data type; not modified
     * @return a new {@code [rows, o]} array
     */
    public INDArray outputError(INDArray prediction, INDArray targets) {
        return switch (this) {
            case SOFTMAX_CROSS_ENTROPY -> prediction.mulColumnVector(targets.sum(true, 1)).subi(targets);
            case IDENTITY_MEAN_SQUARED_ERROR -> prediction.sub(targets).muli(2.0 / prediction.size(1));
            case SIGMOID_BINARY_CROSS_ENTROPY -> prediction.sub(targets);
        };
    }

    /**
     * One label per row drawn from the model's predictive at {@code ŷ}: a one-hot class from {@code Categorical(ŷ)}
     * (softmax), {@code ŷ + √(o/2) ε} with {@code ε ~ N(0, I)} (MSE, the negative log likelihood of
     * {@code N(ŷ, (o/2) I)}), independent {@code Bernoulli(ŷ_k)} (sigmoid). The random numbers are drawn on the host from
     * {@code random} row by row (one uniform per row for softmax, one uniform or Gaussian per row and output otherwise), so
     * a seed gives the same labels on every ND4J backend.
     *
     * @param prediction {@code ŷ}, {@code [rows, o]}; not modified
     * @param random     advanced
     * @return {@code [rows, o]} in {@code ŷ}'s data type
     */
    public INDArray sampleLabels(INDArray prediction, Random random) {
        DataType type = prediction.dataType();
        long rows = prediction.size(0);
        long o = prediction.size(1);
        switch (this) {
            case SOFTMAX_CROSS_ENTROPY: {
                // class j when c_{j−1} ≤ u < c_j for the cumulative sums c of p (c_{−1} = 0, c_{o−1} = ∞ against round-off):
                // y_j = [c_{j−1} ≤ u] − [c_j ≤ u] = [u < c_j] − [u < c_{j−1}]
                INDArray u = Nd4j.zeros(type, rows, o).addi(hostDraws(rows, 1, random, false, type));
                INDArray upper = prediction.cumsum(1);
                upper.get(NDArrayIndex.all(), NDArrayIndex.point(o - 1)).assign(Double.POSITIVE_INFINITY);
                INDArray lower = Nd4j.zeros(type, rows, o);
                if (o > 1) {
                    lower.get(NDArrayIndex.all(), NDArrayIndex.interval(1, o))
                            .assign(upper.get(NDArrayIndex.all(), NDArrayIndex.interval(0, o - 1)));
                }
                return u.lt(upper).castTo(type).subi(u.lt(lower).castTo(type));
            }
            case IDENTITY_MEAN_SQUARED_ERROR:
                return hostDraws(rows, o, random, true, type).muli(Math.sqrt(o / 2.0)).addi(prediction);
            case SIGMOID_BINARY_CROSS_ENTROPY:
                return hostDraws(rows, o, random, false, type).lt(prediction).castTo(type);
            default:
                throw new AssertionError(this);
        }
    }

    /** A {@code [rows, columns]} array of uniform [0, 1) or standard normal draws from {@code random}, filled row by row. */
    private static INDArray hostDraws(long rows, long columns, Random random, boolean gaussian, DataType type) {
        double[] values = new double[Math.toIntExact(rows * columns)];
        for (int i = 0; i < values.length; i++) {
            values[i] = gaussian ? random.nextGaussian() : random.nextDouble();
        }
        return Nd4j.createFromArray(values).reshape('c', new long[] {rows, columns}).castTo(type);
    }
}
