package org.symcurv.apps.stream;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * The checkpoint of one input partition: every model learned from it (network, consolidated EWC state, stream
 * bookkeeping; see {@link ModelStream}) and the offset of the next record to read. The state it holds reflects exactly
 * the records before that offset, so the service commits an offset to Kafka only after a checkpoint at that offset is on
 * disk, and on restart continues from the checkpoint's offset.
 *
 * <p>File {@code <dir>/<topic>-<partition>.ckpt}, written whole to a temporary sibling and renamed into place: magic
 * {@code SYMCURV-STREAM-CHECKPOINT}, format version {@value #FORMAT_VERSION}, topic, partition, next offset, the
 * models (each: network parameters, its learner's optimizer state — step count and Adam's moments, so a service resumed in
 * the middle of a task continues its optimizer exactly — and the stream bookkeeping), and a CRC-32 of everything before
 * it. What the consolidated tasks fix (EWC anchors and Fishers, their held-back examples) is not rewritten each time: it
 * is in a {@link ConsolidatedTasksFile} under {@code <topic>-<partition>.tasks/}, written once per consolidation before
 * the first checkpoint that refers to it by name and CRC-32; files no checkpoint refers to any more are deleted after the
 * rename. Version 3 (without the models' step counts) is still read; versions 1 and 2 (which kept everything in this
 * file) are refused with the version named.
 */
public record PartitionCheckpoint(String topic, int partition, long nextOffset, List<ModelStream> models) {
    public static final int FORMAT_VERSION = 4;
    /** Version 3 lacks each model's step count (read as 0); everything else is as in version 4. */
    private static final int OLDEST_READ_VERSION = 3;
    private static final String MAGIC = "SYMCURV-STREAM-CHECKPOINT";

    public static Path file(Path dir, String topic, int partition) {
        return dir.resolve(topic + "-" + partition + ".ckpt");
    }

    /** Writes the checkpoint atomically: a reader sees the previous checkpoint or this one, never a mixture. */
    public void write(Path dir) throws IOException {
        Path target = file(dir, topic, partition);
        Path tasksDir = ConsolidatedTasksFile.directory(dir, topic, partition);
        ChecksummedFile.write(target, out -> {
            out.writeUTF(MAGIC);
            out.writeInt(FORMAT_VERSION);
            out.writeUTF(topic);
            out.writeInt(partition);
            out.writeLong(nextOffset);
            out.writeInt(models.size());
            for (ModelStream m : models) {
                m.write(out, tasksDir);
            }
        });
        deleteUnreferenced(tasksDir);
    }

    /** Deletes the consolidated-tasks files of this partition that the checkpoint just written does not refer to. */
    private void deleteUnreferenced(Path tasksDir) throws IOException {
        if (!Files.isDirectory(tasksDir)) {
            return;
        }
        java.util.Set<String> referenced = new java.util.HashSet<>();
        for (ModelStream m : models) {
            if (m.tasksFileName() != null) {
                referenced.add(m.tasksFileName());
            }
        }
        try (java.util.stream.Stream<Path> files = Files.list(tasksDir)) {
            for (Path f : (Iterable<Path>) files::iterator) {
                String name = f.getFileName().toString();
                if (name.endsWith(".bin") && !referenced.contains(name)) {
                    Files.deleteIfExists(f);
                }
            }
        }
    }

    /**
     * Reads the checkpoint of a partition, or returns null when there is none.
     *
     * @throws IOException naming the file when it is corrupt (CRC mismatch, truncated), of another format version, or
     *                     of another topic or partition
     */
    public static PartitionCheckpoint read(Path dir, String topic, int partition, ModelStream.LearnerSource learners, int batchSize,
                                           int fisherExamples, long seed, int featureCount, int numClasses) throws IOException {
        Path file = file(dir, topic, partition);
        if (!Files.exists(file)) {
            return null;
        }
        byte[] bytes = Files.readAllBytes(file);
        ChecksummedFile.verify(bytes, file + " is not a symcurv stream checkpoint (too short); move it away to start the partition afresh",
                file + " is corrupt (its CRC-32 does not match); restore it from a backup or move it away to relearn the partition from "
                        + "its first offset");
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 8)))) {
            if (!MAGIC.equals(in.readUTF())) {
                throw new IOException(file + " is not a symcurv stream checkpoint");
            }
            int version = in.readInt();
            if (version < OLDEST_READ_VERSION || version > FORMAT_VERSION) {
                throw new IOException(file + " has checkpoint format version " + version + "; this build reads versions "
                        + OLDEST_READ_VERSION + " and " + FORMAT_VERSION
                        + ": finish the partition with the symcurv build that wrote it, or move the file away to relearn the partition "
                        + "from its first offset");
            }
            String t = in.readUTF();
            int p = in.readInt();
            if (!t.equals(topic) || p != partition) {
                throw new IOException(file + " belongs to " + t + "-" + p + ", not " + topic + "-" + partition);
            }
            long next = in.readLong();
            int n = in.readInt();
            List<ModelStream> models = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                models.add(ModelStream.read(in, version, ConsolidatedTasksFile.directory(dir, topic, partition), file, learners, batchSize,
                        fisherExamples, seed, featureCount, numClasses));
            }
            return new PartitionCheckpoint(t, p, next, models);
        }
    }
}
