package org.symcurv.core.model;

import java.util.Optional;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.activations.impl.ActivationELU;
import org.nd4j.linalg.activations.impl.ActivationIdentity;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.activations.impl.ActivationReLU;
import org.nd4j.linalg.activations.impl.ActivationSigmoid;
import org.nd4j.linalg.activations.impl.ActivationSoftPlus;
import org.nd4j.linalg.activations.impl.ActivationSoftSign;
import org.nd4j.linalg.activations.impl.ActivationTanH;

/**
 * An elementwise activation {@code φ: R → R} with its first and second derivatives in float64, for the
 * exact oracles ({@link ExactCurvature}). Piecewise definitions take the derivative of the piece with
 * {@code z > 0} only at {@code z > 0} (DL4J's convention for ReLU: {@code φ'(0) = 0}).
 *
 * <p>DL4J 1.0.0-M2.1 rounds the leaky-ReLU slope to float32 in its backward pass (not in its forward pass),
 * even in a float64 network: with the default {@code α = 0.01} its gradients differ from these by a
 * relative ~1e-11. Slopes exactly representable in float32 (0.25, 0.5, …) agree to round-off.
 *
 * @param kind  which function
 * @param alpha the slope ({@link Kind#LEAKY_RELU}) or scale ({@link Kind#ELU}) of the negative part; 0 otherwise
 */
public record ScalarActivation(Kind kind, double alpha) {
    /** The supported functions. */
    public enum Kind {
        /** {@code φ(z) = z}. */
        IDENTITY,
        /** {@code φ(z) = max(z, 0)}. */
        RELU,
        /** {@code φ(z) = z} for {@code z > 0}, {@code α z} otherwise. */
        LEAKY_RELU,
        /** {@code φ(z) = z} for {@code z > 0}, {@code α (e^z − 1)} otherwise. */
        ELU,
        /** {@code φ(z) = tanh z}. */
        TANH,
        /** {@code φ(z) = 1 / (1 + e^{−z})}. */
        SIGMOID,
        /** {@code φ(z) = log(1 + e^z)}. */
        SOFTPLUS,
        /** {@code φ(z) = z / (1 + |z|)}. */
        SOFTSIGN
    }

    public ScalarActivation {
        java.util.Objects.requireNonNull(kind, "kind");
        if (!Double.isFinite(alpha)) {
            throw new IllegalArgumentException("activation " + kind + " needs a finite alpha, got " + alpha);
        }
    }

    /** A function without a parameter. */
    public static ScalarActivation of(Kind kind) {
        return new ScalarActivation(kind, 0.0);
    }

    /**
     * The function DL4J's {@code activation} computes, if it is one of the supported ones with supported
     * settings (ReLU only without max, threshold or negative slope).
     */
    public static Optional<ScalarActivation> fromDl4j(IActivation activation) {
        Class<?> c = activation.getClass();
        if (c == ActivationIdentity.class) {
            return Optional.of(of(Kind.IDENTITY));
        }
        if (c == ActivationReLU.class) {
            ActivationReLU relu = (ActivationReLU) activation;
            boolean plain = relu.getMax() == null && isZeroOrNull(relu.getThreshold()) && isZeroOrNull(relu.getNegativeSlope());
            return plain ? Optional.of(of(Kind.RELU)) : Optional.empty();
        }
        if (c == ActivationLReLU.class) {
            return Optional.of(new ScalarActivation(Kind.LEAKY_RELU, ((ActivationLReLU) activation).getAlpha()));
        }
        if (c == ActivationELU.class) {
            return Optional.of(new ScalarActivation(Kind.ELU, ((ActivationELU) activation).getAlpha()));
        }
        if (c == ActivationTanH.class) {
            return Optional.of(of(Kind.TANH));
        }
        if (c == ActivationSigmoid.class) {
            return Optional.of(of(Kind.SIGMOID));
        }
        if (c == ActivationSoftPlus.class) {
            return Optional.of(of(Kind.SOFTPLUS));
        }
        if (c == ActivationSoftSign.class) {
            return Optional.of(of(Kind.SOFTSIGN));
        }
        return Optional.empty();
    }

    private static boolean isZeroOrNull(Double d) {
        return d == null || d == 0.0;
    }

    /** {@code φ(z)}. */
    public double value(double z) {
        return switch (kind) {
            case IDENTITY -> z;
            case RELU -> z > 0 ? z : 0.0;
            case LEAKY_RELU -> z > 0 ? z : alpha * z;
            case ELU -> z > 0 ? z : alpha * Math.expm1(z);
            case TANH -> Math.tanh(z);
            case SIGMOID -> sigmoid(z);
            case SOFTPLUS -> z > 0 ? z + Math.log1p(Math.exp(-z)) : Math.log1p(Math.exp(z));
            case SOFTSIGN -> z / (1 + Math.abs(z));
        };
    }

    /** {@code φ'(z)}. */
    public double derivative(double z) {
        return switch (kind) {
            case IDENTITY -> 1.0;
            case RELU -> z > 0 ? 1.0 : 0.0;
            case LEAKY_RELU -> z > 0 ? 1.0 : alpha;
            case ELU -> z > 0 ? 1.0 : alpha * Math.exp(z);
            case TANH -> {
                double t = Math.tanh(z);
                yield 1 - t * t;
            }
            case SIGMOID -> {
                double s = sigmoid(z);
                yield s * (1 - s);
            }
            case SOFTPLUS -> sigmoid(z);
            case SOFTSIGN -> {
                double d = 1 + Math.abs(z);
                yield 1 / (d * d);
            }
        };
    }

    /** {@code φ''(z)} (zero on the linear pieces of piecewise-linear functions). */
    public double secondDerivative(double z) {
        return switch (kind) {
            case IDENTITY, RELU, LEAKY_RELU -> 0.0;
            case ELU -> z > 0 ? 0.0 : alpha * Math.exp(z);
            case TANH -> {
                double t = Math.tanh(z);
                yield -2 * t * (1 - t * t);
            }
            case SIGMOID -> {
                double s = sigmoid(z);
                yield s * (1 - s) * (1 - 2 * s);
            }
            case SOFTPLUS -> {
                double s = sigmoid(z);
                yield s * (1 - s);
            }
            case SOFTSIGN -> {
                double d = 1 + Math.abs(z);
                yield -2 * Math.signum(z) / (d * d * d);
            }
        };
    }

    /** {@code 1 / (1 + e^{−z})}, evaluated without overflow. */
    static double sigmoid(double z) {
        if (z >= 0) {
            return 1 / (1 + Math.exp(-z));
        }
        double e = Math.exp(z);
        return e / (1 + e);
    }

    @Override
    public String toString() {
        String name = kind.name().toLowerCase(java.util.Locale.ROOT);
        return kind == Kind.LEAKY_RELU || kind == Kind.ELU ? name + "(" + alpha + ")" : name;
    }
}
