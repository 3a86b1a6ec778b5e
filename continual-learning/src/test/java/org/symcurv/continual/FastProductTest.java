package org.symcurv.continual;

import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyNetworks;

/** The fast product equals {@code Curvature.multiply} (and so the dense matrix) on the specs dense MLPs get; others fall back. */
class FastProductTest {
    /** A random symmetric operator on {@code spec}: every block {@code A Aᵀ} of a seeded Gaussian {@code A}. */
    static Curvature randomOperator(SymmetrySpec spec, long seed) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        Nd4j.getRandom().setSeed(seed);
        Curvature zero = Curvature.scaledIdentity(kinds, 0.0, DataType.DOUBLE);
        return zero.mapBlocks(k -> {
            long f = kinds.kinds().get(k).familySize();
            long m = kinds.kinds().get(k).copies();
            INDArray out = Nd4j.create(DataType.DOUBLE, f, m, m);
            for (long i = 0; i < f; i++) {
                INDArray a = Nd4j.randn(DataType.DOUBLE, m, m);
                out.slice(i).assign(a.mmul(a.transpose()));
            }
            return out;
        });
    }

    @Test
    void matchesTheOperatorOnPermSignedPermAndOrthSpecs() {
        List<MultiLayerNetwork> nets = List.of(
                TinyNetworks.mlp(1).inputs(5).dense(4, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3),
                TinyNetworks.mlp(2).inputs(6).dense(5, Activation.RELU).dense(4, Activation.RELU).dense(3, Activation.RELU).softmaxCrossEntropy(4),
                TinyNetworks.mlp(3).inputs(4).dense(6, Activation.IDENTITY).softmaxCrossEntropy(2));
        int checked = 0;
        for (MultiLayerNetwork net : nets) {
            SymmetrySpec inferred = SpecInference.infer(net);
            for (SymmetrySpec spec : List.of(inferred, inferred.withGroupType(GroupType.PERM), inferred.withGroupType(GroupType.SIGNED_PERM))) {
                Curvature op = randomOperator(spec, 7 + checked);
                FastProduct fast = FastProduct.compile(op);
                assertNotNull(fast, spec.toString());
                Nd4j.getRandom().setSeed(11 + checked);
                INDArray x = Nd4j.randn(DataType.DOUBLE, spec.parameterCount());
                double[] expected = DenseMatrices.multiply(op.toDense().toDoubleMatrix(), x.toDoubleVector());
                DenseMatrices.assertClose(expected, fast.multiply(x).toDoubleVector(), 1e-10, "fast product on " + spec);
                DenseMatrices.assertClose(op.multiply(x).toDoubleVector(), fast.multiply(x).toDoubleVector(), 1e-10, "against multiply");
                checked++;
            }
        }
    }

    @Test
    void signAndDiagonalOnlyOperatorsAreLeftToTheGenericProduct() {
        MultiLayerNetwork net = TinyNetworks.mlp(1).inputs(5).dense(4, Activation.RELU).softmaxCrossEntropy(3);
        SymmetrySpec inferred = SpecInference.infer(net);
        assertNull(FastProduct.compile(randomOperator(inferred.withGroupType(GroupType.SIGN), 1)));
        assertNull(FastProduct.compile(randomOperator(Presets.diagonal(inferred), 1)));
        assertNull(FastProduct.compile(randomOperator(inferred, 1).diagonalBlocksOnly()));
    }
}
