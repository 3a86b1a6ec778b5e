package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyCnns;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * The factored output Jacobian ({@link OutputJacobian}, used by the last-layer and linearised Laplace) on a CNN: the
 * dense layers above the flattening give {@code J v} equal to central differences of DL4J's own output (an identity
 * output, so {@code net.output} is {@code z_L}); the layers below are refused naming them.
 */
class ConvolutionJacobianTest {

    /** 6×6×1 → conv 3×3 (2, tanh) → max pool 2 → dense 4 (tanh, reads the flattened image) → dense 3 (sigmoid) → identity 2 (MSE). */
    private static MultiLayerNetwork net() {
        return TinyCnns.builder(71).input(6, 6, 1).conv(2, 3, Activation.TANH).maxPool(2).dense(4, Activation.TANH).dense(3, Activation.SIGMOID)
                .meanSquaredError(2);
    }

    @Test
    void theDenseTailsJacobianIsTheDerivativeOfDl4jsOutput() {
        MultiLayerNetwork net = net();
        INDArray x = TinyNetworks.regressionData(171, 5, 36, 2).getFeatures();
        OutputJacobian jacobian = OutputJacobian.of(net);
        ParameterLayout layout = ParameterLayout.of(net);
        for (int lowest : new int[] {4, 3}) {
            JacobianFactors factors = jacobian.compute(x, lowest);
            assertClose(DenseMatrices.toMatrix(net.output(x, false)), DenseMatrices.toMatrix(factors.outputs()), Tolerances.FLOAT64_ROUNDOFF, "z_L");
            List<LeafSpec> leaves = layout.leafSpecs().stream().filter(l -> Integer.parseInt(l.name().split("_")[0]) >= lowest).toList();
            long start = leaves.get(0).offset();
            SymmetrySpec spec = new SymmetrySpec(List.of(), leaves.stream()
                    .map(l -> new LeafSpec(l.name(), l.shape(), l.labels(), l.offset() - start, l.order())).toList());
            double[] v = new SeededRandom(72).gaussianVector((int) spec.parameterCount(), 1.0);
            INDArray jv = factors.times(Nd4j.createFromArray(v).reshape(1, v.length), spec); // [1, n, C]
            // (z(θ + h v) − z(θ − h v)) / 2h from DL4J, v on the requested layers' leaves
            INDArray theta = layout.read(net);
            double h = ExactCurvature.DEFAULT_DIFFERENCE_STEP;
            double[][] difference;
            try {
                INDArray shift = Nd4j.zeros(theta.dataType(), theta.length());
                shift.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(start, start + v.length)).assign(Nd4j.createFromArray(v).mul(h));
                layout.write(theta.add(shift), net);
                INDArray plus = net.output(x, false);
                layout.write(theta.sub(shift), net);
                INDArray minus = net.output(x, false);
                difference = DenseMatrices.toMatrix(plus.sub(minus).divi(2 * h));
            } finally {
                layout.write(theta, net);
            }
            assertClose(difference, DenseMatrices.toMatrix(jv.reshape(x.size(0), 2)), Tolerances.CENTRAL_DIFFERENCE, "J v from layer " + lowest);
        }
    }

    @Test
    void layersBelowTheDenseTailAreRefusedNamingThem() {
        MultiLayerNetwork net = net();
        INDArray x = TinyNetworks.regressionData(171, 3, 36, 2).getFeatures();
        OutputJacobian jacobian = OutputJacobian.of(net);
        UnsupportedLayerException flattened = assertThrows(UnsupportedLayerException.class, () -> jacobian.compute(x, 2));
        assertEquals(2, flattened.layerIndex());
        assertTrue(flattened.getMessage().startsWith("layer 2 (DenseLayer) reads a flattened image"), flattened.getMessage());
        UnsupportedLayerException conv = assertThrows(UnsupportedLayerException.class, () -> jacobian.compute(x, 0));
        assertTrue(conv.getMessage().startsWith("layer 0 (ConvolutionLayer) is not a dense layer"), conv.getMessage());
    }
}
