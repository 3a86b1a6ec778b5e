package org.symcurv.apps.common;

import java.io.UncheckedIOException;

/**
 * A failure whose message is complete and meant for the user (a missing or unreadable input, an output that
 * would be overwritten): the command line prints the message alone, without a stack trace or type name, and
 * exits with 1.
 */
public class CommandFailure extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public CommandFailure(String message) {
        super(message);
    }

    public CommandFailure(String message, Throwable cause) {
        super(message, cause);
    }

    /** The message of an exception, with the exception type where the message alone would be a bare path. */
    public static String describe(Throwable failure) {
        if (failure instanceof UncheckedIOException && failure.getCause() != null) {
            return describe(failure.getCause());
        }
        String message = failure.getMessage();
        if (failure instanceof CommandFailure || failure instanceof org.symcurv.core.data.DataNotFoundException
                || failure instanceof org.symcurv.core.data.MalformedDataException) {
            return message;
        }
        if (failure instanceof java.nio.file.FileSystemException fs) {
            String reason = fs.getReason() != null ? fs.getReason() : failure.getClass().getSimpleName()
                    .replace("Exception", "").replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(java.util.Locale.ROOT);
            return fs.getFile() + ": " + reason;
        }
        return message == null ? failure.getClass().getSimpleName() : message;
    }
}
