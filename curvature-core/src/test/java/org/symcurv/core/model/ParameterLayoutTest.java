package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyNetworks;

class ParameterLayoutTest {

    private static MultiLayerNetwork net543() {
        return TinyNetworks.mlp(3).inputs(5).dense(4, Activation.TANH).dense(3, Activation.RELU).softmaxCrossEntropy(2);
    }

    @Test
    void denseLeavesFollowParamsOrderWithColumnMajorWeights() {
        MultiLayerNetwork net = net543();
        ParameterLayout layout = ParameterLayout.of(net);

        assertEquals(net.numParams(), layout.parameterCount());
        assertEquals(List.of("0_W", "0_b", "1_W", "1_b", "2_W", "2_b"), layout.leaves().stream().map(ParameterLeaf::name).toList());
        long[][] shapes = {{5, 4}, {4}, {4, 3}, {3}, {3, 2}, {2}};
        long[] offsets = {0, 20, 24, 36, 39, 45};
        for (int k = 0; k < shapes.length; k++) {
            ParameterLeaf leaf = layout.leaves().get(k);
            assertArrayEquals(shapes[k], leaf.shape(), leaf.name());
            assertEquals(offsets[k], leaf.offset(), leaf.name());
            assertEquals(k / 2, leaf.layerIndex(), leaf.name());
        }
        assertEquals('f', layout.leaf("1_W").order());
        assertEquals("W", layout.leaf("1_W").key());

        // Independent check of the orientation: W[i, j] of DL4J's own view is θ[offset + i + j·nIn].
        double[] theta = DenseMatrices.toVector(layout.read(net));
        for (int l = 0; l < 3; l++) {
            INDArray w = net.getParam(l + "_W");
            INDArray b = net.getParam(l + "_b");
            ParameterLeaf wLeaf = layout.leaf(l + "_W");
            ParameterLeaf bLeaf = layout.leaf(l + "_b");
            for (int i = 0; i < w.rows(); i++) {
                for (int j = 0; j < w.columns(); j++) {
                    assertEquals(w.getDouble(i, j), theta[(int) (wLeaf.offset() + i + (long) j * w.rows())], 0.0, wLeaf.name() + "[" + i + "," + j + "]");
                }
            }
            for (int j = 0; j < b.length(); j++) {
                assertEquals(b.getDouble(j), theta[(int) bLeaf.offset() + j], 0.0, bLeaf.name() + "[" + j + "]");
            }
        }
    }

    @Test
    void readIsACopyAndWriteReplacesTheParameters() {
        MultiLayerNetwork net = net543();
        ParameterLayout layout = ParameterLayout.of(net);
        INDArray before = layout.read(net);
        assertArrayEquals(new long[] {layout.parameterCount()}, before.shape());
        assertEquals(DataType.DOUBLE, before.dataType());
        double[] original = DenseMatrices.toVector(before);

        before.addi(1.0);
        assertArrayEquals(original, DenseMatrices.toVector(net.params()), 0.0, "read must return a copy");

        double[] fresh = new SeededRandom(21).gaussianVector((int) layout.parameterCount(), 1.0);
        INDArray freshRow = DenseMatrices.toRow(fresh);
        layout.write(freshRow, net);
        assertArrayEquals(fresh, DenseMatrices.toVector(net.params()), 0.0);
        assertArrayEquals(fresh, DenseMatrices.toVector(layout.read(net)), 0.0);
        // The layers' own views see the new values (setParams copied into the shared buffer).
        assertEquals(fresh[(int) layout.leaf("1_W").offset() + 2 + 4], net.getParam("1_W").getDouble(2, 1), 0.0);
        assertEquals(fresh[(int) layout.leaf("2_b").offset() + 1], net.getLayer(2).getParam("b").getDouble(1), 0.0);
        assertArrayEquals(fresh, DenseMatrices.toVector(freshRow), 0.0, "write must not modify theta");
    }

    @Test
    void flattenAndUnflattenAreInverseAndMatchDl4jViews() {
        MultiLayerNetwork net = net543();
        ParameterLayout layout = ParameterLayout.of(net);
        Map<String, INDArray> leaves = layout.unflatten(layout.read(net));
        for (Map.Entry<String, INDArray> e : net.paramTable().entrySet()) {
            INDArray ours = leaves.get(e.getKey());
            assertArrayEquals(DenseMatrices.toVector(e.getValue().reshape('c', new long[] {e.getValue().length()})),
                    DenseMatrices.toVector(ours.reshape('c', new long[] {ours.length()})), 0.0, e.getKey());
        }
        INDArray theta = DenseMatrices.toRow(new SeededRandom(5).gaussianVector((int) layout.parameterCount(), 1.0));
        assertArrayEquals(DenseMatrices.toVector(theta), DenseMatrices.toVector(layout.flatten(layout.unflatten(theta))), 0.0);
        INDArray w = layout.leafValue(theta, "2_W");
        assertArrayEquals(new long[] {3, 2}, w.shape());
        assertEquals(theta.getDouble(39 + 2 + 3), w.getDouble(2, 1), 0.0);
    }

    @Test
    void leafSpecsTileTheParameterVector() {
        ParameterLayout layout = ParameterLayout.of(net543());
        SymmetrySpec free = new SymmetrySpec(List.of(), layout.leafSpecs());
        assertEquals(layout.parameterCount(), free.parameterCount());
        assertEquals('f', free.leaf("0_W").order());
        assertEquals(layout.parameterCount(), free.leaves().stream().mapToLong(l -> l.copies()).sum(), "every axis free: every element is a copy");
    }

    @Test
    void badInputIsRejectedWithAMessageThatNamesTheProblem() {
        MultiLayerNetwork net = net543();
        ParameterLayout layout = ParameterLayout.of(net);
        IllegalArgumentException wrongLength = assertThrows(IllegalArgumentException.class,
                () -> layout.write(DenseMatrices.toRow(new double[3]), net));
        assertTrue(wrongLength.getMessage().contains("length 47"), wrongLength.getMessage());

        MultiLayerNetwork other = TinyNetworks.mlp(3).inputs(5).dense(4, Activation.TANH).softmaxCrossEntropy(2);
        IllegalArgumentException mismatch = assertThrows(IllegalArgumentException.class, () -> layout.read(other));
        assertTrue(mismatch.getMessage().contains("build the layout from this network"), mismatch.getMessage());

        IllegalArgumentException unknownLeaf = assertThrows(IllegalArgumentException.class, () -> layout.leaf("7_W"));
        assertTrue(unknownLeaf.getMessage().contains("0_W"), unknownLeaf.getMessage());
    }

    @Test
    void denseLayerWithoutBiasHasOnlyAWeightLeaf() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(1).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(2).hasBias(false).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MSE).nIn(2).nOut(1).activation(Activation.IDENTITY).build())
                .build();
        MultiLayerNetwork net = TinyNetworks.initialise(conf, 1);
        ParameterLayout layout = ParameterLayout.of(net);
        assertEquals(List.of("0_W", "1_W", "1_b"), layout.leaves().stream().map(ParameterLeaf::name).toList());
        assertEquals(6, layout.leaf("1_W").offset());
        assertEquals(9, layout.parameterCount());
    }

    @Test
    void unsupportedLayersFailNamingIndexAndClassButCanBeLaidOutAsStored() {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(2).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.RELU).build())
                .layer(new BatchNormalization.Builder().build())
                .layer(new DenseLayer.Builder().nOut(3).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(4, 4, 1))
                .build();
        MultiLayerNetwork net = TinyNetworks.initialise(conf, 2);
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class, () -> ParameterLayout.of(net));
        assertEquals(0, e.layerIndex());
        assertTrue(e.getMessage().contains("layer 0 (ConvolutionLayer)") && e.getMessage().contains("ofAnyLayers"), e.getMessage());

        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        assertEquals(net.numParams(), layout.parameterCount());
        // Every leaf, read back from the flat vector in its own shape and order, equals DL4J's view.
        Map<String, INDArray> leaves = layout.unflatten(net.params());
        for (Map.Entry<String, INDArray> entry : net.paramTable().entrySet()) {
            INDArray view = entry.getValue();
            INDArray ours = leaves.get(entry.getKey());
            assertEquals(view.length(), ours.length(), entry.getKey());
            assertArrayEquals(DenseMatrices.toVector(view.reshape('c', new long[] {view.length()})), DenseMatrices.toVector(ours.reshape('c', new long[] {ours.length()})), 0.0,
                    entry.getKey());
        }
        assertEquals(4, layout.leaf("0_W").rank(), "convolution weights keep DL4J's [nOut, nIn, kH, kW]");
        assertTrue(layout.leaf("1_gamma").orientation().contains("as stored by DL4J"));
        assertEquals('f', layout.leaf("2_W").order());
        new SymmetrySpec(List.of(), layout.leafSpecs());
    }
}
