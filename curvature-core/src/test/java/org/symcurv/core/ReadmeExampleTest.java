package org.symcurv.core;

// [readme:begin]
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
// [readme:end]

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Tolerances;

/**
 * The library-usage example of the repository's {@code README.md}, compiled and run, with checks of what it
 * computes. The lines between the {@code [readme:begin]} and {@code [readme:end]} markers of this file (the
 * imports, then the body of the example), joined by one blank line and with their common indentation removed,
 * must equal the {@code java} code block that follows the {@code <!-- ReadmeExampleTest -->} comment in the
 * README, so the two cannot drift apart: change both together.
 */
class ReadmeExampleTest {
    /** The README comment that announces the checked code block. */
    static final String README_ANCHOR = "<!-- ReadmeExampleTest -->";

    @Test
    void theExampleRunsAndItsFisherIsTheSymmetryAverageOfTheDenseFisher() {
        // [readme:begin]
        // A 4-8-6-3 MLP (tanh, then ReLU hidden units; softmax cross-entropy) in float64, and a batch of 32.
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
                .seed(1).dataType(DataType.DOUBLE).list()
                .layer(new DenseLayer.Builder().nIn(4).nOut(8).activation(Activation.TANH).build())
                .layer(new DenseLayer.Builder().nIn(8).nOut(6).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(6).nOut(3).activation(Activation.SOFTMAX).build())
                .build());
        net.init();
        Nd4j.getRandom().setSeed(2);
        INDArray features = Nd4j.randn(DataType.DOUBLE, 32, 4);
        INDArray labels = Nd4j.zeros(DataType.DOUBLE, 32, 3);
        for (int i = 0; i < 32; i++) {
            labels.putScalar(i, i % 3, 1.0);
        }
        DataSet batch = new DataSet(features, labels);

        // 1. The weight-space symmetries, read off the configuration: tanh units can be permuted and
        //    sign-flipped (h0: signed_perm(8)), ReLU units permuted (h1: perm(6)); inputs and outputs are FREE.
        SymmetrySpec spec = SpecInference.infer(net);
        System.out.println(spec);

        // 2. The symmetry-averaged empirical Fisher (1/n) Σ_i E_A[A g_i g_iᵀ Aᵀ], one small block per kind.
        KindDecomposition kinds = KindDecomposition.of(spec);
        INDArray grads = Gradients.perExample(net, batch);          // [32, P]: row i is ∇ℓ_i, params() order
        Curvature fisher = OrbitAverage.secondMoment(kinds, grads, BlockBudget.DEFAULT);

        // 3. Use it: trace, diagonal of the damped inverse (OBS saliencies), a damped natural-gradient step.
        double trace = fisher.trace();
        INDArray inverseDiagonal = fisher.inverseDiagonal(Damping.global(1e-3));             // [P]
        INDArray meanGradient = grads.mean(0);                                               // [P]
        INDArray step = fisher.power(-1, Damping.global(1e-3)).multiply(meanGradient);     // [P]
        System.out.printf("%d parameters in %d kinds, %d floats stored; trace %.4g, |step| %.4g%n",
                spec.parameterCount(), kinds.kinds().size(), fisher.storedFloats(), trace, step.norm2Number().doubleValue());
        // [readme:end]

        // What the example claims, checked against dense float64 computations.
        assertEquals(List.of(new Group("h0", GroupType.SIGNED_PERM, 8), new Group("h1", GroupType.PERM, 6)), spec.groups());
        long p = net.numParams();
        assertEquals(4 * 8 + 8 + 8 * 6 + 6 + 6 * 3 + 3, p);
        assertEquals(p, spec.parameterCount());

        double[][] g = DenseMatrices.toMatrix(grads);
        double[] mean = DenseMatrices.toVector(Gradients.meanGradient(net, batch));
        DenseMatrices.assertClose(mean, DenseMatrices.toVector(meanGradient), Tolerances.FLOAT64_ROUNDOFF,
                "mean of the per-example gradients vs the minibatch gradient");

        // The group acts orthogonally, so the average keeps the trace: tr F = (1/n) Σ_i ‖g_i‖².
        double expectedTrace = 0;
        for (double[] row : g) {
            for (double x : row) {
                expectedTrace += x * x / g.length;
            }
        }
        DenseMatrices.assertClose(expectedTrace, trace, Tolerances.FLOAT64_ROUNDOFF, "trace of the structured Fisher");

        // R2 is linear, so averaging per example equals projecting the dense Fisher (1/n) Gᵀ G onto the structure.
        INDArray denseFisher = grads.transpose().mmul(grads).divi(g.length);
        double[][] structured = DenseMatrices.toMatrix(fisher.toDense());
        DenseMatrices.assertClose(DenseMatrices.toMatrix(OrbitAverage.project(kinds, denseFisher).toDense()), structured,
                1e-9, "structured Fisher vs the orbit average of the dense Fisher");
        assertTrue(fisher.storedFloats() < p * p / 4, "the structure stores far less than a dense P×P matrix: " + fisher.storedFloats());

        // Damping.global(λ) adds λ·s_max to every eigenvalue: check the step and the inverse diagonal densely.
        double shift = 1e-3 * fisher.maxEigenvalue();
        double[][] damped = DenseMatrices.toMatrix(fisher.plusIdentity(shift).toDense());
        DenseMatrices.assertClose(mean, DenseMatrices.multiply(damped, DenseMatrices.toVector(step)), 1e-8,
                "(F + λ s_max I) · step = mean gradient");
        double[][] inverse = invert(damped);
        double[] expectedDiagonal = new double[inverse.length];
        for (int q = 0; q < inverse.length; q++) {
            expectedDiagonal[q] = inverse[q][q];
        }
        DenseMatrices.assertClose(expectedDiagonal, DenseMatrices.toVector(inverseDiagonal), 1e-8,
                "diagonal of the damped inverse vs a dense Gauss-Jordan inverse");
    }

    @Test
    void theReadmeShowsExactlyThisExample() throws IOException {
        String source = Files.readString(Path.of("src/test/java/org/symcurv/core/ReadmeExampleTest.java"));
        String expected = String.join("\n\n", markedRegions(source));
        String actual = readmeCodeBlock(Files.readString(readme()));
        assertEquals(expected, actual, "the README's example (after " + README_ANCHOR + ") differs from the code between the [readme:begin]/"
                + "[readme:end] markers of ReadmeExampleTest.java: copy the test's code into README.md");
    }

    /** The repository's README.md: the first one found walking up from the module directory. */
    static Path readme() {
        for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("README.md");
            if (Files.isRegularFile(candidate) && Files.isDirectory(dir.resolve("curvature-core"))) {
                return candidate;
            }
        }
        throw new IllegalStateException("README.md not found above " + Path.of("").toAbsolutePath());
    }

    /** Each region between the marker comments, with its common indentation removed. */
    static List<String> markedRegions(String source) {
        List<String> regions = new ArrayList<>();
        List<String> current = null;
        for (String line : source.split("\n", -1)) {
            String trimmed = line.trim();
            if (trimmed.equals("// [readme:begin]")) {
                current = new ArrayList<>();
            } else if (trimmed.equals("// [readme:end]")) {
                regions.add(dedent(current));
                current = null;
            } else if (current != null) {
                current.add(line);
            }
        }
        assertTrue(current == null && regions.size() == 2, "expected two closed [readme:begin]/[readme:end] regions, found " + regions.size());
        return regions;
    }

    private static String dedent(List<String> lines) {
        int indent = Integer.MAX_VALUE;
        for (String line : lines) {
            if (!line.isBlank()) {
                indent = Math.min(indent, line.length() - line.stripLeading().length());
            }
        }
        StringBuilder out = new StringBuilder();
        for (String line : lines) {
            out.append(line.isBlank() ? "" : line.substring(indent).stripTrailing()).append('\n');
        }
        return out.toString().strip();
    }

    /** The body of the first {@code ```java} block after {@link #README_ANCHOR}. */
    static String readmeCodeBlock(String readme) {
        int anchor = readme.indexOf(README_ANCHOR);
        assertTrue(anchor >= 0, "README.md has no " + README_ANCHOR + " comment before the library example");
        int open = readme.indexOf("```java\n", anchor);
        assertTrue(open >= 0, "no ```java block after " + README_ANCHOR + " in README.md");
        int start = open + "```java\n".length();
        int close = readme.indexOf("\n```", start);
        assertTrue(close >= 0, "the ```java block after " + README_ANCHOR + " in README.md is not closed");
        List<String> lines = new ArrayList<>();
        for (String line : readme.substring(start, close).split("\n", -1)) {
            lines.add(line.stripTrailing());
        }
        return String.join("\n", lines).strip();
    }

    /** A dense inverse by Gauss-Jordan elimination with partial pivoting (float64, independent of ND4J). */
    static double[][] invert(double[][] m) {
        int n = m.length;
        double[][] a = new double[n][2 * n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(m[i], 0, a[i], 0, n);
            a[i][n + i] = 1.0;
        }
        for (int c = 0; c < n; c++) {
            int pivot = c;
            for (int r = c + 1; r < n; r++) {
                if (Math.abs(a[r][c]) > Math.abs(a[pivot][c])) {
                    pivot = r;
                }
            }
            double[] t = a[c];
            a[c] = a[pivot];
            a[pivot] = t;
            double d = a[c][c];
            assertTrue(d != 0.0, "singular matrix at column " + c);
            for (int j = 0; j < 2 * n; j++) {
                a[c][j] /= d;
            }
            for (int r = 0; r < n; r++) {
                if (r != c && a[r][c] != 0.0) {
                    double f = a[r][c];
                    for (int j = 0; j < 2 * n; j++) {
                        a[r][j] -= f * a[c][j];
                    }
                }
            }
        }
        double[][] inverse = new double[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], n, inverse[i], 0, n);
        }
        return inverse;
    }
}
