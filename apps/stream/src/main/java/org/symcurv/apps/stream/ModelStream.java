package org.symcurv.apps.stream;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.PriorityQueue;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.continual.ContinualLearner;
import org.symcurv.core.model.FisherSource;

/**
 * One model learning its task stream: the {@link ContinualLearner} (network, optimizer, consolidated EWC state) and the
 * bookkeeping of the stream around it — the task in progress, the example ids seen in it (a repeated id is a duplicate
 * and ignored), the minibatch being filled, the sample of the task's training examples kept for its Fisher, every task's
 * held-back examples, and the accuracy matrix.
 *
 * <p>Tasks come one after another: the first example of a task starts it, its end-task record ends it (the learner
 * trains the last, partial minibatch, consolidates the task's Fisher over the kept sample and evaluates every task so far).
 * An example or end-task record of any other task is rejected with the reason ("unknown task"), as is an example of a task
 * already consolidated; a repeated end-task record of a consolidated task is ignored.
 *
 * <p>The Fisher sample is a bottom-k sample: the {@code fisherExamples} training examples with the smallest
 * {@code hash(seed, id)}. It depends only on the seed and the set of ids, not on their order or on duplicates, so a
 * restarted service that re-reads part of a task keeps the same sample. Not thread-safe.
 */
public final class ModelStream {
    /** What became of one record. */
    public enum Outcome { TRAINED_OR_BUFFERED, HELD_BACK, DUPLICATE, TASK_CONSOLIDATED, END_TASK_REPEATED }

    /** A task's end: the consolidation and the accuracy matrix row after it (task order, each task's held-back accuracy). */
    public record TaskEnd(String task, ContinualLearner.Consolidation consolidation, List<String> tasks, double[] accuracy,
                          long trainedExamples, long duplicates) {
    }

    private final String model;
    private final ContinualLearner learner;
    private final int batchSize;
    private final int fisherExamples;
    private final long seed;
    private final int featureCount;
    private final int numClasses;

    private final List<String> consolidated = new ArrayList<>();
    private final Map<String, Examples> holdouts = new LinkedHashMap<>();
    private final List<double[]> accuracyRows = new ArrayList<>();
    private String currentTask;
    private final Set<Long> seen = new HashSet<>();
    private final Examples pending = new Examples();
    /** max-heap on the hash: the root is the first to leave when a smaller hash arrives. */
    private final PriorityQueue<Sampled> fisherSample = new PriorityQueue<>((a, b) -> Long.compareUnsigned(b.hash, a.hash));
    private long taskTrained;
    private long taskDuplicates;
    private long trainedTotal;
    /** Optimizer steps applied (a step whose loss or gradient was not finite is skipped and not counted). */
    private long stepsTrained;
    /** The consolidated-tasks file last written or read, or null. */
    private ConsolidatedTasksFile.Reference tasksFile;

    private record Sampled(long hash, long id, float[] features, int label) {
    }

    /** Examples in arrival order, growing. */
    static final class Examples {
        final List<float[]> features = new ArrayList<>();
        final List<Integer> labels = new ArrayList<>();

        void add(float[] f, int label) {
            features.add(f);
            labels.add(label);
        }

        int size() {
            return labels.size();
        }

        void clear() {
            features.clear();
            labels.clear();
        }

        INDArray featureMatrix(int featureCount) {
            float[] flat = new float[size() * featureCount];
            for (int i = 0; i < size(); i++) {
                System.arraycopy(features.get(i), 0, flat, i * featureCount, featureCount);
            }
            return Nd4j.create(flat, new long[] {size(), featureCount}, DataType.FLOAT);
        }

        INDArray oneHot(int numClasses) {
            INDArray y = Nd4j.zeros(DataType.FLOAT, size(), numClasses);
            for (int i = 0; i < size(); i++) {
                y.putScalar(i, labels.get(i), 1.0);
            }
            return y;
        }
    }

    /**
     * @param batchSize      examples per training step
     * @param fisherExamples training examples of a task kept for its Fisher (at most)
     * @param seed           seeds the Fisher sample and each consolidation's Monte Carlo labels
     */
    public ModelStream(String model, ContinualLearner learner, int batchSize, int fisherExamples, long seed, int featureCount, int numClasses) {
        this.model = model;
        this.learner = learner;
        this.batchSize = batchSize;
        this.fisherExamples = fisherExamples;
        this.seed = seed;
        this.featureCount = featureCount;
        this.numClasses = numClasses;
    }

    public String model() {
        return model;
    }

    public ContinualLearner learner() {
        return learner;
    }

    /** Consolidated tasks in order. */
    public List<String> consolidatedTasks() {
        return Collections.unmodifiableList(consolidated);
    }

    /** The task in progress, or null. */
    public String currentTask() {
        return currentTask;
    }

    public long trainedTotal() {
        return trainedTotal;
    }

    /** Optimizer steps applied so far, over all tasks. */
    public long stepsTrained() {
        return stepsTrained;
    }

    /**
     * The model's answer to one input and the version of the model that gave it.
     *
     * @param probabilities     {@code softmax(f(x))}, {@code [numClasses]}
     * @param tasksConsolidated tasks consolidated so far
     * @param stepsTrained      optimizer steps applied so far
     * @param currentTask       the task being learned, or null between tasks
     */
    public record Prediction(double[] probabilities, int tasksConsolidated, long stepsTrained, long examplesTrained, String currentTask) {
    }

    /**
     * The network's class probabilities for one input, as the model stands now (examples still in the minibatch being
     * filled are not trained on yet).
     *
     * @param features {@code [featureCount]}, not modified
     */
    public Prediction predict(float[] features) {
        INDArray x = Nd4j.create(features, new long[] {1, featureCount}, DataType.FLOAT);
        double[] p = learner.network().output(x, false).castTo(DataType.DOUBLE).toDoubleVector();
        return new Prediction(p, consolidated.size(), stepsTrained, trainedTotal, currentTask);
    }

    /**
     * Takes one example: buffered for training (a step is taken when the minibatch is full), held back for evaluation,
     * or ignored as a duplicate.
     *
     * @return how many examples were trained on by this call (0 or a full minibatch), as {@code outcome}'s companion:
     *         see {@link #lastTrained()}
     * @throws MalformedRecordException for an example of another task than the one in progress, or of a consolidated task
     */
    public Outcome accept(StreamRecord.Example e) throws MalformedRecordException {
        lastTrained = 0;
        if (consolidated.contains(e.task())) {
            throw new MalformedRecordException("unknown task: task '" + e.task() + "' of model '" + model
                    + "' is already consolidated; an example after its end-task record cannot be learned");
        }
        if (currentTask == null) {
            currentTask = e.task();
        } else if (!currentTask.equals(e.task())) {
            throw new MalformedRecordException("unknown task '" + e.task() + "': model '" + model + "' is learning task '" + currentTask
                    + "'; send the end-task record of '" + currentTask + "' before examples of another task");
        }
        if (!seen.add(e.id())) {
            taskDuplicates++;
            return Outcome.DUPLICATE;
        }
        if (e.split() == StreamRecord.Split.HOLDOUT) {
            holdouts.computeIfAbsent(e.task(), t -> new Examples()).add(e.features(), e.label());
            return Outcome.HELD_BACK;
        }
        offerToSample(e.id(), e.features(), e.label());
        pending.add(e.features(), e.label());
        if (pending.size() >= batchSize) {
            trainPending();
        }
        return Outcome.TRAINED_OR_BUFFERED;
    }

    private int lastTrained;

    /** Examples trained on by the last {@link #accept} or {@link #end} call. */
    public int lastTrained() {
        return lastTrained;
    }

    private void offerToSample(long id, float[] features, int label) {
        long hash = mix(seed ^ mix(id));
        if (fisherSample.size() < fisherExamples) {
            fisherSample.add(new Sampled(hash, id, features, label));
        } else if (Long.compareUnsigned(hash, fisherSample.peek().hash) < 0) {
            fisherSample.poll();
            fisherSample.add(new Sampled(hash, id, features, label));
        }
    }

    /** SplitMix64's finalizer: a bijective mix of 64 bits. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    private void trainPending() {
        int n = pending.size();
        if (n == 0) {
            return;
        }
        if (learner.trainOn(new DataSet(pending.featureMatrix(featureCount), pending.oneHot(numClasses))).applied()) {
            stepsTrained++;
        }
        pending.clear();
        taskTrained += n;
        trainedTotal += n;
        lastTrained += n;
    }

    /**
     * Ends a task: trains the partial minibatch, consolidates, evaluates every task's held-back examples.
     *
     * @return the task's end, or null for a repeated end-task record of a task already consolidated
     * @throws MalformedRecordException when the task is not the one in progress, or it has no training examples
     */
    public TaskEnd end(StreamRecord.EndTask end) throws MalformedRecordException {
        lastTrained = 0;
        if (consolidated.contains(end.task())) {
            return null;
        }
        if (currentTask == null || !currentTask.equals(end.task())) {
            throw new MalformedRecordException("unknown task '" + end.task() + "' in an end-task record: model '" + model + "' is "
                    + (currentTask == null ? "not learning any task" : "learning task '" + currentTask + "'"));
        }
        trainPending();
        if (fisherSample.isEmpty()) {
            throw new MalformedRecordException("task '" + end.task() + "' of model '" + model
                    + "' ended without any training example; send its examples before its end-task record");
        }
        List<Sampled> sample = new ArrayList<>(fisherSample);
        sample.sort((a, b) -> Long.compareUnsigned(a.hash, b.hash));
        Examples fisherSet = new Examples();
        for (Sampled s : sample) {
            fisherSet.add(s.features, s.label);
        }
        long consolidationSeed = mix(seed ^ mix(consolidated.size() + 1L));
        ContinualLearner.Consolidation c = learner.consolidate(fisherSet.featureMatrix(featureCount), consolidationSeed,
                FisherSource.Progress.NONE);
        consolidated.add(end.task());
        double[] row = evaluate();
        accuracyRows.add(row);
        TaskEnd result = new TaskEnd(end.task(), c, List.copyOf(consolidated), row, taskTrained, taskDuplicates);
        currentTask = null;
        seen.clear();
        fisherSample.clear();
        taskTrained = 0;
        taskDuplicates = 0;
        return result;
    }

    /** Accuracy on each consolidated task's held-back examples, in task order (NaN for a task with none). */
    public double[] evaluate() {
        double[] row = new double[consolidated.size()];
        for (int t = 0; t < row.length; t++) {
            Examples h = holdouts.get(consolidated.get(t));
            row[t] = h == null || h.size() == 0 ? Double.NaN : accuracy(h);
        }
        return row;
    }

    private double accuracy(Examples h) {
        long correct = 0;
        for (int from = 0; from < h.size(); from += 1000) {
            int to = Math.min(h.size(), from + 1000);
            Examples part = new Examples();
            for (int i = from; i < to; i++) {
                part.add(h.features.get(i), h.labels.get(i));
            }
            INDArray predicted = learner.network().output(part.featureMatrix(featureCount), false).argMax(1);
            for (int i = 0; i < part.size(); i++) {
                if (predicted.getInt(i) == part.labels.get(i)) {
                    correct++;
                }
            }
        }
        return (double) correct / h.size();
    }

    /** The accuracy matrix so far: row {@code i} after the {@code i}-th consolidation. */
    public List<double[]> accuracyRows() {
        return Collections.unmodifiableList(accuracyRows);
    }

    // ---------------------------------------------------------------- checkpoint form

    /**
     * Writes everything needed to continue: the network's parameters, a reference to the {@link ConsolidatedTasksFile} of
     * the consolidated tasks (written into {@code tasksDir} first when this is the first checkpoint since the last
     * consolidation), the optimizer state, and the stream bookkeeping with the held-back examples of the task in progress.
     */
    void write(DataOutputStream out, Path tasksDir) throws IOException {
        out.writeUTF(model);
        org.symcurv.core.io.ArrayCodec.write(out, learner.network().params());
        ConsolidatedTasksFile.Reference ref = tasksFile(tasksDir);
        out.writeBoolean(ref != null);
        if (ref != null) {
            out.writeUTF(ref.fileName());
            out.writeInt(ref.tasks());
            out.writeLong(ref.crc());
        }
        learner.optimizerState().write(out);
        writeStrings(out, consolidated);
        List<Map.Entry<String, Examples>> open = new ArrayList<>();
        for (Map.Entry<String, Examples> h : holdouts.entrySet()) {
            if (!consolidated.contains(h.getKey())) {
                open.add(h);
            }
        }
        out.writeInt(open.size());
        for (Map.Entry<String, Examples> h : open) {
            out.writeUTF(h.getKey());
            writeExamples(out, h.getValue());
        }
        out.writeInt(accuracyRows.size());
        for (double[] row : accuracyRows) {
            out.writeInt(row.length);
            for (double a : row) {
                out.writeDouble(a);
            }
        }
        out.writeBoolean(currentTask != null);
        if (currentTask != null) {
            out.writeUTF(currentTask);
        }
        out.writeInt(seen.size());
        for (long id : seen) {
            out.writeLong(id);
        }
        writeExamples(out, pending);
        out.writeInt(fisherSample.size());
        for (Sampled s : fisherSample) {
            out.writeLong(s.id);
            out.writeInt(s.label);
            writeFloats(out, s.features);
        }
        out.writeLong(taskTrained);
        out.writeLong(taskDuplicates);
        out.writeLong(trainedTotal);
        out.writeLong(stepsTrained);
    }

    /** The file of the consolidated tasks so far (written when missing), or null when none is consolidated. */
    private ConsolidatedTasksFile.Reference tasksFile(Path dir) throws IOException {
        if (consolidated.isEmpty()) {
            return null;
        }
        if (tasksFile == null || tasksFile.tasks() != consolidated.size() || !Files.exists(dir.resolve(tasksFile.fileName()))) {
            Map<String, Examples> done = new LinkedHashMap<>();
            for (String t : consolidated) {
                Examples h = holdouts.get(t);
                if (h != null) {
                    done.put(t, h);
                }
            }
            tasksFile = new ConsolidatedTasksFile(model, List.copyOf(consolidated), learner.state().toBytes(), done).write(dir);
        }
        return tasksFile;
    }

    /** The name of the consolidated-tasks file the last {@link #write} referred to, or null. */
    String tasksFileName() {
        return tasksFile == null || tasksFile.tasks() != consolidated.size() ? null : tasksFile.fileName();
    }

    /** Reads what {@link #write} wrote; the learner is rebuilt by {@code learners}. */
    /**
     * @param formatVersion the checkpoint's format version: 4, or 3 (written before the step count was kept; its models
     *                      count their steps from 0)
     */
    static ModelStream read(DataInputStream in, int formatVersion, Path tasksDir, Path checkpoint, LearnerSource learners, int batchSize,
                            int fisherExamples, long seed, int featureCount, int numClasses) throws IOException {
        String model = in.readUTF();
        INDArray parameters = org.symcurv.core.io.ArrayCodec.read(in);
        ConsolidatedTasksFile.Reference ref = in.readBoolean() ? new ConsolidatedTasksFile.Reference(in.readUTF(), in.readInt(), in.readLong())
                : null;
        ConsolidatedTasksFile done = ref == null ? null : ConsolidatedTasksFile.read(tasksDir, ref, model, checkpoint, featureCount);
        String source = checkpoint + " (model " + model + ")";
        ContinualLearner learner = learners.restore(model, parameters, done == null ? null : done.state(), source);
        try {
            learner.restoreOptimizerState(org.symcurv.optimizer.StateTree.read(in));
        } catch (IllegalArgumentException e) {
            throw new IOException("model " + model + ": " + e.getMessage() + "; start the service with the options that wrote the checkpoint", e);
        }
        ModelStream m = new ModelStream(model, learner, batchSize, fisherExamples, seed, featureCount, numClasses);
        m.tasksFile = ref;
        m.consolidated.addAll(readStrings(in));
        if (!m.consolidated.equals(done == null ? List.of() : done.tasks())) {
            throw new IOException(source + " lists consolidated tasks " + m.consolidated + " but its consolidated-tasks file holds "
                    + (done == null ? "none" : done.tasks()) + "; restore the checkpoint and its .tasks directory from one backup");
        }
        if (done != null) {
            m.holdouts.putAll(done.holdouts());
        }
        int holdoutTasks = in.readInt();
        for (int i = 0; i < holdoutTasks; i++) {
            String task = in.readUTF();
            m.holdouts.put(task, readExamples(in, featureCount));
        }
        int rows = in.readInt();
        for (int i = 0; i < rows; i++) {
            double[] row = new double[in.readInt()];
            for (int j = 0; j < row.length; j++) {
                row[j] = in.readDouble();
            }
            m.accuracyRows.add(row);
        }
        if (in.readBoolean()) {
            m.currentTask = in.readUTF();
        }
        int seenCount = in.readInt();
        for (int i = 0; i < seenCount; i++) {
            m.seen.add(in.readLong());
        }
        Examples pending = readExamples(in, featureCount);
        m.pending.features.addAll(pending.features);
        m.pending.labels.addAll(pending.labels);
        int sampled = in.readInt();
        for (int i = 0; i < sampled; i++) {
            long id = in.readLong();
            int label = in.readInt();
            float[] f = readFloats(in, featureCount);
            m.fisherSample.add(new Sampled(mix(seed ^ mix(id)), id, f, label));
        }
        m.taskTrained = in.readLong();
        m.taskDuplicates = in.readLong();
        m.trainedTotal = in.readLong();
        m.stepsTrained = formatVersion >= 4 ? in.readLong() : 0;
        return m;
    }

    /** Makes learners: fresh ones for a new model, restored ones from a checkpoint. */
    public interface LearnerSource {
        ContinualLearner create(String model);

        /**
         * A learner of the service's network with these parameters and consolidated state.
         *
         * @param state  the consolidated state's bytes ({@code ConsolidatedState.toBytes}), or null when none is consolidated
         * @param source names the checkpoint, for messages
         * @throws IOException when the parameters or the state do not fit the service's network and method
         */
        ContinualLearner restore(String model, INDArray parameters, byte[] state, String source) throws IOException;
    }

    private static void writeStrings(DataOutputStream out, List<String> values) throws IOException {
        out.writeInt(values.size());
        for (String v : values) {
            out.writeUTF(v);
        }
    }

    private static List<String> readStrings(DataInputStream in) throws IOException {
        int n = in.readInt();
        List<String> values = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            values.add(in.readUTF());
        }
        return values;
    }

    static void writeExamples(DataOutputStream out, Examples e) throws IOException {
        out.writeInt(e.size());
        for (int i = 0; i < e.size(); i++) {
            out.writeInt(e.labels.get(i));
            writeFloats(out, e.features.get(i));
        }
    }

    static Examples readExamples(DataInputStream in, int featureCount) throws IOException {
        int n = in.readInt();
        Examples e = new Examples();
        for (int i = 0; i < n; i++) {
            int label = in.readInt();
            e.add(readFloats(in, featureCount), label);
        }
        return e;
    }

    private static void writeFloats(DataOutputStream out, float[] values) throws IOException {
        out.writeInt(values.length);
        byte[] bytes = new byte[4 * values.length];
        java.nio.ByteBuffer.wrap(bytes).asFloatBuffer().put(values);
        out.write(bytes);
    }

    private static float[] readFloats(DataInputStream in, int featureCount) throws IOException {
        int n = in.readInt();
        if (n != featureCount) {
            throw new IOException("checkpoint holds an example of " + n + " features but the stream has " + featureCount
                    + "; restart with the --features the checkpoint was written with");
        }
        byte[] bytes = new byte[4 * n];
        in.readFully(bytes);
        float[] values = new float[n];
        java.nio.ByteBuffer.wrap(bytes).asFloatBuffer().get(values);
        return values;
    }
}
