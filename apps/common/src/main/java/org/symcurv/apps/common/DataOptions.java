package org.symcurv.apps.common;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.symcurv.core.data.CsvSource;
import org.symcurv.core.data.DataSource;
import org.symcurv.core.data.LabelledData;
import org.symcurv.core.data.PredictionTask;
import org.symcurv.core.data.SourceSelection;
import org.symcurv.core.model.ModelZip;
import picocli.CommandLine.Option;

/**
 * The data options of every command that reads labelled examples ({@code @Mixin DataOptions data;}): the training,
 * test and validation sources ({@link org.symcurv.core.data.DataSources#parse}: {@code FILE.csv},
 * {@code FEATURES.npy,LABELS.npy}, {@code IMAGES,LABELS} IDX files, or an IDX directory), the CSV layout, and
 * {@code --data DIR}, the IDX directory used when no source is named (Fashion-MNIST by default).
 */
public final class DataOptions {
    @Option(names = "--data", paramLabel = "DIR",
            description = "IDX directory (train-/t10k-images-idx3-ubyte[.gz] and labels) read when --train/--test are not given "
                    + "(default: $SYMCURV_DATA, then /usr/share/datasets/fashion-mnist).")
    Path directory;

    @Option(names = "--train", paramLabel = "SOURCE",
            description = "Training data: FILE.csv, FEATURES.npy,LABELS.npy, IMAGES,LABELS (IDX files) or an IDX directory.")
    String train;

    @Option(names = "--test", paramLabel = "SOURCE", description = "Test data, in the same forms as --train.")
    String test;

    @Option(names = "--validation-data", paramLabel = "SOURCE", description = "Validation data, in the same forms (where a command uses one).")
    String validation;

    @Option(names = "--csv-skip", paramLabel = "N", defaultValue = "0", description = "CSV header lines to skip (default: ${DEFAULT-VALUE}).")
    int csvSkip;

    @Option(names = "--csv-delimiter", paramLabel = "C", defaultValue = ",", description = "CSV field delimiter, one character; 'tab' for a tab "
            + "(default: ${DEFAULT-VALUE}).")
    String csvDelimiter;

    @Option(names = "--label-column", paramLabel = "C[,C...]", defaultValue = "-1", split = ",",
            description = "CSV label column(s), 0-based, negative from the end; several for multi-output regression "
                    + "(default: ${DEFAULT-VALUE}, the last).")
    int[] labelColumns;

    /** The sources the options name, with the Fashion-MNIST defaults. */
    public SourceSelection selection() {
        String d = "tab".equalsIgnoreCase(csvDelimiter) ? "\t" : csvDelimiter;
        if (d.length() != 1) {
            throw new IllegalArgumentException("--csv-delimiter must be one character (or 'tab'), got '" + csvDelimiter + "'");
        }
        return new SourceSelection(train, test, validation, directory,
                new CsvSource.Format(csvSkip, d.charAt(0), labelColumns == null ? new int[] {-1} : Arrays.copyOf(labelColumns, labelColumns.length)));
    }

    /** Whether Fashion-MNIST (or the --data directory) is read, no source named. */
    public boolean isDefault() {
        return train == null && test == null;
    }

    public LabelledData readTrain(PredictionTask task) throws IOException {
        return selection().trainSource(task).read();
    }

    public LabelledData readTest(PredictionTask task) throws IOException {
        return selection().testSource(task).read();
    }

    /** The validation examples, or null when no validation source is named. */
    public LabelledData readValidation(PredictionTask task) throws IOException {
        var source = selection().validationSource(task);
        return source.isPresent() ? source.get().read() : null;
    }

    /** The training examples as {@code model} sees them: checked against it and normalised by its normaliser. */
    public LabelledData trainFor(ModelZip.Contents model) throws IOException {
        return model.prepare(readTrain(model.task()));
    }

    /** The test examples as {@code model} sees them. */
    public LabelledData testFor(ModelZip.Contents model) throws IOException {
        return model.prepare(readTest(model.task()));
    }

    /** The validation examples as {@code model} sees them, or null when no validation source is named. */
    public LabelledData validationFor(ModelZip.Contents model) throws IOException {
        LabelledData v = readValidation(model.task());
        return v == null ? null : model.prepare(v);
    }

    /** What the training source is, for a command's first line. */
    public String describeTrain(PredictionTask task) throws IOException {
        DataSource source = selection().trainSource(task);
        return source.describe();
    }
}
