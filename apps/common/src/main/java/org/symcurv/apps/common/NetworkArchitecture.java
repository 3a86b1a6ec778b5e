package org.symcurv.apps.common;

import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;

/** A network the {@code train} command can build: the {@link MlpArchitecture} or the {@link CnnArchitecture}. */
public sealed interface NetworkArchitecture permits MlpArchitecture, CnnArchitecture {
    /** Features per example the network takes (flat). */
    int inputs();

    /** The DL4J configuration with Adam of the given step size, weights seeded by {@code seed}. */
    MultiLayerConfiguration configuration(double learningRate, long seed);

    /** A freshly initialised network with DL4J's updater off (the toolkit's trainer applies every step). */
    MultiLayerNetwork newNetworkWithoutUpdater(long seed);

    /** Number of trainable parameters. */
    long parameterCount();

    /** The architecture in a few words. */
    String describe();

    /** {@code MLP} or {@code CNN}, for messages. */
    String kind();
}
