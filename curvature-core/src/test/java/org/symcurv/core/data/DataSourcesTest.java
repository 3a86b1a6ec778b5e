package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.symcurv.core.testing.NpyFiles;

/** CSV, {@code .npy} and IDX sources: what they read, and every refusal naming the file (and row and column). */
class DataSourcesTest {
    private static final CsvSource.Format CSV = CsvSource.Format.defaults();

    @TempDir
    Path dir;

    private Path csv(String name, String text) throws IOException {
        return Files.writeString(dir.resolve(name), text);
    }

    private static String message(Exception e) {
        return e.getMessage();
    }

    @Test
    void csvClassificationReadsFeaturesInFileOrderAndTheLabelColumn() throws IOException {
        Path file = csv("iris.csv", "a,b,label,c\n1.5,2,0,3\n4,5.25,2,-6\n");
        LabelledData data = new CsvSource(file, CSV.withSkipLines(1).withLabelColumns(2), PredictionTask.CLASSIFICATION).read();
        assertEquals(2, data.size());
        assertEquals(3, data.featureCount());
        assertEquals(3, data.numClasses());
        assertArrayEquals(new int[] {0, 2}, data.classes());
        assertArrayEquals(new float[] {1.5f, 2f, 3f, 4f, 5.25f, -6f}, data.features().data().asFloat());
        assertEquals(file.toString(), data.source());
    }

    @Test
    void csvRegressionTakesSeveralTargetColumnsAndAnotherDelimiter() throws IOException {
        Path file = csv("r.csv", "1;2;3;4\n5;6;7;8\n");
        LabelledData data = new CsvSource(file, CSV.withDelimiter(';').withLabelColumns(-1, 0), PredictionTask.REGRESSION).read();
        assertEquals(2, data.targetCount());
        assertArrayEquals(new float[] {2, 3, 6, 7}, data.features().data().asFloat());
        assertArrayEquals(new float[] {4, 1, 8, 5}, data.labels().data().asFloat());
    }

    @Test
    void csvRefusalsNameTheFileLineAndColumn() throws IOException {
        Path text = csv("text.csv", "1,2,0\n3,x7,1\n");
        String m = message(assertThrows(MalformedDataException.class,
                () -> new CsvSource(text, CSV, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(text.toString()) && m.contains("line 2 column 2 (index 1)") && m.contains("'x7' is not a number"), m);

        Path header = csv("header.csv", "f1,f2,label\n1,2,0\n");
        m = message(assertThrows(MalformedDataException.class, () -> new CsvSource(header, CSV, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("line 1 column 1") && m.contains("skip it"), m);

        Path nan = csv("nan.csv", "1,2,0\n3,NaN,1\n");
        m = message(assertThrows(MalformedDataException.class, () -> new CsvSource(nan, CSV, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(nan.toString()) && m.contains("line 2 column 2") && m.contains("finite"), m);

        Path inf = csv("inf.csv", "1,2,0.5\n3,4,Infinity\n");
        m = message(assertThrows(MalformedDataException.class, () -> new CsvSource(inf, CSV, PredictionTask.REGRESSION).read()));
        assertTrue(m.contains("line 2 column 3") && m.contains("finite"), m);

        Path empty = csv("empty.csv", "");
        m = message(assertThrows(MalformedDataException.class, () -> new CsvSource(empty, CSV, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(empty.toString()) && m.contains("empty"), m);

        Path onlyHeader = csv("only-header.csv", "a,b,c\n");
        m = message(assertThrows(MalformedDataException.class,
                () -> new CsvSource(onlyHeader, CSV.withSkipLines(1), PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("no data rows after its 1 header line"), m);

        Path narrow = csv("narrow.csv", "1,2,0\n");
        m = message(assertThrows(MalformedDataException.class,
                () -> new CsvSource(narrow, CSV.withLabelColumns(5), PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(narrow.toString()) && m.contains("no label column 5"), m);

        Path ragged = csv("ragged.csv", "1,2,0\n1,0\n");
        m = message(assertThrows(MalformedDataException.class, () -> new CsvSource(ragged, CSV, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("line 2 has 2 columns"), m);

        Path fractional = csv("fractional.csv", "1,2,0\n1,3,0.5\n");
        m = message(assertThrows(MalformedDataException.class,
                () -> new CsvSource(fractional, CSV, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("line 2 column 3") && m.contains("not a class index") && m.contains("--task regression"), m);

        assertThrows(NoSuchFileException.class, () -> new CsvSource(dir.resolve("absent.csv"), CSV, PredictionTask.CLASSIFICATION).read());
    }

    @Test
    void npyReadsFloat64FeaturesInt64LabelsAndImageArrays() throws IOException {
        Path x = NpyFiles.writeFloat64(dir.resolve("x.npy"), new double[] {0.5, 1, 2, 3, 4, 5}, 3, 2);
        Path y = NpyFiles.writeInt64(dir.resolve("y.npy"), new long[] {1, 0, 3}, 3);
        LabelledData data = new NpySource(x, y, PredictionTask.CLASSIFICATION).read();
        assertEquals(DataType.FLOAT, data.dataType());
        assertArrayEquals(new float[] {0.5f, 1, 2, 3, 4, 5}, data.features().data().asFloat());
        assertArrayEquals(new int[] {1, 0, 3}, data.classes());
        assertEquals(4, data.numClasses());

        Path images = NpyFiles.writeFloat32(dir.resolve("img.npy"), new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 2, 2, 3);
        Path two = NpyFiles.writeInt64(dir.resolve("two.npy"), new long[] {0, 1}, 2);
        LabelledData pictures = new NpySource(images, two, PredictionTask.CLASSIFICATION).read();
        assertEquals(2, pictures.height());
        assertEquals(3, pictures.width());
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, pictures.features().data().asFloat());

        Path targets = NpyFiles.writeFloat64(dir.resolve("t.npy"), new double[] {-1.5, 2.25, 7}, 3);
        LabelledData regression = new NpySource(x, targets, PredictionTask.REGRESSION).read();
        assertEquals(1, regression.targetCount());
        assertArrayEquals(new float[] {-1.5f, 2.25f, 7f}, regression.labels().data().asFloat());
    }

    @Test
    void npyRefusalsNameTheFile() throws IOException {
        Path x = NpyFiles.writeFloat64(dir.resolve("x.npy"), new double[] {0.5, 1, 2, Double.NaN}, 2, 2);
        Path y = NpyFiles.writeInt64(dir.resolve("y.npy"), new long[] {1, 0}, 2);
        String m = message(assertThrows(MalformedDataException.class, () -> new NpySource(x, y, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(x.toString()) && m.contains("row 1 column 1") && m.contains("finite"), m);

        Path good = NpyFiles.writeFloat64(dir.resolve("good.npy"), new double[] {0.5, 1, 2, 3}, 2, 2);
        Path three = NpyFiles.writeInt64(dir.resolve("three.npy"), new long[] {1, 0, 1}, 3);
        m = message(assertThrows(MalformedDataException.class, () -> new NpySource(good, three, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(three.toString()) && m.contains("need labels [2]"), m);

        Path empty = Files.write(dir.resolve("empty.npy"), new byte[0]);
        m = message(assertThrows(MalformedDataException.class, () -> new NpySource(empty, y, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(empty.toString()) && m.contains("empty"), m);

        Path foreign = Files.writeString(dir.resolve("foreign.npy"), "1,2,3\n4,5,6\n");
        m = message(assertThrows(MalformedDataException.class, () -> new NpySource(foreign, y, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("not a NumPy .npy file"), m);

        byte[] whole = Files.readAllBytes(good);
        Path truncated = Files.write(dir.resolve("truncated.npy"), java.util.Arrays.copyOf(whole, whole.length - 5));
        m = message(assertThrows(MalformedDataException.class, () -> new NpySource(truncated, y, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains(truncated.toString()) && m.contains("truncated"), m);

        Path strings = NpyFiles.write(dir.resolve("strings.npy"), "<U3", new long[] {2, 2}, new byte[48]);
        m = message(assertThrows(MalformedDataException.class, () -> new NpySource(strings, y, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("'<U3'") && m.contains("must be numbers"), m);

        Path fractional = NpyFiles.writeFloat64(dir.resolve("frac.npy"), new double[] {0, 1.5}, 2);
        m = message(assertThrows(MalformedDataException.class, () -> new NpySource(good, fractional, PredictionTask.CLASSIFICATION).read()));
        assertTrue(m.contains("entry 1 is 1.5") && m.contains("not a class index"), m);
    }

    /** A 10×10-pixel IDX set with 4 classes: any image size and class count, pixel / 255. */
    @Test
    void idxOfAnotherSizeAndClassCount() throws IOException {
        int n = 8;
        byte[] pixels = new byte[n * 100];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 7 % 256);
        }
        Path images = dir.resolve("train-images-idx3-ubyte.gz");
        Path labels = dir.resolve("train-labels-idx1-ubyte.gz");
        IdxFormat.writeImages(new IdxImages(n, 10, 10, pixels), images);
        IdxFormat.writeLabels(IdxLabels.of(0, 1, 2, 3, 3, 2, 1, 0), labels);
        LabelledData data = IdxSource.directory(dir, IdxSource.Split.TRAIN).read();
        assertEquals(10, data.height());
        assertEquals(10, data.width());
        assertEquals(100, data.featureCount());
        assertEquals(4, data.numClasses());
        float[] x = data.features().data().asFloat();
        for (int i = 0; i < pixels.length; i++) {
            assertEquals((pixels[i] & 0xFF) / 255f, x[i], 0f);
        }
        DataSource parsed = DataSources.parse(images + "," + labels, IdxSource.Split.TEST, CSV, PredictionTask.CLASSIFICATION);
        assertArrayEquals(data.classes(), parsed.read().classes());
        assertThrows(NoSuchFileException.class, () -> IdxSource.directory(dir, IdxSource.Split.TEST));

        String m = message(assertThrows(DataMismatchException.class, () -> data.requireFits(784, 10, PredictionTask.CLASSIFICATION, "m.zip")));
        assertTrue(m.contains("100 features") && m.contains("m.zip takes 784 inputs") && m.contains("10x10"), m);
        m = message(assertThrows(DataMismatchException.class, () -> data.requireFits(100, 3, PredictionTask.CLASSIFICATION, "m.zip")));
        assertTrue(m.contains("example 3 has label 3") && m.contains("3 classes"), m);
        assertEquals(6, data.requireFits(100, 6, PredictionTask.CLASSIFICATION, "m.zip").numClasses());
        m = message(assertThrows(DataMismatchException.class, () -> data.requireFits(100, 1, PredictionTask.REGRESSION, "m.zip")));
        assertTrue(m.contains("classification targets") && m.contains("regressor"), m);
    }

    @Test
    void parseChoosesTheSourceByItsForm() throws IOException {
        Path x = NpyFiles.writeFloat64(dir.resolve("x.npy"), new double[] {1, 2}, 1, 2);
        Path y = NpyFiles.writeInt64(dir.resolve("y.npy"), new long[] {0}, 1);
        assertInstanceOf(NpySource.class, DataSources.parse(x + "," + y, IdxSource.Split.TRAIN, CSV, PredictionTask.CLASSIFICATION));
        assertInstanceOf(CsvSource.class, DataSources.parse("a.csv", IdxSource.Split.TRAIN, CSV, PredictionTask.REGRESSION));
        assertThrows(IllegalArgumentException.class, () -> DataSources.parse(x.toString(), IdxSource.Split.TRAIN, CSV,
                PredictionTask.CLASSIFICATION));
        assertThrows(NoSuchFileException.class, () -> DataSources.parse(dir.resolve("nothing").toString(), IdxSource.Split.TRAIN,
                CSV, PredictionTask.CLASSIFICATION));
    }

    /**
     * The standardiser against the formula {@code (x − mean) / std} computed here, per column; a constant column stays
     * finite; regression targets are standardised too and turned back exactly.
     */
    @Test
    void standardizerIsTheColumnStandardization() throws IOException {
        double[][] rows = {{1, 10, 5, 0.5}, {2, 30, 5, 1.5}, {6, 20, 5, 4.0}};
        StringBuilder text = new StringBuilder();
        for (double[] r : rows) {
            text.append(r[0]).append(',').append(r[1]).append(',').append(r[2]).append(',').append(r[3]).append('\n');
        }
        LabelledData train = new CsvSource(csv("s.csv", text.toString()), CSV, PredictionTask.REGRESSION).read();
        NormalizerStandardize standardizer = DataSources.standardizer(train);
        LabelledData normalized = train.normalized(standardizer);
        INDArray x = normalized.features();
        for (int c = 0; c < 3; c++) {
            double mean = 0;
            for (double[] r : rows) {
                mean += r[c] / rows.length;
            }
            double var = 0;
            for (double[] r : rows) {
                var += (r[c] - mean) * (r[c] - mean) / rows.length;
            }
            for (int i = 0; i < rows.length; i++) {
                double expected = var == 0 ? 0 : (rows[i][c] - mean) / Math.sqrt(var);
                assertEquals(expected, x.getDouble(i, c), 1e-5, "row " + i + " column " + c);
            }
        }
        INDArray y = normalized.labels();
        assertEquals(0, y.meanNumber().doubleValue(), 1e-6);
        standardizer.revertLabels(y);
        assertArrayEquals(new float[] {0.5f, 1.5f, 4f}, y.data().asFloat(), 1e-6f);
        assertEquals(train.features(), train.normalized(null).features());
    }

    @Test
    void selectionFallsBackToTheIdxDirectoryOnlyWhenNothingIsNamed() throws IOException {
        SourceSelection none = new SourceSelection(null, null, null, dir, null);
        DataNotFoundException missing = assertThrows(DataNotFoundException.class, () -> none.trainSource(PredictionTask.CLASSIFICATION));
        assertTrue(missing.getMessage().contains("train-images-idx3-ubyte.gz") && missing.getMessage().contains(dir + " (given explicitly)"),
                missing.getMessage());
        SourceSelection onlyTrain = new SourceSelection("a.csv", null, null, null, null);
        assertInstanceOf(CsvSource.class, onlyTrain.trainSource(PredictionTask.REGRESSION));
        String m = assertThrows(IllegalArgumentException.class, () -> onlyTrain.testSource(PredictionTask.REGRESSION)).getMessage();
        assertTrue(m.contains("(a.csv)") && m.contains("--test"), m);
        m = assertThrows(IllegalArgumentException.class, () -> none.withoutDirectory().trainSource(PredictionTask.REGRESSION)).getMessage();
        assertTrue(m.contains("regression needs its data named"), m);
    }
}
