package org.symcurv.pruning;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.testing.TinyNetworks;

/** The tiny float64 networks and data the pruning tests share. */
final class PruningTestNetworks {
    static final int INPUTS = 5;
    static final int CLASSES = 3;

    private PruningTestNetworks() {
    }

    /** 5 → 4 ReLU → 3 ReLU → 3 softmax: 51 parameters, 41 of them weights. */
    static MultiLayerNetwork relu(long seed) {
        return TinyNetworks.mlp(seed).inputs(INPUTS).dense(4, Activation.RELU).dense(3, Activation.RELU).softmaxCrossEntropy(CLASSES);
    }

    /** 5 → 4 tanh → 3 tanh → 3 softmax (smooth, no dead units; signed-permutation groups). */
    static MultiLayerNetwork tanh(long seed) {
        return TinyNetworks.mlp(seed).inputs(INPUTS).dense(4, Activation.TANH).dense(3, Activation.TANH).softmaxCrossEntropy(CLASSES);
    }

    static DataSet data(long seed, int n) {
        return TinyNetworks.classificationData(seed, n, INPUTS, CLASSES);
    }
}
