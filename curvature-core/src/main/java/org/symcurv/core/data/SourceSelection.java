package org.symcurv.core.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Optional;

/**
 * Which sources a command reads: a training, a test and optionally a validation source, each named by a source word
 * ({@link DataSources#parse}), with the CSV layout they share. A role left unnamed falls back to the IDX directory
 * {@code idxDirectory} when one is given, and otherwise to Fashion-MNIST where {@link FashionMnist#locate} finds it
 * ({@code $SYMCURV_DATA}, then the Debian package), so the defaults stay what they were. A role is never filled from
 * another data set than the one named for the other role: with {@code --train} named and no IDX directory, the test
 * source must be named too.
 *
 * @param train        the training source word, or null
 * @param test         the test source word, or null
 * @param validation   the validation source word, or null (no validation source)
 * @param idxDirectory an IDX directory with the MNIST file names for the unnamed roles, or null
 * @param csv          the layout of every CSV source
 */
public record SourceSelection(String train, String test, String validation, Path idxDirectory, CsvSource.Format csv) {
    public SourceSelection {
        if (csv == null) {
            csv = CsvSource.Format.defaults();
        }
    }

    /** Fashion-MNIST from its usual places, nothing named. */
    public static SourceSelection defaults() {
        return new SourceSelection(null, null, null, null, CsvSource.Format.defaults());
    }

    /** The same selection without an IDX directory. */
    public SourceSelection withoutDirectory() {
        return new SourceSelection(train, test, validation, null, csv);
    }

    /** Whether no source is named, so Fashion-MNIST (or {@code idxDirectory}) is read. */
    public boolean isDefault() {
        return train == null && test == null;
    }

    /**
     * The training source.
     *
     * @throws DataNotFoundException when no source is named and Fashion-MNIST is not found
     * @throws java.nio.file.NoSuchFileException when a named file does not exist
     */
    public DataSource trainSource(PredictionTask task) throws IOException {
        return source(train, IdxSource.Split.TRAIN, task);
    }

    /** The test source; fails as {@link #trainSource}. */
    public DataSource testSource(PredictionTask task) throws IOException {
        return source(test, IdxSource.Split.TEST, task);
    }

    /** The validation source, when one is named. */
    public Optional<DataSource> validationSource(PredictionTask task) throws IOException {
        return validation == null ? Optional.empty() : Optional.of(DataSources.parse(validation, IdxSource.Split.TRAIN, csv, task));
    }

    private DataSource source(String word, IdxSource.Split split, PredictionTask task) throws IOException {
        if (word != null) {
            return DataSources.parse(word, split, csv, task);
        }
        String other = split == IdxSource.Split.TRAIN ? test : train;
        if (other != null && idxDirectory == null) {
            String role = split == IdxSource.Split.TRAIN ? "training" : "test";
            throw new IllegalArgumentException("the " + (split == IdxSource.Split.TRAIN ? "test" : "training") + " data is named ("
                    + other + ") but the " + role + " data is not; name it too (--" + (split == IdxSource.Split.TRAIN ? "train" : "test")
                    + " SOURCE), so that the two come from the same data set");
        }
        if (task == PredictionTask.REGRESSION) {
            throw new IllegalArgumentException("regression needs its data named: give --train and --test (CSV or .npy sources)");
        }
        Path dir = FashionMnist.locate(idxDirectory);
        return IdxSource.directory(dir, split);
    }
}
