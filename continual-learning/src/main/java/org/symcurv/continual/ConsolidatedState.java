package org.symcurv.continual;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.zip.CRC32;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.io.ArrayCodec;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.optimizer.train.Trainer;

/**
 * What EWC keeps of the finished tasks: anchors {@code θ*_t} and their Fishers {@code F_t} (separate mode: one pair per
 * task), or the latest anchor and the running Fisher {@code F̃_t = γ F̃_{t−1} + F_t} (online mode), plus the number of
 * consolidated tasks. Immutable; {@link #consolidate} returns the next state.
 *
 * <p>On disk (format version {@value #FORMAT_VERSION}, big-endian): magic {@code "SYMCEWC\n"}, {@code int32} version,
 * {@code int32} body length, the body, {@code int32} CRC-32 of the body. The body holds method, mode, {@code γ}, task count,
 * the network's architecture line ({@link Trainer#architecture}), parameter count, then per anchor {@code θ*} and each kind's
 * block (arrays as {@link ArrayCodec} writes them; version 1 used ND4J's own binary form and is
 * still read). The symmetry spec is not stored: it is a function of the network and the method
 * ({@link TaskFisher#spec}), so reading needs the network and refuses a state written for another one. Writes are atomic
 * (temporary sibling, renamed into place).
 *
 * @param method       the Fisher the state holds
 * @param mode         separate or online
 * @param gamma        the online decay used for the running Fisher
 * @param tasks        tasks consolidated so far
 * @param architecture {@link Trainer#architecture} of the network it belongs to
 * @param anchors      separate: one per task, in task order; online: at most one
 */
public record ConsolidatedState(ContinualMethod method, EwcMode mode, double gamma, int tasks, String architecture, List<Anchor> anchors) {
    /** The format version written; reading also takes version 1 (arrays in ND4J's own binary form), refusing others. */
    public static final int FORMAT_VERSION = 2;
    static final byte[] MAGIC = "SYMCEWC\n".getBytes(StandardCharsets.US_ASCII);

    /**
     * One consolidation: the parameters at a task's end and the Fisher there.
     *
     * @param theta  {@code θ*}, {@code [P]} float64
     * @param fisher {@code F} (or the running {@code F̃}), float64
     */
    public record Anchor(INDArray theta, Curvature fisher) {
        public Anchor {
            Objects.requireNonNull(theta, "theta");
            Objects.requireNonNull(fisher, "fisher");
            if (theta.length() != fisher.spec().parameterCount()) {
                throw new IllegalArgumentException("the anchor has " + theta.length() + " parameters but its Fisher acts on "
                        + fisher.spec().parameterCount());
            }
        }
    }

    public ConsolidatedState {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(mode, "mode");
        Objects.requireNonNull(architecture, "architecture");
        anchors = List.copyOf(anchors);
        if (tasks < 0) {
            throw new IllegalArgumentException("the task count must be ≥ 0, got " + tasks);
        }
        if (mode == EwcMode.ONLINE && anchors.size() > 1) {
            throw new IllegalArgumentException("online EWC keeps one anchor, got " + anchors.size());
        }
    }

    /** Nothing consolidated yet. */
    public static ConsolidatedState empty(MultiLayerNetwork network, EwcSettings settings) {
        return new ConsolidatedState(settings.method(), settings.mode(), settings.gamma(), 0, Trainer.architecture(network), List.of());
    }

    /**
     * The state after one more task: separate mode appends {@code (θ*, F)}; online mode replaces the anchor by {@code θ*} and
     * the Fisher by {@code γ F̃ + F}. Fine-tuning only counts the task.
     *
     * @param theta  the parameters at the task's end, {@code [P]}; copied (as float64)
     * @param fisher the task's Fisher (null for fine-tuning)
     */
    public ConsolidatedState consolidate(INDArray theta, Curvature fisher) {
        if (!method.usesFisher()) {
            return new ConsolidatedState(method, mode, gamma, tasks + 1, architecture, anchors);
        }
        Objects.requireNonNull(fisher, "fisher");
        INDArray anchor = theta.castTo(DataType.DOUBLE).dup().reshape(theta.length());
        Curvature f = fisher.dataType() == DataType.DOUBLE ? fisher : fisher.mapBlocks(k -> fisher.block(k).castTo(DataType.DOUBLE));
        List<Anchor> next = new ArrayList<>();
        if (mode == EwcMode.SEPARATE) {
            next.addAll(anchors);
            next.add(new Anchor(anchor, f));
        } else {
            next.add(new Anchor(anchor, anchors.isEmpty() ? f : anchors.get(0).fisher().scale(gamma).plus(f)));
        }
        return new ConsolidatedState(method, mode, gamma, tasks + 1, architecture, next);
    }

    /** Numbers stored for the Fishers, {@code Σ} over anchors of {@link Curvature#storedFloats()}. */
    public long fisherFloats() {
        return anchors.stream().mapToLong(a -> a.fisher().storedFloats()).sum();
    }

    /** The whole state as bytes (the file format above). */
    public byte[] toBytes() throws IOException {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        DataOutputStream out = new DataOutputStream(body);
        out.writeUTF(method.cliName());
        out.writeUTF(mode.cliName());
        out.writeDouble(gamma);
        out.writeInt(tasks);
        byte[] arch = architecture.getBytes(StandardCharsets.UTF_8);
        out.writeInt(arch.length);
        out.write(arch);
        out.writeLong(anchors.isEmpty() ? -1 : anchors.get(0).theta().length());
        out.writeInt(anchors.size());
        for (Anchor a : anchors) {
            ArrayCodec.write(out, a.theta());
            out.writeInt(a.fisher().decomposition().kinds().size());
            for (int k = 0; k < a.fisher().decomposition().kinds().size(); k++) {
                ArrayCodec.write(out, a.fisher().block(k));
            }
        }
        out.flush();
        byte[] b = body.toByteArray();
        CRC32 crc = new CRC32();
        crc.update(b);
        ByteBuffer all = ByteBuffer.allocate(MAGIC.length + 8 + b.length + 4);
        all.put(MAGIC).putInt(FORMAT_VERSION).putInt(b.length).put(b).putInt((int) crc.getValue());
        return all.array();
    }

    /**
     * Writes the state to {@code target} atomically.
     *
     * @param replace whether an existing file may be replaced
     * @throws java.nio.file.FileAlreadyExistsException if it exists and {@code replace} is false (nothing written)
     */
    public void write(Path target, boolean replace) throws IOException {
        byte[] bytes = toBytes();
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            Files.write(tmp, bytes);
            AtomicFiles.moveIntoPlace(tmp, target, replace);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a state written by {@link #write} for {@code network}.
     *
     * @throws ConsolidatedStateException naming the file and the remedy when it is not such a file, of another version,
     *                                    truncated, corrupt, or written for another network
     */
    public static ConsolidatedState read(Path file, MultiLayerNetwork network) throws IOException {
        return fromBytes(Files.readAllBytes(file), file.toString(), network);
    }

    /**
     * @param source names the bytes in messages (a file, or a zip entry)
     * @see #read
     */
    public static ConsolidatedState fromBytes(byte[] bytes, String source, MultiLayerNetwork network) throws ConsolidatedStateException {
        if (bytes.length < MAGIC.length || !Arrays.equals(Arrays.copyOf(bytes, MAGIC.length), MAGIC)) {
            throw new ConsolidatedStateException(source + " is not a symcurv consolidated EWC state (wrong magic bytes); such states are"
                    + " written by ContinualLearner.save or 'symcurv continual --save'");
        }
        ByteBuffer in = ByteBuffer.wrap(bytes);
        in.position(MAGIC.length);
        if (in.remaining() < 8) {
            throw new ConsolidatedStateException(source + " is truncated: it ends inside its header; write it again");
        }
        int version = in.getInt();
        if (version != FORMAT_VERSION && version != 1) {
            throw new ConsolidatedStateException(source + " is a consolidated state of format version " + version + "; this build reads versions 1 to "
                    + FORMAT_VERSION + ": read it with the build that wrote it, or consolidate again");
        }
        int length = in.getInt();
        if (length < 0 || in.remaining() < (long) length + 4) {
            throw new ConsolidatedStateException(source + " is truncated: its body should be " + length + " bytes but only "
                    + Math.max(0, in.remaining() - 4) + " follow; write it again");
        }
        if (in.remaining() != length + 4) {
            throw new ConsolidatedStateException(source + " is corrupt: it has " + (in.remaining() - length - 4) + " bytes after its checksum");
        }
        CRC32 crc = new CRC32();
        crc.update(bytes, in.position(), length);
        int stored = ByteBuffer.wrap(bytes, in.position() + length, 4).getInt();
        if ((int) crc.getValue() != stored) {
            throw new ConsolidatedStateException(source + " is corrupt: its CRC-32 does not match its contents; write it again");
        }
        try (DataInputStream d = new DataInputStream(new ByteArrayInputStream(bytes, in.position(), length))) {
            ContinualMethod method = ContinualMethod.parse(d.readUTF());
            EwcMode mode = EwcMode.parse(d.readUTF());
            double gamma = d.readDouble();
            int tasks = d.readInt();
            byte[] arch = new byte[d.readInt()];
            d.readFully(arch);
            String architecture = new String(arch, StandardCharsets.UTF_8);
            String actual = Trainer.architecture(network);
            if (!architecture.equals(actual)) {
                throw new ConsolidatedStateException(source + " was consolidated for the network\n  " + architecture + "\nbut this network is\n  "
                        + actual + "\nload it with the model it was saved with");
            }
            long parameters = d.readLong();
            int count = d.readInt();
            List<Anchor> anchors = new ArrayList<>();
            KindDecomposition kinds = count == 0 ? null : KindDecomposition.of(TaskFisher.spec(network, method));
            for (int a = 0; a < count; a++) {
                INDArray theta = version == 1 ? Nd4j.read(d) : ArrayCodec.read(d);
                int blocks = d.readInt();
                List<INDArray> list = new ArrayList<>();
                for (int k = 0; k < blocks; k++) {
                    list.add(version == 1 ? Nd4j.read(d) : ArrayCodec.read(d));
                }
                if (theta.length() != parameters) {
                    throw new ConsolidatedStateException(source + " is corrupt: anchor " + a + " has " + theta.length() + " parameters, not " + parameters);
                }
                anchors.add(new Anchor(theta.reshape(parameters), Curvature.of(kinds, list)));
            }
            return new ConsolidatedState(method, mode, gamma, tasks, architecture, anchors);
        } catch (ConsolidatedStateException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            throw new ConsolidatedStateException(source + " is corrupt or does not fit this network: " + e.getMessage()
                    + "; consolidate again", e);
        }
    }
}
