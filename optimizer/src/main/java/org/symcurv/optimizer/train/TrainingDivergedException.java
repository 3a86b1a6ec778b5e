package org.symcurv.optimizer.train;

/** Training stopped because too many steps had a non-finite loss, gradient or update. */
public final class TrainingDivergedException extends IllegalStateException {
    private static final long serialVersionUID = 1L;

    TrainingDivergedException(String message) {
        super(message);
    }
}
