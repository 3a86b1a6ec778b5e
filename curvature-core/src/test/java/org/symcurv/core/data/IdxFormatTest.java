package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IdxFormatTest {
    @TempDir
    Path dir;

    private static IdxImages threeImagesOf2x3() {
        byte[] pixels = new byte[3 * 2 * 3];
        for (int i = 0; i < pixels.length; i++) {
            pixels[i] = (byte) (i * 14 + 3); // covers values above 127, which are negative as Java bytes
        }
        return new IdxImages(3, 2, 3, pixels);
    }

    @Test
    void imagesAndLabelsSurviveAWriteReadRoundTripCompressedAndRaw() throws IOException {
        IdxImages images = threeImagesOf2x3();
        IdxLabels labels = IdxLabels.of(7, 0, 255);
        for (String suffix : new String[] {".gz", ""}) {
            Path imageFile = dir.resolve("img-idx3-ubyte" + suffix);
            Path labelFile = dir.resolve("lab-idx1-ubyte" + suffix);
            IdxFormat.writeImages(images, imageFile);
            IdxFormat.writeLabels(labels, labelFile);
            IdxImages back = IdxFormat.readImages(imageFile);
            assertEquals(3, back.count());
            assertEquals(2, back.rows());
            assertEquals(3, back.cols());
            assertArrayEquals(images.pixels(), back.pixels());
            assertEquals((11 * 14 + 3) & 0xFF, back.pixel(1, 1, 2), "pixel (1, 1, 2) is byte 11, read unsigned");
            assertArrayEquals(new int[] {7, 0, 255}, IdxFormat.readLabels(labelFile).toIntArray());
        }
        byte[] gz = Files.readAllBytes(dir.resolve("img-idx3-ubyte.gz"));
        assertEquals(0x1f, gz[0] & 0xFF, "a .gz name is written gzip-compressed");
        byte[] raw = Files.readAllBytes(dir.resolve("img-idx3-ubyte"));
        assertEquals(16 + 18, raw.length, "raw IDX3 = 16-byte header + pixels");
        assertEquals(IdxFormat.IMAGES_MAGIC, ((raw[2] & 0xFF) << 8) | (raw[3] & 0xFF));
    }

    @Test
    void aLabelFileReadAsImagesNamesTheFileBothMagicNumbersAndTheLikelySwap() throws IOException {
        Path labelFile = dir.resolve("train-labels-idx1-ubyte.gz");
        IdxFormat.writeLabels(IdxLabels.of(1, 2, 3), labelFile);
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> IdxFormat.readImages(labelFile));
        assertTrue(e.getMessage().contains(labelFile.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("2049") && e.getMessage().contains("2051"), e.getMessage());
        assertTrue(e.getMessage().contains("swapped"), e.getMessage());
    }

    @Test
    void aFileThatIsNotIdxAtAllIsRejectedByItsMagicNumber() throws IOException {
        Path text = dir.resolve("notes.txt");
        Files.writeString(text, "hello, this is not an IDX file");
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> IdxFormat.readLabels(text));
        assertTrue(e.getMessage().contains("not an IDX labels file") && e.getMessage().contains("2049"), e.getMessage());
    }

    @Test
    void truncatedPixelDataIsReportedWithTheExpectedAndActualByteCounts() throws IOException {
        Path file = dir.resolve("img-idx3-ubyte");
        IdxFormat.writeImages(threeImagesOf2x3(), file);
        byte[] whole = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(whole, whole.length - 5));
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> IdxFormat.readImages(file));
        assertTrue(e.getMessage().contains(file.toString()), e.getMessage());
        assertTrue(e.getMessage().contains("truncated") && e.getMessage().contains("3 images of 2x3")
                && e.getMessage().contains("18 bytes") && e.getMessage().contains("only 13"), e.getMessage());
    }

    @Test
    void aTruncatedHeaderAndAnEmptyFileAreReportedAsTruncated() throws IOException {
        Path file = dir.resolve("img-idx3-ubyte");
        IdxFormat.writeImages(threeImagesOf2x3(), file);
        Files.write(file, Arrays.copyOf(Files.readAllBytes(file), 10));
        MalformedDataException header = assertThrows(MalformedDataException.class, () -> IdxFormat.readImages(file));
        assertTrue(header.getMessage().contains("truncated") && header.getMessage().contains("16 bytes"), header.getMessage());
        Files.write(file, new byte[0]);
        MalformedDataException empty = assertThrows(MalformedDataException.class, () -> IdxFormat.readImages(file));
        assertTrue(empty.getMessage().contains("empty"), empty.getMessage());
    }

    @Test
    void aTruncatedGzipFileIsReportedAsDamagedGzipNamingTheFile() throws IOException {
        Path file = dir.resolve("img-idx3-ubyte.gz");
        byte[] pixels = new byte[50 * 28 * 28];
        new java.util.Random(3).nextBytes(pixels); // incompressible, so the cut lands inside the deflate stream
        IdxFormat.writeImages(new IdxImages(50, 28, 28, pixels), file);
        byte[] whole = Files.readAllBytes(file);
        Files.write(file, Arrays.copyOf(whole, whole.length / 2));
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> IdxFormat.readImages(file));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("gzip"), e.getMessage());
    }

    @Test
    void bytesAfterTheAnnouncedDataAreRejected() throws IOException {
        ByteArrayOutputStream raw = new ByteArrayOutputStream();
        try (GZIPOutputStream gz = new GZIPOutputStream(raw)) {
            gz.write(new byte[] {0, 0, 8, 1, 0, 0, 0, 2, 4, 5, 6});
        }
        MalformedDataException e = assertThrows(MalformedDataException.class,
                () -> IdxFormat.readLabels(new ByteArrayInputStream(raw.toByteArray()), "stream.gz"));
        assertTrue(e.getMessage().contains("stream.gz") && e.getMessage().contains("1 unexpected bytes"), e.getMessage());
    }

    @Test
    void sliceKeepsTheChosenImagesAndLabelsByteForByte() {
        IdxImages images = threeImagesOf2x3();
        IdxImages middle = images.slice(1, 2);
        assertEquals(1, middle.count());
        for (int r = 0; r < 2; r++) {
            for (int c = 0; c < 3; c++) {
                assertEquals(images.pixel(1, r, c), middle.pixel(0, r, c));
            }
        }
        assertArrayEquals(new int[] {0, 255}, IdxLabels.of(7, 0, 255).slice(1, 3).toIntArray());
        assertThrows(IndexOutOfBoundsException.class, () -> images.slice(2, 4));
    }
}
