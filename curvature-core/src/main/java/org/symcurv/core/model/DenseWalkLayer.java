package org.symcurv.core.model;

import java.util.List;
import java.util.Optional;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A dense layer {@code a_out = φ(z)}, {@code z = a_in W + b} (row vectors, {@code W} of shape {@code [nIn, nOut]} as DL4J
 * stores it, column-major inside {@code params()}), as a {@link WalkLayer}:
 *
 * <pre>
 *   backward:  δ = e ⊙ φ'(z),   ∂ℓ/∂a_in = δ Wᵀ,   ∂ℓ/∂W = a_in ⊗ δ,   ∂ℓ/∂b = δ
 *   R-forward: R(z) = R(a_in) W + a_in V + c,   R(a_out) = φ'(z) R(z)
 *   R-backward: R(δ) = R(e) ⊙ φ'(z) + e ⊙ φ''(z) ⊙ R(z),   R(∂ℓ/∂W) = R(a_in)ᵀ δ + a_inᵀ R(δ),   R(∂ℓ/∂b) = R(δ),
 *              R(∂ℓ/∂a_in) = R(δ) Wᵀ + δ Vᵀ
 * </pre>
 *
 * with {@code e = ∂ℓ/∂a_out} and {@code (V, c)} the direction's weight and bias. The network's output layer is a dense
 * layer without {@code φ} here (its activation is part of the {@link OutputLoss}). The batched passes use the DL4J
 * activation itself ({@code getActivation}, {@code backprop}), so they agree with DL4J's gradients; the exact pieces use
 * its float64 twin {@link ScalarActivation}. Parameters are read from the network at every call.
 */
final class DenseWalkLayer implements WalkLayer {
    private final MultiLayerNetwork net;
    private final int index;
    private final String layerClass;
    private final long nIn;
    private final long nOut;
    private final boolean hasBias;
    /** {@code φ}, or {@code null} for the output layer (identity here). */
    private final IActivation activation;
    /** The activation DL4J configures, shown by {@link #describe} (the output layer's belongs to the loss). */
    private final IActivation configuredActivation;
    /** The float64 twin of {@code φ} ({@code null} for none, or when {@code exactProblem} says why not). */
    private final ScalarActivation exactActivation;
    private final String exactProblem;
    private final int weightOffset;
    /** Offset of the bias in {@code θ}, or −1 without bias. */
    private final int biasOffset;

    /**
     * @param activation the layer's DL4J activation
     * @param output     whether this is the network's output layer, whose activation belongs to the {@link OutputLoss}
     *                   (then the layer outputs {@code z})
     * @param layout     where the layer's parameters sit in {@code θ}
     */
    DenseWalkLayer(MultiLayerNetwork net, int index, String layerClass, long nIn, long nOut, boolean hasBias, IActivation activation,
                   boolean output, ParameterLayout layout) {
        this.net = net;
        this.index = index;
        this.layerClass = layerClass;
        this.nIn = nIn;
        this.nOut = nOut;
        this.hasBias = hasBias;
        this.activation = output ? null : activation;
        this.configuredActivation = activation;
        ParameterLeaf w = layout.leaf(index + "_W");
        this.weightOffset = Math.toIntExact(w.offset());
        this.biasOffset = hasBias ? Math.toIntExact(layout.leaf(index + "_b").offset()) : -1;
        Optional<ScalarActivation> scalar = output ? Optional.empty() : ScalarActivation.fromDl4j(activation);
        this.exactActivation = scalar.orElse(null);
        if (!output && scalar.isEmpty()) {
            this.exactProblem = "has activation " + activation + ", which has no exact oracle";
        } else if (w.order() != 'f') {
            this.exactProblem = "stores W in '" + w.order() + "' order; the exact oracle reads W column-major as DL4J 1.0.0-M2.1 does";
        } else {
            this.exactProblem = null;
        }
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public String layerClass() {
        return layerClass;
    }

    @Override
    public String describe() {
        return nIn + "→" + nOut + " " + configuredActivation + (hasBias ? "" : " (no bias)");
    }

    @Override
    public long inputWidth() {
        return nIn;
    }

    @Override
    public long outputWidth() {
        return nOut;
    }

    @Override
    public List<String> parameterKeys() {
        return hasBias ? List.of("W", "b") : List.of("W");
    }

    @Override
    public long[] parameterShape(String key) {
        return switch (key) {
            case "W" -> new long[] {nIn, nOut};
            case "b" -> new long[] {nOut};
            default -> throw new IllegalArgumentException("a dense layer has parameters W and b, not '" + key + "'");
        };
    }

    // ------------------------------------------------------------------ batched

    private INDArray weight(DataType type) {
        return net.getLayer(index).getParam("W").castTo(type);
    }

    @Override
    public Pass forward(INDArray input, DataType type) {
        INDArray z = input.mmul(weight(type));
        if (hasBias) {
            INDArray b = net.getLayer(index).getParam("b");
            z.addiRowVector(b.reshape(1, b.length()).castTo(type));
        }
        INDArray out = activation == null ? z : activation.getActivation(z.dup(), false);
        return new Pass(input, out, List.of(z));
    }

    @Override
    public Backward backward(Pass pass, INDArray outputError, int rowsPerExample, boolean inputError) {
        INDArray delta;
        if (activation == null) {
            delta = outputError;
        } else {
            // backprop overwrites its input: hand it a copy (a repetition is one)
            INDArray z = pass.cache().get(0);
            INDArray zRows = rowsPerExample == 1 ? z.dup() : NetworkWalk.repeatRows(z, rowsPerExample);
            delta = activation.backprop(zRows, outputError).getFirst();
        }
        INDArray in = inputError ? delta.mmul(weight(delta.dataType()).transpose()) : null;
        return new Backward(in, List.of(delta));
    }

    @Override
    public List<INDArray> gradientFactors(Pass pass, Backward backward, int rowsPerExample, String key) {
        INDArray delta = backward.cache().get(0);
        return switch (key) {
            case "W" -> List.of(NetworkWalk.repeatRows(pass.input(), rowsPerExample), delta);
            case "b" -> List.of(delta);
            default -> throw new IllegalArgumentException("a dense layer has parameters W and b, not '" + key + "'");
        };
    }

    // ------------------------------------------------------------------ exact

    @Override
    public Optional<String> exactProblem() {
        return Optional.ofNullable(exactProblem);
    }

    private void requireExact() {
        if (exactProblem != null) {
            throw new UnsupportedLayerException(index, layerClass, exactProblem, NetworkWalk.EXACT_REMEDY);
        }
    }

    @Override
    public ExactPass exactForward(double[] theta, double[] input) {
        requireExact();
        double[] z = affine(theta, input);
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
        addOuter(gradient, pass.input(), delta, weight, true);
        return inputError ? timesTransposedWeights(theta, delta) : null;
    }

    @Override
    public ExactTangent exactTangent(double[] theta, double[] v, ExactPass pass, double[] inputTangent) {
        double[] rz = sum(timesWeights(theta, inputTangent), affine(v, pass.input()));
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
        addOuter(gradient, inputTangent, delta, weight, false);
        addOuter(gradient, pass.input(), rDelta, weight, true);
        if (!inputError) {
            return new double[][] {null, null};
        }
        double[] e = timesTransposedWeights(theta, delta);
        double[] re = sum(timesTransposedWeights(theta, rDelta), timesTransposedWeights(v, delta));
        return new double[][] {e, re};
    }

    /** {@code in W + b}, with the weights and bias of {@code params} (θ, or a direction v). */
    private double[] affine(double[] params, double[] in) {
        if (in.length != nIn) {
            throw new IllegalArgumentException("an input has length " + in.length + " but layer " + index + " has nIn " + nIn);
        }
        int n = (int) nIn;
        double[] out = new double[(int) nOut];
        for (int j = 0; j < out.length; j++) {
            int column = weightOffset + j * n;
            double s = biasOffset >= 0 ? params[biasOffset + j] : 0.0;
            for (int i = 0; i < n; i++) {
                s += in[i] * params[column + i];
            }
            out[j] = s;
        }
        return out;
    }

    /** {@code in W}, without the bias. */
    private double[] timesWeights(double[] params, double[] in) {
        int n = (int) nIn;
        double[] out = new double[(int) nOut];
        for (int j = 0; j < out.length; j++) {
            int column = weightOffset + j * n;
            double s = 0;
            for (int i = 0; i < n; i++) {
                s += in[i] * params[column + i];
            }
            out[j] = s;
        }
        return out;
    }

    /** {@code in Wᵀ} for a row {@code in} over the layer's units: {@code out[i] = Σ_j W[i, j] in[j]}. */
    private double[] timesTransposedWeights(double[] params, double[] in) {
        int n = (int) nIn;
        double[] out = new double[n];
        for (int j = 0; j < nOut; j++) {
            int column = weightOffset + j * n;
            double d = in[j];
            if (d == 0) {
                continue;
            }
            for (int i = 0; i < n; i++) {
                out[i] += params[column + i] * d;
            }
        }
        return out;
    }

    /** Adds {@code weight · aᵀ δ} to the W block in {@code out}, and {@code weight · δ} to the b block if {@code bias}. */
    private void addOuter(double[] out, double[] a, double[] delta, double weight, boolean bias) {
        int n = (int) nIn;
        for (int j = 0; j < nOut; j++) {
            double d = weight * delta[j];
            if (d == 0) {
                continue;
            }
            int column = weightOffset + j * n;
            for (int i = 0; i < n; i++) {
                out[column + i] += a[i] * d;
            }
            if (bias && biasOffset >= 0) {
                out[biasOffset + j] += d;
            }
        }
    }

    private static double[] sum(double[] a, double[] b) {
        double[] out = new double[a.length];
        for (int i = 0; i < a.length; i++) {
            out[i] = a[i] + b[i];
        }
        return out;
    }

    @Override
    public String toString() {
        return "DenseWalkLayer[" + index + ": " + describe() + "]";
    }
}
