package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.operator.DiagonalCurvature;
import org.symcurv.core.operator.KroneckerCurvature;
import org.symcurv.core.operator.ScaledCurvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * Every structure and route of {@link FisherSource} against a dense float64 computation that does not come from it:
 * DL4J's own per-example backward passes ({@link Gradients#perExample}) or the independent {@link ExactCurvature},
 * averaged explicitly ({@link OrbitAverage#project} of the dense matrix, explicit Kronecker products for K-FAC); the two
 * routes against each other; and the Monte Carlo labels against their seed.
 */
class FisherSourceTest {
    static final int INPUTS = 5;
    static final int CLASSES = 3;

    /** 5 → 4 ReLU → 3 ReLU → 3 softmax: 51 parameters. */
    static MultiLayerNetwork relu(long seed) {
        return TinyNetworks.mlp(seed).inputs(INPUTS).dense(4, Activation.RELU).dense(3, Activation.RELU).softmaxCrossEntropy(CLASSES);
    }

    /** 5 → 4 tanh → 3 tanh → 3 softmax. */
    static MultiLayerNetwork tanh(long seed) {
        return TinyNetworks.mlp(seed).inputs(INPUTS).dense(4, Activation.TANH).dense(3, Activation.TANH).softmaxCrossEntropy(CLASSES);
    }

    static DataSet data(long seed, int n) {
        return TinyNetworks.classificationData(seed, n, INPUTS, CLASSES);
    }

    static SymmetrySpec layout(MultiLayerNetwork net) {
        return new SymmetrySpec(List.of(), ParameterLayout.of(net).leafSpecs());
    }

    /** {@code (1/n) Σ_i g_i g_iᵀ} of the rows of {@code g}. */
    static double[][] secondMoment(double[][] g) {
        int p = g[0].length;
        double[][] f = new double[p][p];
        for (double[] row : g) {
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    f[i][j] += row[i] * row[j] / g.length;
                }
            }
        }
        return f;
    }

    /** DL4J's per-example gradients at the given labels, float64. */
    static double[][] dl4jGradients(MultiLayerNetwork net, INDArray x, INDArray labels) {
        return DenseMatrices.toMatrix(Gradients.perExample(net, new DataSet(x, labels)).castTo(DataType.DOUBLE));
    }

    // ------------------------------------------------------------------ symmetric

    @Test
    void symmetricFisherOnBothRoutesIsTheOrbitAverageOfTheExactEmpiricalFisher() {
        MultiLayerNetwork net = relu(2);
        DataSet data = data(8, 70); // more than one per-example chunk of 64, a partial factored batch of 32
        ExactCurvature exact = ExactCurvature.of(net);
        double[][] empirical = exact.empiricalFisher(exact.parameters(net), ExactCurvature.Batch.of(data));
        SymmetrySpec spec = SpecInference.infer(net);
        Curvature expected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(empirical));
        for (FisherSource.Route route : FisherSource.Route.values()) {
            Curvature actual = FisherSource.empirical(data).withRoute(route).withBatchSize(32).symmetric(net, spec);
            DenseMatrices.assertClose(DenseMatrices.toMatrix(expected.toDense()), DenseMatrices.toMatrix(actual.toDense()), 1e-10, "R2-averaged F, " + route);
        }
    }

    @Test
    void monteCarloRoutesSeeTheSameLabelsAndAgree() {
        MultiLayerNetwork net = tanh(3);
        INDArray x = data(9, 40).getFeatures();
        SymmetrySpec spec = SpecInference.infer(net);
        FisherSource source = FisherSource.monteCarlo(x, 11).withSamplesPerExample(2).withBatchSize(15);
        Curvature factored = source.symmetric(net, spec);
        Curvature perExample = source.withRoute(FisherSource.Route.PER_EXAMPLE).symmetric(net, spec);
        DenseMatrices.assertClose(DenseMatrices.toMatrix(perExample.toDense()), DenseMatrices.toMatrix(factored.toDense()), 1e-10, "symmetric, k = 2");
        DenseMatrices.assertClose(DenseMatrices.toVector(source.withRoute(FisherSource.Route.PER_EXAMPLE).diagonal(net, FisherSource.Progress.NONE).diagonal()),
                DenseMatrices.toVector(source.diagonal(net, FisherSource.Progress.NONE).diagonal()), 1e-10, "diagonal, k = 2");
        // the oracle: DL4J's gradients at the labels drawn from the seed, each example repeated once per sample
        INDArray labels = PerExampleFactors.of(net).sampleLabels(x, 2, new Random(11));
        double[][] g = dl4jGradients(net, NetworkWalk.repeatRows(x, 2), labels);
        Curvature expected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(secondMoment(g)));
        DenseMatrices.assertClose(DenseMatrices.toMatrix(expected.toDense()), DenseMatrices.toMatrix(factored.toDense()), 1e-10, "against DL4J");
    }

    @Test
    void monteCarloLabelsFollowTheSeedOnEveryRouteAndStructure() {
        MultiLayerNetwork net = relu(2);
        INDArray x = data(8, 20).getFeatures();
        SymmetrySpec spec = SpecInference.infer(net);
        for (FisherSource.Route route : FisherSource.Route.values()) {
            INDArray a = FisherSource.monteCarlo(x, 5).withRoute(route).diagonal(net, FisherSource.Progress.NONE).diagonal();
            INDArray b = FisherSource.monteCarlo(x, 5).withRoute(route).diagonal(net, FisherSource.Progress.NONE).diagonal();
            INDArray c = FisherSource.monteCarlo(x, 6).withRoute(route).diagonal(net, FisherSource.Progress.NONE).diagonal();
            assertEquals(a, b, "same seed, same diagonal Fisher, " + route);
            assertNotEquals(a, c, "another seed draws other labels, " + route);
            assertEquals(DataType.DOUBLE, a.dataType());
            INDArray s5 = FisherSource.monteCarlo(x, 5).withRoute(route).symmetric(net, spec).toDense();
            INDArray s6 = FisherSource.monteCarlo(x, 6).withRoute(route).symmetric(net, spec).toDense();
            assertEquals(s5, FisherSource.monteCarlo(x, 5).withRoute(route).symmetric(net, spec).toDense(), "same seed, same symmetric Fisher, " + route);
            assertNotEquals(s5, s6, "another seed, another symmetric Fisher, " + route);
        }
        KroneckerCurvature k5 = FisherSource.monteCarlo(x, 5).kfac(net, layout(net));
        assertEquals(k5.toDense(), FisherSource.monteCarlo(x, 5).kfac(net, layout(net)).toDense(), "same seed, same K-FAC");
        assertNotEquals(k5.toDense(), FisherSource.monteCarlo(x, 6).kfac(net, layout(net)).toDense(), "another seed, another K-FAC");
    }

    // ------------------------------------------------------------------ diagonal

    @Test
    void diagonalFisherOnBothRoutesIsTheDiagonalOfDl4jsEmpiricalFisher() {
        MultiLayerNetwork net = tanh(4);
        DataSet data = data(9, 30);
        double[][] empirical = secondMoment(dl4jGradients(net, data.getFeatures(), data.getLabels()));
        for (FisherSource.Route route : FisherSource.Route.values()) {
            Curvature diagonal = FisherSource.empirical(data).withRoute(route).withBatchSize(7).diagonal(net, FisherSource.Progress.NONE);
            assertEquals(true, DiagonalCurvature.isDiagonal(diagonal));
            double[][] d = DenseMatrices.toMatrix(diagonal.toDense());
            for (int i = 0; i < d.length; i++) {
                for (int j = 0; j < d.length; j++) {
                    assertEquals(i == j ? empirical[i][i] : 0.0, d[i][j], Tolerances.FLOAT64_ROUNDOFF * (1 + Math.abs(empirical[i][i])),
                            route + " [" + i + "," + j + "]");
                }
            }
        }
        // on a subset of the leaves: the restriction of the full diagonal
        LeafSpec w2 = ParameterLayout.of(net).leaf("2_W").toFreeLeafSpec();
        LeafSpec b2 = ParameterLayout.of(net).leaf("2_b").toFreeLeafSpec();
        SymmetrySpec lastLayer = new SymmetrySpec(List.of(), List.of(new LeafSpec(w2.name(), w2.shape(), w2.labels(), 0, w2.order()),
                new LeafSpec(b2.name(), b2.shape(), b2.labels(), 9, b2.order())));
        INDArray last = FisherSource.empirical(data).diagonal(net, lastLayer).diagonal();
        long offset = ParameterLayout.of(net).leaf("2_W").offset();
        for (int q = 0; q < 12; q++) {
            assertEquals(empirical[(int) offset + q][(int) offset + q], last.getDouble(q), Tolerances.FLOAT64_ROUNDOFF * (1 + empirical[(int) offset + q][(int) offset + q]));
        }
    }

    @Test
    void diagonalFisherIsTheSymmetricFisherOfTheSignEverywhereSpecDrawForDraw() {
        MultiLayerNetwork net = TinyNetworks.mlp(2).inputs(5).dense(4, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(3, 37, 5, 3);
        SymmetrySpec spec = org.symcurv.core.symmetry.Presets.diagonal(SpecInference.infer(net));
        FisherSource source = FisherSource.monteCarlo(data.getFeatures(), 9).withBatchSize(10);
        double[][] expected = DenseMatrices.toMatrix(source.symmetric(net, spec).toDense());
        Curvature direct = source.diagonal(net, spec);
        assertEquals(spec, direct.spec(), "the diagonal lives in the SIGN-everywhere structure");
        DenseMatrices.assertClose(expected, DenseMatrices.toMatrix(direct.toDense()), Tolerances.FLOAT64_ROUNDOFF * 100, "diagonal Fisher");
        assertTrue(DenseMatrices.frobeniusNorm(expected) > 0);
    }

    @Test
    void diagonalCurvatureActsAsTheDiagonalMatrix() {
        MultiLayerNetwork net = relu(1);
        SymmetrySpec free = layout(net);
        double[] d = new double[(int) free.parameterCount()];
        for (int q = 0; q < d.length; q++) {
            d[q] = 0.5 + q;
        }
        Curvature c = DiagonalCurvature.of(free, Nd4j.createFromArray(d));
        assertEquals(true, DiagonalCurvature.isDiagonal(c));
        double[] x = new double[d.length];
        for (int q = 0; q < d.length; q++) {
            x[q] = Math.sin(q + 1.0);
        }
        double[] y = c.multiply(Nd4j.createFromArray(x)).toDoubleVector();
        double[] inv = c.inverse(Damping.NONE).diagonal().toDoubleVector();
        for (int q = 0; q < d.length; q++) {
            assertEquals(d[q] * x[q], y[q], 1e-14, "D x at " + q);
            assertEquals(1.0 / d[q], inv[q], 1e-14, "D⁻¹ at " + q);
        }
        assertEquals(false, DiagonalCurvature.isDiagonal(FisherSource.empirical(data(1, 5)).symmetric(net, SpecInference.infer(net))));
    }

    // ------------------------------------------------------------------ unit-scaled

    @Test
    void unitScaledFisherIsTheOrbitAverageOfTheRescaledEmpiricalFisherWithRmsScales() {
        MultiLayerNetwork net = relu(2);
        DataSet data = data(8, 70);
        SymmetrySpec spec = SpecInference.infer(net);
        ScaledCurvature scaled = FisherSource.empirical(data).withBatchSize(500).unitScaledSymmetric(net, spec, FisherSource.Progress.NONE);
        double[][] g = dl4jGradients(net, data.getFeatures(), data.getLabels());
        double[] s = DenseMatrices.toVector(scaled.scale());
        ParameterLayout layout = ParameterLayout.of(net);
        int n = g.length;
        // b_l: the RMS of the backpropagated error, which is the bias gradient
        double[][] deltaRms = new double[2][];
        for (int l = 0; l < 2; l++) {
            var b = layout.leaf(l + "_b");
            deltaRms[l] = new double[(int) b.length()];
            for (int i = 0; i < b.length(); i++) {
                double sum = 0;
                for (double[] row : g) {
                    sum += row[(int) b.offset() + i] * row[(int) b.offset() + i];
                }
                deltaRms[l][i] = Math.sqrt(sum / n);
                assertEquals(deltaRms[l][i], s[(int) b.offset() + i], 1e-12 * deltaRms[l][i], "scale of b_" + l + "[" + i + "]");
            }
        }
        // W_0[j, i]: the input axis is free, so δ_0's RMS alone; W_1[i, k]: RMS of unit i's activation times δ_1's RMS
        double[][] h0 = DenseMatrices.toMatrix(net.feedForward(data.getFeatures(), false).get(1));
        for (int i = 0; i < 4; i++) {
            double a = 0;
            for (double[] row : h0) {
                a += row[i] * row[i];
            }
            a = Math.sqrt(a / n);
            for (int j = 0; j < 5; j++) {
                assertEquals(deltaRms[0][i], s[(int) layout.leaf("0_W").offset() + j + 5 * i], 1e-12, "scale of W_0[" + j + "," + i + "]");
            }
            for (int k = 0; k < 3; k++) {
                assertEquals(a * deltaRms[1][k], s[(int) layout.leaf("1_W").offset() + i + 4 * k], 1e-12, "scale of W_1[" + i + "," + k + "]");
            }
        }
        double[][] rescaled = secondMoment(g);
        for (int p = 0; p < s.length; p++) {
            for (int q = 0; q < s.length; q++) {
                rescaled[p][q] /= s[p] * s[q];
            }
        }
        Curvature expected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(rescaled));
        DenseMatrices.assertClose(DenseMatrices.toMatrix(expected.toDense()), DenseMatrices.toMatrix(scaled.scaled().toDense()), 1e-10, "F'");
        assertThrows(UnsupportedOperationException.class,
                () -> FisherSource.empirical(data).withRoute(FisherSource.Route.PER_EXAMPLE).unitScaledSymmetric(net, spec, FisherSource.Progress.NONE));
    }

    // ------------------------------------------------------------------ K-FAC

    /**
     * The K-FAC oracle from DL4J alone: {@code A_l = (1/N) Σ ā āᵀ} of the activations DL4J's {@code feedForward} gives
     * (bias-augmented), {@code G_l = (1/N) Σ δ δᵀ} with {@code δ} the per-example bias gradient of DL4J's backward pass,
     * and the dense {@code A ⊗ G} laid out over DL4J's parameter positions by explicit Kronecker products.
     */
    static double[][] kfacOracle(MultiLayerNetwork net, INDArray x, INDArray labels) {
        ParameterLayout layout = ParameterLayout.of(net);
        int p = Math.toIntExact(layout.parameterCount());
        double[][] g = dl4jGradients(net, x, labels);
        List<INDArray> activations = net.feedForward(x, false);
        int n = g.length;
        double[][] dense = new double[p][p];
        for (int l = 0; l < net.getnLayers(); l++) {
            ParameterLeaf w = layout.leaf(l + "_W");
            ParameterLeaf b = layout.leaf(l + "_b");
            int nIn = (int) w.shape()[0];
            int nOut = (int) w.shape()[1];
            double[][] in = DenseMatrices.toMatrix(activations.get(l).castTo(DataType.DOUBLE));
            double[][] a = new double[nIn + 1][nIn + 1];
            double[][] gg = new double[nOut][nOut];
            for (int e = 0; e < n; e++) {
                double[] bar = new double[nIn + 1];
                System.arraycopy(in[e], 0, bar, 0, nIn);
                bar[nIn] = 1;
                for (int i = 0; i <= nIn; i++) {
                    for (int k = 0; k <= nIn; k++) {
                        a[i][k] += bar[i] * bar[k] / n;
                    }
                }
                for (int j = 0; j < nOut; j++) {
                    for (int m = 0; m < nOut; m++) {
                        gg[j][m] += g[e][(int) b.offset() + j] * g[e][(int) b.offset() + m] / n;
                    }
                }
            }
            for (int i = 0; i <= nIn; i++) {
                for (int j = 0; j < nOut; j++) {
                    int pij = i < nIn ? (int) w.offset() + i + j * nIn : (int) b.offset() + j;
                    for (int k = 0; k <= nIn; k++) {
                        for (int m = 0; m < nOut; m++) {
                            int pkm = k < nIn ? (int) w.offset() + k + m * nIn : (int) b.offset() + m;
                            dense[pij][pkm] = a[i][k] * gg[j][m];
                        }
                    }
                }
            }
        }
        return dense;
    }

    @Test
    void kfacIsTheKroneckerProductOfDl4jsActivationAndErrorSecondMoments() {
        MultiLayerNetwork net = tanh(5);
        DataSet data = data(10, 37);
        KroneckerCurvature empirical = FisherSource.empirical(data).withBatchSize(10).kfac(net, layout(net));
        DenseMatrices.assertClose(kfacOracle(net, data.getFeatures(), data.getLabels()), DenseMatrices.toMatrix(empirical.toDense()), 1e-10, "empirical K-FAC");
        assertEquals(3, empirical.blocks().size());
        assertEquals((6 * 6 + 4 * 4) + (5 * 5 + 3 * 3) + (4 * 4 + 3 * 3), empirical.storedFloats());

        INDArray x = data.getFeatures();
        KroneckerCurvature sampled = FisherSource.monteCarlo(x, 21).withSamplesPerExample(3).withBatchSize(16).kfac(net, layout(net));
        INDArray labels = PerExampleFactors.of(net).sampleLabels(x, 3, new Random(21));
        DenseMatrices.assertClose(kfacOracle(net, NetworkWalk.repeatRows(x, 3), labels), DenseMatrices.toMatrix(sampled.toDense()), 1e-10,
                "Monte Carlo K-FAC, k = 3");
        assertThrows(UnsupportedOperationException.class, () -> FisherSource.empirical(data).withRoute(FisherSource.Route.PER_EXAMPLE).kfac(net, layout(net)));
    }

    @Test
    void badSettingsAreRefusedWithTheProblem() {
        INDArray x = data(1, 4).getFeatures();
        assertThrows(IllegalArgumentException.class, () -> FisherSource.monteCarlo(x, 1).withSamplesPerExample(0));
        assertThrows(IllegalArgumentException.class, () -> FisherSource.monteCarlo(x, 1).withBatchSize(0));
        assertThrows(IllegalArgumentException.class, () -> FisherSource.empirical(x, null));
        assertThrows(IllegalArgumentException.class, () -> FisherSource.empirical(data(1, 4)).withSamplesPerExample(2));
        assertThrows(IllegalArgumentException.class, () -> FisherSource.monteCarlo(Nd4j.zeros(DataType.DOUBLE, 0, 5), 1));
    }
}
