package org.symcurv.core.model;

import java.util.List;
import java.util.Optional;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * 2-D pooling of every channel over the windows of {@link ConvolutionGeometry}, as a {@link WalkLayer} without parameters:
 *
 * <pre>
 *   max:      a_out[c, p] = a_in[c, m(c, p)],   m(c, p) = the first (row-major) argmax over the window's cells in the image
 *             ∂ℓ/∂a_in[c, q] = Σ_{p : m(c, p) = q} e[c, p]
 *   average:  a_out[c, p] = (1/n_p) Σ_{q ∈ window p} a_in[c, q],   ∂ℓ/∂a_in[c, q] = Σ_{p ∋ q} e[c, p] / n_p
 * </pre>
 *
 * where padding never wins a max, and the divisor {@code n_p} is the number of the window's cells inside the image, or
 * {@code kH·kW} when DL4J's {@code avgPoolIncludePadInDivisor} is set. The batched passes are one im2col, one
 * loop over Java arrays (one kernel, {@code pool}, shared with the exact pieces); max pooling keeps the argmax. The R-operator pieces: max pooling is
 * linear on each region where the argmax is fixed ({@code R(a_out) = R(a_in)[m]}, no second-order term), average pooling
 * is linear.
 */
final class SubsamplingWalkLayer implements WalkLayer {
    private final int index;
    private final String layerClass;
    private final ConvolutionGeometry geometry;
    private final ConvolutionMode mode;
    private final boolean max;
    /** {@code 1/n_p} per output position (average pooling). */
    private final double[] inverseDivisor;
    /** Whether the output is an image for the next layer (not for a collapsed global pooling). */
    private final boolean imageOutput;

    SubsamplingWalkLayer(int index, String layerClass, long[] image, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode, boolean max,
                         boolean includePaddingInDivisor) {
        this(index, layerClass, image, kernel, stride, padding, mode, max, includePaddingInDivisor, true);
    }

    /**
     * A {@code GlobalPoolingLayer} over an image {@code [C, H, W]}: one {@code H×W} window, output {@code C} features (a
     * flat vector when DL4J collapses the dimensions, else the image {@code [C, 1, 1]}).
     */
    static SubsamplingWalkLayer global(int index, String layerClass, long[] image, boolean max, boolean collapse) {
        int[] window = {Math.toIntExact(image[1]), Math.toIntExact(image[2])};
        return new SubsamplingWalkLayer(index, layerClass, image, window, window, new int[] {0, 0}, ConvolutionMode.Truncate, max, false, !collapse);
    }

    private SubsamplingWalkLayer(int index, String layerClass, long[] image, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode, boolean max,
                                 boolean includePaddingInDivisor, boolean imageOutput) {
        this.imageOutput = imageOutput;
        this.index = index;
        this.layerClass = layerClass;
        this.geometry = new ConvolutionGeometry(image, kernel, stride, padding, mode);
        this.mode = mode;
        this.max = max;
        this.inverseDivisor = new double[geometry.positions()];
        for (int p = 0; p < inverseDivisor.length; p++) {
            int inside = 0;
            for (int i = 0; i < geometry.kernelHeight; i++) {
                for (int j = 0; j < geometry.kernelWidth; j++) {
                    inside += geometry.inputIndex(0, p, i, j) >= 0 ? 1 : 0;
                }
            }
            inverseDivisor[p] = 1.0 / (includePaddingInDivisor ? geometry.kernelHeight * geometry.kernelWidth : inside);
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
        return (max ? "max" : "avg") + " pool " + geometry.describe(mode) + " → " + geometry.channels + "×" + geometry.outputHeight + "×"
                + geometry.outputWidth;
    }

    @Override
    public long inputWidth() {
        return geometry.inputWidth();
    }

    @Override
    public long outputWidth() {
        return (long) geometry.channels * geometry.positions();
    }

    @Override
    public long[] outputImage() {
        return imageOutput ? new long[] {geometry.channels, geometry.outputHeight, geometry.outputWidth} : null;
    }

    @Override
    public List<String> parameterKeys() {
        return List.of();
    }

    @Override
    public long[] parameterShape(String key) {
        throw new IllegalArgumentException("a pooling layer has no parameters, not '" + key + "'");
    }

    // ------------------------------------------------------------------ batched

    /**
     * One example's pooling, the batched passes' and the exact pieces' one kernel: {@code out[o + c·P + p]} from
     * {@code in[i + ·]}; for max pooling {@code argmax[o + c·P + p]} gets the flat input index {@code m(c, p)}.
     */
    private void pool(double[] in, int i, double[] out, int o, int[] argmax) {
        int positions = geometry.positions();
        for (int c = 0; c < geometry.channels; c++) {
            for (int p = 0; p < positions; p++) {
                double best = Double.NEGATIVE_INFINITY;
                int at = -1;
                double sum = 0;
                for (int y = 0; y < geometry.kernelHeight; y++) {
                    for (int x = 0; x < geometry.kernelWidth; x++) {
                        int q = geometry.inputIndex(c, p, y, x);
                        if (q < 0) {
                            continue;
                        }
                        double v = in[i + q];
                        sum += v;
                        if (v > best) {
                            best = v;
                            at = q;
                        }
                    }
                }
                int k = o + c * positions + p;
                if (max) {
                    out[k] = best;
                    argmax[k] = at;
                } else {
                    out[k] = sum * inverseDivisor[p];
                }
            }
        }
    }

    /**
     * Plain loops over Java arrays: pooling reads a handful of cells per output, where ND4J's per-op overhead on
     * {@code 10⁵}-element arrays made a batch of 256 LeNet examples cost seconds (docs/BENCHMARKS.md, CNN cost).
     * The cache holds {@code m(c, p)} per example and output, {@code [N, C·P]} INT, for max pooling.
     */
    @Override
    public Pass forward(INDArray input, DataType type) {
        int n = Math.toIntExact(input.size(0));
        int in = Math.toIntExact(inputWidth());
        int outWidth = Math.toIntExact(outputWidth());
        double[] x = input.castTo(DataType.DOUBLE).dup('c').reshape(-1).toDoubleVector();
        double[] out = new double[n * outWidth];
        int[] argmax = max ? new int[n * outWidth] : null;
        for (int i = 0; i < n; i++) {
            pool(x, i * in, out, i * outWidth, argmax);
        }
        INDArray output = Nd4j.createFromArray(out).reshape('c', new long[] {n, outWidth}).castTo(type);
        return new Pass(input, output, max ? List.of(Nd4j.createFromArray(argmax).reshape('c', new long[] {n, outWidth})) : List.of());
    }

    @Override
    public Backward backward(Pass pass, INDArray outputError, int rowsPerExample, boolean inputError) {
        if (!inputError) {
            return new Backward(null, List.of());
        }
        int rows = Math.toIntExact(outputError.size(0));
        int in = Math.toIntExact(inputWidth());
        int outWidth = Math.toIntExact(outputWidth());
        int positions = geometry.positions();
        double[] e = outputError.castTo(DataType.DOUBLE).dup('c').reshape(-1).toDoubleVector();
        int[] argmax = max ? pass.cache().get(0).reshape(-1).toIntVector() : null;
        double[] dx = new double[rows * in];
        for (int r = 0; r < rows; r++) {
            int example = r / rowsPerExample;
            for (int c = 0; c < geometry.channels; c++) {
                for (int p = 0; p < positions; p++) {
                    int o = c * positions + p;
                    double share = e[r * outWidth + o];
                    if (max) {
                        dx[r * in + argmax[example * outWidth + o]] += share;
                        continue;
                    }
                    share *= inverseDivisor[p];
                    for (int y = 0; y < geometry.kernelHeight; y++) {
                        for (int x = 0; x < geometry.kernelWidth; x++) {
                            int q = geometry.inputIndex(c, p, y, x);
                            if (q >= 0) {
                                dx[r * in + q] += share;
                            }
                        }
                    }
                }
            }
        }
        return new Backward(Nd4j.createFromArray(dx).reshape('c', new long[] {rows, in}).castTo(outputError.dataType()), List.of());
    }

    @Override
    public List<INDArray> gradientFactors(Pass pass, Backward backward, int rowsPerExample, String key) {
        throw new IllegalArgumentException("a pooling layer has no parameters, not '" + key + "'");
    }

    @Override
    public INDArray perExampleGradient(Pass pass, Backward backward, int rowsPerExample, String key) {
        throw new IllegalArgumentException("a pooling layer has no parameters, not '" + key + "'");
    }

    // ------------------------------------------------------------------ exact

    @Override
    public Optional<String> exactProblem() {
        return Optional.empty();
    }

    /** Max: the flat input index {@code m(c, p)} per output {@code c·P + p} (stored as doubles in the pass's cache). */
    @Override
    public ExactPass exactForward(double[] theta, double[] input) {
        if (input.length != inputWidth()) {
            throw new IllegalArgumentException("an input has length " + input.length + " but layer " + index + " takes " + inputWidth());
        }
        double[] output = new double[Math.toIntExact(outputWidth())];
        int[] argmax = max ? new int[output.length] : null;
        pool(input, 0, output, 0, argmax);
        double[] cache = null;
        if (max) {
            cache = new double[argmax.length];
            for (int o = 0; o < argmax.length; o++) {
                cache[o] = argmax[o];
            }
        }
        return new ExactPass(input, output, cache);
    }

    /** {@code out[c·P + p] = Σ_q T[c, p, q] in[q]}, the pooling map linearised at the pass (max: at its argmax). */
    private double[] linearised(ExactPass pass, double[] in) {
        int positions = geometry.positions();
        double[] out = new double[Math.toIntExact(outputWidth())];
        for (int c = 0; c < geometry.channels; c++) {
            for (int p = 0; p < positions; p++) {
                int o = c * positions + p;
                if (max) {
                    out[o] = in[(int) pass.cache()[o]];
                    continue;
                }
                double sum = 0;
                for (int i = 0; i < geometry.kernelHeight; i++) {
                    for (int j = 0; j < geometry.kernelWidth; j++) {
                        int q = geometry.inputIndex(c, p, i, j);
                        if (q >= 0) {
                            sum += in[q];
                        }
                    }
                }
                out[o] = sum * inverseDivisor[p];
            }
        }
        return out;
    }

    /** {@code Tᵀ e}. */
    private double[] linearisedTransposed(ExactPass pass, double[] e) {
        int positions = geometry.positions();
        double[] in = new double[Math.toIntExact(inputWidth())];
        for (int c = 0; c < geometry.channels; c++) {
            for (int p = 0; p < positions; p++) {
                int o = c * positions + p;
                if (max) {
                    in[(int) pass.cache()[o]] += e[o];
                    continue;
                }
                double share = e[o] * inverseDivisor[p];
                for (int i = 0; i < geometry.kernelHeight; i++) {
                    for (int j = 0; j < geometry.kernelWidth; j++) {
                        int q = geometry.inputIndex(c, p, i, j);
                        if (q >= 0) {
                            in[q] += share;
                        }
                    }
                }
            }
        }
        return in;
    }

    @Override
    public double[] exactBackward(double[] theta, ExactPass pass, double[] outputError, double[] gradient, double weight, boolean inputError) {
        return inputError ? linearisedTransposed(pass, outputError) : null;
    }

    @Override
    public ExactTangent exactTangent(double[] theta, double[] v, ExactPass pass, double[] inputTangent) {
        return new ExactTangent(linearised(pass, inputTangent), null);
    }

    @Override
    public double[][] exactTangentBackward(double[] theta, double[] v, ExactPass pass, double[] inputTangent, ExactTangent tangent,
                                           double[] outputError, double[] outputErrorTangent, double[] gradient, double weight, boolean inputError) {
        if (!inputError) {
            return new double[][] {null, null};
        }
        return new double[][] {linearisedTransposed(pass, outputError), linearisedTransposed(pass, outputErrorTangent)};
    }

    @Override
    public String toString() {
        return "SubsamplingWalkLayer[" + index + ": " + describe() + "]";
    }
}
