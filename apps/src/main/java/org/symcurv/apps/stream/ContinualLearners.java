package org.symcurv.apps.stream;

import java.io.IOException;
import java.nio.file.Path;
import org.symcurv.apps.MlpArchitecture;
import org.symcurv.apps.TrainCommand;
import org.symcurv.continual.ContinualLearner;
import org.symcurv.continual.EwcSettings;
import org.symcurv.optimizer.OptimizerSettings;

/** The service's learners: a new model is a fresh MLP (weights seeded by {@code seed}) under EWC; a checkpointed one is loaded. */
public final class ContinualLearners {
    private ContinualLearners() {
    }

    public static ModelStream.LearnerSource of(MlpArchitecture architecture, EwcSettings ewc, OptimizerSettings optimizer, long seed) {
        return new ModelStream.LearnerSource() {
            @Override
            public ContinualLearner create(String model) {
                return ContinualLearner.create(TrainCommand.newNetwork(architecture, seed), ewc, optimizer);
            }

            @Override
            public ContinualLearner load(Path modelZip) throws IOException {
                return ContinualLearner.load(modelZip, ewc, optimizer);
            }
        };
    }
}
