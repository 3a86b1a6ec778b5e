package org.symcurv.optimizer.train;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.optimizer.StateTree;

/**
 * Everything needed to continue a run bit for bit: the parameters, the optimizer state, the position in the data
 * (epoch and minibatch; each epoch's shuffle is a function of the data seed and the epoch, so these are the RNG
 * state), the skipped-step count and the training clock. Written atomically (temporary file, then rename).
 *
 * @param optimizer       the optimizer's description when it was written (resuming checks it)
 * @param network         the network architecture, {@link Trainer#architecture} (resuming checks it)
 * @param params          {@code θ}, {@code [P]}
 * @param optimizerState  the optimizer's {@link StateTree}
 * @param iteration       minibatches consumed
 * @param dataSeed        the shuffle seed
 * @param skipped         steps skipped as non-finite
 * @param trainSeconds    training wall-clock so far
 * @param totalIterations the run's budget
 * @param batchSize       examples per minibatch
 */
public record TrainingCheckpoint(String optimizer, String network, INDArray params, StateTree optimizerState, long iteration,
                                 long dataSeed, long skipped, double trainSeconds, long totalIterations, int batchSize) {
    /** Format version written; reading refuses any other. */
    public static final int FORMAT_VERSION = 1;
    private static final long MAGIC = 0x53594d4355525643L; // "SYMCURVC"

    public TrainingCheckpoint {
        Objects.requireNonNull(optimizer, "optimizer");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(params, "params");
        Objects.requireNonNull(optimizerState, "optimizerState");
    }

    /** Writes to a temporary sibling of {@code path}, then renames it into place (replacing an older checkpoint). */
    public void write(Path path) throws IOException {
        Path target = path.toAbsolutePath().normalize();
        if (target.getParent() != null) {
            Files.createDirectories(target.getParent());
        }
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            try (OutputStream file = Files.newOutputStream(tmp);
                 DataOutputStream out = new DataOutputStream(new BufferedOutputStream(file, 1 << 16))) {
                out.writeLong(MAGIC);
                out.writeInt(FORMAT_VERSION);
                out.writeUTF(optimizer);
                writeLongString(out, network);
                out.writeLong(iteration);
                out.writeLong(dataSeed);
                out.writeLong(skipped);
                out.writeLong(Double.doubleToRawLongBits(trainSeconds));
                out.writeLong(totalIterations);
                out.writeInt(batchSize);
                Nd4j.write(params, out);
                optimizerState.write(out);
            }
            AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /**
     * Reads a checkpoint.
     *
     * @throws IOException naming the file when it is missing, not a checkpoint, truncated, or of another format version
     */
    public static TrainingCheckpoint read(Path path) throws IOException {
        try (InputStream file = Files.newInputStream(path);
             DataInputStream in = new DataInputStream(new BufferedInputStream(file, 1 << 16))) {
            if (in.readLong() != MAGIC) {
                throw new IOException(path + " is not a symcurv training checkpoint");
            }
            int version = in.readInt();
            if (version != FORMAT_VERSION) {
                throw new IOException(path + " is a checkpoint of format version " + version + "; this build reads version " + FORMAT_VERSION);
            }
            String optimizer = in.readUTF();
            String network = readLongString(in);
            long iteration = in.readLong();
            long seed = in.readLong();
            long skipped = in.readLong();
            double seconds = Double.longBitsToDouble(in.readLong());
            long total = in.readLong();
            int batch = in.readInt();
            INDArray params = Nd4j.read(in);
            StateTree state = StateTree.read(in);
            return new TrainingCheckpoint(optimizer, network, params, state, iteration, seed, skipped, seconds, total, batch);
        } catch (java.io.EOFException e) {
            throw new IOException(path + " ends early: the checkpoint is truncated", e);
        }
    }

    private static void writeLongString(DataOutputStream out, String s) throws IOException {
        byte[] bytes = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static String readLongString(DataInputStream in) throws IOException {
        byte[] bytes = new byte[in.readInt()];
        in.readFully(bytes);
        return new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
    }
}
