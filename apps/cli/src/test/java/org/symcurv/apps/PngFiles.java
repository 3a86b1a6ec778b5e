package org.symcurv.apps;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

/** Checks that a file is a PNG image of the expected size: the 8-byte signature, then the IHDR chunk's width and height. */
public final class PngFiles {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

    private PngFiles() {
    }

    public static void assertPng(Path file, int width, int height) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        assertArrayEquals(SIGNATURE, Arrays.copyOf(bytes, 8), file + " starts with the PNG signature");
        ByteBuffer header = ByteBuffer.wrap(bytes, 8, 16); // chunk length, "IHDR", width, height (big-endian)
        assertEquals(13, header.getInt(), file + ": IHDR length");
        assertEquals("IHDR", new String(bytes, 12, 4, java.nio.charset.StandardCharsets.US_ASCII), file + ": first chunk");
        header.getInt();
        assertEquals(width, header.getInt(), file + ": width");
        assertEquals(height, header.getInt(), file + ": height");
    }
}
