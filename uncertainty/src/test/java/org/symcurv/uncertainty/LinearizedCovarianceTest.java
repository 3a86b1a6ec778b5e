package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.model.OutputJacobian;
import org.symcurv.core.model.JacobianFactors;

/**
 * {@code V = J Σ Jᵀ} of {@link LinearizedCovariance} against a dense float64 computation: the Jacobian by central
 * differences of DL4J's own logits, {@code Σ} densified with {@code toDense()}, on a 5-4-3-3 tanh network, for every
 * route (factored kinds, parameter-diagonal, materialised SIGN kinds) and for all weights and the last layer.
 */
class LinearizedCovarianceTest {
    /** Central differences in float64 (step 1e-6): truncation ~1e-12, round-off ~1e-10 relative. */
    private static final double FINITE_DIFFERENCE = 1e-7;

    static Stream<Arguments> structures() {
        return Stream.of(
                Arguments.of("inferred (signed-perm), all", null, false, false),
                Arguments.of("perm, all", GroupType.PERM, false, false),
                Arguments.of("sign, all (materialised route)", GroupType.SIGN, false, false),
                Arguments.of("orth, all", GroupType.ORTH, false, false),
                Arguments.of("diagonal, all", null, true, false),
                Arguments.of("perm, last layer", GroupType.PERM, false, true),
                Arguments.of("diagonal, last layer", null, true, true));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("structures")
    void linearisedCovarianceMatchesDenseJacobianSandwich(String name, GroupType group, boolean diagonal, boolean lastLayer) {
        MultiLayerNetwork net = TinyNetworks.mlp(7).inputs(5).dense(4, Activation.TANH).dense(3, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(11, 40, 5, 3);
        SymmetrySpec full = group == null ? SpecInference.infer(net) : SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(group));
        SymmetrySpec spec = lastLayer ? LaplaceFit.restrict(full, LaplaceFit.lastLayerLeaves(net)) : full;
        if (diagonal) {
            spec = Presets.diagonal(spec);
        }
        Curvature fisher = FisherSource.monteCarlo(data.getFeatures(), 3).withBudget(BlockBudget.DEFAULT).symmetric(net, spec);
        LaplacePosterior posterior = LaplacePosterior.of(fisher, 40, PriorPrecision.scalar(0.7, spec), LaplaceFit.mean(net, spec));
        INDArray x = data.getFeatures().getRows(0, 1, 2, 3, 4, 5);

        LaplacePredictive predictive = LaplacePredictive.of(net, posterior);
        LinearizedOutputs f = predictive.linearize(x);
        double[][][] expected = DenseOracle.sandwich(DenseOracle.jacobian(net, spec, x), posterior.covariance().toDense().castTo(DataType.DOUBLE).toDoubleMatrix());

        double error = DenseOracle.relativeError(f.covariance(), expected);
        assertTrue(error < FINITE_DIFFERENCE, name + ": relative error of J Σ Jᵀ " + error);
        double[][] logits = DenseOracle.logits(net, x);
        for (int e = 0; e < logits.length; e++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(logits[e][c], f.mean()[e][c], 1e-12);
            }
        }
    }

    @Test
    void jacobianRowsAndProductsMatchCentralDifferences() {
        MultiLayerNetwork net = TinyNetworks.mlp(5).inputs(5).dense(4, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(2, 4, 5, 3);
        SymmetrySpec spec = SpecInference.infer(net);
        JacobianFactors factors = OutputJacobian.of(net).compute(data.getFeatures(), 0);
        double[][][] expected = DenseOracle.jacobian(net, spec, data.getFeatures());
        double[][] rows = LinearizedCovariance.jacobianRows(spec, factors).toDoubleMatrix();
        double num = 0;
        double den = 0;
        for (int e = 0; e < 4; e++) {
            for (int c = 0; c < 3; c++) {
                for (int q = 0; q < rows[0].length; q++) {
                    double d = rows[e * 3 + c][q] - expected[e][c][q];
                    num += d * d;
                    den += expected[e][c][q] * expected[e][c][q];
                }
            }
        }
        assertTrue(Math.sqrt(num / den) < FINITE_DIFFERENCE, "Jacobian rows, relative error " + Math.sqrt(num / den));

        // J v for two random directions
        INDArray v = org.nd4j.linalg.factory.Nd4j.rand(DataType.DOUBLE, 2, spec.parameterCount()).subi(0.5);
        INDArray jv = factors.times(v, spec);
        for (int s = 0; s < 2; s++) {
            for (int e = 0; e < 4; e++) {
                for (int c = 0; c < 3; c++) {
                    double want = 0;
                    for (int q = 0; q < rows[0].length; q++) {
                        want += expected[e][c][q] * v.getDouble(s, q);
                    }
                    assertEquals(want, jv.getDouble(s, e, c), 1e-7 * (1 + Math.abs(want)));
                }
            }
        }
    }
}
