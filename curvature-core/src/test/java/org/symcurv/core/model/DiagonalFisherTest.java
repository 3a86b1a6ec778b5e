package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Tolerances;
import org.symcurv.core.testing.TinyNetworks;

/** The direct diagonal Fisher equals the orbit-averaged Fisher of the SIGN-everywhere spec, draw for draw. */
class DiagonalFisherTest {
    @Test
    void equalsTheFisherEstimatorOnTheDiagonalSpec() {
        MultiLayerNetwork net = TinyNetworks.mlp(2).inputs(5).dense(4, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3);
        DataSet data = TinyNetworks.classificationData(3, 37, 5, 3);
        SymmetrySpec spec = Presets.diagonal(SpecInference.infer(net));
        Curvature expected = FisherEstimation.monteCarlo(9).withBatchSize(10).estimate(net, spec, data.getFeatures(), null);
        Curvature direct = DiagonalFisher.estimate(net, spec, data.getFeatures(), 9, 10);
        double[][] e = expected.toDense().castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] d = direct.toDense().castTo(DataType.DOUBLE).toDoubleMatrix();
        DenseMatrices.assertClose(e, d, Tolerances.FLOAT64_ROUNDOFF * 100, "diagonal Fisher");
        assertTrue(DenseMatrices.frobeniusNorm(e) > 0);
        assertThrows(IllegalArgumentException.class, () -> DiagonalFisher.estimate(net, SpecInference.infer(net), data.getFeatures(), 9, 10));
    }
}
