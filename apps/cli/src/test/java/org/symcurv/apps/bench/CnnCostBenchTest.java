package org.symcurv.apps.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.symcurv.apps.SymcurvCli;
import org.symcurv.core.testing.TestData;

/**
 * {@code symcurv bench curvature --parts cost --cost-arch lenet} end to end with tiny settings on the committed
 * Fashion-MNIST subset: a 28×28 CNN with 2 and 3 channels of 5×5 kernels, dense 4 (451 parameters), a batch of 8.
 */
class CnnCostBenchTest {
    @TempDir
    static Path dir;
    static int exitCode;
    static String stdout;
    static String stderr;
    static JsonNode cost;

    @BeforeAll
    static void runTinyCnnCost() throws IOException {
        Path out = dir.resolve("bench");
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        var cli = SymcurvCli.commandLine();
        cli.setOut(new PrintWriter(o, true));
        cli.setErr(new PrintWriter(e, true));
        exitCode = cli.execute("bench", "curvature", "--data", TestData.fashionMnistSubset().toString(), "--out-dir", out.toString(),
                "--parts", "cost", "--cost-arch", "lenet", "--cost-conv", "2-3", "--cost-hidden", "4", "--cost-batch", "8",
                "--cost-train-steps", "1", "--cost-groups", "perm", "--no-per-example-reference", "--warmup", "0", "--repeats", "2",
                "--time-budget", "1", "--seed", "3", "--nd4j-threads", "1");
        stdout = o.toString();
        stderr = e.toString();
        if (exitCode == 0) {
            cost = new ObjectMapper().readTree(out.resolve("cost.json").toFile());
        }
    }

    @Test
    void theHeadlineTimesForwardBackwardTheDiagonalAndBothRoutesOfTheSymmetricFisher() throws IOException {
        assertEquals(0, exitCode, stderr);
        assertEquals(451, cost.get("parameters").asLong());
        assertEquals("lenet", cost.at("/settings/architecture").asText());
        JsonNode rows = cost.at("/headline/rows");
        assertEquals(4, rows.size(), rows.toString());
        List<String> expected = List.of("forward+backward", "diagonal Fisher", "symmetric Fisher, perm (factored route)", "materialised route");
        for (int i = 0; i < 4; i++) {
            JsonNode r = rows.get(i);
            assertTrue(r.get("what").asText().contains(expected.get(i)), r.get("what").asText());
            assertEquals(2, r.get("runs").asInt());
            assertTrue(r.get("medianSeconds").asDouble() > 0, r.toString());
            double ratio = r.get("ratioToForwardBackward").asDouble();
            assertTrue(Double.isFinite(ratio) && ratio > 0 && (i > 0 || ratio == 1.0), r.toString());
        }
        double symmetric = cost.at("/headline/symmetricFisherRatio").asDouble();
        assertEquals(rows.get(2).get("ratioToForwardBackward").asDouble(), symmetric);
        assertEquals(symmetric <= 3.0, cost.at("/headline/goalMet").asBoolean());
        String md = Files.readString(dir.resolve("bench").resolve("cost.md"));
        assertTrue(md.contains("Fisher cost per batch of 8 at 28×28 conv5 2-3 maxpool, dense 4"), md);
        assertTrue(stdout.contains("materialised route"), stdout);
        assertTrue(cost.at("/groups/0/failure").isNull(), cost.at("/groups/0").toString());
    }

    @Test
    void kfacCountsTheConvolutionsPatchFactors() {
        assertEquals(0, exitCode, stderr);
        // conv 1→2 (5×5): 26² + 2²; conv 2→3: 51² + 3²; dense 3·4·4 = 48 → 4: 49² + 4²; output 4 → 10: 5² + 10²
        assertEquals(26L * 26 + 4 + 51 * 51 + 9 + 49 * 49 + 16 + 25 + 100, cost.get("kfacFloats").asLong());
    }

    @Test
    void aCnnTooLargeForTheImagesIsAUsageError() {
        StringWriter e = new StringWriter();
        var cli = SymcurvCli.commandLine();
        cli.setOut(new PrintWriter(new StringWriter(), true));
        cli.setErr(new PrintWriter(e, true));
        int code = cli.execute("bench", "curvature", "--data", TestData.fashionMnistSubset().toString(), "--out-dir",
                dir.resolve("unused").toString(), "--parts", "cost", "--cost-arch", "lenet", "--cost-side", "7");
        assertEquals(2, code);
        assertTrue(e.toString().contains("--cost-arch lenet") && e.toString().contains("too small"), e.toString());
        assertFalse(Files.exists(dir.resolve("unused").resolve("cost.json")));
    }
}
