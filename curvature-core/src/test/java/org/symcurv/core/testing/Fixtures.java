package org.symcurv.core.testing;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Locates and reads the shared oracle fixtures ({@code shared/fixtures/} beside the repository).
 *
 * <p>The directory is the system property {@value #PROPERTY} if set; otherwise the first
 * {@code shared/fixtures} found walking up from the working directory (so both {@code /work/shared} next to a
 * worktree and a CI checkout with {@code shared/} beside or inside it are found). A missing directory fails
 * with a message that names the places searched and the property to set.
 */
public final class Fixtures {
    /** System property naming the fixtures directory, e.g. {@code -Dsymcurv.fixtures=/work/shared/fixtures}. */
    public static final String PROPERTY = "symcurv.fixtures";
    /** File name of the tiny-MLP curvature oracle. */
    public static final String TINY_MLP = "tiny-mlp-curvature.json";

    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static TinyMlpFixture tinyMlp;

    private Fixtures() {
    }

    /**
     * The fixtures directory.
     *
     * @throws IllegalStateException if the property names a missing directory, or no {@code shared/fixtures}
     *                               exists above the working directory
     */
    public static Path directory() {
        String configured = System.getProperty(PROPERTY);
        if (configured != null && !configured.isBlank()) {
            Path dir = Paths.get(configured).toAbsolutePath().normalize();
            if (!Files.isDirectory(dir)) {
                throw new IllegalStateException("-D" + PROPERTY + "=" + configured + " is not a directory; point it at the shared/fixtures folder");
            }
            return dir;
        }
        List<Path> searched = new ArrayList<>();
        for (Path dir = Paths.get("").toAbsolutePath().normalize(); dir != null; dir = dir.getParent()) {
            Path candidate = dir.resolve("shared").resolve("fixtures");
            searched.add(candidate);
            if (Files.isDirectory(candidate)) {
                return candidate;
            }
        }
        throw new IllegalStateException("shared fixtures not found: searched " + searched + "; set -D" + PROPERTY
                + "=/path/to/shared/fixtures or put the shared/ folder beside the repository");
    }

    /**
     * A file in the fixtures directory.
     *
     * @throws IllegalStateException naming the path if the file does not exist
     */
    public static Path file(String name) {
        Path file = directory().resolve(name);
        if (!Files.isRegularFile(file)) {
            throw new IllegalStateException("fixture file " + file + " does not exist; the shared fixtures directory is incomplete");
        }
        return file;
    }

    /** The parsed JSON tree of a fixture file. */
    public static JsonNode json(String name) {
        Path file = file(name);
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot parse fixture " + file + " as JSON", e);
        }
    }

    /** The tiny-MLP curvature oracle, parsed once per JVM. */
    public static synchronized TinyMlpFixture tinyMlp() {
        if (tinyMlp == null) {
            tinyMlp = TinyMlpFixture.parse(json(TINY_MLP));
        }
        return tinyMlp;
    }

    /** A JSON array of numbers as {@code double[]}. */
    public static double[] vector(JsonNode node, String what) {
        requireArray(node, what);
        double[] v = new double[node.size()];
        for (int i = 0; i < v.length; i++) {
            if (!node.get(i).isNumber()) {
                throw new IllegalStateException(what + "[" + i + "] is not a number: " + node.get(i));
            }
            v[i] = node.get(i).asDouble();
        }
        return v;
    }

    /** A JSON array of integers as {@code int[]}. */
    public static int[] intVector(JsonNode node, String what) {
        requireArray(node, what);
        int[] v = new int[node.size()];
        for (int i = 0; i < v.length; i++) {
            if (!node.get(i).isIntegralNumber()) {
                throw new IllegalStateException(what + "[" + i + "] is not an integer: " + node.get(i));
            }
            v[i] = node.get(i).asInt();
        }
        return v;
    }

    /** A JSON array of equally long number arrays as {@code double[rows][columns]}. */
    public static double[][] matrix(JsonNode node, String what) {
        requireArray(node, what);
        double[][] m = new double[node.size()][];
        for (int i = 0; i < m.length; i++) {
            m[i] = vector(node.get(i), what + "[" + i + "]");
            if (m[i].length != m[0].length) {
                throw new IllegalStateException(what + " is ragged: row 0 has " + m[0].length + " entries, row " + i + " has " + m[i].length);
            }
        }
        return m;
    }

    /** The child {@code key} of {@code node}, failing with the key's path if it is absent. */
    public static JsonNode child(JsonNode node, String key, String path) {
        JsonNode child = node.get(key);
        if (child == null || child.isNull()) {
            throw new IllegalStateException("fixture has no key '" + path + "." + key + "'");
        }
        return child;
    }

    private static void requireArray(JsonNode node, String what) {
        if (node == null || !node.isArray()) {
            throw new IllegalStateException(what + " is not a JSON array");
        }
    }
}
