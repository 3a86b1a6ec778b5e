package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.conf.layers.PoolingType;
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
import org.symcurv.core.testing.TinyCnns;
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
        assertEquals(1, e.layerIndex());
        assertTrue(e.getMessage().contains("layer 1 (BatchNormalization)") && e.getMessage().contains("ofAnyLayers"), e.getMessage());

        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        assertEquals(net.numParams(), layout.parameterCount());
        // Every leaf, read back from the flat vector in its own shape and order, equals DL4J's view.
        Map<String, INDArray> leaves = layout.unflatten(net.params());
        for (Map.Entry<String, INDArray> entry : net.paramTable().entrySet()) {
            INDArray view = entry.getValue();
            INDArray ours = leaves.get(entry.getKey());
            assertEquals(view.length(), ours.length(), entry.getKey());
            // column-major: the same flat order for DL4J's [C·H·W, nOut] and the leaf's [H·W, C, nOut]
            assertArrayEquals(DenseMatrices.toVector(view.reshape('f', new long[] {view.length()})), DenseMatrices.toVector(ours.reshape('f', new long[] {ours.length()})), 0.0,
                    entry.getKey());
        }
        assertArrayEquals(new long[] {2, 1, 2, 2}, layout.leaf("0_W").shape(), "convolution weights keep DL4J's [out, in, kH, kW]");
        assertTrue(layout.leaf("1_gamma").orientation().contains("as stored by DL4J"));
        assertArrayEquals(new long[] {9, 2, 3}, layout.leaf("2_W").shape(), "the dense layer after the flattening reads [H·W, C, nOut]");
        assertEquals('f', layout.leaf("2_W").order());
        new SymmetrySpec(List.of(), layout.leafSpecs());
    }

    /**
     * A LeNet-like CNN (conv, max pool, conv without bias in Same mode, avg pool, dropout, dense, output): the strict
     * layout takes it, and every parameter's flat offset, read through the leaf's shape and order, is DL4J's own
     * {@code paramTable()} view element.
     */
    @Test
    void convolutionalLeavesSitWhereDl4jKeepsThem() {
        MultiLayerNetwork net = TinyCnns.builder(4).input(8, 7, 2).conv(3, 3, Activation.RELU).maxPool(2)
                .conv(2, new int[] {2, 3}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same, false, Activation.TANH)
                .pool(PoolingType.AVG, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Truncate)
                .dropout(0.5).dense(4, Activation.SIGMOID).softmax(3);
        ParameterLayout layout = ParameterLayout.of(net);
        assertEquals(List.of("0_b", "0_W", "2_W", "5_W", "5_b", "6_W", "6_b"), layout.leaves().stream().map(ParameterLeaf::name).toList(),
                "params() order: a convolution's bias comes before its kernel");
        assertArrayEquals(new long[] {3}, layout.leaf("0_b").shape());
        assertArrayEquals(new long[] {3, 2, 3, 3}, layout.leaf("0_W").shape());
        assertEquals('c', layout.leaf("0_W").order());
        assertArrayEquals(new long[] {2, 3, 2, 3}, layout.leaf("2_W").shape());
        // 8×7 → conv 3×3: 6×5 → pool 2: 3×2 → Same conv: 3×2 → avg pool 2×2 stride 1: 2×1, 2 channels
        assertArrayEquals(new long[] {2, 2, 4}, layout.leaf("5_W").shape());
        assertEquals('f', layout.leaf("5_W").order());
        assertArrayEquals(new long[] {4, 3}, layout.leaf("6_W").shape());
        assertEquals(net.numParams(), layout.parameterCount());

        double[] theta = DenseMatrices.toVector(layout.read(net));
        for (int l : new int[] {0, 2}) {
            INDArray w = net.getParam(l + "_W");
            ParameterLeaf leaf = layout.leaf(l + "_W");
            long[] s = leaf.shape();
            for (int o = 0; o < s[0]; o++) {
                for (int c = 0; c < s[1]; c++) {
                    for (int y = 0; y < s[2]; y++) {
                        for (int x = 0; x < s[3]; x++) {
                            long flat = leaf.offset() + ((o * s[1] + c) * s[2] + y) * s[3] + x;
                            assertEquals(w.getDouble(o, c, y, x), theta[(int) flat], 0.0, leaf.name() + "[" + o + "," + c + "," + y + "," + x + "]");
                        }
                    }
                }
            }
        }
        INDArray b0 = net.getParam("0_b");
        for (int o = 0; o < 3; o++) {
            assertEquals(b0.getDouble(o), theta[(int) layout.leaf("0_b").offset() + o], 0.0, "0_b[" + o + "]");
        }
        // the flattened dense weight: DL4J's W[c·H·W + s, j] is leaf element [s, c, j] at offset + s + H·W·c + H·W·C·j
        INDArray w5 = net.getParam("5_W");
        ParameterLeaf leaf5 = layout.leaf("5_W");
        for (int c = 0; c < 2; c++) {
            for (int sp = 0; sp < 2; sp++) {
                for (int j = 0; j < 4; j++) {
                    long flat = leaf5.offset() + sp + 2L * c + 4L * j;
                    assertEquals(w5.getDouble(c * 2 + sp, j), theta[(int) flat], 0.0, "5_W[" + sp + "," + c + "," + j + "]");
                    assertEquals(w5.getDouble(c * 2 + sp, j), layout.leafValue(layout.read(net), "5_W").getDouble(sp, c, j), 0.0);
                }
            }
        }
    }
}
