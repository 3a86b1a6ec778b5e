package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.ExactCurvature;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Tolerances;

/** The per-example Fisher and the diagonal operator against {@link ExactCurvature}'s independent float64 gradients. */
class FisherSourcesTest {
    @Test
    void empiricalSymmetricFisherIsTheOrbitAverageOfTheExactEmpiricalFisher() {
        MultiLayerNetwork net = PruningTestNetworks.relu(2);
        DataSet data = PruningTestNetworks.data(8, 70); // more than one chunk of 64
        ExactCurvature exact = ExactCurvature.of(net);
        double[][] empirical = exact.empiricalFisher(exact.parameters(net), ExactCurvature.Batch.of(data));
        SymmetrySpec spec = SpecInference.infer(net);
        Curvature expected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(empirical));
        Curvature actual = PerExampleFisher.empirical(data).symmetric(net, spec, FisherSource.Progress.NONE);
        DenseMatrices.assertClose(DenseMatrices.toMatrix(expected.toDense()), DenseMatrices.toMatrix(actual.toDense()), 1e-10, "R2-averaged F");
    }

    @Test
    void diagonalFisherIsTheDiagonalOfTheExactEmpiricalFisher() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(4);
        DataSet data = PruningTestNetworks.data(9, 30);
        ExactCurvature exact = ExactCurvature.of(net);
        double[][] empirical = exact.empiricalFisher(exact.parameters(net), ExactCurvature.Batch.of(data));
        Curvature diagonal = PerExampleFisher.empirical(data).diagonal(net, FisherSource.Progress.NONE);
        double[][] d = DenseMatrices.toMatrix(diagonal.toDense());
        for (int i = 0; i < d.length; i++) {
            for (int j = 0; j < d.length; j++) {
                assertEquals(i == j ? empirical[i][i] : 0.0, d[i][j], Tolerances.FLOAT64_ROUNDOFF * (1 + Math.abs(empirical[i][i])), "[" + i + "," + j + "]");
            }
        }
    }

    @Test
    void diagonalCurvatureActsAsTheDiagonalMatrix() {
        MultiLayerNetwork net = PruningTestNetworks.relu(1);
        ParameterLayout layout = ParameterLayout.of(net);
        SymmetrySpec free = new SymmetrySpec(java.util.List.of(), layout.leafSpecs());
        double[] d = new double[(int) layout.parameterCount()];
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
        assertEquals(false, DiagonalCurvature.isDiagonal(PerExampleFisher.empirical(PruningTestNetworks.data(1, 5))
                .symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE)));
    }

    @Test
    void monteCarloLabelsFollowTheSeed() {
        MultiLayerNetwork net = PruningTestNetworks.relu(2);
        INDArray x = PruningTestNetworks.data(8, 20).getFeatures();
        INDArray a = PerExampleFisher.monteCarlo(x, 5).diagonal(net, FisherSource.Progress.NONE).diagonal();
        INDArray b = PerExampleFisher.monteCarlo(x, 5).diagonal(net, FisherSource.Progress.NONE).diagonal();
        INDArray c = PerExampleFisher.monteCarlo(x, 6).diagonal(net, FisherSource.Progress.NONE).diagonal();
        assertEquals(a, b, "same seed, same Fisher");
        assertNotEquals(a, c, "another seed draws other labels");
        assertEquals(DataType.DOUBLE, a.dataType());
    }

    @Test
    void factoredFisherEqualsThePerExampleFisher() {
        MultiLayerNetwork net = PruningTestNetworks.relu(2);
        DataSet data = PruningTestNetworks.data(8, 70);
        SymmetrySpec spec = SpecInference.infer(net);
        FisherSource slow = PerExampleFisher.empirical(data);
        FisherSource fast = FactoredFisher.empirical(data);
        DenseMatrices.assertClose(DenseMatrices.toMatrix(slow.symmetric(net, spec, FisherSource.Progress.NONE).toDense()),
                DenseMatrices.toMatrix(fast.symmetric(net, spec, FisherSource.Progress.NONE).toDense()), 1e-10, "symmetric");
        DenseMatrices.assertClose(DenseMatrices.toVector(slow.diagonal(net, FisherSource.Progress.NONE).diagonal()),
                DenseMatrices.toVector(fast.diagonal(net, FisherSource.Progress.NONE).diagonal()), 1e-10, "diagonal");
        INDArray x = data.getFeatures();
        assertEquals(FactoredFisher.monteCarlo(x, 4).diagonal(net, FisherSource.Progress.NONE).diagonal(),
                FactoredFisher.monteCarlo(x, 4).diagonal(net, FisherSource.Progress.NONE).diagonal(), "seeded");
    }

    @Test
    void unitScaledFisherIsTheOrbitAverageOfTheRescaledEmpiricalFisherWithRmsScales() {
        MultiLayerNetwork net = PruningTestNetworks.relu(2);
        DataSet data = PruningTestNetworks.data(8, 70);
        SymmetrySpec spec = SpecInference.infer(net);
        ScaledCurvature scaled = FactoredFisher.empirical(data).unitScaledSymmetric(net, spec, FisherSource.Progress.NONE);
        ExactCurvature exact = ExactCurvature.of(net);
        ExactCurvature.Batch batch = ExactCurvature.Batch.of(data);
        double[][] g = exact.perExampleGradients(exact.parameters(net), batch);
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
        double[][] rescaled = exact.empiricalFisher(exact.parameters(net), batch);
        for (int p = 0; p < s.length; p++) {
            for (int q = 0; q < s.length; q++) {
                rescaled[p][q] /= s[p] * s[q];
            }
        }
        Curvature expected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(rescaled));
        DenseMatrices.assertClose(DenseMatrices.toMatrix(expected.toDense()), DenseMatrices.toMatrix(scaled.scaled().toDense()), 1e-10, "F'");
    }
}
