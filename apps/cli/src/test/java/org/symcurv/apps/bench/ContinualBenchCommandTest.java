package org.symcurv.apps.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.symcurv.apps.SymcurvCli;
import org.symcurv.core.testing.TestData;

/** {@code symcurv bench continual} end to end with tiny settings on the committed Fashion-MNIST subset. */
class ContinualBenchCommandTest {
    @TempDir
    static Path dir;

    @Test
    void tinyBenchmarkRunsEveryMethodAndλOnOneStreamAndChoosesOnValidation() throws IOException {
        StringWriter o = new StringWriter();
        StringWriter e = new StringWriter();
        var cli = SymcurvCli.commandLine();
        cli.setOut(new PrintWriter(o, true));
        cli.setErr(new PrintWriter(e, true));
        Path out = dir.resolve("bench");
        int code = cli.execute("bench", "continual", "--data", TestData.fashionMnistSubset().toString(), "--streams", "permuted", "--tasks", "2",
                "--hidden", "8", "--train-images", "300", "--validation-images", "50", "--fisher-examples", "60", "--epochs", "1",
                "--lambdas-symmetry", "1,10", "--lambdas-diagonal", "10", "--out-dir", out.toString());
        assertEquals(0, code, e.toString());
        for (String file : new String[] {"continual.json", "continual.md", "permuted-average.png", "permuted-ewc-symmetry-matrix.png"}) {
            assertTrue(Files.size(out.resolve(file)) > 0, file);
        }
        assertTrue(o.toString().contains("Summary, permuted"), o.toString());
        assertTrue(o.toString().contains("ewc-symmetry ≥ ewc-diagonal + 5 points"), o.toString());
        JsonNode json = new ObjectMapper().readTree(out.resolve("continual.json").toFile());
        JsonNode stream = json.get("streams").get(0);
        assertEquals(2 + 1 + 1, stream.get("runs").size(), "two symmetry λ, one diagonal λ, fine-tuning");
        double best = -1;
        double bestLambda = Double.NaN;
        for (JsonNode r : stream.get("runs")) {
            if (r.get("method").asText().equals("ewc-symmetry")) {
                double v = r.get("validation").get("domain-incremental").get("averageAccuracy").asDouble();
                if (v > best) {
                    best = v;
                    bestLambda = r.get("lambda").asDouble();
                }
            }
        }
        assertEquals(bestLambda, stream.get("selectedLambda").get("domain-incremental").get("ewc-symmetry").asDouble(), 0);
    }
}
