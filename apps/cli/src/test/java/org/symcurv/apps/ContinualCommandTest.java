package org.symcurv.apps;

import static org.symcurv.apps.CliRun.symcurv;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;
import org.symcurv.continual.ContinualLearner;
import org.symcurv.continual.ContinualMethod;
import org.symcurv.continual.EwcSettings;
import org.symcurv.core.testing.TestData;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;

/** {@code symcurv continual} end to end on the committed 2,000/500-image Fashion-MNIST subset, tiny networks. */
class ContinualCommandTest {
    private static final Pattern FINAL = Pattern.compile("average accuracy: ([0-9.]+) \\(BWT ([-+0-9.]+), forgetting ([-0-9.]+)\\) over 2 tasks");

    @TempDir
    Path dir;


    @Test
    void permutedStreamPrintsTheMatrixAndFinalLineAndWritesJsonAndAModelWithItsState() throws IOException {
        Path out = dir.resolve("reports");
        Path model = dir.resolve("model.zip");
        CliRun run = symcurv("continual", "--data", TestData.fashionMnistSubset().toString(), "--stream", "permuted", "--tasks", "2",
                "--method", "ewc-symmetry", "--lambda", "1,100", "--hidden", "16,16", "--epochs", "3", "--train-images", "800",
                "--validation-images", "100", "--fisher-examples", "200", "--out-dir", out.toString(), "--save", model.toString(), "--no-progress");
        assertEquals(0, run.exitCode(), run.err());
        String o = run.out();
        assertTrue(o.contains("task 1/2 (unpermuted): trained"), o);
        assertTrue(o.contains("task 2/2 (permutation 1): trained"), o);
        assertTrue(o.contains("consolidated the Fisher of task 1"), o);
        assertTrue(o.contains("after \\ on    task 1  task 2  average"), o);
        String[] lines = o.strip().split("\n");
        Matcher m = FINAL.matcher(lines[lines.length - 1]);
        assertTrue(m.matches(), "last line: " + lines[lines.length - 1]);
        double average = Double.parseDouble(m.group(1));
        assertTrue(average > 0.3, "three epochs on 700 images learn something: " + average);

        JsonNode json = new ObjectMapper().readTree(out.resolve("permuted-ewc-symmetry.json").toFile());
        assertEquals(2, json.get("runs").size(), "one run per λ");
        double chosen = json.get("selectedLambda").get("domain-incremental").asDouble();
        JsonNode chosenRun = null;
        double bestValidation = -1;
        for (JsonNode r : json.get("runs")) {
            double v = r.get("validation").get("domain-incremental").get("averageAccuracy").asDouble();
            if (v > bestValidation) {
                bestValidation = v;
                chosenRun = r;
            }
        }
        assertEquals(chosenRun.get("lambda").asDouble(), chosen, 0, "λ chosen on validation accuracy");
        JsonNode matrix = chosenRun.get("test").get("domain-incremental");
        assertEquals(average, matrix.get("averageAccuracy").asDouble(), 5e-5);
        assertEquals(2, matrix.get("accuracy").size());
        PngFiles.assertPng(out.resolve("permuted-ewc-symmetry-matrix.png"), 560, 420); // 2 tasks: the minimum heat-map size
        PngFiles.assertPng(out.resolve("permuted-ewc-symmetry-average.png"), 900, 600);

        MultiLayerNetwork plain = ModelSerializer.restoreMultiLayerNetwork(model.toFile(), false);
        assertEquals(784, plain.layerInputSize(0));
        ContinualLearner learner = ContinualLearner.load(model, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, chosen),
                OptimizerSettings.defaults(Recipe.ADAM));
        assertEquals(2, learner.tasks(), "both tasks consolidated for continuing");
    }

    @Test
    void splitStreamReportsTaskAndClassIncrementalSeparately() throws IOException {
        Path out = dir.resolve("split");
        CliRun run = symcurv("continual", "--data", TestData.fashionMnistSubset().toString(), "--stream", "split",
                "--method", "ewc-diagonal", "--lambda", "10", "--hidden", "8", "--epochs", "2", "--train-images", "300",
                "--validation-images", "50", "--fisher-examples", "100", "--out-dir", out.toString(), "--no-progress");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("task-incremental"), run.out());
        String last = run.out().strip().substring(run.out().strip().lastIndexOf('\n') + 1);
        assertTrue(last.matches("average accuracy task-incremental: [0-9.]+ .*; class-incremental: [0-9.]+ .* over 5 tasks"), last);
        PngFiles.assertPng(out.resolve("split-ewc-diagonal-task-incremental-matrix.png"), 560, 420); // 5 tasks: max(560, 200 + 70·5) × max(420, 140 + 55·5)
        PngFiles.assertPng(out.resolve("split-ewc-diagonal-class-incremental-matrix.png"), 560, 420);
    }

    @Test
    void badInputFailsWithAMessageNamingTheRemedy() {
        CliRun tooMany = symcurv("continual", "--data", TestData.fashionMnistSubset().toString(), "--tasks", "2",
                "--train-images", "5000", "--out-dir", dir.resolve("x").toString(), "--no-progress");
        assertEquals(1, tooMany.exitCode());
        assertTrue(tooMany.err().contains("cannot draw 5000 training images per task") && tooMany.err().contains("--train-images"), tooMany.err());
        CliRun method = symcurv("continual", "--method", "ewc-kfac");
        assertEquals(2, method.exitCode());
        assertTrue(method.err().contains("choose one of ewc-symmetry, ewc-diagonal, finetune"), method.err());
        CliRun split = symcurv("continual", "--stream", "split", "--tasks", "3");
        assertEquals(2, split.exitCode());
        assertTrue(split.err().contains("a split stream has 5 tasks"), split.err());
    }
}
