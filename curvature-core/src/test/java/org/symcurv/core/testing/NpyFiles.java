package org.symcurv.core.testing;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * Writes NumPy {@code .npy} files (format version 1.0) byte by byte from the format's specification, independently of
 * ND4J, so tests of the readers do not check ND4J against itself: the magic {@code \x93NUMPY}, version {@code 1 0}, a
 * little-endian {@code uint16} header length, the header dict padded with spaces to a multiple of 64 bytes and ended by
 * a newline, then the values in C order, little-endian.
 */
public final class NpyFiles {
    private NpyFiles() {
    }

    /** {@code '<f8'} values of the given shape, row-major. */
    public static Path writeFloat64(Path file, double[] values, long... shape) throws IOException {
        ByteBuffer body = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (double v : values) {
            body.putDouble(v);
        }
        return write(file, "<f8", shape, body.array());
    }

    /** {@code '<f4'} values of the given shape, row-major. */
    public static Path writeFloat32(Path file, float[] values, long... shape) throws IOException {
        ByteBuffer body = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) {
            body.putFloat(v);
        }
        return write(file, "<f4", shape, body.array());
    }

    /** {@code '<i8'} values (NumPy's default integer) of the given shape. */
    public static Path writeInt64(Path file, long[] values, long... shape) throws IOException {
        ByteBuffer body = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) {
            body.putLong(v);
        }
        return write(file, "<i8", shape, body.array());
    }

    /** A file with the given type descriptor, shape and raw body, e.g. to test refusals. */
    public static Path write(Path file, String descr, long[] shape, byte[] body) throws IOException {
        String dims = Arrays.stream(shape).mapToObj(Long::toString).collect(Collectors.joining(", "));
        String shapeText = shape.length == 1 ? "(" + dims + ",)" : "(" + dims + ")";
        StringBuilder header = new StringBuilder("{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shapeText + ", }");
        while ((10 + header.length() + 1) % 64 != 0) {
            header.append(' ');
        }
        header.append('\n');
        byte[] h = header.toString().getBytes(StandardCharsets.ISO_8859_1);
        ByteBuffer out = ByteBuffer.allocate(10 + h.length + body.length).order(ByteOrder.LITTLE_ENDIAN);
        out.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0});
        out.putShort((short) h.length);
        out.put(h);
        out.put(body);
        Files.write(file, out.array());
        return file;
    }
}
