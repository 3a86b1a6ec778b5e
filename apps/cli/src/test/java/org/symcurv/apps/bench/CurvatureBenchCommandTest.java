package org.symcurv.apps.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.symcurv.apps.SymcurvCli;
import org.symcurv.core.testing.TestData;

/**
 * {@code symcurv bench curvature} end to end with tiny settings on the committed Fashion-MNIST subset: 2×2-pixel inputs,
 * a 4-3-3-10 tanh MLP (67 parameters) for fidelity, a 49-4-4-10 MLP for cost.
 */
class CurvatureBenchCommandTest {
    /** Round-off of float64 projections on ~70 parameters. */
    private static final double ROUND_OFF = 1e-10;
    private static final int P = 5 * 3 + 4 * 3 + 4 * 10;

    @TempDir
    static Path dir;
    static Path out;
    static int exitCode;
    static String stdout;
    static String stderr;
    static JsonNode json;
    static JsonNode costJson;

    @BeforeAll
    static void runTinyBench() throws IOException {
        out = dir.resolve("bench");
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        var cli = SymcurvCli.commandLine();
        cli.setOut(new PrintWriter(o, true));
        cli.setErr(new PrintWriter(e, true));
        exitCode = cli.execute("bench", "curvature", "--data", TestData.fashionMnistSubset().toString(), "--out-dir", out.toString(),
                "--side", "2", "--hidden", "3-3", "--activations", "tanh", "--train-steps", "15", "--batch", "64",
                "--eval-examples", "60", "--fisher-examples", "150", "--step-dampings", "1e-2,1", "--dense-check",
                "--cost-side", "7", "--cost-hidden", "4-4", "--cost-batch", "8", "--cost-train-steps", "1", "--cost-groups", "perm",
                "--warmup", "0", "--repeats", "1", "--time-budget", "1", "--seed", "3", "--nd4j-threads", "1");
        stdout = o.toString();
        stderr = e.toString();
        if (exitCode == 0) {
            json = new ObjectMapper().readTree(out.resolve("fidelity.json").toFile());
            costJson = new ObjectMapper().readTree(out.resolve("cost.json").toFile());
        }
    }

    @Test
    void succeedsAndWritesJsonTablesAndPlots() throws IOException {
        assertEquals(0, exitCode, stderr);
        for (String name : List.of("fidelity.json", "fidelity.md", "fidelity-ggn.png", "fidelity-hessian.png", "cost.json", "cost.md")) {
            assertTrue(Files.size(out.resolve(name)) > 100, name + " written");
        }
        byte[] png = Files.readAllBytes(out.resolve("fidelity-ggn.png"));
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(png, 4), "a PNG file");
        try (var files = Files.list(out)) {
            assertTrue(files.noneMatch(f -> f.getFileName().toString().endsWith(".tmp")), "no temporary files left");
        }
        assertTrue(stdout.contains("Goal check"), stdout);
        assertTrue(stdout.contains("4-3-3-10 tanh"), stdout);
        assertTrue(Files.readString(out.resolve("fidelity.md")).contains("| 4-3-3-10 tanh | signed-perm |"));
    }

    @Test
    void jsonHasEveryMethodWithFiniteNumbers() {
        assertEquals(0, exitCode, stderr);
        JsonNode architectures = json.at("/architectures");
        assertEquals(1, architectures.size());
        JsonNode a = architectures.get(0);
        assertEquals(P, a.get("parameters").asLong());
        assertEquals(List.of("dense", "perm", "signed-perm", "sign", "orth", "diagonal", "kfac"), methodNames(a));
        for (JsonNode m : a.get("methods")) {
            // K-FAC is not a projection: it has no structure/estimation split, only total errors
            boolean kfac = m.get("method").asText().equals("kfac");
            assertTrue(m.get("storedFloats").isNumber(), m.get("method") + " storedFloats");
            for (String key : List.of("structureErrorHessian", "structureErrorGgn")) {
                assertTrue(kfac ? m.get(key).isNull() : m.get(key).isNumber(), m.get("method") + " " + key);
            }
            assertEquals(1, m.get("fisher").size());
            for (JsonNode f : m.get("fisher")) {
                for (String key : List.of("estimationErrorHessian", "estimationErrorGgn")) {
                    assertTrue(kfac ? f.get(key).isNull() : f.get(key).isNumber() && f.get(key).asDouble() >= 0, m.get("method") + " " + key);
                }
                for (String key : List.of("totalErrorHessian", "totalErrorGgn")) {
                    assertTrue(f.get(key).isNumber() && f.get(key).asDouble() >= 0, m.get("method") + " " + key);
                }
                assertEquals(2, f.get("steps").size());
                for (JsonNode s : f.get("steps")) {
                    assertTrue(s.get("cosineToExactGgnStep").isNumber() && Math.abs(s.get("cosineToExactGgnStep").asDouble()) <= 1 + 1e-9);
                    assertTrue(s.get("lossDecrease").isNumber());
                }
            }
        }
        JsonNode cost = costJson;
        assertTrue(cost.at("/forwardBackward/medianMillis").asDouble() > 0);
        JsonNode perm = cost.at("/groups/0");
        assertEquals("perm", perm.get("group").asText());
        assertTrue(perm.get("failure").isNull(), perm.toString());
        for (String key : List.of("fisherEstimate", "powerMinusOne", "applyInverse", "taylorObserve", "taylorInverseHessian")) {
            double ratio = perm.at("/" + key + "/ratioToForwardBackward").asDouble(Double.NaN);
            assertTrue(ratio > 0 && Double.isFinite(ratio), key + " ratio " + ratio);
        }
        List<String> nonFinite = new ArrayList<>();
        collectNonFinite(json, "", nonFinite);
        collectNonFinite(costJson, "", nonFinite);
        assertTrue(nonFinite.isEmpty(), "non-finite numbers: " + nonFinite);
    }

    @Test
    void storedFloatsFollowTheStructures() {
        assertEquals(0, exitCode, stderr);
        JsonNode a = json.at("/architectures/0");
        assertEquals((long) P * P, method(a, "dense").get("storedFloats").asLong());
        assertEquals(P, method(a, "diagonal").get("storedFloats").asLong());
        // SIGNED_PERM and ORTH have the same commutant on a hidden layer
        assertEquals(method(a, "signed-perm").get("storedFloats").asLong(), method(a, "orth").get("storedFloats").asLong());
        // K-FAC for 49-4-4-10: (49+1)² + 4² + (4+1)² + 4² + (4+1)² + 10²
        assertEquals(50L * 50 + 16 + 25 + 16 + 25 + 100, costJson.get("kfacFloats").asLong());
        // the fidelity row's K-FAC operator for 4-3-3-10: (4+1)² + 3² + (3+1)² + 3² + (3+1)² + 10²
        assertEquals(25L + 9 + 16 + 9 + 16 + 100, method(a, "kfac").get("storedFloats").asLong());
    }

    @Test
    void projectionsAreIdempotentAndAgreeWithDenseMatricesAndTheEstimatorsAccumulation() {
        assertEquals(0, exitCode, stderr);
        JsonNode a = json.at("/architectures/0");
        for (JsonNode m : a.get("methods")) {
            // dense has nothing to project; K-FAC is not a projection (its selfChecks are null)
            if (m.get("method").asText().equals("dense") || m.get("method").asText().equals("kfac")) {
                assertTrue(!m.get("method").asText().equals("kfac") || m.get("selfChecks").isNull(), m.toString());
                continue;
            }
            JsonNode checks = m.get("selfChecks");
            assertTrue(checks.get("idempotenceOfProjection").asDouble(1) < ROUND_OFF, m.toString());
            assertTrue(checks.get("blockwiseVsDenseErrors").asDouble(1) < 1e-8, m.toString());
            assertTrue(checks.get("secondMomentVsProjectedDenseFisher").asDouble(1) < ROUND_OFF, m.toString());
        }
    }

    @Test
    void exactSymmetriesOfTanhAndNestedGroupsOrderTheStructureErrors() {
        assertEquals(0, exitCode, stderr);
        JsonNode a = json.at("/architectures/0");
        assertTrue(method(a, "perm").get("exactSymmetry").asBoolean());
        assertTrue(method(a, "sign").get("exactSymmetry").asBoolean());
        assertTrue(method(a, "signed-perm").get("exactSymmetry").asBoolean());
        assertFalse(method(a, "orth").get("exactSymmetry").asBoolean());
        assertFalse(method(a, "diagonal").get("exactSymmetry").asBoolean());
        for (String x : List.of("structureErrorHessian", "structureErrorGgn")) {
            double perm = method(a, "perm").get(x).asDouble();
            double sign = method(a, "sign").get(x).asDouble();
            double signedPerm = method(a, "signed-perm").get(x).asDouble();
            double orth = method(a, "orth").get(x).asDouble();
            double diagonal = method(a, "diagonal").get(x).asDouble();
            assertEquals(0.0, method(a, "dense").get(x).asDouble());
            // a larger group has a smaller commutant, so its projection is farther from X
            assertTrue(signedPerm >= perm - ROUND_OFF && signedPerm >= sign - ROUND_OFF, x + ": " + a);
            assertTrue(diagonal >= sign - ROUND_OFF, x + ": " + a);
            assertEquals(signedPerm, orth, ROUND_OFF, x);
            assertTrue(perm > 0 && diagonal < 1, x);
        }
    }

    @Test
    void unorderedFisherSizesAreAUsageError() {
        StringWriter e = new StringWriter();
        var cli = SymcurvCli.commandLine();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(e, true));
        int code = cli.execute("bench", "curvature", "--data", TestData.fashionMnistSubset().toString(), "--out-dir",
                dir.resolve("unused").toString(), "--fisher-examples", "100,50");
        assertEquals(2, code);
        assertTrue(e.toString().contains("strictly increasing"), e.toString());
        assertFalse(Files.exists(dir.resolve("unused").resolve("fidelity.json")));
    }

    private static List<String> methodNames(JsonNode architecture) {
        List<String> names = new ArrayList<>();
        architecture.get("methods").forEach(m -> names.add(m.get("method").asText()));
        return names;
    }

    private static JsonNode method(JsonNode architecture, String name) {
        for (JsonNode m : architecture.get("methods")) {
            if (m.get("method").asText().equals(name)) {
                return m;
            }
        }
        throw new AssertionError("no method " + name);
    }

    /** Every number must be finite; a null is allowed only where the JSON means "not applicable". */
    private static void collectNonFinite(JsonNode node, String path, List<String> bad) {
        if (node.isNumber() && !Double.isFinite(node.asDouble())) {
            bad.add(path);
        } else if (node.isNull() && !NULLABLE.contains(path.substring(path.lastIndexOf('/') + 1))) {
            bad.add(path + " (null)");
        } else if (node.isObject()) {
            Iterator<Map.Entry<String, JsonNode>> fields = node.fields();
            while (fields.hasNext()) {
                Map.Entry<String, JsonNode> f = fields.next();
                collectNonFinite(f.getValue(), path + "/" + f.getKey(), bad);
            }
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collectNonFinite(node.get(i), path + "/" + i, bad);
            }
        }
    }

    /** Keys that may be null (K-FAC's structure and estimation errors are checked to be null in jsonHasEveryMethodWithFiniteNumbers). */
    private static final List<String> NULLABLE = List.of("exactSymmetry", "selfChecks", "failure", "OMP_NUM_THREADS", "memTotalKiB",
            "structureErrorHessian", "structureErrorGgn", "estimationErrorHessian", "estimationErrorGgn");
}
