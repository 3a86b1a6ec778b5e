package org.symcurv.optimizer.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import org.symcurv.optimizer.Shampoo;
import org.symcurv.optimizer.SymmetryPreconditioner;

/** The loop: bit-for-bit resume from a checkpoint file, the non-finite guard, evaluation points. */
class TrainerTest {
    static final int EXAMPLES = 40;
    static final int BATCH = 8;
    static final long TOTAL = 12;

    @TempDir
    Path dir;

    /** A float32 6-5-4-3 ReLU classifier like the CLI's (DL4J never trains it: NoOp updater). */
    static MultiLayerNetwork network(long seed) {
        MultiLayerConfiguration conf = new NeuralNetConfiguration.Builder().seed(seed).dataType(DataType.FLOAT)
                .updater(new NoOp()).weightInit(WeightInit.RELU).list()
                .layer(new DenseLayer.Builder().nIn(6).nOut(5).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(5).nOut(4).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(3).activation(Activation.SOFTMAX).build())
                .build();
        MultiLayerNetwork net = new MultiLayerNetwork(conf);
        net.init();
        return net;
    }

    static ArrayTrainingData data() {
        DataSet d = TinyNetworks.classificationData(5, EXAMPLES, 6, 3);
        return new ArrayTrainingData(d.getFeatures().castTo(DataType.FLOAT), d.getLabels().castTo(DataType.FLOAT));
    }

    static Evaluator evaluator() {
        DataSet d = TinyNetworks.classificationData(6, 20, 6, 3);
        return Evaluator.classification(d.getFeatures().castTo(DataType.FLOAT), d.getLabels().castTo(DataType.FLOAT));
    }

    static OptimizerSettings settings(Recipe recipe) {
        OptimizerSettings s = OptimizerSettings.defaults(recipe)
                .withSchedule(LearningRateSchedule.warmupCosine(recipe == Recipe.SYMMETRY ? 0.02 : 0.01, 2, TOTAL, 0.1));
        return s.with(SymmetryPreconditioner.Settings.class, x -> x.withOptions(x.options().withRefreshInterval(3)))
                .with(Shampoo.Settings.class, x -> x.withRefreshInterval(3));
    }

    static float[] params(MultiLayerNetwork net) {
        return ParameterLayout.ofAnyLayers(net).read(net).data().asFloat();
    }

    /** Records every evaluation. */
    static final class Recorder implements TrainingListener {
        final List<Evaluation> evaluations = new ArrayList<>();
        final List<Skipped> skipped = new ArrayList<>();
        final List<Long> checkpoints = new ArrayList<>();

        @Override
        public void onEvaluation(Evaluation evaluation) {
            evaluations.add(evaluation);
        }

        @Override
        public void onSkipped(Skipped s) {
            skipped.add(s);
        }

        @Override
        public void onCheckpoint(Path path, long iteration) {
            checkpoints.add(iteration);
        }
    }

    @Test
    void aRunResumedFromACheckpointFileContinuesBitForBit() throws IOException {
        for (Recipe recipe : List.of(Recipe.SYMMETRY, Recipe.ADAMW, Recipe.SHAMPOO, Recipe.MUON, Recipe.SGD)) {
            TrainingConfig config = TrainingConfig.of(BATCH, TOTAL, 99).withEvaluation(4, true);
            MultiLayerNetwork straight = network(1);
            Recorder straightLog = new Recorder();
            Optimizer optimizer = settings(recipe).build(straight);
            Trainer straightTrainer = Trainer.start(straight, optimizer, data(), evaluator(), config, straightLog);
            Trainer.Result full = straightTrainer.run();

            MultiLayerNetwork first = network(1);
            Trainer interrupted = Trainer.start(first, settings(recipe).build(first), data(), evaluator(), config, TrainingListener.NONE);
            interrupted.run(7); // mid-way through epoch 2, between two refreshes
            Path file = dir.resolve(recipe.cliName() + ".ckpt");
            interrupted.checkpoint().write(file);

            MultiLayerNetwork second = network(2); // other weights: the checkpoint's must replace them
            Recorder resumedLog = new Recorder();
            Trainer resumed = Trainer.resume(TrainingCheckpoint.read(file), second, settings(recipe).build(second), data(), evaluator(),
                    config, resumedLog);
            Trainer.Result rest = resumed.run();

            assertEquals(full.iterations(), rest.iterations());
            assertArrayEquals(params(straight), params(second), 0f, recipe + ": parameters after the resumed run");
            assertEquals(straightTrainer.checkpoint().optimizerState(), resumed.checkpoint().optimizerState(),
                    recipe + ": optimizer state after the resumed run");
            assertEquals(straightLog.evaluations.get(straightLog.evaluations.size() - 1).metrics(), rest.metrics(), recipe + ": final metrics");
            assertFalse(java.util.Arrays.equals(params(network(1)), params(second)), "the run did move the parameters");
        }
    }

    @Test
    void evaluationsComeAtTheStartEveryKMinibatchesAndAtEpochEnds() {
        Recorder log = new Recorder();
        MultiLayerNetwork net = network(3);
        Trainer.start(net, settings(Recipe.ADAM).build(net), data(), evaluator(), TrainingConfig.of(BATCH, TOTAL, 1).withEvaluation(4, true), log)
                .run();
        List<Long> at = log.evaluations.stream().map(TrainingListener.Evaluation::iteration).toList();
        assertEquals(List.of(0L, 4L, 5L, 8L, 10L, 12L), at, "start, every 4, and the epoch ends 5 and 10, and the last");
        assertTrue(log.evaluations.get(2).endOfEpoch() && !log.evaluations.get(1).endOfEpoch());
        assertTrue(log.evaluations.get(0).metrics().containsKey("accuracy"));
    }

    /** Data whose minibatches number {@code poisoned…} have NaN features. */
    static TrainingData poisoned(long... calls) {
        ArrayTrainingData clean = data();
        return new TrainingData() {
            long call;

            @Override
            public int size() {
                return clean.size();
            }

            @Override
            public DataSet batch(int[] indices) {
                DataSet d = clean.batch(indices);
                call++;
                for (long c : calls) {
                    if (c == call) {
                        d.getFeatures().putScalar(0, 0, Float.NaN);
                    }
                }
                return d;
            }
        };
    }

    @Test
    void aNonFiniteStepIsSkippedCountedAndLeavesParametersAndStateAlone() {
        MultiLayerNetwork net = network(4);
        Recorder log = new Recorder();
        Trainer trainer = Trainer.start(net, settings(Recipe.SYMMETRY).build(net), poisoned(3), evaluator(),
                TrainingConfig.of(BATCH, TOTAL, 2), log);
        trainer.run(2);
        float[] before = params(net);
        TrainingCheckpoint beforeState = trainer.checkpoint();
        trainer.run(3);
        assertArrayEquals(before, params(net), 0f, "parameters kept");
        assertEquals(beforeState.optimizerState(), trainer.checkpoint().optimizerState(), "optimizer state kept");
        assertEquals(1, log.skipped.size());
        assertEquals(3, log.skipped.get(0).iteration());
        assertTrue(log.skipped.get(0).reason().contains("loss"), log.skipped.get(0).reason());
        Trainer.Result result = trainer.run();
        assertEquals(1, result.skipped());
        assertEquals(TOTAL, result.iterations());
        assertFalse(java.util.Arrays.equals(before, params(net)), "training went on after the skip");
    }

    @Test
    void tooManyNonFiniteStepsStopWithAClearMessageAndCheckpointTheLastGoodState() throws IOException {
        MultiLayerNetwork net = network(5);
        Path file = dir.resolve("diverged.ckpt");
        TrainingConfig config = TrainingConfig.of(BATCH, TOTAL, 2).withMaxNonFiniteSteps(2).withCheckpoint(file, 0);
        Trainer trainer = Trainer.start(net, settings(Recipe.ADAM).build(net), poisoned(4, 6, 7, 8), evaluator(), config, TrainingListener.NONE);
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class, trainer::run);
        assertTrue(e.getMessage().contains("3 steps had a non-finite loss") && e.getMessage().contains("Lower the learning rate")
                && e.getMessage().contains(file.toString()), e.getMessage());
        TrainingCheckpoint saved = TrainingCheckpoint.read(file);
        assertEquals(7, saved.iteration());
        assertEquals(3, saved.skipped());
        assertArrayEquals(params(net), saved.params().data().asFloat(), 0f, "the checkpoint holds the last good parameters");
    }

    @Test
    void resumingWithOtherSettingsIsRefusedNamingTheDifference() throws IOException {
        MultiLayerNetwork net = network(6);
        TrainingConfig config = TrainingConfig.of(BATCH, TOTAL, 2);
        Trainer trainer = Trainer.start(net, settings(Recipe.ADAM).build(net), data(), evaluator(), config, TrainingListener.NONE);
        trainer.run(3);
        TrainingCheckpoint c = trainer.checkpoint();
        IllegalArgumentException other = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(c, net,
                settings(Recipe.SGD).build(net), data(), evaluator(), config, TrainingListener.NONE));
        assertTrue(other.getMessage().contains("sgd") && other.getMessage().contains("adam"), other.getMessage());
        IllegalArgumentException batch = assertThrows(IllegalArgumentException.class, () -> Trainer.resume(c, net,
                settings(Recipe.ADAM).build(net), data(), evaluator(), TrainingConfig.of(4, TOTAL, 2), TrainingListener.NONE));
        assertTrue(batch.getMessage().contains("--batch"), batch.getMessage());
        Path junk = Files.writeString(dir.resolve("junk.ckpt"), "not a checkpoint at all");
        IOException notOne = assertThrows(IOException.class, () -> TrainingCheckpoint.read(junk));
        assertTrue(notOne.getMessage().contains("not a symcurv training checkpoint"), notOne.getMessage());
    }

    @Test
    void epochOrdersArePermutationsThatDependOnlyOnSeedAndEpoch() {
        int[] a = Trainer.epochOrder(50, 7, 3);
        assertArrayEquals(a, Trainer.epochOrder(50, 7, 3));
        assertFalse(java.util.Arrays.equals(a, Trainer.epochOrder(50, 7, 4)));
        int[] sorted = a.clone();
        java.util.Arrays.sort(sorted);
        for (int i = 0; i < 50; i++) {
            assertEquals(i, sorted[i]);
        }
    }
}
