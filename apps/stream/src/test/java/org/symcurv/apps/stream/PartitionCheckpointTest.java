package org.symcurv.apps.stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.continual.ContinualMethod;
import org.symcurv.continual.EwcSettings;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.testing.TestData;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;

/**
 * A partition checkpoint holds everything a model needs to continue: read back in the middle of a task, the model goes on
 * exactly like one that never stopped (the same consolidated tasks, duplicates still recognised, the same optimizer
 * moments, the same next step).
 * A damaged checkpoint is refused with the file named.
 */
class PartitionCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void aModelReadBackMidTaskContinuesLikeOneThatNeverStopped() throws Exception {
        ImageDataSet train = FashionMnist.loadTrain(TestData.fashionMnistSubset());
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, train, 300, 50, 5);
        List<StreamRecord> task0 = source.task("m", 0);
        List<StreamRecord> task1 = source.task("m", 1);
        ModelStream.LearnerSource learners = ContinualLearners.of(new MlpArchitecture(784, List.of(16), HiddenActivation.RELU, 10),
                EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 10), OptimizerSettings.defaults(Recipe.ADAM), 3);
        ModelStream original = new ModelStream("m", learners.create("m"), 32, 100, 9, 784, 10);
        for (StreamRecord r : task0) {
            feed(original, r);
        }
        int half = 50 + 150 + 7; // held back, then 157 training examples: four steps and 29 examples waiting
        for (StreamRecord r : task1.subList(0, half)) {
            feed(original, r);
        }
        new PartitionCheckpoint("t", 0, 1234, List.of(original)).write(dir);
        PartitionCheckpoint back = PartitionCheckpoint.read(dir, "t", 0, learners, 32, 100, 9, 784, 10);
        assertEquals(1234, back.nextOffset());
        ModelStream restored = back.models().get(0);
        assertEquals(List.of("task-0"), restored.consolidatedTasks());
        assertEquals("task-1", restored.currentTask());
        assertEquals(original.trainedTotal(), restored.trainedTotal());
        assertArrayEquals(original.accuracyRows().get(0), restored.accuracyRows().get(0));
        assertEquals(ModelStream.Outcome.DUPLICATE, restored.accept((StreamRecord.Example) task1.get(60)), "ids seen before the checkpoint");

        ModelStream.TaskEnd a = null;
        ModelStream.TaskEnd b = null;
        for (StreamRecord r : task1.subList(half, task1.size())) {
            if (r instanceof StreamRecord.EndTask end) {
                a = original.end(end);
                b = restored.end(end);
            } else {
                original.accept((StreamRecord.Example) r);
                restored.accept((StreamRecord.Example) r);
            }
        }
        assertEquals(a.trainedExamples(), b.trainedExamples());
        assertEquals(300, b.trainedExamples());
        // Adam's step count and moments travel in the checkpoint: the continued model is the uninterrupted one, bit for bit
        assertArrayEquals(original.learner().network().params().toFloatVector(), restored.learner().network().params().toFloatVector(), 0f);
        assertArrayEquals(a.accuracy(), b.accuracy(), 1e-9);
    }

    @Test
    void noCheckpointIsNullAndADamagedOneIsRefusedNamingTheFile() throws Exception {
        ModelStream.LearnerSource learners = ContinualLearners.of(new MlpArchitecture(784, List.of(4), HiddenActivation.RELU, 10),
                EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 10), OptimizerSettings.defaults(Recipe.SGD), 3);
        assertNull(PartitionCheckpoint.read(dir, "t", 0, learners, 32, 100, 9, 784, 10));
        new PartitionCheckpoint("t", 0, 7, List.of(new ModelStream("m", learners.create("m"), 32, 100, 9, 784, 10))).write(dir);
        Path file = PartitionCheckpoint.file(dir, "t", 0);
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 1;
        Files.write(file, bytes);
        IOException e = assertThrows(IOException.class, () -> PartitionCheckpoint.read(dir, "t", 0, learners, 32, 100, 9, 784, 10));
        assertTrue(e.getMessage().contains(file.toString()) && e.getMessage().contains("corrupt"), e.getMessage());
    }

    /**
     * The consolidated tasks (EWC state and their held-back examples) are written once per consolidation into a file beside
     * the checkpoint, not into every checkpoint; the superseded file is deleted; a missing or substituted file is refused.
     */
    @Test
    void consolidatedTasksAreWrittenOncePerConsolidationBesideTheCheckpoint() throws Exception {
        ImageDataSet train = FashionMnist.loadTrain(TestData.fashionMnistSubset());
        TaskStreamRecords source = new TaskStreamRecords(TaskStreamRecords.Kind.PERMUTED, train, train, 200, 50, 5);
        List<StreamRecord> task1 = source.task("m", 1);
        ModelStream.LearnerSource learners = ContinualLearners.of(new MlpArchitecture(784, List.of(8), HiddenActivation.RELU, 10),
                EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 10), OptimizerSettings.defaults(Recipe.ADAM), 3);
        ModelStream m = new ModelStream("m", learners.create("m"), 32, 100, 9, 784, 10);
        for (StreamRecord r : source.task("m", 0)) {
            feed(m, r);
        }
        Path tasksDir = ConsolidatedTasksFile.directory(dir, "t", 0);
        Path first = tasksDir.resolve(ConsolidatedTasksFile.fileName("m", 1));
        new PartitionCheckpoint("t", 0, 10, List.of(m)).write(dir);
        Object written = Files.readAttributes(first, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
        byte[] firstBytes = Files.readAllBytes(first);
        for (StreamRecord r : task1.subList(0, 120)) {
            feed(m, r);
        }
        new PartitionCheckpoint("t", 0, 20, List.of(m)).write(dir);
        assertEquals(written, Files.readAttributes(first, java.nio.file.attribute.BasicFileAttributes.class).fileKey(),
                "the second checkpoint refers to the file the first one wrote");
        long checkpointBytes = Files.size(PartitionCheckpoint.file(dir, "t", 0));
        assertTrue(checkpointBytes < firstBytes.length, "the checkpoint (" + checkpointBytes + " bytes) does not repeat the "
                + firstBytes.length + "-byte consolidated state");

        for (StreamRecord r : task1.subList(120, task1.size())) {
            feed(m, r);
        }
        new PartitionCheckpoint("t", 0, 30, List.of(m)).write(dir);
        Path second = tasksDir.resolve(ConsolidatedTasksFile.fileName("m", 2));
        try (var files = Files.list(tasksDir)) {
            assertEquals(List.of(second), files.filter(f -> f.toString().endsWith(".bin")).toList(), "the superseded file is deleted");
        }
        ModelStream back = PartitionCheckpoint.read(dir, "t", 0, learners, 32, 100, 9, 784, 10).models().get(0);
        assertEquals(List.of("task-0", "task-1"), back.consolidatedTasks());
        assertArrayEquals(m.evaluate(), back.evaluate(), 0.0, "every task's held-back examples came back");
        assertEquals(m.learner().state().fisherFloats(), back.learner().state().fisherFloats());

        Files.write(second, firstBytes); // another consolidated-tasks file in its place
        IOException substituted = assertThrows(IOException.class, () -> PartitionCheckpoint.read(dir, "t", 0, learners, 32, 100, 9, 784, 10));
        assertTrue(substituted.getMessage().contains(second.toString()) && substituted.getMessage().contains("not the file"),
                substituted.getMessage());
        Files.delete(second);
        IOException missing = assertThrows(IOException.class, () -> PartitionCheckpoint.read(dir, "t", 0, learners, 32, 100, 9, 784, 10));
        assertTrue(missing.getMessage().contains(second.toString()) && missing.getMessage().contains("missing"), missing.getMessage());
    }

    private static void feed(ModelStream m, StreamRecord r) throws MalformedRecordException {
        if (r instanceof StreamRecord.Example e) {
            m.accept(e);
        } else {
            m.end((StreamRecord.EndTask) r);
        }
    }
}
