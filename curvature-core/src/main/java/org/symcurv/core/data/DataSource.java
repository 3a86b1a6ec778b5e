package org.symcurv.core.data;

import java.io.IOException;

/**
 * Where a set of labelled examples comes from: an IDX image/label pair ({@link IdxSource}), a CSV file read with
 * DataVec ({@link CsvSource}), or NumPy {@code .npy} feature and label arrays ({@link NpySource}). Every command and
 * module reads its data through one of these; {@link DataSources} builds them from the command line's words.
 *
 * <p>{@link #read()} reads and validates the whole source: a missing file is a
 * {@link java.nio.file.NoSuchFileException}, a file that does not hold what it should (an empty file, a non-numeric
 * cell, a missing label column, NaN or infinity, a malformed header) a {@link MalformedDataException} whose message
 * names the file and, where there is one, the row and column. Whether the examples fit a model is checked after
 * reading, by {@link LabelledData#requireFits}.
 */
public interface DataSource {
    /** What this source reads, for messages (e.g. {@code CSV /data/train.csv, label column 4}). */
    String describe();

    /** What the targets are. */
    PredictionTask task();

    /**
     * Reads every example, features {@link org.nd4j.linalg.api.buffer.DataType#FLOAT} as stored (images as
     * {@code pixel / 255}); no normaliser is applied.
     *
     * @throws java.nio.file.NoSuchFileException when a file is missing
     * @throws MalformedDataException            naming the file (row and column where there are) when its contents are bad
     */
    LabelledData read() throws IOException;
}
