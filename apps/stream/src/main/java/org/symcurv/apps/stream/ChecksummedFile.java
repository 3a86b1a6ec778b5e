package org.symcurv.apps.stream;

import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.zip.CRC32;
import java.util.zip.CheckedOutputStream;
import org.symcurv.core.data.AtomicFiles;

/**
 * The stream's files on disk: a body followed by the CRC-32 of the body as an {@code int64}, written whole to a temporary
 * sibling, synced and renamed into place, so a reader sees the previous file or the new one, never a mixture.
 */
final class ChecksummedFile {
    private ChecksummedFile() {
    }

    /** Writes a body. */
    interface Body {
        void writeTo(DataOutputStream out) throws IOException;
    }

    /**
     * Writes {@code target} atomically.
     *
     * @return the CRC-32 of the body
     */
    static long write(Path target, Body body) throws IOException {
        Path tmp = AtomicFiles.createSiblingTemp(target);
        CRC32 crc = new CRC32();
        try {
            try (OutputStream file = Files.newOutputStream(tmp)) {
                DataOutputStream out = new DataOutputStream(new CheckedOutputStream(new BufferedOutputStream(file, 1 << 16), crc));
                body.writeTo(out);
                out.flush();
                DataOutputStream tail = new DataOutputStream(file);
                tail.writeLong(crc.getValue());
                tail.flush();
            }
            try (FileChannel fc = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                fc.force(true);
            }
            AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
        return crc.getValue();
    }

    /**
     * Checks the trailing CRC-32 of a file's bytes.
     *
     * @param tooShort the message when there is no room for a checksum
     * @param corrupt  the message when the checksum does not match
     * @return the stored CRC-32 (the body is {@code bytes[0, length − 8)})
     */
    static long verify(byte[] bytes, String tooShort, String corrupt) throws IOException {
        if (bytes.length < 8) {
            throw new IOException(tooShort);
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, 0, bytes.length - 8);
        long stored = ByteBuffer.wrap(bytes, bytes.length - 8, 8).getLong();
        if (stored != crc.getValue()) {
            throw new IOException(corrupt);
        }
        return stored;
    }
}
