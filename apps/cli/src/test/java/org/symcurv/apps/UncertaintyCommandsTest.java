package org.symcurv.apps;

import static org.symcurv.apps.CliRun.symcurv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.IdxFormat;
import org.symcurv.core.data.IdxImages;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.TestData;
import org.symcurv.uncertainty.ClassificationMetrics;
import org.symcurv.uncertainty.LaplaceFit;
import org.symcurv.uncertainty.MarginalLikelihood;
import org.symcurv.uncertainty.PosteriorFile;

/** {@code symcurv laplace}, {@code symcurv evaluate} and the uncertainty benchmark end to end on the committed Fashion-MNIST subset. */
class UncertaintyCommandsTest {
    @TempDir
    static Path dir;
    static Path model;
    static Path data;




    @BeforeAll
    static void trainATinyModel() {
        data = TestData.fashionMnistSubset();
        model = dir.resolve("tiny.zip");
        CliRun trained = symcurv("train", "--data", data.toString(), "--out", model.toString(), "--epochs", "2", "--hidden", "8",
                "--batch", "64", "--seed", "5", "--no-progress");
        assertEquals(0, trained.exitCode(), trained.err());
    }

    @Test
    void lastLayerMarglikPosteriorMatchesTheLibraryAndEvaluates() throws Exception {
        Path posterior = dir.resolve("last.scv");
        CliRun fit = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", posterior.toString(), "--last-layer",
                "--examples", "300", "--seed", "3", "--no-progress");
        assertEquals(0, fit.exitCode(), fit.err());
        for (String expected : new String[] {"posterior over the last layer (90 parameters)", "prior precision λ =", "log evidence", "posterior memory",
                "posterior written to"}) {
            assertTrue(fit.out().contains(expected), "'" + expected + "' in:\n" + fit.out());
        }
        PosteriorFile.Contents contents = PosteriorFile.read(posterior);
        assertEquals(2000, contents.dataSize());
        assertEquals(List.of("1_W", "1_b"), contents.fisher().spec().leaves().stream().map(l -> l.name()).toList());
        assertEquals("last-layer", contents.metadata().get(PosteriorFile.SUBSET));

        // the same posterior through the library
        MultiLayerNetwork net = ModelSerializer.restoreMultiLayerNetwork(model.toFile(), false);
        ImageDataSet train = FashionMnist.loadTrain(data);
        SymmetrySpec spec = LaplaceFit.posteriorSpec(net, LaplaceFit.Structure.SYMMETRY, LaplaceFit.Subset.LAST_LAYER, null);
        Curvature fisher = FisherSource.monteCarlo(train.sample(300, 3).features(), 3).withAccumulatorType(DataType.DOUBLE).symmetric(net, spec);
        MarginalLikelihood.Result expected = MarginalLikelihood.maximizeScalar(fisher, train.size(), LaplaceFit.mean(net, spec),
                LaplaceFit.logLikelihood(net, train.features(), train.labels()));
        assertEquals(expected.prior().of("1_W"), contents.prior().of("1_W"), 1e-9 * expected.prior().of("1_W"));

        Path png = dir.resolve("reliability.png");
        Path json = dir.resolve("evaluation.json");
        CliRun evaluation = symcurv("evaluate", "--model", model.toString(), "--posterior", posterior.toString(), "--data", data.toString(),
                "--test-from", "100", "--test-count", "300", "--ood-count", "100", "--samples", "50", "--network-samples", "3",
                "--reliability", png.toString(), "--json", json.toString());
        assertEquals(0, evaluation.exitCode(), evaluation.err());
        for (String expectedText : new String[] {"map ", "/ glm-probit", "/ glm-pairwise", "/ glm-mc", "/ nn-mc", "rotate90", "vflip", "invert",
                "noise", "permute", "AUROC avg", "reliability diagram written", "numbers written"}) {
            assertTrue(evaluation.out().contains(expectedText), "'" + expectedText + "' in:\n" + evaluation.out());
        }
        PngFiles.assertPng(png, 800, 640);
        String written = Files.readString(json);
        assertTrue(written.contains("\"rows\"") && written.contains("\"glm-probit\"") && written.contains("\"bins\""), written);

        // the MAP row is the network's own accuracy on those 300 images
        ImageDataSet test = FashionMnist.loadTest(data).subset(100, 400);
        double[][] p = net.output(test.features()).castTo(DataType.DOUBLE).toDoubleMatrix();
        ClassificationMetrics map = ClassificationMetrics.of(p, test.labels());
        String mapLine = evaluation.out().lines().filter(l -> l.startsWith("map ")).findFirst().orElseThrow();
        assertTrue(mapLine.contains(String.format(java.util.Locale.ROOT, "%.4f", map.accuracy())), mapLine + " vs " + map.accuracy());
    }

    @Test
    void gridAndPerLayerAndDiagonalPosteriors() throws Exception {
        Path grid = dir.resolve("grid.scv");
        CliRun fit = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", grid.toString(), "--last-layer",
                "--examples", "200", "--prior", "grid", "--validation", "150", "--grid", "-2:4:1", "--no-progress");
        assertEquals(0, fit.exitCode(), fit.err());
        double lambda = PosteriorFile.read(grid).prior().of("1_W");
        double exponent = Math.log10(lambda);
        assertEquals(Math.round(exponent), exponent, 1e-9, "a grid point 10^k, got " + lambda);
        assertTrue(fit.out().contains("validation NLL"), fit.out());

        Path layers = dir.resolve("diag-layers.scv");
        CliRun perLayer = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", layers.toString(),
                "--structure", "diagonal", "--all-weights", "--prior", "marglik-layer", "--examples", "200", "--no-progress");
        assertEquals(0, perLayer.exitCode(), perLayer.err());
        PosteriorFile.Contents contents = PosteriorFile.read(layers);
        assertEquals(6370, contents.fisher().spec().parameterCount());
        assertTrue(contents.prior().of("0_W") != contents.prior().of("1_W"), "one λ per layer: " + contents.prior());
        CliRun evaluation = symcurv("evaluate", "--model", model.toString(), "--posterior", layers.toString(), "--data", data.toString(),
                "--test-count", "200", "--predictive", "map,glm-probit", "--shift", "noise", "--ood-count", "50");
        assertEquals(0, evaluation.exitCode(), evaluation.err());
        assertTrue(evaluation.out().contains("glm-probit") && evaluation.out().contains("noise"), evaluation.out());
    }

    @Test
    void theDefaultsAreTheLastLayerAndTheVarianceScore() throws Exception {
        Path posterior = dir.resolve("default.scv");
        CliRun fit = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", posterior.toString(), "--examples", "200",
                "--no-progress");
        assertEquals(0, fit.exitCode(), fit.err());
        assertTrue(fit.out().contains("posterior over the last layer (90 parameters)"), fit.out());
        assertEquals("last-layer", PosteriorFile.read(posterior).metadata().get(PosteriorFile.SUBSET));
        CliRun both = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", dir.resolve("both.scv").toString(),
                "--last-layer", "--all-weights");
        assertEquals(2, both.exitCode(), both.err());
        assertTrue(both.err().contains("exclude each other"), both.err());

        String[] common = {"evaluate", "--model", model.toString(), "--posterior", posterior.toString(), "--data", data.toString(), "--test-count", "200",
                "--predictive", "map,glm-probit", "--shift", "invert,noise", "--ood-count", "60"};
        CliRun byDefault = symcurv(common);
        CliRun variance = symcurv(java.util.stream.Stream.concat(java.util.Arrays.stream(common), java.util.stream.Stream.of("--ood-score", "variance"))
                .toArray(String[]::new));
        CliRun entropy = symcurv(java.util.stream.Stream.concat(java.util.Arrays.stream(common), java.util.stream.Stream.of("--ood-score", "entropy"))
                .toArray(String[]::new));
        for (CliRun r : new CliRun[] {byDefault, variance, entropy}) {
            assertEquals(0, r.exitCode(), r.err());
        }
        assertTrue(byDefault.out().contains("variance of the linearised logits for glm rows, entropy for map and nn-mc rows"), byDefault.out());
        assertEquals(table(variance.out(), "glm-probit"), table(byDefault.out(), "glm-probit"), "the default is the variance score");
        assertEquals(table(entropy.out(), "map "), table(byDefault.out(), "map "), "the MAP, without a covariance, is scored by entropy");
        assertTrue(!table(entropy.out(), "glm-probit").equals(table(byDefault.out(), "glm-probit")), byDefault.out() + entropy.out());
    }

    /** The table line that contains {@code marker}, without its time column. */
    private static String table(String out, String marker) {
        String line = out.lines().filter(l -> l.contains(marker) && l.matches(".*\\d\\.\\d{4}.*")).findFirst().orElseThrow(() -> new AssertionError(out));
        return line.replaceAll("\\s+[0-9.]+$", "");
    }

    @Test
    void oodImagesFromAnIdxFile() throws Exception {
        IdxImages images = IdxFormat.readImages(data.resolve(FashionMnist.TRAIN_IMAGES)).slice(0, 60);
        Path idx = dir.resolve("other-idx3-ubyte");
        IdxFormat.writeImages(images, idx);
        CliRun evaluation = symcurv("evaluate", "--model", model.toString(), "--data", data.toString(), "--test-count", "100", "--ood", idx.toString());
        assertEquals(0, evaluation.exitCode(), evaluation.err());
        assertTrue(evaluation.out().contains("OOD sets (entropy, 2,000 examples each): other-idx3-ubyte\n"), evaluation.out());
        assertTrue(!evaluation.out().contains("rotate90"), "--ood alone replaces the built-in shifts:\n" + evaluation.out());
        String header = evaluation.out().lines().filter(l -> l.startsWith("method ")).findFirst().orElseThrow();
        assertTrue(header.contains("  other-idx3-ubyte  "), "the column is headed by the file name in full: " + header);

        CliRun named = symcurv("evaluate", "--model", model.toString(), "--data", data.toString(), "--test-count", "100",
                "--ood", "train-slice=" + idx, "--ood", idx.toString(), "--no-progress");
        assertEquals(0, named.exitCode(), named.err());
        assertTrue(named.out().contains("OOD sets (entropy, 2,000 examples each): train-slice, other-idx3-ubyte\n"), named.out());
        String namedHeader = named.out().lines().filter(l -> l.startsWith("method ")).findFirst().orElseThrow();
        assertTrue(namedHeader.contains("  train-slice  ") && namedHeader.contains("  other-idx3-ubyte  "), namedHeader);
    }

    @Test
    void badInputGetsAClearMessageAndNonZeroExit() throws Exception {
        CliRun missing = symcurv("evaluate", "--model", dir.resolve("nope.zip").toString(), "--data", data.toString());
        assertEquals(1, missing.exitCode());
        assertTrue(missing.err().contains("nope.zip: no such file"), missing.err());

        CliRun noPosterior = symcurv("evaluate", "--model", model.toString(), "--data", data.toString(), "--predictive", "glm-probit");
        assertEquals(2, noPosterior.exitCode());
        assertTrue(noPosterior.err().contains("needs --posterior"), noPosterior.err());

        Path existing = dir.resolve("existing.scv");
        Files.writeString(existing, "keep me");
        CliRun kept = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", existing.toString(), "--no-progress");
        assertEquals(1, kept.exitCode());
        assertTrue(kept.err().contains("already exists"), kept.err());
        assertEquals("keep me", Files.readString(existing));

        CliRun notPosterior = symcurv("evaluate", "--model", model.toString(), "--data", data.toString(), "--posterior", existing.toString());
        assertEquals(1, notPosterior.exitCode());
        assertTrue(notPosterior.err().contains("cannot read the posterior"), notPosterior.err());

        CliRun badOod = symcurv("evaluate", "--model", model.toString(), "--data", data.toString(), "--ood", dir.resolve("none.idx").toString());
        assertEquals(1, badOod.exitCode());
        assertTrue(badOod.err().contains("cannot read the OOD images"), badOod.err());

        CliRun fixedWithoutValue = symcurv("laplace", "--model", model.toString(), "--data", data.toString(), "--out", dir.resolve("x.scv").toString(),
                "--prior", "fixed");
        assertEquals(2, fixedWithoutValue.exitCode());
        assertTrue(fixedWithoutValue.err().contains("--prior-precision"), fixedWithoutValue.err());
    }

    @Test
    void benchmarkRunsEndToEndOnTheSubset() throws Exception {
        Path out = dir.resolve("bench");
        CliRun run = symcurv("bench", "uncertainty", "--model", model.toString(), "--data", data.toString(), "--train-images", "2000", "--examples", "200", "--validation", "100",
                "--ood-count", "50", "--samples", "20", "--network-samples", "2", "--grid", "-1:2:1", "--only", "diagonal-last,symmetry-last",
                "--out-dir", out.toString());
        assertEquals(0, run.exitCode(), run.err() + run.out());
        assertTrue(run.out().contains("goal check") && run.out().contains("symmetry-last marglik"), run.out());
        assertTrue(Files.readString(out.resolve("uncertainty.json")).contains("\"fits\""));
        PngFiles.assertPng(out.resolve("reliability.png"), 800, 640);
    }
}
