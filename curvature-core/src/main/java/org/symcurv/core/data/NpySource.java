package org.symcurv.core.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.Finite;

/**
 * NumPy {@code .npy} arrays, for data prepared in Python ({@code np.save}): features {@code [n, d]} (or images
 * {@code [n, height, width]}, flattened row-major to {@code d = height·width}) and labels {@code [n]} (class indices, of
 * an integer type or integral floats) or regression targets {@code [n]} or {@code [n, t]}. Read by ND4J
 * ({@link Nd4j#createFromNpyFile}) after this class has checked the header itself — the magic string, a C-order array
 * of a numeric type, and a file size that matches the shape — so a damaged or foreign file is refused with a message
 * naming it rather than handed to native code.
 *
 * @param features the feature array
 * @param labels   the label or target array
 * @param task     class labels or real targets
 */
public record NpySource(Path features, Path labels, PredictionTask task) implements DataSource {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern DESCR = Pattern.compile("'descr'\\s*:\\s*'([<>|=])([a-zA-Z])(\\d+)'");
    private static final Pattern FORTRAN = Pattern.compile("'fortran_order'\\s*:\\s*(True|False)");
    private static final Pattern SHAPE = Pattern.compile("'shape'\\s*:\\s*\\(([^)]*)\\)");

    public NpySource {
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        Objects.requireNonNull(task, "task");
    }

    @Override
    public String describe() {
        return "NumPy " + features + " with " + (task == PredictionTask.CLASSIFICATION ? "labels " : "targets ") + labels;
    }

    @Override
    public LabelledData read() throws IOException {
        long[] xShape = checkHeader(features);
        long[] yShape = checkHeader(labels);
        if (xShape.length < 2 || xShape.length > 3) {
            throw new MalformedDataException(features + " holds an array of shape " + Arrays.toString(xShape)
                    + "; features must be [n, d] (or images [n, height, width])");
        }
        if (yShape.length < 1 || yShape.length > 2 || yShape[0] != xShape[0]) {
            throw new MalformedDataException(labels + " holds an array of shape " + Arrays.toString(yShape) + ", but the "
                    + xShape[0] + " examples of " + features + " need " + (task == PredictionTask.CLASSIFICATION
                    ? "labels [" + xShape[0] + "]" : "targets [" + xShape[0] + "] or [" + xShape[0] + ", t]"));
        }
        if (xShape[0] == 0) {
            throw new MalformedDataException(features + " holds no examples (shape " + Arrays.toString(xShape) + ")");
        }
        int height = xShape.length == 3 ? Math.toIntExact(xShape[1]) : 0;
        int width = xShape.length == 3 ? Math.toIntExact(xShape[2]) : 0;
        long d = xShape.length == 3 ? xShape[1] * xShape[2] : xShape[1];
        if (d < 1) {
            throw new MalformedDataException(features + " has no feature columns (shape " + Arrays.toString(xShape) + ")");
        }
        INDArray x = load(features).castTo(DataType.FLOAT).reshape('c', xShape[0], d);
        requireFinite(x, features, "feature");
        INDArray y = load(labels);
        if (task == PredictionTask.REGRESSION) {
            INDArray targets = y.castTo(DataType.FLOAT).reshape('c', yShape[0], yShape.length == 2 ? yShape[1] : 1);
            requireFinite(targets, labels, "target");
            return LabelledData.regression(x, targets, features.toString());
        }
        if (yShape.length == 2 && yShape[1] != 1) {
            throw new MalformedDataException(labels + " holds an array of shape " + Arrays.toString(yShape)
                    + "; class labels must be one index per example, [n] (not one-hot)");
        }
        double[] values = y.castTo(DataType.DOUBLE).reshape(yShape[0]).toDoubleVector();
        int[] classes = new int[values.length];
        int largest = 0;
        for (int i = 0; i < values.length; i++) {
            double v = values[i];
            if (!(v >= 0) || v != Math.rint(v) || v > Integer.MAX_VALUE - 1) {
                throw new MalformedDataException(labels + " entry " + i + " is " + v + ", not a class index (0, 1, 2, ...); for "
                        + "real-valued targets train a regressor (--task regression)");
            }
            classes[i] = (int) v;
            largest = Math.max(largest, classes[i]);
        }
        LabelledData data = LabelledData.classification(x, classes, largest + 1, features.toString());
        return height > 0 ? data.withImageShape(height, width) : data;
    }

    private static INDArray load(Path file) throws MalformedDataException {
        try {
            return Nd4j.createFromNpyFile(file.toFile());
        } catch (RuntimeException e) {
            throw new MalformedDataException(file + " could not be read as a NumPy array (" + e.getMessage() + ")", e);
        }
    }

    private static void requireFinite(INDArray a, Path file, String what) throws MalformedDataException {
        if (Finite.all(a)) {
            return;
        }
        double[] v = a.castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
        long columns = a.columns();
        for (int i = 0; i < v.length; i++) {
            if (!Double.isFinite(v[i])) {
                throw new MalformedDataException(file + " row " + i / columns + " column " + i % columns + " (0-based) is " + v[i]
                        + "; every " + what + " must be a finite number");
            }
        }
    }

    /**
     * Checks a {@code .npy} header (format versions 1–3) and the file size, and returns the array's shape.
     *
     * @throws MalformedDataException naming the file when it is empty, not {@code .npy}, Fortran-ordered, of a
     *                                non-numeric type, or shorter or longer than its shape says
     */
    static long[] checkHeader(Path file) throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, Files.exists(file) ? "not a regular file" : "no such file");
        }
        long size = Files.size(file);
        if (size == 0) {
            throw new MalformedDataException(file + " is empty; expected a NumPy .npy array (np.save)");
        }
        byte[] start = new byte[12];
        int got;
        try (InputStream in = Files.newInputStream(file)) {
            got = in.readNBytes(start, 0, start.length);
        }
        if (got < 10 || !Arrays.equals(Arrays.copyOf(start, MAGIC.length), MAGIC)) {
            throw new MalformedDataException(file + " is not a NumPy .npy file (it does not start with \\x93NUMPY); save arrays with "
                    + "np.save");
        }
        int major = start[6] & 0xFF;
        long headerLength;
        int prefix;
        if (major == 1) {
            headerLength = (start[8] & 0xFF) | (start[9] & 0xFF) << 8;
            prefix = 10;
        } else if (major == 2 || major == 3) {
            headerLength = (start[8] & 0xFFL) | (start[9] & 0xFFL) << 8 | (start[10] & 0xFFL) << 16 | (start[11] & 0xFFL) << 24;
            prefix = 12;
        } else {
            throw new MalformedDataException(file + " has .npy format version " + major + "; versions 1 to 3 are read");
        }
        if (prefix + headerLength > size) {
            throw new MalformedDataException(file + " is truncated: its .npy header needs " + (prefix + headerLength)
                    + " bytes but the file has " + size);
        }
        String header;
        try (InputStream in = Files.newInputStream(file)) {
            in.skipNBytes(prefix);
            header = new String(in.readNBytes((int) headerLength), StandardCharsets.ISO_8859_1);
        }
        Matcher descr = DESCR.matcher(header);
        Matcher fortran = FORTRAN.matcher(header);
        Matcher shape = SHAPE.matcher(header);
        if (!descr.find() || !fortran.find() || !shape.find()) {
            throw new MalformedDataException(file + " has a damaged .npy header: " + header.trim());
        }
        char kind = descr.group(2).charAt(0);
        if ("fiub".indexOf(kind) < 0) {
            throw new MalformedDataException(file + " holds values of NumPy type '" + descr.group(1) + descr.group(2) + descr.group(3)
                    + "'; features and labels must be numbers (float, int, uint or bool)");
        }
        if (descr.group(1).equals(">") && Integer.parseInt(descr.group(3)) > 1) {
            throw new MalformedDataException(file + " is big-endian ('" + descr.group(1) + descr.group(2) + descr.group(3)
                    + "'); save it little-endian (arr.astype(arr.dtype.newbyteorder('<')))");
        }
        if (fortran.group(1).equals("True")) {
            throw new MalformedDataException(file + " is stored in Fortran (column-major) order; save np.ascontiguousarray(arr)");
        }
        String[] parts = shape.group(1).split(",");
        long[] dims = Arrays.stream(parts).map(String::trim).filter(p -> !p.isEmpty()).mapToLong(Long::parseLong).toArray();
        long count = 1;
        for (long dim : dims) {
            count = Math.multiplyExact(count, dim);
        }
        long expected = prefix + headerLength + count * Integer.parseInt(descr.group(3));
        if (size != expected) {
            throw new MalformedDataException(file + " holds " + size + " bytes, but its header announces shape "
                    + Arrays.toString(dims) + " of '" + descr.group(2) + descr.group(3) + "', " + expected + " bytes in all; "
                    + (size < expected ? "the file is truncated" : "the file has trailing bytes"));
        }
        return dims;
    }
}
