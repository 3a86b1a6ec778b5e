package org.symcurv.apps.stream;

import java.io.IOException;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.continual.ContinualLearner;
import org.symcurv.continual.EwcSettings;
import org.symcurv.optimizer.OptimizerSettings;

/** The service's learners: a new model is a fresh MLP (weights seeded by {@code seed}) under EWC; a checkpointed one is restored. */
public final class ContinualLearners {
    private ContinualLearners() {
    }

    public static ModelStream.LearnerSource of(MlpArchitecture architecture, EwcSettings ewc, OptimizerSettings optimizer, long seed) {
        return new ModelStream.LearnerSource() {
            @Override
            public ContinualLearner create(String model) {
                return ContinualLearner.create(architecture.newNetworkWithoutUpdater(seed), ewc, optimizer);
            }

            @Override
            public ContinualLearner restore(String model, INDArray parameters, byte[] state, String source) throws IOException {
                MultiLayerNetwork network = architecture.newNetworkWithoutUpdater(seed);
                if (parameters.length() != network.numParams()) {
                    throw new IOException(source + " has " + parameters.length() + " parameters but the service's network ("
                            + architecture.describe() + ") has " + network.numParams() + "; start the service with the --features, "
                            + "--hidden and --classes that wrote the checkpoint");
                }
                network.setParams(parameters.castTo(network.params().dataType()).reshape(network.params().shape()));
                return ContinualLearner.restore(network, state, source, ewc, optimizer);
            }
        };
    }
}
