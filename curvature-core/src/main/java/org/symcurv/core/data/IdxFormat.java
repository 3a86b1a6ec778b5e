package org.symcurv.core.data;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import java.util.zip.GZIPOutputStream;
import java.util.zip.ZipException;

/**
 * Reader and writer of the IDX format of LeCun's MNIST and Zalando's Fashion-MNIST: a big-endian header
 * {@code 0x00 0x00 type rank}, then one 32-bit big-endian extent per axis, then the values. Only the two
 * layouts those data sets use are supported: unsigned-byte images of rank 3 (magic {@value #IMAGES_MAGIC},
 * extents {@code count, rows, cols}) and unsigned-byte labels of rank 1 (magic {@value #LABELS_MAGIC}).
 *
 * <p>Files may be gzip-compressed; the reader recognises gzip by its first two bytes, not by the name.
 * The writer compresses when the file name ends in {@code .gz}. Reading checks the magic number, that the
 * header is complete, that exactly the announced number of values follows (no truncation, no trailing bytes);
 * every failure is a {@link MalformedDataException} naming the source and what was expected.
 */
public final class IdxFormat {
    /** Magic number of an IDX3 unsigned-byte image file: {@code 0x00000803}. */
    public static final int IMAGES_MAGIC = 2051;
    /** Magic number of an IDX1 unsigned-byte label file: {@code 0x00000801}. */
    public static final int LABELS_MAGIC = 2049;

    private static final int GZIP_FIRST_BYTE = 0x1f;
    private static final int GZIP_SECOND_BYTE = 0x8b;
    /** Largest Java array we will allocate for one file. */
    private static final long MAX_VALUES = Integer.MAX_VALUE - 16L;

    private IdxFormat() {
    }

    /**
     * Reads an IDX3 image file, compressed or not.
     *
     * @throws java.nio.file.NoSuchFileException when the file does not exist
     * @throws MalformedDataException            when it is not a complete IDX3 unsigned-byte file
     */
    public static IdxImages readImages(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return readImages(in, file.toString());
        }
    }

    /**
     * Reads an IDX1 label file, compressed or not.
     *
     * @throws java.nio.file.NoSuchFileException when the file does not exist
     * @throws MalformedDataException            when it is not a complete IDX1 unsigned-byte file
     */
    public static IdxLabels readLabels(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return readLabels(in, file.toString());
        }
    }

    /**
     * Reads an IDX3 image stream to its end; the stream is not closed.
     *
     * @param source a name for the stream (a file path, a resource name) used in error messages
     * @throws MalformedDataException when the stream is not a complete IDX3 unsigned-byte file
     */
    public static IdxImages readImages(InputStream in, String source) throws IOException {
        InputStream body = decompressIfGzip(in, source);
        try {
            int[] extents = readHeader(body, source, IMAGES_MAGIC, "images", 3);
            long values = (long) extents[0] * extents[1] * extents[2];
            checkSize(values, source, extents);
            byte[] pixels = readExactly(body, (int) values, source, extents[0] + " images of " + extents[1] + "x" + extents[2]);
            return new IdxImages(extents[0], extents[1], extents[2], pixels, true);
        } catch (ZipException | EOFException e) {
            throw corruptGzip(source, e);
        }
    }

    /**
     * Reads an IDX1 label stream to its end; the stream is not closed.
     *
     * @param source a name for the stream used in error messages
     * @throws MalformedDataException when the stream is not a complete IDX1 unsigned-byte file
     */
    public static IdxLabels readLabels(InputStream in, String source) throws IOException {
        InputStream body = decompressIfGzip(in, source);
        try {
            int[] extents = readHeader(body, source, LABELS_MAGIC, "labels", 1);
            checkSize(extents[0], source, extents);
            byte[] labels = readExactly(body, extents[0], source, extents[0] + " labels");
            return IdxLabels.owning(labels);
        } catch (ZipException | EOFException e) {
            throw corruptGzip(source, e);
        }
    }

    /**
     * Writes an IDX3 image file, gzip-compressed when the name ends in {@code .gz}. The bytes go to a
     * temporary file in the same directory that is then renamed over {@code file}, so a failed write never
     * leaves a partial file behind.
     */
    public static void writeImages(IdxImages images, Path file) throws IOException {
        writeAtomically(file, out -> {
            out.writeInt(IMAGES_MAGIC);
            out.writeInt(images.count());
            out.writeInt(images.rows());
            out.writeInt(images.cols());
            out.write(images.pixelsShared());
        });
    }

    /** Writes an IDX1 label file, gzip-compressed when the name ends in {@code .gz}; atomically as above. */
    public static void writeLabels(IdxLabels labels, Path file) throws IOException {
        writeAtomically(file, out -> {
            out.writeInt(LABELS_MAGIC);
            out.writeInt(labels.count());
            out.write(labels.bytes());
        });
    }

    private interface Body {
        void write(DataOutputStream out) throws IOException;
    }

    private static void writeAtomically(Path file, Body body) throws IOException {
        Path target = file.toAbsolutePath();
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            try (OutputStream raw = Files.newOutputStream(tmp);
                 OutputStream maybeGzip = target.getFileName().toString().endsWith(".gz")
                         ? new GZIPOutputStream(new BufferedOutputStream(raw), 1 << 16) : new BufferedOutputStream(raw);
                 DataOutputStream out = new DataOutputStream(maybeGzip)) {
                body.write(out);
            }
            AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private static InputStream decompressIfGzip(InputStream in, String source) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(in, 1 << 16);
        buffered.mark(2);
        int first = buffered.read();
        int second = buffered.read();
        buffered.reset();
        if (first == GZIP_FIRST_BYTE && second == GZIP_SECOND_BYTE) {
            try {
                return new BufferedInputStream(new GZIPInputStream(buffered, 1 << 16), 1 << 16);
            } catch (ZipException | EOFException e) {
                throw corruptGzip(source, e);
            }
        }
        return buffered;
    }

    private static int[] readHeader(InputStream in, String source, int expectedMagic, String kind, int rank) throws IOException {
        int headerBytes = 4 * (1 + rank);
        byte[] header = new byte[headerBytes];
        int got = readFully(in, header);
        if (got < 4) {
            throw new MalformedDataException(source + " is truncated or empty: it holds " + got + " bytes, fewer than the "
                    + "4-byte IDX magic number (expected " + expectedMagic + " for an IDX " + kind + " file). "
                    + "Re-download or reinstall the data.");
        }
        int magic = readInt(header, 0);
        if (magic != expectedMagic) {
            String hint = "";
            if (magic == IMAGES_MAGIC || magic == LABELS_MAGIC) {
                hint = " It is an IDX " + (magic == IMAGES_MAGIC ? "images" : "labels")
                        + " file: were the image and label files swapped?";
            }
            throw new MalformedDataException(source + " is not an IDX " + kind + " file: its magic number is " + magic
                    + " (0x" + Integer.toHexString(magic) + "), expected " + expectedMagic + " (0x"
                    + Integer.toHexString(expectedMagic) + ")." + hint);
        }
        if (got < headerBytes) {
            throw new MalformedDataException(source + " is truncated: its IDX " + kind + " header needs " + headerBytes
                    + " bytes but the file holds only " + got + ". Re-download or reinstall the data.");
        }
        int[] extents = new int[rank];
        for (int a = 0; a < rank; a++) {
            extents[a] = readInt(header, 4 * (1 + a));
            if (extents[a] < 0) {
                throw new MalformedDataException(source + " has a negative extent " + extents[a] + " on axis " + a
                        + " of its IDX " + kind + " header; the file is corrupt.");
            }
        }
        return extents;
    }

    private static void checkSize(long values, String source, int[] extents) throws MalformedDataException {
        if (values > MAX_VALUES) {
            throw new MalformedDataException(source + " announces " + java.util.Arrays.toString(extents) + " = " + values
                    + " values, more than one array can hold; the header is corrupt.");
        }
    }

    private static byte[] readExactly(InputStream in, int length, String source, String what) throws IOException {
        byte[] data = new byte[length];
        int got = readFully(in, data);
        if (got < length) {
            throw new MalformedDataException(source + " is truncated: its header announces " + what + " (" + length
                    + " bytes) but only " + got + " bytes follow. Re-download or reinstall the data.");
        }
        long extra = 0;
        byte[] scratch = new byte[8192];
        for (int n; (n = in.read(scratch)) > 0; ) {
            extra += n;
        }
        if (extra > 0) {
            throw new MalformedDataException(source + " has " + extra + " unexpected bytes after the " + what
                    + " its header announces; the file is corrupt or not an IDX file.");
        }
        return data;
    }

    private static int readFully(InputStream in, byte[] into) throws IOException {
        int off = 0;
        while (off < into.length) {
            int n = in.read(into, off, into.length - off);
            if (n < 0) {
                break;
            }
            off += n;
        }
        return off;
    }

    private static int readInt(byte[] b, int at) {
        return ((b[at] & 0xFF) << 24) | ((b[at + 1] & 0xFF) << 16) | ((b[at + 2] & 0xFF) << 8) | (b[at + 3] & 0xFF);
    }

    private static MalformedDataException corruptGzip(String source, IOException cause) {
        return new MalformedDataException(source + " is a damaged or truncated gzip file (" + cause.getMessage()
                + "). Re-download or reinstall the data.", cause);
    }
}
