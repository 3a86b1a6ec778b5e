package org.symcurv.apps.stream;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.data.ImageDataSet;

/**
 * Fashion-MNIST task streams as {@link StreamRecord}s, what {@code symcurv produce} writes.
 *
 * <ul>
 *   <li><b>permuted</b>: task {@code k} shows every image with its pixels shuffled by one fixed permutation
 *       {@code π_k} (task 0: no shuffle; {@code π_k} from {@code (seed, k)}), all ten classes;</li>
 *   <li><b>split</b>: task {@code k} holds the images of classes {@code 2k} and {@code 2k+1} (at most five tasks).</li>
 * </ul>
 * Each task is its held-back examples (from the test set, ids {@code 1,000,000 + i}), then its training examples (a
 * seeded sample of the training set, ids the training-set index), then its end-task record.
 */
public final class TaskStreamRecords {
    /** Offset of held-back example ids, so they never collide with training ids. */
    public static final long HOLDOUT_ID_OFFSET = 1_000_000L;

    public enum Kind { PERMUTED, SPLIT }

    private final Kind kind;
    private final ImageDataSet train;
    private final ImageDataSet test;
    private final int examplesPerTask;
    private final int holdoutPerTask;
    private final long seed;

    /**
     * @param examplesPerTask training examples per task (at most those available for the task)
     * @param holdoutPerTask  held-back examples per task
     */
    public TaskStreamRecords(Kind kind, ImageDataSet train, ImageDataSet test, int examplesPerTask, int holdoutPerTask, long seed) {
        this.kind = kind;
        this.train = train;
        this.test = test;
        this.examplesPerTask = examplesPerTask;
        this.holdoutPerTask = holdoutPerTask;
        this.seed = seed;
    }

    /** The most tasks this kind can make ({@code split}: five). */
    public int maxTasks() {
        return kind == Kind.SPLIT ? train.numClasses() / 2 : Integer.MAX_VALUE;
    }

    public static String taskName(int k) {
        return "task-" + k;
    }

    /** Task {@code k}'s records: held-back examples, training examples, end-task. */
    public List<StreamRecord> task(String model, int k) {
        String task = taskName(k);
        int[] permutation = kind == Kind.PERMUTED ? permutation(train.featureCount(), k) : null;
        int[] trainIndices = pick(train, k, examplesPerTask, seed ^ (0x9E3779B97F4A7C15L * (2L * k + 1)));
        int[] testIndices = pick(test, k, holdoutPerTask, seed ^ (0x9E3779B97F4A7C15L * (2L * k + 2)));
        List<StreamRecord> records = new ArrayList<>(trainIndices.length + testIndices.length + 1);
        float[][] testFeatures = rows(test, testIndices, permutation);
        for (int i = 0; i < testIndices.length; i++) {
            records.add(new StreamRecord.Example(model, task, HOLDOUT_ID_OFFSET + testIndices[i], StreamRecord.Split.HOLDOUT, testFeatures[i],
                    test.label(testIndices[i])));
        }
        float[][] trainFeatures = rows(train, trainIndices, permutation);
        for (int i = 0; i < trainIndices.length; i++) {
            records.add(new StreamRecord.Example(model, task, trainIndices[i], StreamRecord.Split.TRAIN, trainFeatures[i],
                    train.label(trainIndices[i])));
        }
        records.add(new StreamRecord.EndTask(model, task, trainIndices.length));
        return records;
    }

    /** Task {@code k}'s pixel permutation: the identity for task 0, else a Fisher–Yates shuffle seeded by {@code (seed, k)}. */
    public int[] permutation(int n, int k) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) {
            p[i] = i;
        }
        if (k == 0) {
            return p;
        }
        SplittableRandom random = new SplittableRandom(seed * 31 + k);
        for (int i = n - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = p[i];
            p[i] = p[j];
            p[j] = t;
        }
        return p;
    }

    private int[] pick(ImageDataSet data, int k, int count, long pickSeed) {
        List<Integer> eligible = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) {
            if (kind == Kind.PERMUTED || data.label(i) / 2 == k) {
                eligible.add(i);
            }
        }
        SplittableRandom random = new SplittableRandom(pickSeed);
        int n = Math.min(count, eligible.size());
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(eligible.size() - i);
            Integer t = eligible.get(i);
            eligible.set(i, eligible.get(j));
            eligible.set(j, t);
        }
        int[] picked = new int[n];
        for (int i = 0; i < n; i++) {
            picked[i] = eligible.get(i);
        }
        return picked;
    }

    private static float[][] rows(ImageDataSet data, int[] indices, int[] permutation) {
        float[][] out = new float[indices.length][];
        if (indices.length == 0) {
            return out;
        }
        INDArray x = data.select(indices).features().castTo(DataType.FLOAT);
        float[] flat = x.data().asFloat();
        int d = data.featureCount();
        for (int i = 0; i < indices.length; i++) {
            float[] row = new float[d];
            for (int j = 0; j < d; j++) {
                row[j] = flat[i * d + (permutation == null ? j : permutation[j])];
            }
            out[i] = row;
        }
        return out;
    }
}
