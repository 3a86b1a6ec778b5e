package org.symcurv.core.data;

import java.io.IOException;

/**
 * A readable data set that does not fit the model it is given to: another feature count than the model's input, a
 * label outside the model's classes, regression targets for a classifier (or the reverse), another number of target
 * columns than the model's outputs. The message names the data's source, the model and what would fit.
 */
public final class DataMismatchException extends IOException {
    private static final long serialVersionUID = 1L;

    public DataMismatchException(String message) {
        super(message);
    }
}
