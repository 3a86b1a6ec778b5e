package org.symcurv.core.data;

import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Locale;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;

/**
 * Data sources named the way the command line names them, and the default normaliser of tabular data.
 *
 * <p>A source word is one of
 * <ul>
 *   <li>{@code FILE.csv} (also {@code .tsv}, {@code .txt}): a {@link CsvSource} with the given layout;</li>
 *   <li>{@code FEATURES.npy,LABELS.npy}: an {@link NpySource};</li>
 *   <li>{@code IMAGES,LABELS} (two IDX files): an {@link IdxSource};</li>
 *   <li>{@code DIR}: the training or test pair of an IDX directory with the MNIST file names
 *       ({@link IdxSource#directory}).</li>
 * </ul>
 */
public final class DataSources {
    private DataSources() {
    }

    /**
     * The source a word names.
     *
     * @param word  as above
     * @param split which pair of an IDX directory
     * @param csv   the layout of a CSV file
     * @param task  class labels or real targets (IDX sources are always classification)
     * @throws NoSuchFileException      when a named file or directory does not exist
     * @throws IllegalArgumentException when the word has none of the forms above, naming them
     */
    public static DataSource parse(String word, IdxSource.Split split, CsvSource.Format csv, PredictionTask task)
            throws NoSuchFileException {
        String trimmed = word.trim();
        String[] parts = trimmed.split(",", -1);
        if (parts.length == 2 && !parts[0].isBlank() && !parts[1].isBlank()) {
            Path first = Path.of(parts[0].trim());
            Path second = Path.of(parts[1].trim());
            if (isNpy(first) && isNpy(second)) {
                return new NpySource(first, second, task);
            }
            if (isNpy(first) || isNpy(second)) {
                throw new IllegalArgumentException("'" + word + "' mixes a .npy file with another kind; give FEATURES.npy,LABELS.npy");
            }
            return new IdxSource(first, second, 0);
        }
        if (parts.length != 1) {
            throw new IllegalArgumentException("'" + word + "' is not a data source: " + FORMS);
        }
        Path path = Path.of(trimmed);
        String name = path.getFileName() == null ? "" : path.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv") || name.endsWith(".tsv") || name.endsWith(".txt")) {
            return new CsvSource(path, csv, task);
        }
        if (name.endsWith(".npy")) {
            throw new IllegalArgumentException("'" + word + "' names only features; a .npy source is FEATURES.npy,LABELS.npy");
        }
        if (Files.isDirectory(path)) {
            return IdxSource.directory(path, split);
        }
        if (!Files.exists(path)) {
            throw new NoSuchFileException(path.toString(), null, "no such file or directory; " + FORMS);
        }
        throw new IllegalArgumentException("'" + word + "' is not a data source: " + FORMS);
    }

    /** What {@link #parse} accepts, for messages. */
    public static final String FORMS = "a data source is FILE.csv, FEATURES.npy,LABELS.npy, IMAGES-IDX,LABELS-IDX or an IDX "
            + "directory (train-images-idx3-ubyte[.gz] ...)";

    private static boolean isNpy(Path p) {
        return p.toString().toLowerCase(Locale.ROOT).endsWith(".npy");
    }

    /**
     * The standardiser {@code x ↦ (x − μ) / σ} fitted on {@code train} (per feature column; DL4J's
     * {@link NormalizerStandardize}); for regression it standardises the targets too ({@code fitLabel(true)}), so a
     * regressor learns targets of unit scale and its predictions are turned back with {@code revertLabels}.
     */
    public static NormalizerStandardize standardizer(LabelledData train) {
        NormalizerStandardize normalizer = new NormalizerStandardize();
        normalizer.fitLabel(train.task() == PredictionTask.REGRESSION);
        normalizer.fit(train.toDataSet());
        return normalizer;
    }
}
