package org.symcurv.apps.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.symcurv.apps.common.ClassifierEvaluation;
import org.symcurv.apps.SymcurvCli;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.testing.TestData;

/** {@code symcurv bench pruning} end to end with tiny settings on the committed Fashion-MNIST subset and a 784-12-8-10 model. */
class PruningBenchCommandTest {
    @TempDir
    static Path dir;

    private static String[] run(String... args) {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        var cli = SymcurvCli.commandLine();
        cli.setOut(new PrintWriter(o, true));
        cli.setErr(new PrintWriter(e, true));
        int code = cli.execute(args);
        return new String[] {Integer.toString(code), o.toString(), e.toString()};
    }

    @Test
    void tinyBenchmarkWritesTablesJsonAndPlotsWithOneRunPerMethodAndTarget() throws IOException {
        Path model = dir.resolve("model.zip");
        String[] trained = run("train", "--data", TestData.fashionMnistSubset().toString(), "--out", model.toString(), "--epochs", "1",
                "--hidden", "12,8", "--batch", "64", "--seed", "5", "--no-progress");
        assertEquals("0", trained[0], trained[2]);
        Path out = dir.resolve("bench");
        String[] bench = run("bench", "pruning", "--model", model.toString(), "--data", TestData.fashionMnistSubset().toString(),
                "--out-dir", out.toString(), "--methods", "magnitude,obs,obs+constrained", "--sparsities", "0.5,0.9", "--units", "0.5",
                "--rounds", "2", "--unit-rounds", "1", "--fisher-examples", "100", "--solver-iterations", "3");
        assertEquals("0", bench[0], bench[2]);
        for (String file : new String[] {"pruning.json", "pruning.md", "unstructured.png", "structured.png"}) {
            assertTrue(Files.size(out.resolve(file)) > 0, file);
        }
        JsonNode json = new ObjectMapper().readTree(out.resolve("pruning.json").toFile());
        assertEquals(3 * 2 + 2 * 1, json.get("runs").size(), "3 methods × 2 sparsities, 2 methods × 1 unit fraction (no joint update there)");
        MultiLayerNetwork dense = ModelSerializer.restoreMultiLayerNetwork(model.toFile());
        double accuracy = ClassifierEvaluation.of(dense, FashionMnist.loadTest(TestData.fashionMnistSubset())).accuracy();
        assertEquals(accuracy, json.get("denseTestAccuracy").asDouble(), 1e-12);
        for (JsonNode r : json.get("runs")) {
            if (r.get("kind").asText().equals("structured")) {
                assertEquals((784 + 1) * 6 + (6 + 1) * 4 + (4 + 1) * 10, r.get("parameters").asLong(), "half the units of 12 and 8");
            } else {
                long weights = 784 * 12 + 12 * 8 + 8 * 10;
                long zeros = dense.numParams() - r.get("nonzeroParameters").asLong();
                assertEquals(Math.round(r.get("sparsity").asDouble() * weights), zeros, 2, "zeros at the target sparsity");
            }
        }
        assertTrue(bench[1].contains("Goals of issue 7") && bench[1].contains("at least 10 points above magnitude"), bench[1]);
        assertTrue(Files.readString(out.resolve("pruning.md")).contains("| OBS-symmetry (joint update) |"), "markdown table");
    }

    @Test
    void anUnknownMethodIsAUsageError() {
        String[] bench = run("bench", "pruning", "--model", dir.resolve("none.zip").toString(), "--methods", "obs+sideways");
        assertEquals("2", bench[0], bench[2]);
        assertTrue(bench[2].contains("unknown modifier 'sideways'"), bench[2]);
    }
}
