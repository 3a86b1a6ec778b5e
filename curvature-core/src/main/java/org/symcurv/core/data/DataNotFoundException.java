package org.symcurv.core.data;

import java.io.IOException;

/**
 * A data set that could not be found in any of the places searched. The message lists those places, the
 * files that were looked for and the Debian package (with its {@code apt-get} command) that provides them.
 */
public final class DataNotFoundException extends IOException {
    private static final long serialVersionUID = 1L;

    public DataNotFoundException(String message) {
        super(message);
    }
}
