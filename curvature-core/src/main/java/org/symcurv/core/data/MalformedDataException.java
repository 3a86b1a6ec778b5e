package org.symcurv.core.data;

import java.io.IOException;

/**
 * A data file that exists but does not hold what it should: a wrong magic number, a wrong shape, a count
 * that disagrees with its companion file, bytes missing at the end (truncation) or left over after it.
 * The message names the file, what was found, what was expected and how to get a good copy.
 */
public final class MalformedDataException extends IOException {
    private static final long serialVersionUID = 1L;

    public MalformedDataException(String message) {
        super(message);
    }

    public MalformedDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
