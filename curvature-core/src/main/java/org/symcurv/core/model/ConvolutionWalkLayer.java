package org.symcurv.core.model;

import java.util.List;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A 2-D convolution {@code a_out = φ(z)}, {@code z[o, p] = b_o + Σ_{c,i,j} K[o, c, i, j] · a_in[c, y_p + i, x_p + j]}
 * ({@code K} of shape {@code [out, in, kH, kW]} as DL4J stores it, row-major; window geometry, strides and padding in
 * {@link ConvolutionGeometry}), as a {@link WalkLayer}. With the patch matrix {@code X_i = im2col(a_in,i)}
 * ({@code [OH·OW, in·kH·kW]}) and {@code K̄ = K} as {@code [out, in·kH·kW]}, the layer is the dense map
 * {@code Z_i = X_i K̄ᵀ + b} applied at every position, so
 *
 * <pre>
 *   backward:  δ = e ⊙ φ'(z),   ∂ℓ/∂a_in = col2im(Δ_i K̄),   ∂ℓ_i/∂K̄ = Δ_iᵀ X_i = Σ_p δ_{i,p} ⊗ x_{i,p},   ∂ℓ_i/∂b = Σ_p δ_{i,p}
 * </pre>
 *
 * with {@code Δ_i = [δ_{i,p}]} ({@code [OH·OW, out]}). The kernel's per-example gradient is a sum over positions, not one
 * outer product: it is only materialised ({@link #perExampleGradient}, one batched matrix product
 * {@code [N, k·out, OH·OW] × [N, OH·OW, in·kH·kW]}); the bias's factors ({@code [k·N, out]}). The exact pieces are
 * {@link ActivatedLinearLayer}'s with plain loops over the connections. Arrays between layers are the flattened images
 * {@code [N, C·H·W]}; parameters are read from the network at every call.
 */
final class ConvolutionWalkLayer extends ActivatedLinearLayer {
    private final MultiLayerNetwork net;
    private final int index;
    private final String layerClass;
    private final ConvolutionGeometry geometry;
    private final ConvolutionMode mode;
    private final int out;
    private final boolean hasBias;
    private final IActivation activation;
    private final int weightOffset;
    private final int biasOffset;

    /**
     * @param image the input {@code [C, H, W]}
     */
    ConvolutionWalkLayer(MultiLayerNetwork net, int index, String layerClass, long[] image, int out, int[] kernel, int[] stride, int[] padding,
                         ConvolutionMode mode, boolean hasBias, IActivation activation, ParameterLayout layout) {
        super(ScalarActivation.fromDl4j(activation).orElse(null),
                ScalarActivation.fromDl4j(activation).isEmpty() ? "has activation " + activation + ", which has no exact oracle" : null);
        this.net = net;
        this.index = index;
        this.layerClass = layerClass;
        this.geometry = new ConvolutionGeometry(image, kernel, stride, padding, mode);
        this.mode = mode;
        this.out = out;
        this.hasBias = hasBias;
        this.activation = activation;
        this.weightOffset = Math.toIntExact(layout.leaf(index + "_W").offset());
        this.biasOffset = hasBias ? Math.toIntExact(layout.leaf(index + "_b").offset()) : -1;
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
        return "conv " + geometry.describe(mode) + " " + geometry.channels + "×" + geometry.height + "×" + geometry.width + "→" + out + "×"
                + geometry.outputHeight + "×" + geometry.outputWidth + " " + activation + (hasBias ? "" : " (no bias)");
    }

    @Override
    public long inputWidth() {
        return geometry.inputWidth();
    }

    @Override
    public long outputWidth() {
        return (long) out * geometry.positions();
    }

    @Override
    public long[] outputImage() {
        return new long[] {out, geometry.outputHeight, geometry.outputWidth};
    }

    @Override
    public List<String> parameterKeys() {
        return hasBias ? List.of("b", "W") : List.of("W");
    }

    @Override
    public long[] parameterShape(String key) {
        return switch (key) {
            case "W" -> new long[] {out, geometry.channels, geometry.kernelHeight, geometry.kernelWidth};
            case "b" -> new long[] {out};
            default -> throw new IllegalArgumentException("a convolution has parameters W and b, not '" + key + "'");
        };
    }

    // ------------------------------------------------------------------ batched

    /** {@code K̄}, {@code [out, in·kH·kW]}. */
    private INDArray kernel(DataType type) {
        return net.getLayer(index).getParam("W").castTo(type).reshape('c', new long[] {out, geometry.patchLength()});
    }

    /** {@code [n·P, out]} rows (example, position) ↦ {@code [n, out·P]} (each example's image {@code [out, OH, OW]}). */
    private INDArray toImages(INDArray rows) {
        long n = rows.size(0) / geometry.positions();
        return rows.reshape('c', new long[] {n, geometry.positions(), out}).permute(0, 2, 1).dup('c')
                .reshape('c', new long[] {n, outputWidth()});
    }

    /** The inverse of {@link #toImages}. */
    private INDArray toRows(INDArray images) {
        long n = images.size(0);
        return images.reshape('c', new long[] {n, out, geometry.positions()}).permute(0, 2, 1).dup('c')
                .reshape('c', new long[] {n * geometry.positions(), out});
    }

    @Override
    public Pass forward(INDArray input, DataType type) {
        INDArray patches = geometry.patches(input, 0.0);
        INDArray zRows = patches.mmul(kernel(type).transpose());
        if (hasBias) {
            INDArray b = net.getLayer(index).getParam("b");
            zRows.addiRowVector(b.reshape(1, b.length()).castTo(type));
        }
        INDArray z = toImages(zRows);
        return new Pass(input, activation.getActivation(z.dup(), false), List.of(z, patches));
    }

    @Override
    public Backward backward(Pass pass, INDArray outputError, int rowsPerExample, boolean inputError) {
        INDArray z = pass.cache().get(0);
        INDArray zRows = rowsPerExample == 1 ? z.dup() : NetworkWalk.repeatRows(z, rowsPerExample);
        INDArray delta = activation.backprop(zRows, outputError).getFirst();
        INDArray in = inputError ? geometry.imageGradient(toRows(delta).mmul(kernel(delta.dataType()))) : null;
        return new Backward(in, List.of(delta));
    }

    /** The bias factors; the kernel does not (a sum over positions). */
    @Override
    public boolean factors(String key) {
        return key.equals("b");
    }

    /**
     * {@code b ↦ [Σ_p δ_{i,p}]}; {@code W ↦} its materialised per-example gradient as one factor over all four axes,
     * {@code [k·N, out, in, kH, kW]} ({@link #perExampleGradient}, one batched product).
     */
    @Override
    public List<INDArray> gradientFactors(Pass pass, Backward backward, int rowsPerExample, String key) {
        if (key.equals("b")) {
            return List.of(biasGradient(backward));
        }
        INDArray g = perExampleGradient(pass, backward, rowsPerExample, key);
        return List.of(g.reshape('c', g.size(0), out, geometry.channels, geometry.kernelHeight, geometry.kernelWidth));
    }

    /** {@code Σ_p δ_{i,p}}, {@code [k·N, out]}. */
    private INDArray biasGradient(Backward backward) {
        INDArray delta = backward.cache().get(0);
        return delta.reshape('c', new long[] {delta.size(0), out, geometry.positions()}).sum(2);
    }

    /**
     * {@code W ↦ Δ_iᵀ X_i} flattened row-major as {@code [out, in, kH, kW]}: the rows {@code i·k + s} of one example share
     * its patches, so {@code δ} is read as {@code [N, k·out, P]} and multiplied by {@code [N, P, in·kH·kW]} in one batched
     * product; {@code b ↦ Σ_p δ_{i,p}}.
     */
    @Override
    public INDArray perExampleGradient(Pass pass, Backward backward, int rowsPerExample, String key) {
        if (key.equals("b")) {
            return biasGradient(backward);
        }
        if (!key.equals("W")) {
            throw new IllegalArgumentException("a convolution has parameters W and b, not '" + key + "'");
        }
        INDArray delta = backward.cache().get(0);
        long rows = delta.size(0);
        long n = rows / rowsPerExample;
        int positions = geometry.positions();
        INDArray d = delta.reshape('c', new long[] {n, (long) rowsPerExample * out, positions});
        INDArray x = pass.cache().get(1).reshape('c', new long[] {n, positions, geometry.patchLength()});
        return Nd4j.matmul(d, x).reshape('c', new long[] {rows, (long) out * geometry.patchLength()});
    }

    // ------------------------------------------------------------------ exact: the linear map a ↦ a ⋆ K + b

    /** Flat index in θ of {@code K[o, c, i, j]}. */
    private int weightIndex(int o, int c, int i, int j) {
        return weightOffset + ((o * geometry.channels + c) * geometry.kernelHeight + i) * geometry.kernelWidth + j;
    }

    @Override
    double[] linear(double[] params, double[] in, boolean withBias) {
        if (in.length != inputWidth()) {
            throw new IllegalArgumentException("an input has length " + in.length + " but layer " + index + " takes " + inputWidth());
        }
        int positions = geometry.positions();
        double[] z = new double[out * positions];
        for (int o = 0; o < out; o++) {
            double bias = withBias && biasOffset >= 0 ? params[biasOffset + o] : 0.0;
            for (int p = 0; p < positions; p++) {
                double s = bias;
                for (int c = 0; c < geometry.channels; c++) {
                    for (int i = 0; i < geometry.kernelHeight; i++) {
                        for (int j = 0; j < geometry.kernelWidth; j++) {
                            int q = geometry.inputIndex(c, p, i, j);
                            if (q >= 0) {
                                s += params[weightIndex(o, c, i, j)] * in[q];
                            }
                        }
                    }
                }
                z[o * positions + p] = s;
            }
        }
        return z;
    }

    @Override
    double[] linearTransposed(double[] params, double[] delta) {
        int positions = geometry.positions();
        double[] in = new double[Math.toIntExact(inputWidth())];
        for (int o = 0; o < out; o++) {
            for (int p = 0; p < positions; p++) {
                double d = delta[o * positions + p];
                if (d == 0) {
                    continue;
                }
                for (int c = 0; c < geometry.channels; c++) {
                    for (int i = 0; i < geometry.kernelHeight; i++) {
                        for (int j = 0; j < geometry.kernelWidth; j++) {
                            int q = geometry.inputIndex(c, p, i, j);
                            if (q >= 0) {
                                in[q] += params[weightIndex(o, c, i, j)] * d;
                            }
                        }
                    }
                }
            }
        }
        return in;
    }

    @Override
    void addGradient(double[] gradient, double[] in, double[] delta, double weight, boolean withBias) {
        int positions = geometry.positions();
        for (int o = 0; o < out; o++) {
            for (int p = 0; p < positions; p++) {
                double d = weight * delta[o * positions + p];
                if (d == 0) {
                    continue;
                }
                if (withBias && biasOffset >= 0) {
                    gradient[biasOffset + o] += d;
                }
                for (int c = 0; c < geometry.channels; c++) {
                    for (int i = 0; i < geometry.kernelHeight; i++) {
                        for (int j = 0; j < geometry.kernelWidth; j++) {
                            int q = geometry.inputIndex(c, p, i, j);
                            if (q >= 0) {
                                gradient[weightIndex(o, c, i, j)] += in[q] * d;
                            }
                        }
                    }
                }
            }
        }
    }

    @Override
    public String toString() {
        return "ConvolutionWalkLayer[" + index + ": " + describe() + "]";
    }
}
