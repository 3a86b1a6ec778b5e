package org.symcurv.apps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.apps.CliRun.symcurv;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.api.preprocessor.NormalizerStandardize;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.IdxFormat;
import org.symcurv.core.data.IdxImages;
import org.symcurv.core.data.IdxLabels;
import org.symcurv.core.model.ModelZip;
import org.symcurv.core.testing.NpyFiles;

/**
 * The user's own data through the commands: a CSV classifier (header, label column in the middle, one feature on a
 * scale of thousands, so the stored standardizer matters), {@code .npy} regression through train → prune → laplace →
 * evaluate, a 10×10-pixel IDX set with 4 classes, and every validation error with its file named and a non-zero exit.
 */
class UserDataCommandsTest {
    private static final Pattern ACCURACY = Pattern.compile("test accuracy\\s+([0-9.]+)\\s+([0-9.]+)");
    private static final Pattern RMSE = Pattern.compile("test RMSE\\s+([0-9.eE+-]+)\\s+([0-9.eE+-]+)");

    @TempDir
    static Path dir;
    static Path trainCsv;
    static Path testCsv;
    /** Rows of the CSV test file: the three features as written (feature 1 on a scale of thousands) and the class. */
    static double[][] testRows;
    static int[] testClasses;

    /** Class k centred at (2k, 5000 + 1000k, −k) with unit noise on the first and last and 300 on the second feature. */
    private static String csv(int n, long seed, double[][] rowsOut, int[] classesOut) {
        Random random = new Random(seed);
        StringBuilder text = new StringBuilder("width,label,height,depth\n");
        for (int i = 0; i < n; i++) {
            int k = i % 3;
            double a = 2 * k + random.nextGaussian();
            double b = 5000 + 1000 * k + 300 * random.nextGaussian();
            double c = -k + random.nextGaussian();
            text.append(String.format(Locale.ROOT, "%.6f,%d,%.6f,%.6f%n", a, k, b, c));
            if (rowsOut != null) {
                rowsOut[i] = new double[] {a, b, c};
                classesOut[i] = k;
            }
        }
        return text.toString();
    }

    @BeforeAll
    static void writeData() throws IOException {
        trainCsv = Files.writeString(dir.resolve("train.csv"), csv(300, 1, null, null));
        testRows = new double[90][];
        testClasses = new int[90];
        testCsv = Files.writeString(dir.resolve("test.csv"), csv(90, 2, testRows, testClasses));
    }

    private static String[] csvData() {
        return new String[] {"--train", trainCsv.toString(), "--test", testCsv.toString(), "--csv-skip", "1", "--label-column", "1"};
    }

    /** {@code symcurv COMMAND DATA-OPTIONS... REST...}. */
    private static CliRun run(String command, String[] data, String... rest) {
        String[] args = new String[1 + data.length + rest.length];
        args[0] = command;
        System.arraycopy(data, 0, args, 1, data.length);
        System.arraycopy(rest, 0, args, 1 + data.length, rest.length);
        return symcurv(args);
    }

    /** Accuracy of {@code net} on the CSV test rows standardised here, from the file's numbers, with the normalizer's statistics. */
    private static double accuracyOnStandardizedRows(MultiLayerNetwork net, NormalizerStandardize z, boolean standardize) {
        double[] mean = z.getMean().castTo(DataType.DOUBLE).toDoubleVector();
        double[] std = z.getStd().castTo(DataType.DOUBLE).toDoubleVector();
        float[][] x = new float[testRows.length][3];
        for (int i = 0; i < testRows.length; i++) {
            for (int c = 0; c < 3; c++) {
                x[i][c] = (float) (standardize ? (testRows[i][c] - mean[c]) / std[c] : testRows[i][c]);
            }
        }
        int[] predicted = net.predict(Nd4j.create(x));
        int correct = 0;
        for (int i = 0; i < predicted.length; i++) {
            correct += predicted[i] == testClasses[i] ? 1 : 0;
        }
        return correct / (double) predicted.length;
    }

    /**
     * CSV → train (standardizer fitted and stored) → prune (the standardizer carried into the pruned zip and applied: the
     * printed accuracies are those of the networks on rows standardised here, which differ from those on raw rows).
     */
    @Test
    void csvClassifierWithItsNormalizerThroughTrainPruneEvaluate() throws IOException {
        Path model = dir.resolve("csv-model.zip");
        CliRun trained = run("train", csvData(), "--out", model.toString(), "--hidden", "8", "--epochs", "15", "--batch", "32",
                "--seed", "4", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
        assertTrue(trained.out().contains("on 300 examples of " + trainCsv) && trained.out().contains("NormalizerStandardize"), trained.out());
        ModelZip.Contents written = ModelZip.read(model);
        NormalizerStandardize z = (NormalizerStandardize) written.normalizer();
        assertNotNull(z, "train stores its standardizer in the model zip");
        assertEquals(5000 + 1000, z.getMean().getDouble(1), 200, "the standardizer's mean of the thousands-scale feature");

        Path pruned = dir.resolve("csv-pruned.zip");
        CliRun pruning = run("prune", csvData(), "--model", model.toString(), "--out", pruned.toString(), "--sparsity", "0.5",
                "--rounds", "1", "--fisher-examples", "100", "--no-progress");
        assertEquals(0, pruning.exitCode(), pruning.err());
        ModelZip.Contents after = ModelZip.read(pruned);
        NormalizerStandardize carried = (NormalizerStandardize) after.normalizer();
        assertNotNull(carried, "the pruned zip carries the input model's normalizer");
        assertEquals(z.getMean(), carried.getMean());
        assertEquals(z.getStd(), carried.getStd());
        Matcher m = ACCURACY.matcher(pruning.out());
        assertTrue(m.find(), pruning.out());
        double before = accuracyOnStandardizedRows(written.network(), z, true);
        assertEquals(before, Double.parseDouble(m.group(1)), 5e-5, pruning.out());
        assertEquals(accuracyOnStandardizedRows(after.network(), z, true), Double.parseDouble(m.group(2)), 5e-5, pruning.out());
        assertNotEquals(before, accuracyOnStandardizedRows(written.network(), z, false),
                "the check means something only if the raw rows score differently");

        CliRun evaluated = run("evaluate", csvData(), "--model", pruned.toString());
        assertEquals(0, evaluated.exitCode(), evaluated.err());
        assertTrue(evaluated.out().contains(String.format(Locale.ROOT, "%.4f", accuracyOnStandardizedRows(after.network(), z, true))),
                evaluated.out());
    }

    /** {@code .npy} regression: train → prune → laplace → evaluate, RMSE in the targets' units checked against a direct computation. */
    @Test
    void npyRegressionThroughTrainPruneLaplaceEvaluate() throws IOException {
        Path[] train = regressionArrays("train", 400, 11);
        Path[] test = regressionArrays("test", 100, 12);
        String[] data = {"--train", train[0] + "," + train[1], "--test", test[0] + "," + test[1]};
        Path model = dir.resolve("npy-model.zip");
        CliRun trained = run("train", data, "--task", "regression", "--out", model.toString(), "--hidden", "16", "--epochs", "20",
                "--batch", "32", "--seed", "5", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
        assertTrue(trained.out().contains("regressor") && trained.out().contains("test RMSE"), trained.out());

        Path pruned = dir.resolve("npy-pruned.zip");
        CliRun pruning = run("prune", data, "--model", model.toString(), "--out", pruned.toString(), "--sparsity", "0.3", "--rounds", "1",
                "--fisher-examples", "200", "--no-progress");
        assertEquals(0, pruning.exitCode(), pruning.err());
        Matcher m = RMSE.matcher(pruning.out());
        assertTrue(m.find(), pruning.out());
        ModelZip.Contents contents = ModelZip.read(pruned);
        double direct = rmseInTargetUnits(contents, test);
        assertEquals(direct, Double.parseDouble(m.group(2)), 1e-3 * direct, pruning.out());

        Path posterior = dir.resolve("npy-posterior.scv");
        CliRun laplace = run("laplace", data, "--model", pruned.toString(), "--last-layer", "--out", posterior.toString(), "--no-progress");
        assertEquals(0, laplace.exitCode(), laplace.err());
        CliRun evaluated = run("evaluate", data, "--model", pruned.toString(), "--posterior", posterior.toString());
        assertEquals(0, evaluated.exitCode(), evaluated.err());
        Matcher rows = Pattern.compile("(map|laplace-glm)\\s+([0-9.eE+-]+)\\s+([0-9.eE+-]+)\\s+([0-9.]+)\\s+([0-9.]+)\\s+([0-9.]+)").matcher(evaluated.out());
        assertTrue(rows.find(), evaluated.out());
        assertEquals(direct, Double.parseDouble(rows.group(2)), 1e-3 * direct, evaluated.out());
        assertTrue(rows.find() && rows.group(1).equals("laplace-glm"), evaluated.out());
        assertEquals(direct, Double.parseDouble(rows.group(2)), 1e-3 * direct, "the linearised predictive's mean is the MAP output");
    }

    /** y = 100 + 30·(x₀ − 2x₁ + x₂²) + N(0, 3²), x ~ N(0, I₃), as float64 {@code .npy} arrays. */
    private static Path[] regressionArrays(String name, int n, long seed) throws IOException {
        Random random = new Random(seed);
        double[] x = new double[n * 3];
        double[] y = new double[n];
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < 3; c++) {
                x[3 * i + c] = random.nextGaussian();
            }
            y[i] = 100 + 30 * (x[3 * i] - 2 * x[3 * i + 1] + x[3 * i + 2] * x[3 * i + 2]) + 3 * random.nextGaussian();
        }
        return new Path[] {NpyFiles.writeFloat64(dir.resolve(name + "-x.npy"), x, n, 3), NpyFiles.writeFloat64(dir.resolve(name + "-y.npy"), y, n)};
    }

    private static double rmseInTargetUnits(ModelZip.Contents contents, Path[] test) throws IOException {
        NormalizerStandardize z = (NormalizerStandardize) contents.normalizer();
        INDArray x = Nd4j.createFromNpyFile(test[0].toFile()).castTo(DataType.FLOAT);
        double[] y = Nd4j.createFromNpyFile(test[1].toFile()).castTo(DataType.DOUBLE).toDoubleVector();
        INDArray standardized = x.subRowVector(z.getMean().castTo(DataType.FLOAT)).divRowVector(z.getStd().castTo(DataType.FLOAT));
        double[] out = contents.network().output(standardized).castTo(DataType.DOUBLE).reshape(y.length).toDoubleVector();
        double labelMean = z.getLabelMean().getDouble(0);
        double labelStd = z.getLabelStd().getDouble(0);
        double sum = 0;
        for (int i = 0; i < y.length; i++) {
            double r = labelStd * out[i] + labelMean - y[i];
            sum += r * r;
        }
        return Math.sqrt(sum / y.length);
    }

    /** A 10×10-pixel IDX directory with 4 classes: train, then the curvature of the model on it, with no normalizer (images). */
    @Test
    void idxImagesOfAnotherSizeAndClassCount() throws IOException {
        Path idx = Files.createDirectories(dir.resolve("idx10"));
        writeIdx(idx, "train", 120, 21);
        writeIdx(idx, "t10k", 40, 22);
        Path model = dir.resolve("idx-model.zip");
        CliRun trained = symcurv("train", "--data", idx.toString(), "--out", model.toString(), "--hidden", "6", "--epochs", "2", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
        assertTrue(trained.out().contains("100-6-4 relu"), trained.out());
        ModelZip.Contents contents = ModelZip.read(model);
        assertEquals(null, contents.normalizer(), "images keep pixel/255 and no normalizer");
        CliRun curvature = symcurv("curvature", "--model", model.toString(), "--train", idx.toString(), "--test", idx.toString(),
                "--out", dir.resolve("idx.scv").toString(), "--no-progress");
        assertEquals(0, curvature.exitCode(), curvature.err());
        assertTrue(curvature.out().contains("120 training examples of " + idx.resolve("train-images-idx3-ubyte.gz")), curvature.out());
    }

    private static void writeIdx(Path dir, String prefix, int n, long seed) throws IOException {
        Random random = new Random(seed);
        byte[] pixels = new byte[n * 100];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = i % 4;
            for (int p = 0; p < 100; p++) {
                pixels[i * 100 + p] = (byte) (p / 25 == labels[i] ? 200 + random.nextInt(56) : random.nextInt(60));
            }
        }
        IdxFormat.writeImages(new IdxImages(n, 10, 10, pixels), dir.resolve(prefix + "-images-idx3-ubyte.gz"));
        IdxFormat.writeLabels(IdxLabels.of(labels), dir.resolve(prefix + "-labels-idx1-ubyte.gz"));
    }

    /** Every validation error: a non-zero exit and a message naming the file (and row and column where there is one). */
    @Test
    void validationErrorsNameTheFileAndExitNonZero() throws IOException {
        Path model = dir.resolve("small.zip");
        CliRun trained = run("train", csvData(), "--out", model.toString(), "--hidden", "4", "--epochs", "1", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
        Path out = dir.resolve("never.zip");

        Path wide = Files.writeString(dir.resolve("wide.csv"), "a,label,b,c,d\n1,0,2,3,4\n");
        assertRefused(wide, "has 4 features per example, but " + model + " takes 3 inputs", model, out, wide);
        Path unknownClass = Files.writeString(dir.resolve("class7.csv"), "a,label,b,c\n1,0,2,3\n1,7,2,3\n");
        assertRefused(unknownClass, "example 1 has label 7, but the model has 3 classes", model, out, unknownClass);
        Path text = Files.writeString(dir.resolve("text.csv"), "a,label,b,c\n1,0,2,3\n1,1,two,3\n");
        assertRefused(text, "line 3 column 3 (index 2): 'two' is not a number", model, out, text);
        Path nan = Files.writeString(dir.resolve("nan.csv"), "a,label,b,c\n1,0,NaN,3\n");
        assertRefused(nan, "line 2 column 3 (index 2) is NaN", model, out, nan);
        Path narrow = Files.writeString(dir.resolve("narrow.csv"), "a\n1\n");
        assertRefused(narrow, "no label column 1", model, out, narrow);
        Path empty = Files.writeString(dir.resolve("empty.csv"), "");
        assertRefused(empty, "is empty", model, out, empty);
        assertTrue(Files.notExists(out), "nothing is written for refused data");
    }

    private static void assertRefused(Path file, String expected, Path model, Path out, Path data) {
        CliRun run = symcurv("prune", "--model", model.toString(), "--out", out.toString(), "--train", data.toString(), "--test", data.toString(),
                "--csv-skip", "1", "--label-column", "1", "--sparsity", "0.5", "--no-progress");
        assertNotEquals(0, run.exitCode(), run.out());
        assertTrue(run.err().contains(file.toString()) && run.err().contains(expected), run.err());
        assertTrue(!run.err().contains("\tat org."), "a user error, not a stack trace: " + run.err());
    }
}
