package org.symcurv.core.data;

/**
 * A stack of grey-scale images as stored in an IDX3 file: {@code count} images of {@code rows × cols}
 * unsigned bytes (0 = background, 255 = full ink), image-major then row-major, so pixel {@code (r, c)} of
 * image {@code i} is byte {@code i·rows·cols + r·cols + c}. Immutable: the bytes are copied in and out.
 */
public final class IdxImages {
    private final int count;
    private final int rows;
    private final int cols;
    private final byte[] pixels;

    /**
     * @param pixels {@code count·rows·cols} unsigned bytes in the order above; copied, not modified
     * @throws IllegalArgumentException when a dimension is negative or {@code pixels} has the wrong length
     */
    public IdxImages(int count, int rows, int cols, byte[] pixels) {
        this(count, rows, cols, pixels.clone(), true);
    }

    /** Takes ownership of {@code pixels} without copying; for the reader, which made the array itself. */
    IdxImages(int count, int rows, int cols, byte[] pixels, boolean owned) {
        if (count < 0 || rows < 0 || cols < 0) {
            throw new IllegalArgumentException("image stack dimensions must be non-negative, got count " + count
                    + ", rows " + rows + ", cols " + cols);
        }
        long expected = (long) count * rows * cols;
        if (pixels.length != expected) {
            throw new IllegalArgumentException("image stack of " + count + " images of " + rows + "x" + cols + " needs "
                    + expected + " pixel bytes, got " + pixels.length);
        }
        this.count = count;
        this.rows = rows;
        this.cols = cols;
        this.pixels = pixels;
    }

    public int count() {
        return count;
    }

    public int rows() {
        return rows;
    }

    public int cols() {
        return cols;
    }

    /** Number of pixels of one image, {@code rows·cols}. */
    public int pixelsPerImage() {
        return rows * cols;
    }

    /** The pixel value in {@code [0, 255]} of image {@code image} at row {@code row}, column {@code col}. */
    public int pixel(int image, int row, int col) {
        if (image < 0 || image >= count || row < 0 || row >= rows || col < 0 || col >= cols) {
            throw new IndexOutOfBoundsException("pixel (" + image + ", " + row + ", " + col + ") is outside the stack of "
                    + count + " images of " + rows + "x" + cols);
        }
        return pixels[(image * rows + row) * cols + col] & 0xFF;
    }

    /** A copy of all pixel bytes, {@code count·rows·cols} of them, in the order described above. */
    public byte[] pixels() {
        return pixels.clone();
    }

    /** The pixel bytes without a copy, for this package's own read-only use. */
    byte[] pixelsShared() {
        return pixels;
    }

    /** Images {@code [from, to)} as a new stack. */
    public IdxImages slice(int from, int to) {
        if (from < 0 || to > count || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") is outside [0, " + count + ")");
        }
        int per = rows * cols;
        byte[] part = java.util.Arrays.copyOfRange(pixels, from * per, to * per);
        return new IdxImages(to - from, rows, cols, part, true);
    }
}
