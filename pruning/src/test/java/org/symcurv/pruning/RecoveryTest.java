package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.data.ImageDataSet;

/** Recovery after pruning: fine-tuning with the pruned weights held at exactly zero. */
class RecoveryTest {
    private static ImageDataSet data(DataSet d) {
        int n = (int) d.getFeatures().size(0);
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            labels[i] = d.getLabels().getRow(i).argMax().getInt(0);
        }
        return ImageDataSet.of(d.getFeatures(), labels, 1, PruningTestNetworks.INPUTS, PruningTestNetworks.CLASSES);
    }

    /**
     * Weight-matrix entries spread over the units (a whole zeroed column would kill its ReLU unit, whose weights then get
     * no gradient at all): in {@code params()} order W0 [5, 4] 'f' is 0 … 19, W1 [4, 3] 24 … 35, W2 [3, 3] 39 … 47.
     */
    private static final long[] PRUNED = {0, 5, 10, 15, 1, 6, 24, 28, 32, 40};

    /** The relu network with the {@link #PRUNED} entries set to zero, and that mask. */
    private static MultiLayerNetwork pruned(PruningMask[] mask) {
        MultiLayerNetwork net = PruningTestNetworks.relu(11);
        INDArray p = net.params().dup();
        long[] indices = PRUNED;
        for (long q : indices) {
            p.putScalar(q, 0.0);
        }
        net.setParams(p);
        mask[0] = PruningMask.none(net.numParams()).withPruned(indices);
        return net;
    }

    @Test
    void prunedWeightsStayExactlyZeroWhileTheOthersLearn() {
        PruningMask[] mask = new PruningMask[1];
        MultiLayerNetwork net = pruned(mask);
        DataSet raw = PruningTestNetworks.data(3, 64);
        ImageDataSet data = data(raw);
        double[] before = net.params().dup().toDoubleVector();
        double lossBefore = net.score(raw, false);

        MultiLayerNetwork tuned = Recovery.fineTune(net, mask[0], data, 60, 16, 1e-2, 5);

        double[] after = tuned.params().toDoubleVector();
        assertArrayEquals(before, net.params().toDoubleVector(), 0.0, "the input network is not modified");
        int moved = 0;
        for (int q = 0; q < after.length; q++) {
            if (mask[0].isPruned(q)) {
                assertEquals(0.0, after[q], 0.0, "pruned parameter " + q + " stays exactly zero");
            } else if (Math.abs(after[q] - before[q]) > 1e-6) {
                moved++;
            }
        }
        assertTrue(moved > after.length / 2, "most kept parameters were trained: " + moved + " of " + after.length);
        assertTrue(tuned.score(raw, false) < lossBefore, "the training loss fell: " + lossBefore + " → " + tuned.score(raw, false));
    }

    @Test
    void withoutAMaskTheZeroedWeightsAreTrainedToo() {
        PruningMask[] mask = new PruningMask[1];
        MultiLayerNetwork net = pruned(mask);
        MultiLayerNetwork tuned = Recovery.fineTune(net, null, data(PruningTestNetworks.data(3, 64)), 60, 16, 1e-2, 5);
        double[] after = tuned.params().toDoubleVector();
        int moved = 0;
        for (long q : PRUNED) {
            if (after[(int) q] != 0.0) {
                moved++;
            }
        }
        assertNotEquals(0, moved, "a zero weight is a free parameter without the mask: the mask is what holds them");
    }

    @Test
    void zeroStepsIsACopyAndBadArgumentsAreRefused() {
        PruningMask[] mask = new PruningMask[1];
        MultiLayerNetwork net = pruned(mask);
        ImageDataSet data = data(PruningTestNetworks.data(3, 16));
        assertArrayEquals(net.params().toDoubleVector(), Recovery.fineTune(net, mask[0], data, 0, 8, 1e-3, 1).params().toDoubleVector(), 0.0);
        assertThrows(IllegalArgumentException.class, () -> Recovery.fineTune(net, mask[0], data, -1, 8, 1e-3, 1));
        assertThrows(IllegalArgumentException.class, () -> Recovery.fineTune(net, mask[0], data, 1, 0, 1e-3, 1));
        assertThrows(IllegalArgumentException.class, () -> Recovery.fineTune(net, mask[0], data, 1, 8, 0, 1));
        assertThrows(IllegalArgumentException.class, () -> Recovery.fineTune(net, PruningMask.none(3), data, 1, 8, 1e-3, 1));
    }
}
