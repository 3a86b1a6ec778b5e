package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertThrows;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.TinyNetworks;

/** Principal submatrices formed entry by entry against the dense operator. */
class BlockOfOperatorTest {
    @Test
    void submatricesEqualThoseOfTheDenseOperatorForEveryExactGroupType() {
        for (Activation activation : new Activation[] {Activation.RELU, Activation.TANH, Activation.IDENTITY}) {
            MultiLayerNetwork net = TinyNetworks.mlp(12).inputs(4).dense(5, activation).dense(3, activation).softmaxCrossEntropy(3);
            Curvature f = PerExampleFisher.empirical(TinyNetworks.classificationData(3, 30, 4, 3))
                    .symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
            Curvature inverse = ObsDamping.meanDiagonal(1e-2).inverse(f);
            double[][] dense = DenseMatrices.toMatrix(inverse.toDense());
            int p = dense.length;
            long[][] blocks = {
                    {0, 1, 2, 3, 20, 25, 30, 35},     // W0 column 0, b0[0], W1 row 0 (unit 0 of h0)
                    {7, 3, 44, 45, 46, 50, 51, 52, 40}, // across every leaf, unsorted
                    java.util.stream.LongStream.range(0, p).toArray()};
            for (long[] block : blocks) {
                double[][] expected = new double[block.length][block.length];
                for (int a = 0; a < block.length; a++) {
                    for (int b = 0; b < block.length; b++) {
                        expected[a][b] = dense[(int) block[a]][(int) block[b]];
                    }
                }
                DenseMatrices.assertClose(expected, BlockOfOperator.of(inverse, block), 1e-12, activation + " block of " + block.length);
            }
        }
    }

    @Test
    void signGroupsAreRefused() {
        MultiLayerNetwork net = PruningTestNetworks.tanh(1);
        Curvature f = PerExampleFisher.empirical(PruningTestNetworks.data(3, 10))
                .symmetric(net, SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(GroupType.SIGN)), FisherSource.Progress.NONE);
        assertThrows(IllegalArgumentException.class, () -> BlockOfOperator.of(f, new long[] {0, 1}));
    }
}
