package org.symcurv.core.model;

import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.convolution.Convolution;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The sliding window of a 2-D convolution or pooling layer over an image {@code [C, H, W]} (NCHW, flattened row-major
 * as DL4J flattens it: element {@code (c, y, x)} at {@code (c·H + y)·W + x}): kernel {@code kH × kW}, stride
 * {@code sH × sW}, dilation 1, and the padding DL4J applies,
 *
 * <pre>
 *   Truncate (and Strict):  OH = ⌊(H + 2 pH − kH) / sH⌋ + 1,  top = bottom = pH (rows past the last window unused)
 *   Same:                   OH = ⌈H / sH⌉,  total = max(0, (OH − 1) sH + kH − H),  top = ⌊total / 2⌋,  bottom = total − top
 * </pre>
 * and likewise for the width. Output position {@code p = oy·OW + ox} reads the padded input rows
 * {@code oy·sH + i − top}, {@code i < kH} (padding outside the image).
 *
 * <p>{@link #patches} is im2col: one row per example and output position, {@code [n·OH·OW, C·kH·kW]} with columns in the
 * order {@code (c, i, j)} row-major (the flattening of a DL4J kernel's {@code [in, kH, kW]}); {@link #imageGradient} is
 * its adjoint (col2im, overlapping windows summed). Both are one ND4J op each plus the padding.
 */
final class ConvolutionGeometry {
    final int channels;
    final int height;
    final int width;
    final int kernelHeight;
    final int kernelWidth;
    final int strideHeight;
    final int strideWidth;
    final int padTop;
    final int padLeft;
    final int padBottom;
    final int padRight;
    final int outputHeight;
    final int outputWidth;

    /**
     * @param padding DL4J's configured padding {@code [pH, pW]} (ignored in Same mode, as DL4J ignores it)
     * @throws IllegalArgumentException if the window does not fit the image
     */
    ConvolutionGeometry(long[] image, int[] kernel, int[] stride, int[] padding, ConvolutionMode mode) {
        this.channels = Math.toIntExact(image[0]);
        this.height = Math.toIntExact(image[1]);
        this.width = Math.toIntExact(image[2]);
        this.kernelHeight = kernel[0];
        this.kernelWidth = kernel[1];
        this.strideHeight = stride[0];
        this.strideWidth = stride[1];
        if (mode == ConvolutionMode.Same) {
            outputHeight = (height + strideHeight - 1) / strideHeight;
            outputWidth = (width + strideWidth - 1) / strideWidth;
            int totalH = Math.max(0, (outputHeight - 1) * strideHeight + kernelHeight - height);
            int totalW = Math.max(0, (outputWidth - 1) * strideWidth + kernelWidth - width);
            padTop = totalH / 2;
            padBottom = totalH - padTop;
            padLeft = totalW / 2;
            padRight = totalW - padLeft;
        } else {
            padTop = padding[0];
            padBottom = padding[0];
            padLeft = padding[1];
            padRight = padding[1];
            outputHeight = (height + 2 * padding[0] - kernelHeight) / strideHeight + 1;
            outputWidth = (width + 2 * padding[1] - kernelWidth) / strideWidth + 1;
        }
        if (outputHeight < 1 || outputWidth < 1) {
            throw new IllegalArgumentException("a " + kernelHeight + "×" + kernelWidth + " window does not fit a " + height + "×" + width + " image");
        }
    }

    /** {@code C·H·W}. */
    long inputWidth() {
        return (long) channels * height * width;
    }

    /** Output positions {@code OH·OW}. */
    int positions() {
        return outputHeight * outputWidth;
    }

    /** {@code C·kH·kW}, the length of one patch. */
    int patchLength() {
        return channels * kernelHeight * kernelWidth;
    }

    private int paddedHeight() {
        return height + padTop + padBottom;
    }

    private int paddedWidth() {
        return width + padLeft + padRight;
    }

    /**
     * im2col: {@code [n·OH·OW, C·kH·kW]}, row {@code i·OH·OW + p}, the window of example {@code i} at output position
     * {@code p}, padded with {@code fill} (0 for a convolution, −∞ for max pooling).
     *
     * @param input {@code [n, C·H·W]}; not modified
     */
    INDArray patches(INDArray input, double fill) {
        long n = input.size(0);
        DataType type = input.dataType();
        INDArray image = input.reshape('c', new long[] {n, channels, height, width});
        if (padTop + padBottom + padLeft + padRight > 0) {
            INDArray padded = Nd4j.createUninitialized(type, n, channels, paddedHeight(), paddedWidth()).assign(fill);
            padded.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(padTop, padTop + height),
                    NDArrayIndex.interval(padLeft, padLeft + width)).assign(image);
            image = padded;
        } else if (image.ordering() != 'c') {
            image = image.dup('c');
        }
        // [n, OH, OW, C, kH, kW] row-major, filled through the [n, C, kH, kW, OH, OW] view im2col writes
        INDArray columns = Nd4j.createUninitialized(type, n, outputHeight, outputWidth, channels, kernelHeight, kernelWidth);
        Convolution.im2col(image, kernelHeight, kernelWidth, strideHeight, strideWidth, 0, 0, 1, 1, false, columns.permute(0, 3, 4, 5, 1, 2));
        return columns.reshape('c', new long[] {n * positions(), patchLength()});
    }

    /**
     * col2im, the adjoint of {@link #patches}: {@code [n, C·H·W]} with every window row added back where it came from
     * (padding dropped).
     *
     * @param columns {@code [n·OH·OW, C·kH·kW]}; not modified
     */
    INDArray imageGradient(INDArray columns) {
        long n = columns.size(0) / positions();
        INDArray six = columns.reshape('c', new long[] {n, outputHeight, outputWidth, channels, kernelHeight, kernelWidth}).permute(0, 3, 4, 5, 1, 2);
        INDArray padded = Nd4j.create(columns.dataType(), n, channels, paddedHeight(), paddedWidth());
        Convolution.col2im(six, padded, strideHeight, strideWidth, 0, 0, paddedHeight(), paddedWidth(), 1, 1);
        INDArray image = padTop + padBottom + padLeft + padRight == 0 ? padded
                : padded.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(padTop, padTop + height),
                        NDArrayIndex.interval(padLeft, padLeft + width)).dup('c');
        return image.reshape('c', new long[] {n, inputWidth()});
    }

    /**
     * The flat input index {@code (c·H + y)·W + x} that output position {@code p} reads at window offset {@code (i, j)}
     * of channel {@code c}, or −1 where the window lies in the padding.
     */
    int inputIndex(int c, int p, int i, int j) {
        int y = (p / outputWidth) * strideHeight + i - padTop;
        int x = (p % outputWidth) * strideWidth + j - padLeft;
        if (y < 0 || y >= height || x < 0 || x >= width) {
            return -1;
        }
        return (c * height + y) * width + x;
    }

    /** E.g. {@code 3×3 s1 p0}, or {@code 2×2 s2 same (0,1,0,1)}. */
    String describe(ConvolutionMode mode) {
        String stride = strideHeight == strideWidth ? "s" + strideHeight : "s" + strideHeight + "×" + strideWidth;
        String pad = mode == ConvolutionMode.Same ? "same" : padTop == padLeft ? "p" + padTop : "p" + padTop + "×" + padLeft;
        return kernelHeight + "×" + kernelWidth + " " + stride + " " + pad;
    }
}
