package org.symcurv.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SpecsForTests;

/**
 * The committed curvature file {@code golden/perm-3-2-2.scv} (format version 1) is read to known values, and writing those
 * values again gives the same bytes: a change of the format (or of how the spec or blocks are laid out) fails here, and is
 * then either a bug or a new format version (a new golden file, the old one still read). Regenerate only on purpose, with
 * {@code -Dsymcurv.golden.write=DIR}.
 */
class GoldenCurvatureFileTest {
    static final String RESOURCE = "/golden/perm-3-2-2.scv";

    @TempDir
    Path dir;

    /** A float64 operator on the 3-2-2 PERM MLP whose block entries are exact binary fractions: {@code B_k[a][b] = k + 1 + (a + b + 1)/8}. */
    static Curvature known() {
        KindDecomposition kinds = KindDecomposition.of(SpecsForTests.mlp(new int[] {3, 2, 2}, GroupType.PERM));
        return Curvature.scaledIdentity(kinds, 0.0, DataType.DOUBLE).mapBlocks(k -> {
            int m = kinds.copies(k);
            double[] v = new double[kinds.familySize(k) * m * m];
            for (int i = 0; i < v.length; i++) {
                int a = (i / m) % m;
                int b = i % m;
                v[i] = k + 1 + (a + b + 1) / 8.0;
            }
            return Nd4j.createFromArray(v).reshape('c', new long[] {kinds.familySize(k), m, m});
        });
    }

    static Map<String, String> metadata() {
        Map<String, String> m = new LinkedHashMap<>();
        m.put(CurvatureFile.ESTIMATOR, "fisher");
        m.put(CurvatureFile.SEED, "42");
        return m;
    }

    static byte[] golden() throws IOException {
        try (InputStream in = GoldenCurvatureFileTest.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource " + RESOURCE);
            }
            return in.readAllBytes();
        }
    }

    @Test
    void theCommittedFileReadsToTheKnownOperator() throws IOException {
        Path file = dir.resolve("golden.scv");
        Files.write(file, golden());
        CurvatureFile.Contents contents = CurvatureFile.read(file);
        Curvature expected = known();
        assertEquals(expected.spec(), contents.curvature().spec(), "spec");
        assertEquals(metadata(), contents.metadata(), "metadata");
        assertEquals(DataType.DOUBLE, contents.curvature().dataType());
        for (int k = 0; k < expected.decomposition().kinds().size(); k++) {
            INDArray b = contents.curvature().block(k);
            assertArrayEquals(expected.block(k).shape(), b.shape(), "shape of block " + k);
            assertArrayEquals(expected.block(k).dup('c').data().asDouble(), b.dup('c').data().asDouble(), 0.0, "block " + k);
        }
    }

    @Test
    void writingTheKnownOperatorGivesTheCommittedBytes() throws IOException {
        Path file = dir.resolve("again.scv");
        CurvatureFile.write(file, known(), metadata(), false);
        assertArrayEquals(golden(), Files.readAllBytes(file), "curvature file format version " + CurvatureFile.VERSION);
    }

    @Test
    @EnabledIfSystemProperty(named = "symcurv.golden.write", matches = ".+")
    void writeGoldenFile() throws IOException {
        Path out = Path.of(System.getProperty("symcurv.golden.write"));
        Files.createDirectories(out);
        CurvatureFile.write(out.resolve("perm-3-2-2.scv"), known(), metadata(), true);
    }
}
