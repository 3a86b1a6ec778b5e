package org.symcurv.apps.stream;

import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.DataInputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a model's consolidated tasks fix for good: the consolidated EWC state (anchors and Fishers, as
 * {@code ConsolidatedState.toBytes} writes it) and the held-back examples of those tasks. None of it changes until the next
 * task end, so a partition checkpoint refers to this file (by name and CRC-32) instead of rewriting it every few seconds;
 * the file for {@code n} consolidated tasks is written once, at the first checkpoint after the {@code n}-th consolidation.
 *
 * <p>File {@code <checkpoint-dir>/<topic>-<partition>.tasks/<sha-256 of the model id, 16 hex digits>-<n>.bin}, written to a
 * temporary sibling, synced and renamed into place before the checkpoint that refers to it: magic
 * {@code SYMCURV-STREAM-TASKS}, format version {@value #FORMAT_VERSION}, model id, the {@code n} task names, the state's
 * bytes, each task's held-back examples, and a CRC-32 of everything before it.
 *
 * @param model    model id
 * @param tasks    the consolidated tasks, in order
 * @param state    the consolidated state's bytes
 * @param holdouts held-back examples of each consolidated task (tasks without any are absent)
 */
record ConsolidatedTasksFile(String model, List<String> tasks, byte[] state, Map<String, ModelStream.Examples> holdouts) {
    static final int FORMAT_VERSION = 1;
    private static final String MAGIC = "SYMCURV-STREAM-TASKS";

    /** How a checkpoint names the file it depends on. */
    record Reference(String fileName, int tasks, long crc) {
    }

    /** The directory of a partition's files, beside its checkpoint. */
    static Path directory(Path checkpointDir, String topic, int partition) {
        return checkpointDir.resolve(topic + "-" + partition + ".tasks");
    }

    static String fileName(String model, int tasks) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(model.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 8) + "-" + tasks + ".bin";
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java runtime", e);
        }
    }

    /** Writes the file atomically into {@code dir} (created when missing) and returns its reference. */
    Reference write(Path dir) throws IOException {
        Files.createDirectories(dir);
        String name = fileName(model, tasks.size());
        Path target = dir.resolve(name);
        long crc = ChecksummedFile.write(target, out -> {
            out.writeUTF(MAGIC);
            out.writeInt(FORMAT_VERSION);
            out.writeUTF(model);
            out.writeInt(tasks.size());
            for (String t : tasks) {
                out.writeUTF(t);
            }
            out.writeInt(state.length);
            out.write(state);
            out.writeInt(holdouts.size());
            for (Map.Entry<String, ModelStream.Examples> h : holdouts.entrySet()) {
                out.writeUTF(h.getKey());
                ModelStream.writeExamples(out, h.getValue());
            }
        });
        return new Reference(name, tasks.size(), crc);
    }

    /**
     * Reads the file a checkpoint refers to.
     *
     * @param checkpoint the checkpoint that refers to it, for messages
     * @throws IOException naming both files when it is missing, is not the file referred to (CRC), is corrupt, or belongs to
     *                     another model or task count
     */
    static ConsolidatedTasksFile read(Path dir, Reference reference, String model, Path checkpoint, int featureCount) throws IOException {
        Path file = dir.resolve(reference.fileName());
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new IOException(checkpoint + " needs " + file + " (model " + model + "'s " + reference.tasks()
                    + " consolidated tasks), which is missing; restore the directory " + dir + " with the checkpoint, or move the "
                    + "checkpoint away to relearn the partition from its first offset", e);
        }
        long stored = ChecksummedFile.verify(bytes, file + " is not a symcurv consolidated-tasks file (too short); restore it from a backup",
                file + " is corrupt (its CRC-32 does not match); restore it from a backup or move " + checkpoint
                        + " away to relearn the partition from its first offset");
        if (stored != reference.crc()) {
            throw new IOException(file + " is not the file " + checkpoint + " was written with (another CRC-32); restore the pair "
                    + "from one backup");
        }
        try (DataInputStream in = new DataInputStream(new BufferedInputStream(new ByteArrayInputStream(bytes, 0, bytes.length - 8)))) {
            if (!MAGIC.equals(in.readUTF())) {
                throw new IOException(file + " is not a symcurv consolidated-tasks file");
            }
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                throw new IOException(file + " has format version " + version + "; this build reads version " + FORMAT_VERSION);
            }
            String m = in.readUTF();
            int n = in.readInt();
            if (!m.equals(model) || n != reference.tasks()) {
                throw new IOException(file + " holds " + n + " tasks of model " + m + ", not the " + reference.tasks() + " of " + model
                        + " that " + checkpoint + " refers to");
            }
            List<String> tasks = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                tasks.add(in.readUTF());
            }
            byte[] state = new byte[in.readInt()];
            in.readFully(state);
            int h = in.readInt();
            Map<String, ModelStream.Examples> holdouts = new LinkedHashMap<>();
            for (int i = 0; i < h; i++) {
                String task = in.readUTF();
                holdouts.put(task, ModelStream.readExamples(in, featureCount));
            }
            return new ConsolidatedTasksFile(m, List.copyOf(tasks), state, holdouts);
        } catch (java.io.EOFException e) {
            throw new IOException(file + " is truncated; restore it from a backup", e);
        }
    }
}
