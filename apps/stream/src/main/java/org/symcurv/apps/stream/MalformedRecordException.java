package org.symcurv.apps.stream;

/** A record that cannot be learned from; its message is the reason written to the dead-letter topic. */
public final class MalformedRecordException extends Exception {
    private static final long serialVersionUID = 1L;

    public MalformedRecordException(String reason) {
        super(reason);
    }
}
