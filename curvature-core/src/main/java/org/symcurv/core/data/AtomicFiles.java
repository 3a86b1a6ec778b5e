package org.symcurv.core.data;

import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Writing a file so that it appears whole or not at all: the bytes go to a hidden temporary sibling
 * {@code .NAME.RANDOM.tmp} in the target's directory (same file system, so the final rename is atomic), which
 * is then renamed onto the target. Unlike {@link Files#createTempFile}, the temporary file is created with the
 * ordinary permissions the process's umask gives, so the finished file is readable like any other.
 */
public final class AtomicFiles {
    private AtomicFiles() {
    }

    /**
     * Creates an empty temporary sibling of {@code target}, creating the target's directory when absent.
     *
     * @throws IOException when the directory cannot be created or written (the message names it)
     */
    public static Path createSiblingTemp(Path target) throws IOException {
        Path absolute = target.toAbsolutePath();
        Path dir = absolute.getParent();
        Files.createDirectories(dir);
        for (int attempt = 0; ; attempt++) {
            String nonce = Long.toHexString(ThreadLocalRandom.current().nextLong() & Long.MAX_VALUE);
            Path tmp = dir.resolve("." + absolute.getFileName() + "." + nonce + ".tmp");
            try {
                return Files.createFile(tmp);
            } catch (FileAlreadyExistsException e) {
                if (attempt > 100) {
                    throw e;
                }
            }
        }
    }

    /**
     * Renames {@code tmp} onto {@code target}, atomically where the file system allows.
     *
     * @param replace whether an existing {@code target} may be replaced
     * @throws FileAlreadyExistsException when {@code target} exists and {@code replace} is false; {@code tmp}
     *                                    is left for the caller to delete
     */
    public static void moveIntoPlace(Path tmp, Path target, boolean replace) throws IOException {
        if (!replace && Files.exists(target)) {
            throw new FileAlreadyExistsException(target.toString(), null, "it already exists and replacing it was not asked for");
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
