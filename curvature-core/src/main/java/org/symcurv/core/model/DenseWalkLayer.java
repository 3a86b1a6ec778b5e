package org.symcurv.core.model;

import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.estimate.SymmetricFisherAccumulator;

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
 * with {@code e = ∂ℓ/∂a_out} and {@code (V, c)} the direction's weight and bias (the exact pieces are
 * {@link ActivatedLinearLayer}'s with the linear map {@code a ↦ a W + b}). The network's output layer is a dense
 * layer without {@code φ} here (its activation is part of the {@link OutputLoss}). The batched passes use the DL4J
 * activation itself ({@code getActivation}, {@code backprop}), so they agree with DL4J's gradients; the exact pieces use
 * its float64 twin {@link ScalarActivation}. Parameters are read from the network at every call.
 *
 * <p>A dense layer fed through a {@code CnnToFeedForwardPreProcessor} has the 3-axis weight leaf {@code [H·W, C, nOut]}
 * ({@link ParameterLayout}); its flat order is that of {@code [nIn, nOut]} column-major, so every formula is unchanged, but
 * its per-example gradient {@code a_i ⊗ δ_i} does not factor over the three axes: its factors are
 * {@code A_i[s, c] = a_i[c·H·W + s]} over the first two axes and {@code δ_i} over the third ({@link #gradientFactors}).
 */
final class DenseWalkLayer extends ActivatedLinearLayer {
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
    /** The weight leaf's shape: {@code [nIn, nOut]}, or {@code [H·W, C, nOut]} after a flattening. */
    private final long[] weightShape;
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
        super(output ? null : ScalarActivation.fromDl4j(activation).orElse(null), exactProblem(activation, output, layout.leaf(index + "_W")));
        this.net = net;
        this.index = index;
        this.layerClass = layerClass;
        this.nIn = nIn;
        this.nOut = nOut;
        this.hasBias = hasBias;
        this.activation = output ? null : activation;
        this.configuredActivation = activation;
        ParameterLeaf w = layout.leaf(index + "_W");
        this.weightShape = w.shape();
        this.weightOffset = Math.toIntExact(w.offset());
        this.biasOffset = hasBias ? Math.toIntExact(layout.leaf(index + "_b").offset()) : -1;
    }

    private static String exactProblem(IActivation activation, boolean output, ParameterLeaf w) {
        if (!output && ScalarActivation.fromDl4j(activation).isEmpty()) {
            return "has activation " + activation + ", which has no exact oracle";
        }
        if (w.order() != 'f') {
            return "stores W in '" + w.order() + "' order; the exact oracle reads W column-major as DL4J 1.0.0-M2.1 does";
        }
        return null;
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
            case "W" -> weightShape.clone();
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

    /** {@code W} factors unless it is the 3-axis leaf of a flattened image; {@code b} always. */
    @Override
    public boolean factors(String key) {
        return !key.equals("W") || weightShape.length == 2;
    }

    /**
     * {@code W ↦ [a_in, δ]}, or for the 3-axis leaf {@code [H·W, C, nOut]} of a flattened image {@code [A, δ]} with
     * {@code A[r, s, c] = a_in[r, c·H·W + s]} ({@code [k·N, H·W, C]}, a view of the input read channel-major);
     * {@code b ↦ [δ]}.
     */
    @Override
    public List<INDArray> gradientFactors(Pass pass, Backward backward, int rowsPerExample, String key) {
        INDArray delta = backward.cache().get(0);
        return switch (key) {
            case "W" -> {
                INDArray a = NetworkWalk.repeatRows(pass.input(), rowsPerExample);
                if (weightShape.length == 2) {
                    yield List.of(a, delta);
                }
                yield List.of(a.reshape('c', a.size(0), weightShape[1], weightShape[0]).permute(0, 2, 1), delta);
            }
            case "b" -> List.of(delta);
            default -> throw new IllegalArgumentException("a dense layer has parameters W and b, not '" + key + "'");
        };
    }

    /** {@code W ↦ vec_f(a_i ⊗ δ_i)}, i.e. row {@code i} holds {@code a_{i,r} δ_{i,j}} at {@code r + nIn·j}; {@code b ↦ δ_i}. */
    @Override
    public INDArray perExampleGradient(Pass pass, Backward backward, int rowsPerExample, String key) {
        INDArray delta = backward.cache().get(0);
        return switch (key) {
            case "W" -> SymmetricFisherAccumulator.rowKronecker(delta, NetworkWalk.repeatRows(pass.input(), rowsPerExample));
            case "b" -> delta;
            default -> throw new IllegalArgumentException("a dense layer has parameters W and b, not '" + key + "'");
        };
    }

    /**
     * {@code W ↦ (A ∘ A)ᵀ (Δ ∘ Δ)} ({@code [nIn, nOut]}, read column-major as the leaf, also the 3-axis one),
     * {@code b ↦ Σ_r δ_r²}: no per-example gradient materialised.
     */
    @Override
    public INDArray squaredGradientSum(Pass pass, Backward backward, int rowsPerExample, String key, DataType type) {
        INDArray delta = backward.cache().get(0).castTo(type);
        INDArray deltaSquared = delta.mul(delta);
        return switch (key) {
            case "W" -> {
                INDArray a = NetworkWalk.repeatRows(pass.input(), rowsPerExample).castTo(type);
                yield a.mul(a).transpose().mmul(deltaSquared).reshape('f', new long[] {nIn * nOut});
            }
            case "b" -> deltaSquared.sum(0);
            default -> throw new IllegalArgumentException("a dense layer has parameters W and b, not '" + key + "'");
        };
    }

    // ------------------------------------------------------------------ exact: the linear map a ↦ a W + b

    @Override
    double[] linear(double[] params, double[] in, boolean withBias) {
        return withBias ? affine(params, in) : timesWeights(params, in);
    }

    @Override
    double[] linearTransposed(double[] params, double[] delta) {
        return timesTransposedWeights(params, delta);
    }

    @Override
    void addGradient(double[] gradient, double[] in, double[] delta, double weight, boolean withBias) {
        addOuter(gradient, in, delta, weight, withBias);
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

    @Override
    public String toString() {
        return "DenseWalkLayer[" + index + ": " + describe() + "]";
    }
}
