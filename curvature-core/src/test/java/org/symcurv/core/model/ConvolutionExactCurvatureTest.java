package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyCnns;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * The exact float64 oracles ({@link ExactCurvature}) on tiny CNNs (convolutions in Truncate and Same mode, with and
 * without bias, max and average pooling with padding) against DL4J as an independent implementation: the loss and
 * gradients against DL4J's backward pass, the exact (R-operator) Hessian against central differences of DL4J's own
 * gradient, and the exact GGN against the Monte Carlo Fisher with many label samples.
 */
class ConvolutionExactCurvatureTest {

    record Case(String name, MultiLayerNetwork net, DataSet data) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        return Stream.of(
                new Case("conv tanh, max pool, dense tanh, softmax", TinyCnns.lenetLike(51), TinyNetworks.classificationData(151, 5, 36, 3)),
                new Case("Same conv stride 2 no bias sigmoid, Same max pool, Same conv elu, Same avg pool, softmax",
                        TinyCnns.builder(52).input(5, 5, 1)
                                .conv(2, new int[] {3, 3}, new int[] {2, 2}, new int[] {0, 0}, ConvolutionMode.Same, false, Activation.SIGMOID)
                                .pool(PoolingType.MAX, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same)
                                .conv(3, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same, true, Activation.ELU)
                                .pool(PoolingType.AVG, new int[] {3, 3}, new int[] {2, 2}, new int[] {0, 0}, ConvolutionMode.Same)
                                .softmax(3),
                        TinyNetworks.classificationData(152, 4, 25, 3)),
                new Case("2 channels of 5x4, conv 2x2 pad 1 tanh, padded max pool 3 stride 2, conv identity, mse",
                        TinyCnns.builder(53).input(5, 4, 2)
                                .conv(2, new int[] {2, 2}, new int[] {1, 1}, new int[] {1, 1}, ConvolutionMode.Truncate, true, Activation.TANH)
                                .pool(PoolingType.MAX, new int[] {3, 3}, new int[] {2, 2}, new int[] {1, 1}, ConvolutionMode.Truncate)
                                .conv(2, 2, Activation.IDENTITY).meanSquaredError(2),
                        TinyNetworks.regressionData(153, 4, 40, 2)),
                new Case("conv 2x2 tanh, global max pool, dense sigmoid, softmax",
                        TinyCnns.builder(54).input(5, 5, 2).conv(3, 2, Activation.TANH).globalPool(PoolingType.MAX, true).dense(2, Activation.SIGMOID).softmax(2),
                        TinyNetworks.classificationData(154, 4, 50, 2)),
                new Case("conv 2x2 elu, global avg pool, softmax",
                        TinyCnns.builder(55).input(4, 5, 1).conv(2, 2, Activation.ELU).globalPool(PoolingType.AVG, true).softmax(3),
                        TinyNetworks.classificationData(155, 4, 20, 3)));
    }

    /** One case per output loss (the Monte Carlo test is the slow one: a few seconds each). */
    static Stream<Case> softmaxAndMeanSquaredErrorCases() {
        List<Case> all = cases().toList();
        return Stream.of(all.get(0), all.get(2));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lossAndGradientsAreDl4js(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        ExactCurvature.Batch batch = ExactCurvature.Batch.of(c.data());
        Gradients.LossAndGradient dl4j = Gradients.meanLossAndGradient(c.net(), c.data());
        assertClose(dl4j.meanLoss(), oracle.meanLoss(theta, batch), Tolerances.FLOAT64_ROUNDOFF, c.name() + " mean loss");
        assertClose(DenseMatrices.toVector(dl4j.meanGradient()), oracle.meanGradient(theta, batch), Tolerances.FLOAT64_ROUNDOFF, c.name() + " mean gradient");
        assertClose(DenseMatrices.toMatrix(Gradients.perExample(c.net(), c.data())), oracle.perExampleGradients(theta, batch), Tolerances.FLOAT64_ROUNDOFF,
                c.name() + " per-example gradients");
    }

    /** {@code (∇L(θ + h v) − ∇L(θ − h v)) / 2h} with DL4J's own gradient; the network is restored. */
    static double[] dl4jHessianVectorProductByCentralDifferences(MultiLayerNetwork net, DataSet data, double[] v, double h) {
        ParameterLayout layout = ParameterLayout.of(net);
        INDArray original = layout.read(net);
        double[] theta = DenseMatrices.toVector(original);
        try {
            double[] shifted = new double[theta.length];
            for (int q = 0; q < theta.length; q++) {
                shifted[q] = theta[q] + h * v[q];
            }
            layout.write(Nd4j.createFromArray(shifted), net);
            double[] plus = DenseMatrices.toVector(Gradients.meanGradient(net, data));
            for (int q = 0; q < theta.length; q++) {
                shifted[q] = theta[q] - h * v[q];
            }
            layout.write(Nd4j.createFromArray(shifted), net);
            double[] minus = DenseMatrices.toVector(Gradients.meanGradient(net, data));
            double[] out = new double[theta.length];
            for (int q = 0; q < theta.length; q++) {
                out[q] = (plus[q] - minus[q]) / (2 * h);
            }
            return out;
        } finally {
            layout.write(original, net);
        }
    }

    /**
     * The exact Hessian times random Gaussian directions against central differences of DL4J's gradient along them (a
     * wrong entry anywhere in {@code H} shows in almost every direction).
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void exactHessianIsTheDerivativeOfDl4jsGradient(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        double[][] exact = oracle.hessian(theta, ExactCurvature.Batch.of(c.data()));
        assertTrue(DenseMatrices.maxAsymmetry(exact) <= Tolerances.SYMMETRY_ABSOLUTE);
        SeededRandom random = new SeededRandom(61);
        for (int d = 0; d < DIRECTIONS; d++) {
            double[] v = random.gaussianVector(theta.length, 1.0);
            assertClose(dl4jHessianVectorProductByCentralDifferences(c.net(), c.data(), v, ExactCurvature.DEFAULT_DIFFERENCE_STEP),
                    DenseMatrices.multiply(exact, v), Tolerances.CENTRAL_DIFFERENCE, c.name() + " exact H v vs differences of DL4J's gradient, direction " + d);
        }
    }

    private static final int DIRECTIONS = 6;

    /** As {@link MonteCarloFisherTest}: the mean of replicate Monte Carlo Fishers within a few standard errors of the exact GGN. */
    @Tag("monte-carlo")
    @ParameterizedTest(name = "{0}")
    @MethodSource("softmaxAndMeanSquaredErrorCases")
    void monteCarloFisherApproachesTheExactGgn(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[][] ggn = oracle.ggn(oracle.parameters(c.net()), ExactCurvature.Batch.of(c.data()));
        SymmetrySpec free = new SymmetrySpec(List.of(), ParameterLayout.of(c.net()).leafSpecs());
        INDArray x = c.data().getFeatures();
        int replicates = MonteCarloFisherTest.REPLICATES;
        // N k R = 4-5 × 1,000 × 8 ≈ 32,000-40,000 label draws, as many as the dense tests use
        int samples = 4 * MonteCarloFisherTest.SAMPLES_PER_EXAMPLE;
        List<double[][]> estimates = new ArrayList<>();
        for (int r = 0; r < replicates; r++) {
            Curvature f = FisherSource.monteCarlo(x, 2000 + r).withSamplesPerExample(samples).symmetric(c.net(), free);
            estimates.add(DenseMatrices.toMatrix(f.toDense()));
        }
        int p = ggn.length;
        double[][] mean = new double[p][p];
        for (double[][] f : estimates) {
            for (int a = 0; a < p; a++) {
                for (int b = 0; b < p; b++) {
                    mean[a][b] += f[a][b] / replicates;
                }
            }
        }
        double spread = 0;
        for (double[][] f : estimates) {
            spread += Math.pow(distance(f, mean), 2);
        }
        double standardError = Math.sqrt(spread / (replicates * (replicates - 1.0)));
        double distance = distance(mean, ggn);
        double relative = distance / DenseMatrices.frobeniusNorm(ggn);
        assertTrue(distance <= MonteCarloFisherTest.STANDARD_ERRORS * standardError,
                c.name() + ": ‖F̄ − GGN‖ = " + distance + " is " + distance / standardError + " standard errors (se " + standardError + ")");
        assertTrue(relative <= MonteCarloFisherTest.RELATIVE_ERROR, c.name() + ": relative error " + relative);
    }

    private static double distance(double[][] a, double[][] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < a.length; j++) {
                s += (a[i][j] - b[i][j]) * (a[i][j] - b[i][j]);
            }
        }
        return Math.sqrt(s);
    }
}
