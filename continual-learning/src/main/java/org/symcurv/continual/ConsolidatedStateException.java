package org.symcurv.continual;

import java.io.IOException;

/** A consolidated-state file that cannot be used: not such a file, another format version, truncated, corrupt, or for another network. */
public final class ConsolidatedStateException extends IOException {
    private static final long serialVersionUID = 1L;

    public ConsolidatedStateException(String message) {
        super(message);
    }

    public ConsolidatedStateException(String message, Throwable cause) {
        super(message, cause);
    }
}
