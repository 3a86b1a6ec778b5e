package org.symcurv.optimizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.SubsamplingLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The matrices Shampoo and Muon precondition on a CNN are the ones DL4J multiplies with: a kernel
 * {@code [out, in, kH, kW]} as {@code [out, in·kH·kW]} and the dense weight after the flattening as DL4J's own
 * {@code [nIn, nOut]} (read from {@code getParam}, independently of the layout), and {@code put} is their exact inverse.
 */
class LeafPartitionTest {
    @Test
    void cnnLeavesAreTheMatricesDl4jMultipliesWithAndPutInvertsMatrix() {
        MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder().seed(4).dataType(DataType.DOUBLE).list()
                .layer(new ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.RELU).build())
                .layer(new SubsamplingLayer.Builder(SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nOut(5).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(3).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(8, 8, 2)).build());
        net.init();
        SymmetrySpec layout = new SymmetrySpec(List.of(), ParameterLayout.ofAnyLayers(net).leafSpecs());
        LeafPartition partition = new LeafPartition(layout);
        INDArray theta = net.params().dup().reshape(net.numParams());
        assertEquals(List.of("0_W", "2_W", "3_W", "4_W"), partition.matrices().stream().map(LeafSpec::name).toList());
        INDArray rebuilt = theta.mul(0);
        for (LeafSpec leaf : partition.matrices()) {
            int layer = Integer.parseInt(leaf.name().substring(0, 1));
            INDArray dl4j = net.getLayer(layer).getParam("W");
            INDArray expected = dl4j.rank() == 4 ? dl4j.reshape('c', dl4j.size(0), dl4j.length() / dl4j.size(0)) : dl4j;
            INDArray m = LeafPartition.matrix(theta, leaf);
            assertArrayEquals(expected.shape(), m.shape(), leaf.name());
            assertEquals(expected.shape()[0], LeafPartition.rows(leaf), leaf.name());
            assertEquals(expected.shape()[1], LeafPartition.columns(leaf), leaf.name());
            assertEquals(0.0, expected.sub(m).amaxNumber().doubleValue(), 0.0, leaf.name() + " is DL4J's matrix exactly");
            LeafPartition.put(rebuilt, leaf, m);
        }
        for (LeafSpec leaf : partition.matrices()) {
            INDArray range = theta.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()));
            INDArray back = rebuilt.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()));
            assertEquals(0.0, range.sub(back).amaxNumber().doubleValue(), 0.0, leaf.name() + ": put(matrix) is the identity");
        }
    }
}
