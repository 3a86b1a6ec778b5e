package org.symcurv.continual;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.ImageDataSet;

/**
 * The standard continual-learning streams over an image classification set (Fashion-MNIST here).
 * <ul>
 *   <li><b>Permuted</b> (Goodfellow et al., 2013; Kirkpatrick et al., 2017): task {@code t} shows every image with its pixels
 *       reordered by a fixed permutation {@code π_t}; task 0 is the identity, {@code π_t} for {@code t ≥ 1} a Fisher–Yates
 *       shuffle seeded by {@code (seed, t)}. All classes in every task.</li>
 *   <li><b>Split</b> (Zenke et al., 2017): five tasks of two consecutive classes, {0,1}, {2,3}, …, {8,9}.</li>
 * </ul>
 * Each task's training images are a seeded sample of {@code trainPerTask} images (for split: of the task's classes), of
 * which the last {@code validationPerTask} are held out as its validation set (for choosing λ); the test set is the whole
 * test split (of the task's classes). Everything is a function of the seed.
 */
public final class TaskStreams {
    private TaskStreams() {
    }

    /**
     * The permutation of task {@code t}: the identity for {@code t = 0}, otherwise a shuffle seeded by {@code (seed, t)}.
     *
     * @return {@code pixels} indices; pixel {@code j} of a permuted image is pixel {@code π[j]} of the original
     */
    public static int[] permutation(int pixels, long seed, int task) {
        int[] pi = IntStream.range(0, pixels).toArray();
        if (task == 0) {
            return pi;
        }
        SplittableRandom random = new SplittableRandom(seed * 0x9E3779B97F4A7C15L + task);
        for (int i = pixels - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = pi[i];
            pi[i] = pi[j];
            pi[j] = t;
        }
        return pi;
    }

    /** The images with their pixels reordered: column {@code j} of the result is column {@code π[j]} of {@code data}. */
    public static ImageDataSet permute(ImageDataSet data, int[] pi) {
        if (pi.length != data.featureCount()) {
            throw new IllegalArgumentException("a permutation of " + pi.length + " pixels does not fit images of " + data.featureCount());
        }
        INDArray x = data.features();
        INDArray out = Nd4j.pullRows(x.transpose().dup('c'), 1, pi).transpose().dup('c');
        return data.withFeatures(out);
    }

    /**
     * {@code tasks} permuted tasks.
     *
     * @param trainPerTask      training images per task (drawn afresh per task, seeded), ≤ the training set
     * @param validationPerTask of which held out for validation, {@code < trainPerTask}
     * @throws IllegalArgumentException naming the bound that is violated
     */
    public static List<ContinualTask> permuted(ImageDataSet train, ImageDataSet test, int tasks, int trainPerTask, int validationPerTask,
                                               long seed) {
        if (tasks < 1) {
            throw new IllegalArgumentException("a stream needs at least one task, got " + tasks);
        }
        checkSizes(train.size(), trainPerTask, validationPerTask, "the training set");
        int[] all = IntStream.range(0, train.numClasses()).toArray();
        List<ContinualTask> out = new ArrayList<>();
        for (int t = 0; t < tasks; t++) {
            int[] pi = permutation(train.featureCount(), seed, t);
            ImageDataSet sample = train.sample(trainPerTask, seed + 1000L * (t + 1));
            ImageDataSet permuted = permute(sample, pi);
            int fit = trainPerTask - validationPerTask;
            out.add(new ContinualTask(t, t == 0 ? "unpermuted" : "permutation " + t, permuted.subset(0, fit),
                    permuted.subset(fit, trainPerTask), permute(test, pi), all));
        }
        return out;
    }

    /**
     * Five tasks of two classes each (or {@code numClasses / 2} in general).
     *
     * @param trainPerTask      training images per task, at most the task's images in the training set
     * @param validationPerTask of which held out for validation
     */
    public static List<ContinualTask> split(ImageDataSet train, ImageDataSet test, int trainPerTask, int validationPerTask, long seed) {
        int k = train.numClasses();
        if (k < 2 || k % 2 != 0) {
            throw new IllegalArgumentException("a split stream pairs classes: it needs an even number of classes, got " + k);
        }
        List<ContinualTask> out = new ArrayList<>();
        for (int t = 0; t < k / 2; t++) {
            int[] classes = {2 * t, 2 * t + 1};
            ImageDataSet taskTrain = ofClasses(train, classes);
            checkSizes(taskTrain.size(), trainPerTask, validationPerTask, "classes " + classes[0] + "," + classes[1] + " of the training set");
            ImageDataSet sample = taskTrain.sample(trainPerTask, seed + 1000L * (t + 1));
            int fit = trainPerTask - validationPerTask;
            String name = "classes " + Arrays.stream(classes).mapToObj(String::valueOf).collect(Collectors.joining(","));
            out.add(new ContinualTask(t, name, sample.subset(0, fit), sample.subset(fit, trainPerTask), ofClasses(test, classes), classes));
        }
        return out;
    }

    /** The images whose label is one of {@code classes}, in their order. */
    public static ImageDataSet ofClasses(ImageDataSet data, int... classes) {
        boolean[] keep = new boolean[data.numClasses()];
        for (int c : classes) {
            keep[c] = true;
        }
        int[] labels = data.labels();
        return data.select(IntStream.range(0, labels.length).filter(i -> keep[labels[i]]).toArray());
    }

    private static void checkSizes(int available, int perTask, int validation, String what) {
        if (perTask < 2 || perTask > available) {
            throw new IllegalArgumentException("cannot draw " + perTask + " training images per task from " + what + " of " + available
                    + " images: ask for between 2 and " + available);
        }
        if (validation < 0 || validation >= perTask) {
            throw new IllegalArgumentException("the validation images per task (" + validation + ") must be ≥ 0 and fewer than the "
                    + perTask + " training images per task");
        }
    }
}
