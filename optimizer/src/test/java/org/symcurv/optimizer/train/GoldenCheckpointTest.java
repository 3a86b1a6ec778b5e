package org.symcurv.optimizer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;

/**
 * Checkpoints written by the optimizer of 4 December 2026 (commit 510f282, before recipes became chains of transforms)
 * are committed under {@code golden/checkpoint-v1/}: for each recipe, the checkpoint after 7 of 12 minibatches of
 * {@link TrainerTest}'s problem and the one after all 12. Today's code must read the first, resume, and end with exactly
 * the parameters of the second (bit for bit), and its state must be the second's state read by today's code.
 */
class GoldenCheckpointTest {
    static final long INTERRUPTED_AT = 7;

    /** The runs whose checkpoints are committed: every recipe, with clipping and weight decay exercised. */
    static Map<String, OptimizerSettings> runs() {
        Map<String, OptimizerSettings> runs = new LinkedHashMap<>();
        // the first format's symmetry step had no damping floor
        runs.put("symmetry", TrainerTest.settings(Recipe.SYMMETRY).withClipNorm(1.0).withWeightDecay(1e-3).with(
                org.symcurv.optimizer.SymmetryPreconditioner.Settings.class, s -> s.withOptions(s.options().withDampingFloor(0))));
        runs.put("adamw", TrainerTest.settings(Recipe.ADAMW).withClipNorm(0.5));
        runs.put("adam", TrainerTest.settings(Recipe.ADAM));
        runs.put("shampoo", TrainerTest.settings(Recipe.SHAMPOO));
        runs.put("muon", TrainerTest.settings(Recipe.MUON).withSchedule(LearningRateSchedule.constant(0.02)));
        runs.put("sgd", TrainerTest.settings(Recipe.SGD).withWeightDecay(1e-2));
        return runs;
    }

    static TrainingConfig config() {
        return TrainingConfig.of(TrainerTest.BATCH, TrainerTest.TOTAL, 99);
    }

    static Path golden(String name) throws URISyntaxException {
        URL url = GoldenCheckpointTest.class.getResource("/golden/checkpoint-v1/" + name);
        if (url == null) {
            throw new AssertionError("missing golden file golden/checkpoint-v1/" + name);
        }
        return Path.of(url.toURI());
    }

    @Test
    void checkpointsOfTheFirstFormatLoadAndResumeBitForBit() throws Exception {
        for (Map.Entry<String, OptimizerSettings> run : runs().entrySet()) {
            String name = run.getKey();
            TrainingCheckpoint at7 = TrainingCheckpoint.read(golden(name + "-at7.ckpt"));
            TrainingCheckpoint at12 = TrainingCheckpoint.read(golden(name + "-at12.ckpt"));
            assertEquals(INTERRUPTED_AT, at7.iteration());
            MultiLayerNetwork net = TrainerTest.network(2);
            Optimizer optimizer = run.getValue().build(net);
            Trainer resumed = Trainer.resume(at7, net, optimizer, TrainerTest.data(), TrainerTest.evaluator(), config(), TrainingListener.NONE);
            resumed.run();
            assertArrayEquals(at12.params().data().asFloat(), TrainerTest.params(net), 0f, name + ": parameters after the resumed run");
            assertEquals(optimizer.encode(optimizer.decode(at12.optimizerState())), resumed.checkpoint().optimizerState(),
                    name + ": optimizer state after the resumed run");
            assertTrue(resumed.checkpoint().optimizer().equals(at12.optimizer()), name + ": the description is unchanged");
        }
    }

    /** Writes the golden files into the directory named by {@code -Dsymcurv.golden.write=DIR} (run once, with the old code). */
    @Test
    @EnabledIfSystemProperty(named = "symcurv.golden.write", matches = ".+")
    void writeGoldenFiles() throws IOException {
        Path out = Path.of(System.getProperty("symcurv.golden.write"));
        Files.createDirectories(out);
        for (Map.Entry<String, OptimizerSettings> run : runs().entrySet()) {
            MultiLayerNetwork net = TrainerTest.network(1);
            Trainer t = Trainer.start(net, run.getValue().build(net), TrainerTest.data(), TrainerTest.evaluator(), config(),
                    TrainingListener.NONE);
            t.run(INTERRUPTED_AT);
            t.checkpoint().write(out.resolve(run.getKey() + "-at7.ckpt"));
            t.run();
            t.checkpoint().write(out.resolve(run.getKey() + "-at12.ckpt"));
        }
    }
}
