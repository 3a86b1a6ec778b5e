package org.symcurv.apps;

import static org.symcurv.apps.CliRun.symcurv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.io.CurvatureFile;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TestData;

/** {@code symcurv curvature} end to end on the committed Fashion-MNIST subset, with a tiny model trained by {@code symcurv train}. */
class CurvatureCommandTest {
    /**
     * The model is float32: its Fisher from batched factors and the orbit average of DL4J's per-example float32
     * gradients differ by float32 round-off accumulated over a few hundred examples and a few hundred inputs.
     */
    static final double FLOAT32_ROUTES = 1e-4;
    /** Examples the tests average over: a subset of the 2,000 training images, to keep each run short. */
    static final int EXAMPLES = 200;

    @TempDir
    static Path dir;
    /** 784 → 2 (tanh) → 10 softmax, trained one epoch: 1,600 parameters, small enough for --dense-out. */
    static Path model;
    static Path data;



    static String[] curvature(Path modelFile, Path output, String... extra) {
        String[] base = {"curvature", "--model", modelFile.toString(), "--data", data.toString(), "--out", output.toString(),
                "--examples", Integer.toString(EXAMPLES), "--batch", "64", "--seed", "3", "--no-progress"};
        return Stream.concat(Stream.of(base), Stream.of(extra)).toArray(String[]::new);
    }

    @BeforeAll
    static void trainATinyModel() {
        data = TestData.fashionMnistSubset();
        model = dir.resolve("tiny.zip");
        CliRun trained = symcurv("train", "--data", data.toString(), "--out", model.toString(), "--epochs", "1", "--hidden", "2",
                "--activation", "tanh", "--batch", "64", "--seed", "5", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
    }

    static MultiLayerNetwork restored(Path file) throws IOException {
        return ModelSerializer.restoreMultiLayerNetwork(file.toFile(), false);
    }

    /** The images the command averages over for {@code --examples EXAMPLES --seed 3}. */
    static ImageDataSet examples() throws IOException {
        return FashionMnist.loadTrain(data).sample(EXAMPLES, 3);
    }

    @Test
    void theEmpiricalFisherFileAndCsvEqualTheOrbitAverageOfDl4jPerExampleGradients() throws IOException {
        Path out = dir.resolve("empirical.scv");
        Path csv = dir.resolve("empirical.csv");
        CliRun run = symcurv(curvature(model, out, "--estimator", "empirical-fisher", "--dense-out", csv.toString()));
        assertEquals(0, run.exitCode(), run.err());
        for (String expected : new String[] {"1,600 parameters", "empirical Fisher", "200 training examples of", "h0:signed_perm(2)",
                "invariant", "std@h0", "trace", "MiB", "curvature written to", "dense 1600 × 1600 matrix", "estimate"}) {
            assertTrue(run.out().contains(expected), "'" + expected + "' in:\n" + run.out());
        }

        CurvatureFile.Contents contents = CurvatureFile.read(out);
        MultiLayerNetwork net = restored(model);
        SymmetrySpec spec = SpecInference.infer(net);
        assertEquals(spec, contents.curvature().spec());
        assertEquals("empirical-fisher", contents.metadata().get(CurvatureFile.ESTIMATOR));
        assertEquals("inferred", contents.metadata().get(CurvatureFile.GROUP_TYPE));
        assertEquals(Integer.toString(EXAMPLES), contents.metadata().get(CurvatureFile.EXAMPLES));
        assertEquals("3", contents.metadata().get(CurvatureFile.SEED));
        assertEquals(model.toAbsolutePath().normalize().toString(), contents.metadata().get(CurvatureFile.MODEL));

        // independent route: DL4J's per-example gradients (params() order), orbit-averaged one by one
        ImageDataSet images = examples();
        INDArray perExample = Gradients.perExample(net, new DataSet(images.features(), images.labelsOneHot())).castTo(DataType.DOUBLE);
        Curvature expected = OrbitAverage.secondMoment(KindDecomposition.of(spec), perExample, BlockBudget.DEFAULT);
        double[][] expectedDense = DenseMatrices.toMatrix(expected.toDense());
        DenseMatrices.assertClose(expectedDense, DenseMatrices.toMatrix(contents.curvature().toDense()), FLOAT32_ROUTES, "curvature file");
        double[][] written = readCsv(csv);
        assertEquals(1600, written.length);
        DenseMatrices.assertClose(expectedDense, written, FLOAT32_ROUTES, "dense CSV");

        // the group acts within each leaf, so the averaging keeps each leaf's share of the trace: Σ_i ‖g_i|leaf‖² / N
        ParameterLayout layout = ParameterLayout.of(net);
        for (var leaf : layout.leaves()) {
            INDArray block = perExample.get(org.nd4j.linalg.indexing.NDArrayIndex.all(),
                    org.nd4j.linalg.indexing.NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()));
            double expectedTrace = block.mul(block).sumNumber().doubleValue() / EXAMPLES;
            double trace = 0;
            for (long q = leaf.offset(); q < leaf.offset() + leaf.length(); q++) {
                trace += written[(int) q][(int) q];
            }
            DenseMatrices.assertClose(expectedTrace, trace, FLOAT32_ROUTES, "trace of leaf " + leaf.name() + " in the CSV (params() order)");
        }
    }

    static double[][] readCsv(Path csv) throws IOException {
        List<String> lines = Files.readAllLines(csv);
        double[][] m = new double[lines.size()][];
        for (int i = 0; i < m.length; i++) {
            String[] fields = lines.get(i).split(",");
            m[i] = new double[fields.length];
            for (int j = 0; j < fields.length; j++) {
                m[i][j] = Double.parseDouble(fields[j]);
            }
        }
        return m;
    }

    @Test
    void theFisherUsesTheSeededSubsetAndLabelDrawsAndDampingAddsToTheDiagonal() throws IOException {
        Path plain = dir.resolve("fisher.scv");
        CliRun run = symcurv(curvature(model, plain, "--group", "perm"));
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("Fisher (1 label sampled from the model per example, seed 3)"), run.out());
        CurvatureFile.Contents contents = CurvatureFile.read(plain);
        assertEquals("fisher", contents.metadata().get(CurvatureFile.ESTIMATOR));
        assertEquals("perm", contents.metadata().get(CurvatureFile.GROUP_TYPE));
        assertEquals("h0:perm(2)", contents.metadata().get("groups"));

        MultiLayerNetwork net = restored(model);
        SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(GroupType.PERM));
        Curvature direct = FisherSource.monteCarlo(examples().features(), 3).withBatchSize(64).symmetric(net, spec);
        Curvature fromFile = contents.curvature();
        assertEquals(spec, fromFile.spec());
        for (int k = 0; k < direct.decomposition().kinds().size(); k++) {
            assertEquals(direct.block(k), fromFile.block(k), "the command's subset and label draws are the library's for the same seed");
        }

        Path damped = dir.resolve("damped.scv");
        CliRun dampedRun = symcurv(curvature(model, damped, "--group", "perm", "--damping", "0.01"));
        assertEquals(0, dampedRun.exitCode(), dampedRun.err());
        Curvature withDamping = CurvatureFile.read(damped).curvature();
        double shift = 0.01 * direct.maxEigenvalue();
        DenseMatrices.assertClose(direct.trace() + shift * spec.parameterCount(), withDamping.trace(), 1e-12, "trace of F + λ s_max I");
        DenseMatrices.assertClose(direct.maxEigenvalue() + shift, withDamping.maxEigenvalue(), 1e-12, "largest eigenvalue of F + λ s_max I");
        assertTrue(CurvatureFile.read(damped).metadata().get("damping").startsWith("0.01 × s_max"));
    }

    @Test
    void anExistingOutputIsKeptWithoutForceAndReplacedWithIt() throws IOException {
        Path out = dir.resolve("kept.scv");
        Files.writeString(out, "precious");
        CliRun refused = symcurv(curvature(model, out));
        assertEquals(1, refused.exitCode(), refused.err());
        assertTrue(refused.err().contains("already exists") && refused.err().contains("--force"), refused.err());
        assertFalse(refused.out().contains("estimating"), "refused before any work: " + refused.out());
        assertEquals("precious", Files.readString(out));

        CliRun forced = symcurv(curvature(model, out, "--force"));
        assertEquals(0, forced.exitCode(), forced.err());
        assertEquals("fisher", CurvatureFile.read(out).metadata().get(CurvatureFile.ESTIMATOR));
        try (Stream<Path> siblings = Files.list(dir)) {
            assertTrue(siblings.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")), "no temporary file left behind");
        }
    }

    @Test
    void corruptAndForeignModelFilesFailWithAClearMessage() throws IOException {
        Path garbage = Files.write(dir.resolve("garbage.zip"), new byte[] {1, 2, 3, 4, 5});
        Path foreignZip = dir.resolve("foreign.zip");
        try (ZipOutputStream zip = new ZipOutputStream(Files.newOutputStream(foreignZip))) {
            zip.putNextEntry(new ZipEntry("hello.txt"));
            zip.write("not a model".getBytes(java.nio.charset.StandardCharsets.UTF_8));
            zip.closeEntry();
        }
        for (Path bad : List.of(garbage, foreignZip)) {
            Path out = dir.resolve("never.scv");
            CliRun run = symcurv(curvature(bad, out));
            assertEquals(1, run.exitCode(), run.err());
            assertTrue(run.err().contains(bad.toString()) && run.err().contains("DL4J model"), run.err());
            assertFalse(run.err().contains("\tat "), "no stack trace for an expected failure: " + run.err());
            assertFalse(Files.exists(out));
        }
        CliRun missing = symcurv(curvature(dir.resolve("no-such.zip"), dir.resolve("never.scv")));
        assertEquals(1, missing.exitCode());
        assertTrue(missing.err().contains("no-such.zip: no such file"), missing.err());
    }

    @Test
    void unsupportedModelsAndOversizedDenseOutputsAreRefusedNamingTheReason() throws IOException {
        MultiLayerConfiguration batchNorm = new NeuralNetConfiguration.Builder().dataType(DataType.FLOAT).list()
                .layer(new DenseLayer.Builder().nIn(784).nOut(3).activation(Activation.TANH).build())
                .layer(new BatchNormalization.Builder().nOut(3).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(3).nOut(10).activation(Activation.SOFTMAX).build())
                .build();
        Path unsupported = save(batchNorm, "batchnorm.zip");
        CliRun run = symcurv(curvature(unsupported, dir.resolve("never.scv")));
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains("layer 1 (BatchNormalization)"), run.err());

        MultiLayerConfiguration wide = new MlpArchitecture(784, List.of(8), HiddenActivation.RELU, 10).configuration(1e-3, 1);
        Path wideModel = save(wide, "wide.zip");
        CliRun dense = symcurv(curvature(wideModel, dir.resolve("never.scv"), "--dense-out", dir.resolve("never.csv").toString()));
        assertEquals(1, dense.exitCode(), dense.err());
        assertTrue(dense.err().contains("at most 5000 parameters") && dense.err().contains("6,370"), dense.err());
        assertFalse(dense.out().contains("estimating"), dense.out());

        MultiLayerConfiguration otherInputs = new MlpArchitecture(100, List.of(3), HiddenActivation.RELU, 10).configuration(1e-3, 1);
        CliRun mismatch = symcurv(curvature(save(otherInputs, "hundred.zip"), dir.resolve("never.scv")));
        assertEquals(1, mismatch.exitCode(), mismatch.err());
        assertTrue(mismatch.err().contains("takes 100 inputs") && mismatch.err().contains("784 features per example"), mismatch.err());
        assertFalse(Files.exists(dir.resolve("never.scv")));
    }

    static Path save(MultiLayerConfiguration configuration, String name) throws IOException {
        MultiLayerNetwork net = new MultiLayerNetwork(configuration);
        net.init();
        Path file = dir.resolve(name);
        ModelSerializer.writeModel(net, file.toFile(), false);
        return file;
    }

    @Test
    void badOptionsAreUsageErrorsWithExitCode2() {
        Path out = dir.resolve("bad.scv");
        for (String[] bad : new String[][] {
                {"--estimator", "hessian"}, {"--group", "rotation"}, {"--examples", "0"}, {"--batch", "0"}, {"--samples", "0"},
                {"--estimator", "empirical-fisher", "--samples", "2"}, {"--damping", "-1"}, {"--max-block", "0"}, {"--examples", "2001"}}) {
            CliRun run = symcurv(curvature(model, out, bad));
            assertEquals(2, run.exitCode(), String.join(" ", bad) + " gave: " + run.err());
            assertTrue(run.err().contains("symcurv curvature --help"), String.join(" ", bad) + " gave: " + run.err());
        }
        CliRun unknownGroup = symcurv(curvature(model, out, "--group", "rotation"));
        assertTrue(unknownGroup.err().contains("perm, sign, signed-perm, orth"), unknownGroup.err());
        CliRun noModel = symcurv("curvature", "--out", out.toString());
        assertEquals(2, noModel.exitCode());
        assertTrue(noModel.err().contains("--model"), noModel.err());
        assertFalse(Files.exists(out));
    }

    @Test
    void helpListsTheOptions() {
        CliRun help = symcurv("curvature", "--help");
        assertEquals(0, help.exitCode());
        for (String option : new String[] {"--model", "--data", "--estimator", "--group", "--examples", "--samples", "--batch", "--seed",
                "--damping", "--out", "--dense-out", "--force", "--no-progress", "empirical-fisher", "signed-perm"}) {
            assertTrue(help.out().contains(option), option + " in " + help.out());
        }
        assertEquals(0, symcurv("help", "curvature").exitCode());
    }
}
