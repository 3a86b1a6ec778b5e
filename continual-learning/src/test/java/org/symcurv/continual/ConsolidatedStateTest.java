package org.symcurv.continual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.util.ModelSerializer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;

/** The consolidated state on disk and inside a saved model: exact round trips, clear refusals. */
class ConsolidatedStateTest {
    @TempDir
    Path dir;

    static ConsolidatedState twoTasks(MultiLayerNetwork net, EwcSettings settings) {
        INDArray a1 = net.params().castTo(DataType.DOUBLE).dup();
        INDArray a2 = a1.add(0.25);
        return ConsolidatedState.empty(net, settings)
                .consolidate(a1, EwcPenaltyTest.fisher(net, settings.method(), 1))
                .consolidate(a2, EwcPenaltyTest.fisher(net, settings.method(), 2));
    }

    static void assertSameState(ConsolidatedState expected, ConsolidatedState actual) {
        assertEquals(expected.method(), actual.method());
        assertEquals(expected.mode(), actual.mode());
        assertEquals(expected.gamma(), actual.gamma());
        assertEquals(expected.tasks(), actual.tasks());
        assertEquals(expected.architecture(), actual.architecture());
        assertEquals(expected.anchors().size(), actual.anchors().size());
        for (int a = 0; a < expected.anchors().size(); a++) {
            assertArrayEquals(expected.anchors().get(a).theta().toDoubleVector(), actual.anchors().get(a).theta().toDoubleVector(), 0);
            int kinds = expected.anchors().get(a).fisher().decomposition().kinds().size();
            for (int k = 0; k < kinds; k++) {
                assertEquals(expected.anchors().get(a).fisher().block(k), actual.anchors().get(a).fisher().block(k), "block " + k);
            }
        }
    }

    @Test
    void roundTripsExactlyForEveryMethodAndMode() throws IOException {
        MultiLayerNetwork net = EwcPenaltyTest.network();
        for (EwcSettings s : new EwcSettings[] {EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1),
                EwcSettings.of(ContinualMethod.EWC_DIAGONAL, 1).withMode(EwcMode.ONLINE, 0.9),
                EwcSettings.of(ContinualMethod.FINETUNE, 1)}) {
            ConsolidatedState state = twoTasksOrCount(net, s);
            Path file = dir.resolve(s.method().cliName() + ".ewc");
            state.write(file, false);
            ConsolidatedState back = ConsolidatedState.read(file, net);
            assertSameState(state, back);
            assertArrayEquals(state.toBytes(), back.toBytes(), "bit for bit");
            assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> state.write(file, false));
        }
    }

    /**
     * A state of format version 1 (written before the bulk array encoding, arrays in ND4J's binary form), built here by an
     * independent writer of that layout, is still read, to the same numbers.
     */
    @Test
    void aVersionOneStateIsStillRead() throws IOException {
        MultiLayerNetwork net = EwcPenaltyTest.network();
        ConsolidatedState state = twoTasks(net, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1));
        ConsolidatedState back = ConsolidatedState.fromBytes(versionOneBytes(state), "a version-1 state", net);
        assertSameState(state, back);
        assertEquals(2, java.nio.ByteBuffer.wrap(back.toBytes(), ConsolidatedState.MAGIC.length, 4).getInt(), "written again as version 2");
    }

    /** The state in format version 1, by an independent writer of that layout (arrays in ND4J's binary form). */
    static byte[] versionOneBytes(ConsolidatedState state) throws IOException {
        java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
        try (java.io.DataOutputStream out = new java.io.DataOutputStream(body)) {
            out.writeUTF(state.method().cliName());
            out.writeUTF(state.mode().cliName());
            out.writeDouble(state.gamma());
            out.writeInt(state.tasks());
            byte[] arch = state.architecture().getBytes(java.nio.charset.StandardCharsets.UTF_8);
            out.writeInt(arch.length);
            out.write(arch);
            out.writeLong(state.anchors().get(0).theta().length());
            out.writeInt(state.anchors().size());
            for (ConsolidatedState.Anchor a : state.anchors()) {
                org.nd4j.linalg.factory.Nd4j.write(a.theta(), out);
                int kinds = a.fisher().decomposition().kinds().size();
                out.writeInt(kinds);
                for (int k = 0; k < kinds; k++) {
                    org.nd4j.linalg.factory.Nd4j.write(a.fisher().block(k), out);
                }
            }
        }
        byte[] b = body.toByteArray();
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b);
        java.nio.ByteBuffer v1 = java.nio.ByteBuffer.allocate(ConsolidatedState.MAGIC.length + 8 + b.length + 4);
        v1.put(ConsolidatedState.MAGIC).putInt(1).putInt(b.length).put(b).putInt((int) crc.getValue());
        return v1.array();
    }

    private static ConsolidatedState twoTasksOrCount(MultiLayerNetwork net, EwcSettings s) {
        return s.method().usesFisher() ? twoTasks(net, s)
                : ConsolidatedState.empty(net, s).consolidate(net.params(), null).consolidate(net.params(), null);
    }

    @Test
    void corruptTruncatedForeignAndMismatchedFilesAreRefusedWithTheirReason() throws IOException {
        MultiLayerNetwork net = EwcPenaltyTest.network();
        byte[] good = twoTasks(net, EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1)).toBytes();

        byte[] flipped = good.clone();
        flipped[flipped.length / 2] ^= 0x10;
        Path corrupt = dir.resolve("corrupt.ewc");
        Files.write(corrupt, flipped);
        ConsolidatedStateException e = assertThrows(ConsolidatedStateException.class, () -> ConsolidatedState.read(corrupt, net));
        assertTrue(e.getMessage().contains("corrupt") && e.getMessage().contains(corrupt.toString()), e.getMessage());

        Path truncated = dir.resolve("truncated.ewc");
        Files.write(truncated, Arrays.copyOf(good, good.length - 100));
        e = assertThrows(ConsolidatedStateException.class, () -> ConsolidatedState.read(truncated, net));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());

        Path foreign = dir.resolve("model.zip");
        ModelSerializer.writeModel(net, foreign.toFile(), false);
        e = assertThrows(ConsolidatedStateException.class, () -> ConsolidatedState.read(foreign, net));
        assertTrue(e.getMessage().contains("not a symcurv consolidated EWC state"), e.getMessage());

        byte[] otherVersion = good.clone();
        otherVersion[ConsolidatedState.MAGIC.length + 3] = 9;
        Path versioned = dir.resolve("v9.ewc");
        Files.write(versioned, otherVersion);
        e = assertThrows(ConsolidatedStateException.class, () -> ConsolidatedState.read(versioned, net));
        assertTrue(e.getMessage().contains("format version 9"), e.getMessage());

        Path ok = dir.resolve("ok.ewc");
        Files.write(ok, good);
        MultiLayerNetwork other = TinyNetworks.mlp(3).inputs(5).dense(6, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3);
        e = assertThrows(ConsolidatedStateException.class, () -> ConsolidatedState.read(ok, other));
        assertTrue(e.getMessage().contains("was consolidated for the network"), e.getMessage());
    }

    @Test
    void aSavedLearnerLoadsWithItsStateAndIsAPlainDl4jModel() throws IOException {
        MultiLayerNetwork net = EwcPenaltyTest.network();
        EwcSettings settings = EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 50);
        OptimizerSettings adam = OptimizerSettings.defaults(Recipe.ADAM);
        ContinualLearner learner = ContinualLearner.create(net, settings, adam);
        DataSet data = TinyNetworks.classificationData(4, 16, 5, 3);
        for (int i = 0; i < 3; i++) {
            assertTrue(learner.trainOn(data).applied());
        }
        learner.consolidate(data.getFeatures(), 8, (d, n) -> { });
        INDArray before = net.params().dup();
        learner.trainOn(data);
        assertNotEquals(before, net.params());
        assertTrue(learner.penalty().value(net.params()) > 0, "moving off the anchor costs");
        Path zip = dir.resolve("learner.zip");
        learner.save(zip, false);

        MultiLayerNetwork plain = ModelSerializer.restoreMultiLayerNetwork(zip.toFile(), false);
        assertEquals(net.params(), plain.params());
        ContinualLearner back = ContinualLearner.load(zip, settings, adam);
        assertEquals(net.params(), back.network().params());
        assertEquals(1, back.tasks());
        assertSameState(learner.state(), back.state());
        assertEquals(learner.penalty().value(net.params()), back.penalty().value(back.network().params()), 0.0);

        ConsolidatedStateException e = assertThrows(ConsolidatedStateException.class,
                () -> ContinualLearner.load(zip, EwcSettings.of(ContinualMethod.EWC_DIAGONAL, 1), adam));
        assertTrue(e.getMessage().contains("ewc-symmetry"), e.getMessage());
        assertThrows(java.nio.file.FileAlreadyExistsException.class, () -> learner.save(zip, false));
    }

    @Test
    void aLearnerLoadedAfterAConsolidationContinuesExactlyAsTheOneThatSavedIt() throws IOException {
        EwcSettings settings = EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 20).withMode(EwcMode.ONLINE, 0.8);
        OptimizerSettings adam = OptimizerSettings.defaults(Recipe.ADAM);
        ContinualLearner learner = ContinualLearner.create(EwcPenaltyTest.network(), settings, adam);
        DataSet first = TinyNetworks.classificationData(14, 24, 5, 3);
        DataSet second = TinyNetworks.classificationData(15, 24, 5, 3);
        for (int i = 0; i < 4; i++) {
            learner.trainOn(first);
        }
        learner.consolidate(first.getFeatures(), 3, (d, n) -> { });
        Path zip = dir.resolve("continue.zip");
        learner.save(zip, false);
        ContinualLearner loaded = ContinualLearner.load(zip, settings, adam);
        for (int i = 0; i < 4; i++) {
            ContinualLearner.Step a = learner.trainOn(second);
            ContinualLearner.Step b = loaded.trainOn(second);
            assertEquals(a.dataLoss(), b.dataLoss(), 0.0, "step " + i);
            assertEquals(a.penalty(), b.penalty(), 0.0, "step " + i);
        }
        assertEquals(learner.network().params(), loaded.network().params(), "bit for bit after four more steps");
        assertTrue(learner.penalty().value(learner.network().params()) > 0);
    }

    @Test
    void aLearnerGivenTheOptimizerStateOfAnotherMidTaskContinuesExactlyAsThatOne() throws IOException {
        EwcSettings settings = EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 20);
        OptimizerSettings adam = OptimizerSettings.defaults(Recipe.ADAM);
        ContinualLearner learner = ContinualLearner.create(EwcPenaltyTest.network(), settings, adam);
        DataSet data = TinyNetworks.classificationData(16, 24, 5, 3);
        for (int i = 0; i < 3; i++) {
            learner.trainOn(data);
        }
        Path zip = dir.resolve("mid-task.zip");
        learner.save(zip, false);
        ContinualLearner withMoments = ContinualLearner.load(zip, settings, adam);
        withMoments.restoreOptimizerState(learner.optimizerState());
        ContinualLearner withoutMoments = ContinualLearner.load(zip, settings, adam);
        learner.trainOn(data);
        withMoments.trainOn(data);
        withoutMoments.trainOn(data);
        assertEquals(learner.network().params(), withMoments.network().params(), "Adam's moments restored: the same step");
        assertNotEquals(learner.network().params(), withoutMoments.network().params(), "fresh moments: a different step");

        ContinualLearner other = ContinualLearner.create(
                TinyNetworks.mlp(3).inputs(5).dense(6, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(3), settings, adam);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> other.restoreOptimizerState(learner.optimizerState()));
        assertTrue(e.getMessage().contains("another optimizer or network"), e.getMessage());
    }
}
