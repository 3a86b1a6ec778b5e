package org.symcurv.core.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/** The helpers other modules rely on, checked on exact cases. */
class TestingHelpersTest {

    @Test
    void fixturesAreFoundAndParsed() {
        assertTrue(Files.isRegularFile(Fixtures.directory().resolve(Fixtures.TINY_MLP)), "found " + Fixtures.directory());
        TinyMlpFixture fixture = Fixtures.tinyMlp();
        assertArrayEquals(new int[][] {{5, 4}, {4, 3}, {3, 3}}, fixture.layerShapes());
        assertEquals(32, fixture.inputs().length);
        assertEquals(5, fixture.inputs()[0].length);
        assertEquals(List.of("tanh", "relu"), fixture.caseNames());
        TinyMlpFixture.Case tanh = fixture.forActivation("tanh");
        assertEquals(51, tanh.theta().length);
        assertEquals(51, tanh.hessian().length);
        assertEquals(List.of("perm", "sign", "signed_perm"), tanh.exactSymmetryGroups());
        assertEquals(51, tanh.averagedOver("signed_perm").ggn()[50].length);
        tanh.theta()[0] = 99;
        assertTrue(tanh.theta()[0] != 99, "accessors return copies");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> fixture.forActivation("gelu"));
        assertTrue(e.getMessage().contains("tanh"), e.getMessage());
    }

    @Test
    void fixturesPropertyOverridesTheSearchAndAMissingDirectoryIsExplained(@TempDir Path temp) {
        String previous = System.getProperty(Fixtures.PROPERTY);
        try {
            System.setProperty(Fixtures.PROPERTY, temp.toString());
            assertEquals(temp.toAbsolutePath().normalize(), Fixtures.directory());
            IllegalStateException missingFile = assertThrows(IllegalStateException.class, () -> Fixtures.file(Fixtures.TINY_MLP));
            assertTrue(missingFile.getMessage().contains(Fixtures.TINY_MLP), missingFile.getMessage());
            System.setProperty(Fixtures.PROPERTY, temp.resolve("absent").toString());
            IllegalStateException missingDir = assertThrows(IllegalStateException.class, Fixtures::directory);
            assertTrue(missingDir.getMessage().contains("-Dsymcurv.fixtures"), missingDir.getMessage());
        } finally {
            if (previous == null) {
                System.clearProperty(Fixtures.PROPERTY);
            } else {
                System.setProperty(Fixtures.PROPERTY, previous);
            }
        }
    }

    @Test
    void relativeErrorAndSymmetryOnExactCases() {
        double[][] e = {{3, 0}, {0, 4}};
        double[][] a = {{3, 0}, {1, 4}};
        assertEquals(1.0 / 5.0, DenseMatrices.relativeError(a, e), 1e-16);
        assertEquals(1.0, DenseMatrices.maxAsymmetry(a), 0.0);
        assertEquals(Math.sqrt(2), DenseMatrices.relativeError(new double[] {1, 1}, new double[] {0, 0}), 1e-16, "absolute when expected is zero");
        assertThrows(IllegalArgumentException.class, () -> DenseMatrices.relativeError(a, new double[][] {{1, 2, 3}}));
        assertArrayEquals(new double[] {3, 7}, DenseMatrices.multiply(new double[][] {{1, 1}, {1, 3}}, new double[] {1, 2}), 0.0);
        assertArrayEquals(new double[][] {{1, 2}, {3, 4}}, DenseMatrices.toMatrix(DenseMatrices.toArray(new double[][] {{1, 2}, {3, 4}})));
    }

    @Test
    void seededRandomIsReproducible() {
        assertArrayEquals(new SeededRandom(7).gaussianVector(5, 1.0), new SeededRandom(7).gaussianVector(5, 1.0), 0.0);
        assertTrue(new SeededRandom(7).gaussian() != new SeededRandom(8).gaussian());
    }

    @Test
    void groupElementsAreOrthogonalAndActAlongTheLabelledAxes() {
        SeededRandom random = new SeededRandom(3);
        for (GroupType type : GroupType.values()) {
            double[][] m = GroupActions.randomElement(type, 4, random);
            double[][] gram = new double[4][4];
            for (int i = 0; i < 4; i++) {
                for (int j = 0; j < 4; j++) {
                    for (int k = 0; k < 4; k++) {
                        gram[i][j] += m[k][i] * m[k][j];
                    }
                }
            }
            double[][] identity = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
            assertTrue(DenseMatrices.relativeError(gram, identity) < 1e-14, type + " element is not orthogonal");
        }
        // W [2, 3] column-major with axis 1 labelled g, and b [3] labelled g: swapping units 0 and 2 swaps W's columns and b's entries.
        SymmetrySpec spec = new SymmetrySpec(List.of(new Group("g", GroupType.PERM, 3)),
                List.of(new LeafSpec("W", new long[] {2, 3}, List.of(AxisLabel.FREE, AxisLabel.of("g")), 0, 'f'),
                        new LeafSpec("b", new long[] {3}, List.of(AxisLabel.of("g")), 6, 'c')));
        double[] theta = {11, 21, 12, 22, 13, 23, 1, 2, 3}; // W[i][j] = 10(i+1) + (j+1) stored column-major
        double[][] swap = GroupActions.permutation(new int[] {2, 1, 0}, null);
        assertArrayEquals(new double[] {13, 23, 12, 22, 11, 21, 3, 2, 1}, GroupActions.act(spec, Map.of("g", swap), theta), 0.0);
    }
}
