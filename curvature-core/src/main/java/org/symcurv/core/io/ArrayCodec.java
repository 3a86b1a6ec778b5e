package org.symcurv.core.io;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A float32 or float64 array as bytes: type code ({@code 1} float32, {@code 2} float64), {@code int32} rank, the shape as
 * {@code int64}s, then the values in row-major order, big-endian, written in one piece. Unlike {@code Nd4j.read}, reading
 * says what is wrong when the bytes are not such an array (type code, rank, dimensions, length). It is not faster than
 * {@code Nd4j.write}: one 805 × 805 float64 block took 32 ms against 28 ms (measured once with a throwaway timing program
 * on the quiet machine; an earlier comparison that had it twenty times faster was taken under load and was wrong).
 */
public final class ArrayCodec {
    private static final int FLOAT = 1;
    private static final int DOUBLE = 2;

    private ArrayCodec() {
    }

    /** @throws IllegalArgumentException for an array that is neither float32 nor float64 */
    public static void write(DataOutputStream out, INDArray array) throws IOException {
        DataType type = array.dataType();
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new IllegalArgumentException("only float32 and float64 arrays are written, not " + type);
        }
        out.writeByte(type == DataType.FLOAT ? FLOAT : DOUBLE);
        long[] shape = array.shape();
        out.writeInt(shape.length);
        for (long s : shape) {
            out.writeLong(s);
        }
        writeValues(out, array);
    }

    /**
     * The values of a float32 or float64 array in row-major order, big-endian, in bulk, without a header (the body of
     * {@link #write}; {@link CurvatureFile} writes its blocks this way too).
     */
    static void writeValues(DataOutputStream out, INDArray array) throws IOException {
        DataType type = array.dataType();
        if (array.length() == 0) {
            return;
        }
        INDArray flat = Nd4j.toFlattened('c', array);
        if (type == DataType.FLOAT) {
            float[] values = flat.toFloatVector();
            ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES);
            bytes.asFloatBuffer().put(values);
            out.write(bytes.array());
        } else {
            double[] values = flat.toDoubleVector();
            ByteBuffer bytes = ByteBuffer.allocate(values.length * Double.BYTES);
            bytes.asDoubleBuffer().put(values);
            out.write(bytes.array());
        }
    }

    /**
     * Reads what {@link #write} wrote.
     *
     * @throws IOException when the type code, rank or shape is impossible, or the stream ends early
     */
    public static INDArray read(DataInputStream in) throws IOException {
        int code = in.readUnsignedByte();
        if (code != FLOAT && code != DOUBLE) {
            throw new IOException("not an array: type code " + code + " (1 float32, 2 float64)");
        }
        int rank = in.readInt();
        if (rank < 0 || rank > 32) {
            throw new IOException("not an array: rank " + rank);
        }
        long[] shape = new long[rank];
        long n = 1;
        for (int i = 0; i < rank; i++) {
            shape[i] = in.readLong();
            if (shape[i] < 0 || shape[i] > Integer.MAX_VALUE) {
                throw new IOException("not an array: dimension " + i + " is " + shape[i]);
            }
            n = Math.multiplyExact(n, shape[i]);
        }
        if (n > Integer.MAX_VALUE) {
            throw new IOException("not an array: " + n + " values is more than one array holds");
        }
        if (n == 0) {
            return Nd4j.create(code == FLOAT ? DataType.FLOAT : DataType.DOUBLE, shape);
        }
        int width = code == FLOAT ? Float.BYTES : Double.BYTES;
        byte[] bytes = new byte[Math.toIntExact(n * width)];
        in.readFully(bytes);
        if (code == FLOAT) {
            float[] values = new float[(int) n];
            ByteBuffer.wrap(bytes).asFloatBuffer().get(values);
            return Nd4j.create(values, shape, 'c');
        }
        double[] values = new double[(int) n];
        ByteBuffer.wrap(bytes).asDoubleBuffer().get(values);
        return Nd4j.create(values, shape, 'c');
    }
}
