package org.symcurv.core.model;

import java.util.List;
import java.util.Optional;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;

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
 * reduction and one col2im; max pooling keeps the one-hot mask of the argmax. The R-operator pieces: max pooling is
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

    SubsamplingWalkLayer(int index, String layerClass, long[] image, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode, boolean max,
                         boolean includePaddingInDivisor) {
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
        return new long[] {geometry.channels, geometry.outputHeight, geometry.outputWidth};
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

    private int window() {
        return geometry.kernelHeight * geometry.kernelWidth;
    }

    /** {@code [n, P·C]} (position-major) ↦ {@code [n, C·P]} (each example's image {@code [C, OH, OW]}). */
    private INDArray positionMajorToImages(INDArray a) {
        long n = a.size(0);
        return a.reshape('c', new long[] {n, geometry.positions(), geometry.channels}).permute(0, 2, 1).dup('c')
                .reshape('c', new long[] {n, outputWidth()});
    }

    /** The inverse of {@link #positionMajorToImages}. */
    private INDArray imagesToPositionMajor(INDArray a) {
        long n = a.size(0);
        return a.reshape('c', new long[] {n, geometry.channels, geometry.positions()}).permute(0, 2, 1).dup('c')
                .reshape('c', new long[] {n, outputWidth()});
    }

    /** {@code 1/n_p} for every (position, channel), {@code [1, P·C]}. */
    private INDArray inverseDivisorRow(DataType type) {
        double[] row = new double[geometry.positions() * geometry.channels];
        for (int p = 0; p < geometry.positions(); p++) {
            for (int c = 0; c < geometry.channels; c++) {
                row[p * geometry.channels + c] = inverseDivisor[p];
            }
        }
        return Nd4j.createFromArray(row).castTo(type).reshape(1, row.length);
    }

    @Override
    public Pass forward(INDArray input, DataType type) {
        long n = input.size(0);
        // one row per (example, position, channel), one column per window cell
        INDArray cells = geometry.patches(input, max ? Double.NEGATIVE_INFINITY : 0.0).reshape('c', new long[] {n * outputWidth(), window()});
        if (max) {
            // window cell by cell over contiguous rows [kH·kW, rows]: a few vector ops per cell (a reduction or cumsum along
            // the short axis of [rows, kH·kW] runs one tiny kernel per row in ND4J and was 100× slower)
            INDArray byCell = cells.transpose().dup('c');
            int window = window();
            INDArray best = byCell.getRow(0).dup();
            for (int j = 1; j < window; j++) {
                best = Transforms.max(best, byCell.getRow(j), false);
            }
            // the first of tied maxima (row-major in the window) wins, as in the exact oracle
            INDArray mask = Nd4j.create(type, window, n * outputWidth());
            INDArray open = Nd4j.ones(type, n * outputWidth());
            for (int j = 0; j < window; j++) {
                INDArray wins = byCell.getRow(j).eq(best).castTo(type).muli(open);
                mask.getRow(j).assign(wins);
                open.subi(wins);
            }
            return new Pass(input, positionMajorToImages(best.reshape('c', new long[] {n, outputWidth()})), List.of(mask.transpose().dup('c')));
        }
        INDArray mean = cells.sum(1).reshape('c', new long[] {n, outputWidth()}).muliRowVector(inverseDivisorRow(type));
        return new Pass(input, positionMajorToImages(mean), List.of());
    }

    @Override
    public Backward backward(Pass pass, INDArray outputError, int rowsPerExample, boolean inputError) {
        if (!inputError) {
            return new Backward(null, List.of());
        }
        long rows = outputError.size(0);
        INDArray e = imagesToPositionMajor(outputError);
        INDArray cells;
        if (max) {
            INDArray mask = pass.cache().get(0);
            if (rowsPerExample > 1) {
                long n = rows / rowsPerExample;
                mask = NetworkWalk.repeatRows(mask.reshape('c', new long[] {n, outputWidth() * window()}), rowsPerExample);
            }
            cells = mask.reshape('c', new long[] {rows * outputWidth(), window()}).mulColumnVector(e.reshape('c', new long[] {rows * outputWidth(), 1}));
        } else {
            INDArray scaled = e.mulRowVector(inverseDivisorRow(e.dataType())).reshape('c', new long[] {rows * outputWidth(), 1});
            cells = Nd4j.zeros(e.dataType(), rows * outputWidth(), window()).addiColumnVector(scaled);
        }
        INDArray columns = cells.reshape('c', new long[] {rows * geometry.positions(), geometry.patchLength()});
        return new Backward(geometry.imageGradient(columns), List.of());
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
        int positions = geometry.positions();
        double[] output = new double[Math.toIntExact(outputWidth())];
        double[] argmax = max ? new double[output.length] : null;
        for (int c = 0; c < geometry.channels; c++) {
            for (int p = 0; p < positions; p++) {
                int o = c * positions + p;
                double best = Double.NEGATIVE_INFINITY;
                int at = -1;
                double sum = 0;
                for (int i = 0; i < geometry.kernelHeight; i++) {
                    for (int j = 0; j < geometry.kernelWidth; j++) {
                        int q = geometry.inputIndex(c, p, i, j);
                        if (q < 0) {
                            continue;
                        }
                        sum += input[q];
                        if (input[q] > best) {
                            best = input[q];
                            at = q;
                        }
                    }
                }
                if (max) {
                    output[o] = best;
                    argmax[o] = at;
                } else {
                    output[o] = sum * inverseDivisor[p];
                }
            }
        }
        return new ExactPass(input, output, argmax);
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
