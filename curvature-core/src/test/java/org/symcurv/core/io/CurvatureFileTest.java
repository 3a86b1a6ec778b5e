package org.symcurv.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.io.CurvatureFileException.Reason;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.SeededRandom;

class CurvatureFileTest {
    @TempDir
    Path dir;

    /**
     * An operator with random blocks: dense {@code [F, m, m]}, or diagonal {@code [F, m]} for {@code m > denseUpTo}.
     * The first entries of each block are the awkward floats (−0, NaN, ±∞, the smallest subnormal) whose bits a
     * lossy format would change.
     */
    static Curvature randomCurvature(SymmetrySpec spec, DataType type, int denseUpTo, long seed) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        SeededRandom random = new SeededRandom(seed);
        double[] awkward = {-0.0, Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, Double.MIN_VALUE, Float.MIN_VALUE};
        List<INDArray> blocks = new ArrayList<>();
        for (KindLayout k : kinds.kinds()) {
            long[] shape = k.copies() > denseUpTo ? new long[] {k.familySize(), k.copies()} : new long[] {k.familySize(), k.copies(), k.copies()};
            long length = 1;
            for (long s : shape) {
                length *= s;
            }
            double[] values = random.gaussianVector((int) length, 1.0);
            System.arraycopy(awkward, 0, values, 0, (int) Math.min(awkward.length, length));
            blocks.add(Nd4j.createFromArray(values).reshape('c', shape).castTo(type));
        }
        return Curvature.of(kinds, blocks);
    }

    /** A 3-axis row-major leaf with a group on its middle axis, and a free 0-group leaf after it. */
    static SymmetrySpec threeAxisSpec() {
        Group g = new Group("g", GroupType.SIGNED_PERM, 3);
        return new SymmetrySpec(List.of(g), List.of(
                LeafSpec.of("t", 0, new long[] {2, 3, 2}, AxisLabel.FREE, AxisLabel.of("g"), AxisLabel.FREE),
                LeafSpec.of("u", 12, new long[] {3}, AxisLabel.FREE)));
    }

    static Stream<Arguments> operators() {
        SymmetrySpec mixed = SpecsForTests.mlp(new int[] {4, 3, 3, 2}, GroupType.PERM, GroupType.SIGN);
        return Stream.of(
                Arguments.of("perm+sign, double, dense", randomCurvature(mixed, DataType.DOUBLE, Integer.MAX_VALUE, 1)),
                Arguments.of("perm+sign, float, dense", randomCurvature(mixed, DataType.FLOAT, Integer.MAX_VALUE, 2)),
                Arguments.of("perm+sign, double, diagonal above 3 copies", randomCurvature(mixed, DataType.DOUBLE, 3, 3)),
                Arguments.of("orth, float, all diagonal", randomCurvature(SpecsForTests.mlp(new int[] {5, 4, 3}, GroupType.ORTH), DataType.FLOAT, 0, 4)),
                Arguments.of("no groups", randomCurvature(SpecsForTests.mlp(new int[] {3, 2}), DataType.DOUBLE, Integer.MAX_VALUE, 5)),
                Arguments.of("three-axis row-major leaf", randomCurvature(threeAxisSpec(), DataType.DOUBLE, Integer.MAX_VALUE, 6)));
    }

    static Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(CurvatureFile.ESTIMATOR, "fisher");
        m.put(CurvatureFile.GROUP_TYPE, "perm");
        m.put(CurvatureFile.MODEL, "/tmp/models/mlp ünïcödé.zip");
        m.put(CurvatureFile.EXAMPLES, "60000");
        m.put(CurvatureFile.SEED, "-7");
        m.put("note", "");
        return m;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("operators")
    void roundTripIsBitwiseExact(String name, Curvature original) throws IOException {
        Path file = dir.resolve("c.scv");
        CurvatureFile.write(file, original, metadata(), false);
        CurvatureFile.Contents read = CurvatureFile.read(file);
        Curvature back = read.curvature();
        assertEquals(original.spec(), back.spec(), name + ": spec");
        assertEquals(original.dataType(), back.dataType(), name + ": data type");
        assertEquals(List.copyOf(metadata().entrySet()), List.copyOf(read.metadata().entrySet()), name + ": metadata and its order");
        for (int k = 0; k < original.decomposition().kinds().size(); k++) {
            assertEquals(original.isDiagonalBlock(k), back.isDiagonalBlock(k), name + ": storage of kind " + k);
            assertArrayEquals(original.block(k).shape(), back.block(k).shape(), name + ": shape of kind " + k);
            assertArrayEquals(bits(original.block(k)), bits(back.block(k)), name + ": bits of kind " + original.decomposition().describe(k));
        }
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
        }
    }

    /** The raw bits of every value, row-major. */
    static long[] bits(INDArray a) {
        INDArray flat = Nd4j.toFlattened('c', a);
        if (a.dataType() == DataType.FLOAT) {
            float[] v = flat.toFloatVector();
            long[] out = new long[v.length];
            for (int i = 0; i < v.length; i++) {
                out[i] = Float.floatToRawIntBits(v[i]);
            }
            return out;
        }
        double[] v = flat.toDoubleVector();
        long[] out = new long[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = Double.doubleToRawLongBits(v[i]);
        }
        return out;
    }

    Path written() throws IOException {
        Path file = dir.resolve("c.scv");
        // small on purpose: the corruption tests read it once per byte
        CurvatureFile.write(file, randomCurvature(SpecsForTests.mlp(new int[] {2, 2, 1}, GroupType.PERM), DataType.FLOAT, 2, 9),
                Map.of(CurvatureFile.ESTIMATOR, "fisher"), true);
        return file;
    }

    static CurvatureFileException assertUnreadable(Path file, Reason reason) {
        CurvatureFileException e = assertThrows(CurvatureFileException.class, () -> CurvatureFile.read(file));
        assertEquals(reason, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(file.toString()), "the message names the file: " + e.getMessage());
        assertEquals(file, e.file());
        return e;
    }

    @Test
    void anUnknownVersionSaysWhichVersionsThisBuildReads() throws IOException {
        Path file = written();
        byte[] bytes = Files.readAllBytes(file);
        ByteBuffer.wrap(bytes).putInt(CurvatureFile.MAGIC.length, 2);
        Files.write(file, bytes);
        CurvatureFileException e = assertUnreadable(file, Reason.UNSUPPORTED_VERSION);
        assertTrue(e.getMessage().contains("format version 2") && e.getMessage().contains("reads only format version [1]"), e.getMessage());
    }

    @Test
    void otherFilesAreRecognisedByTheirMagicBytes() throws IOException {
        Path text = dir.resolve("notes.scv");
        Files.writeString(text, "estimator = fisher\nthis is not a curvature file\n");
        assertUnreadable(text, Reason.NOT_A_CURVATURE_FILE);
        Path zip = dir.resolve("model.zip");
        Files.write(zip, new byte[] {'P', 'K', 3, 4, 20, 0, 0, 0, 8, 0, 0, 0});
        CurvatureFileException e = assertUnreadable(zip, Reason.NOT_A_CURVATURE_FILE);
        assertTrue(e.getMessage().contains("not a symcurv curvature file"), e.getMessage());
        // a text-mode copy rewrites the \r\n of the magic bytes
        Path mangled = written();
        byte[] bytes = Files.readAllBytes(mangled);
        byte[] textMode = new byte[bytes.length - 1];
        System.arraycopy(bytes, 0, textMode, 0, 4);
        System.arraycopy(bytes, 5, textMode, 4, bytes.length - 5);
        Files.write(mangled, textMode);
        assertUnreadable(mangled, Reason.NOT_A_CURVATURE_FILE);
    }

    @Test
    void truncatedFilesAreReportedAsTruncatedAtEveryLength() throws IOException {
        Path file = written();
        byte[] bytes = Files.readAllBytes(file);
        Path cut = dir.resolve("cut.scv");
        for (int length = 0; length < bytes.length; length++) {
            Files.write(cut, java.util.Arrays.copyOf(bytes, length));
            CurvatureFileException e = assertThrows(CurvatureFileException.class, () -> CurvatureFile.read(cut), "cut at " + length);
            assertEquals(Reason.TRUNCATED, e.reason(), "cut at " + length + " of " + bytes.length + ": " + e.getMessage());
            assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
        }
    }

    @Test
    void everySingleByteCorruptionIsDetected() throws IOException {
        Path file = written();
        byte[] bytes = Files.readAllBytes(file);
        Path bad = dir.resolve("bad.scv");
        int versionEnd = CurvatureFile.MAGIC.length + Integer.BYTES;
        for (int i = versionEnd; i < bytes.length; i++) {
            for (int flip : new int[] {0x01, 0x80}) {
                byte[] copy = bytes.clone();
                copy[i] ^= (byte) flip;
                Files.write(bad, copy);
                try {
                    CurvatureFile.read(bad);
                    fail("flipping bits " + Integer.toHexString(flip) + " of byte " + i + " of " + bytes.length + " went unnoticed");
                } catch (CurvatureFileException e) {
                    // a corrupted length may also run past the end of the file: that is reported as truncation
                    assertTrue(e.reason() == Reason.CORRUPT || e.reason() == Reason.TRUNCATED, "byte " + i + ": " + e.reason() + " " + e.getMessage());
                    assertTrue(e.getMessage().contains(bad.toString()), e.getMessage());
                }
            }
        }
        Files.write(bad, concat(bytes, new byte[] {0}));
        CurvatureFileException e = assertUnreadable(bad, Reason.CORRUPT);
        assertTrue(e.getMessage().contains("after its checksum"), e.getMessage());
    }

    @Test
    void aFlippedDataByteFailsTheChecksum() throws IOException {
        Path file = written();
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length - 12] ^= 0x04; // inside the last block's values, before the end marker and checksum
        Files.write(file, bytes);
        CurvatureFileException e = assertUnreadable(file, Reason.CORRUPT);
        assertTrue(e.getMessage().contains("checksum"), e.getMessage());
    }

    @Test
    void existingFilesAreKeptUnlessReplacingIsAsked() throws IOException {
        Path file = dir.resolve("keep.scv");
        Files.writeString(file, "precious");
        Curvature c = randomCurvature(SpecsForTests.mlp(new int[] {3, 2, 2}, GroupType.PERM), DataType.DOUBLE, Integer.MAX_VALUE, 10);
        assertThrows(FileAlreadyExistsException.class, () -> CurvatureFile.write(file, c, Map.of(), false));
        assertEquals("precious", Files.readString(file));
        CurvatureFile.write(file, c, Map.of(), true);
        assertEquals(c.spec(), CurvatureFile.read(file).curvature().spec());
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(List.of(file), files.toList(), "no temporary file is left behind");
        }
    }

    @Test
    void badMetadataAndDataTypesAreRefusedBeforeWriting() {
        Curvature c = randomCurvature(SpecsForTests.mlp(new int[] {3, 2}), DataType.DOUBLE, Integer.MAX_VALUE, 11);
        Path file = dir.resolve("x.scv");
        Map<String, String> emptyKey = new LinkedHashMap<>();
        emptyKey.put("", "v");
        assertThrows(IllegalArgumentException.class, () -> CurvatureFile.write(file, c, emptyKey, false));
        Curvature half = c.mapBlocks(k -> c.block(k).castTo(DataType.HALF));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> CurvatureFile.write(file, half, Map.of(), false));
        assertTrue(e.getMessage().contains("HALF"), e.getMessage());
        assertTrue(Files.notExists(file));
    }

    @Test
    void theMagicBytesAreBinaryAndStable() {
        // the first bytes are part of the format: changing them makes every existing file unreadable
        assertArrayEquals(new byte[] {(byte) 0x89, 0x53, 0x43, 0x56, 0x0D, 0x0A, 0x1A, 0x0A}, CurvatureFile.MAGIC);
        assertEquals("SCV", new String(CurvatureFile.MAGIC, 1, 3, StandardCharsets.US_ASCII));
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
