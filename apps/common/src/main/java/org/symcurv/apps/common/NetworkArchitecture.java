package org.symcurv.apps.common;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.learning.config.NoOp;

/** A network the {@code train} command can build: the {@link MlpArchitecture} or the {@link CnnArchitecture}. */
public sealed interface NetworkArchitecture permits MlpArchitecture, CnnArchitecture {
    /** Features per example the network takes (flat). */
    int inputs();

    /** The DL4J configuration with Adam of the given step size, weights seeded by {@code seed}. */
    MultiLayerConfiguration configuration(double learningRate, long seed);

    /**
     * A freshly initialised network with DL4J's updater switched off on every layer with parameters, for a training loop
     * that applies every step itself ({@code org.symcurv.optimizer.train.Trainer}); weights seeded by {@code seed}.
     */
    default MultiLayerNetwork newNetworkWithoutUpdater(long seed) {
        MultiLayerConfiguration conf = configuration(1e-3, seed);
        for (int i = 0; i < conf.getConfs().size(); i++) {
            if (conf.getConf(i).getLayer() instanceof BaseLayer layer) {
                layer.setIUpdater(new NoOp());
            }
        }
        MultiLayerNetwork network = new MultiLayerNetwork(conf);
        network.init();
        return network;
    }

    /** Number of trainable parameters. */
    long parameterCount();

    /** The architecture in a few words. */
    String describe();

    /** {@code MLP} or {@code CNN}, for messages. */
    String kind();
}
