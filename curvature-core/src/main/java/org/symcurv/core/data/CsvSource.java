package org.symcurv.core.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.datavec.api.records.Record;
import org.datavec.api.records.metadata.RecordMetaData;
import org.datavec.api.records.metadata.RecordMetaDataLine;
import org.datavec.api.records.reader.impl.csv.CSVRecordReader;
import org.datavec.api.split.FileSplit;
import org.datavec.api.writable.Writable;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A CSV file of numeric features and a label (or target) column, read with DataVec's {@link CSVRecordReader}: row
 * {@code i} (after the skipped header lines) is example {@code i}; its label columns are the targets and every other
 * column is a feature, in file order. Classification labels are class indices {@code 0, 1, …} written as integers
 * ({@code 3} or {@code 3.0}); the class count is the largest label + 1 ({@link LabelledData#requireFits} widens it to
 * the model's). Regression targets are any finite numbers, one column or several.
 *
 * <p>Refused, each with a {@link MalformedDataException} naming the file, and the line and column where there is one:
 * an empty file or one with no row after the header, a label column outside the row, rows of different lengths, a
 * cell that is not a number, NaN or infinity, a classification label that is not a non-negative integer.
 *
 * @param file   the CSV file
 * @param format header lines, delimiter, label columns
 * @param task   class labels or real targets
 */
public record CsvSource(Path file, Format format, PredictionTask task) implements DataSource {
    /**
     * How the file is laid out.
     *
     * @param skipLines    header lines to skip, ≥ 0
     * @param delimiter    the field separator
     * @param labelColumns the label columns, 0-based; a negative index counts from the end ({@code −1} is the last);
     *                     classification needs exactly one
     */
    public record Format(int skipLines, char delimiter, int[] labelColumns) {
        public Format {
            if (skipLines < 0) {
                throw new IllegalArgumentException("header lines to skip must be ≥ 0, got " + skipLines);
            }
            if (labelColumns.length == 0) {
                throw new IllegalArgumentException("a CSV source needs at least one label column");
            }
            labelColumns = labelColumns.clone();
        }

        /** No header, comma-separated, the label in the last column. */
        public static Format defaults() {
            return new Format(0, ',', new int[] {-1});
        }

        public Format withSkipLines(int lines) {
            return new Format(lines, delimiter, labelColumns);
        }

        public Format withDelimiter(char c) {
            return new Format(skipLines, c, labelColumns);
        }

        public Format withLabelColumns(int... columns) {
            return new Format(skipLines, delimiter, columns);
        }

        @Override
        public int[] labelColumns() {
            return labelColumns.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Format f && f.skipLines == skipLines && f.delimiter == delimiter
                    && Arrays.equals(f.labelColumns, labelColumns);
        }

        @Override
        public int hashCode() {
            return Objects.hash(skipLines, delimiter, Arrays.hashCode(labelColumns));
        }

        @Override
        public String toString() {
            return "skip " + skipLines + ", delimiter '" + delimiter + "', label column" + (labelColumns.length > 1 ? "s " : " ")
                    + Arrays.toString(labelColumns).replaceAll("[\\[\\] ]", "");
        }
    }

    public CsvSource {
        Objects.requireNonNull(file, "file");
        Objects.requireNonNull(format, "format");
        Objects.requireNonNull(task, "task");
        if (task == PredictionTask.CLASSIFICATION && format.labelColumns.length != 1) {
            throw new IllegalArgumentException("classification takes exactly one label column, got "
                    + Arrays.toString(format.labelColumns));
        }
    }

    @Override
    public String describe() {
        return "CSV " + file + " (" + format + ")";
    }

    @Override
    public LabelledData read() throws IOException {
        if (!Files.isRegularFile(file)) {
            throw new NoSuchFileException(file.toString(), null, Files.exists(file) ? "not a regular file" : "no such file");
        }
        if (Files.size(file) == 0) {
            throw new MalformedDataException(file + " is empty; a CSV source needs one example per line");
        }
        List<float[]> featureRows = new ArrayList<>();
        List<double[]> labelRows = new ArrayList<>();
        List<Integer> lines = new ArrayList<>();
        int width = -1;
        int[] labelIndex = null;
        boolean[] isLabel = null;
        CSVRecordReader reader = new CSVRecordReader(format.skipLines, format.delimiter);
        try {
            reader.initialize(new FileSplit(file.toFile()));
            while (reader.hasNext()) {
                Record record = reader.nextRecord();
                List<Writable> cells = record.getRecord();
                int line = lineOf(record.getMetaData(), featureRows.size() + format.skipLines);
                if (width < 0) {
                    width = cells.size();
                    labelIndex = resolveColumns(width, line);
                    isLabel = new boolean[width];
                    for (int c : labelIndex) {
                        isLabel[c] = true;
                    }
                    if (width - labelIndex.length < 1) {
                        throw new MalformedDataException(file + " line " + line + " has " + width
                                + " columns, all of them label columns; it needs at least one feature column");
                    }
                } else if (cells.size() != width) {
                    throw new MalformedDataException(file + " line " + line + " has " + cells.size() + " columns, but the first row has "
                            + width + "; every row needs the same columns");
                }
                float[] x = new float[width - labelIndex.length];
                double[] y = new double[labelIndex.length];
                for (int c = 0, f = 0; c < width; c++) {
                    if (!isLabel[c]) {
                        x[f++] = (float) number(cells.get(c), line, c);
                    }
                }
                for (int j = 0; j < labelIndex.length; j++) {
                    y[j] = number(cells.get(labelIndex[j]), line, labelIndex[j]);
                }
                featureRows.add(x);
                labelRows.add(y);
                lines.add(line);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while reading " + file, e);
        } catch (RuntimeException e) {
            if (e.getCause() instanceof MalformedDataException m) {
                throw m;
            }
            throw new MalformedDataException(file + " could not be read as CSV (" + e.getMessage() + ")", e);
        } finally {
            reader.close();
        }
        if (featureRows.isEmpty()) {
            throw new MalformedDataException(file + " has no data rows" + (format.skipLines > 0 ? " after its " + format.skipLines
                    + " header line" + (format.skipLines > 1 ? "s" : "") : "") + "; a CSV source needs one example per line");
        }
        int n = featureRows.size();
        int d = featureRows.get(0).length;
        float[] flat = new float[n * d];
        for (int i = 0; i < n; i++) {
            System.arraycopy(featureRows.get(i), 0, flat, i * d, d);
        }
        var features = Nd4j.create(flat, new long[] {n, d}, DataType.FLOAT);
        if (task == PredictionTask.REGRESSION) {
            int t = labelIndex.length;
            float[] targets = new float[n * t];
            for (int i = 0; i < n; i++) {
                for (int j = 0; j < t; j++) {
                    targets[i * t + j] = (float) labelRows.get(i)[j];
                }
            }
            return LabelledData.regression(features, Nd4j.create(targets, new long[] {n, t}, DataType.FLOAT), file.toString());
        }
        int[] classes = new int[n];
        int largest = 0;
        for (int i = 0; i < n; i++) {
            double v = labelRows.get(i)[0];
            if (v < 0 || v != Math.rint(v) || v > Integer.MAX_VALUE - 1) {
                throw new MalformedDataException(file + " " + cell(lines.get(i), labelIndex[0]) + ": the label " + format(v) + " is not a class index (0, 1, 2, ...); for real-valued targets train a "
                        + "regressor (--task regression)");
            }
            classes[i] = (int) v;
            largest = Math.max(largest, classes[i]);
        }
        return LabelledData.classification(features, classes, largest + 1, file.toString());
    }

    private int[] resolveColumns(int width, int line) throws MalformedDataException {
        int[] resolved = new int[format.labelColumns.length];
        for (int j = 0; j < resolved.length; j++) {
            int c = format.labelColumns[j];
            int r = c < 0 ? width + c : c;
            if (r < 0 || r >= width) {
                throw new MalformedDataException(file + " line " + line + " has " + width + " columns, so there is no label column "
                        + (c < 0 ? c + " (counted from the end)" : Integer.toString(c)) + " (0-based); name the label column "
                        + "with a 0-based index below " + width + " or a negative one from the end");
            }
            for (int k = 0; k < j; k++) {
                if (resolved[k] == r) {
                    throw new MalformedDataException(file + ": label column " + r + " is named twice");
                }
            }
            resolved[j] = r;
        }
        return resolved;
    }

    private double number(Writable cell, int line, int column) throws MalformedDataException {
        String text = cell.toString().trim();
        double v;
        try {
            v = Double.parseDouble(text);
        } catch (NumberFormatException e) {
            throw new MalformedDataException(file + " " + cell(line, column) + ": '" + shorten(text)
                    + "' is not a number" + (line <= format.skipLines + 1 && format.skipLines == 0
                    ? "; if this is a header line, skip it (--csv-skip 1)" : ""));
        }
        if (!Double.isFinite(v)) {
            throw new MalformedDataException(file + " " + cell(line, column) + " is " + text
                    + "; every value must be a finite number");
        }
        return v;
    }

    /** The 1-based line of a record: DataVec's line metadata when present, else counted. */
    private static int lineOf(RecordMetaData meta, int counted) {
        if (meta instanceof RecordMetaDataLine l) {
            return l.getLineNumber() + 1;
        }
        return counted + 1;
    }

    /** "line L column C (index c)": 1-based line and column as an editor shows them, and the 0-based index the options take. */
    private static String cell(int line, int column) {
        return "line " + line + " column " + (column + 1) + " (index " + column + ")";
    }

    private static String shorten(String text) {
        return text.length() <= 40 ? text : text.substring(0, 37) + "...";
    }

    private static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? Long.toString((long) v) : String.format(Locale.ROOT, "%s", v);
    }
}
