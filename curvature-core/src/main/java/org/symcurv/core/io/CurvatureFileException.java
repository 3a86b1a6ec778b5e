package org.symcurv.core.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;

/**
 * A file that {@link CurvatureFile#read} cannot turn into a curvature operator. The message names the file, what
 * is wrong and what to do; {@link #reason()} says which of the expected failures it is.
 */
public final class CurvatureFileException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Why a file could not be read. */
    public enum Reason {
        /** The file does not start with the curvature magic bytes: some other file. */
        NOT_A_CURVATURE_FILE,
        /** A curvature file of a format version this build does not read. */
        UNSUPPORTED_VERSION,
        /** The file ends before its contents do (an interrupted copy or download). */
        TRUNCATED,
        /** The bytes are there but wrong: checksum mismatch, impossible sizes, a spec or block that does not fit. */
        CORRUPT
    }

    private final transient Path file;
    private final Reason reason;

    public CurvatureFileException(Path file, Reason reason, String message) {
        super(message);
        this.file = file;
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    public CurvatureFileException(Path file, Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.file = file;
        this.reason = Objects.requireNonNull(reason, "reason");
    }

    /** The file that could not be read. */
    public Path file() {
        return file;
    }

    public Reason reason() {
        return reason;
    }
}
