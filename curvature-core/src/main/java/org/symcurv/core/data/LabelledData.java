package org.symcurv.core.data;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.preprocessor.AbstractDataSetNormalizer;
import org.nd4j.linalg.dataset.api.preprocessor.DataNormalization;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.Finite;

/**
 * The examples one {@link DataSource} holds: a feature matrix {@code X ∈ ℝ^{n × d}} and either class indices
 * {@code y ∈ {0, …, K−1}^n} ({@link PredictionTask#CLASSIFICATION}) or real targets {@code Y ∈ ℝ^{n × t}}
 * ({@link PredictionTask#REGRESSION}), with the name of the source they came from (used in every message).
 *
 * <p>IDX images keep their {@code height × width} shape ({@code d = height·width}, row-major, pixel / 255); tabular
 * sources (CSV, {@code .npy}) have no image shape. The features are as read: a model's normaliser is applied with
 * {@link #normalized}. Every feature and target is finite (the readers refuse anything else).
 *
 * <p>Immutable: factories copy their inputs, accessors return copies, operations return new sets.
 */
public final class LabelledData {
    private final INDArray features;
    private final PredictionTask task;
    private final int[] classes;
    private final int numClasses;
    private final INDArray targets;
    private final int height;
    private final int width;
    private final String source;

    private LabelledData(INDArray features, PredictionTask task, int[] classes, int numClasses, INDArray targets, int height,
                         int width, String source) {
        this.features = features;
        this.task = task;
        this.classes = classes;
        this.numClasses = numClasses;
        this.targets = targets;
        this.height = height;
        this.width = width;
        this.source = source;
    }

    /**
     * Classification examples without an image shape.
     *
     * @param features   {@code [n, d]}, floating point, finite; copied
     * @param classes    {@code n} indices in {@code [0, numClasses)}; copied
     * @param numClasses {@code K ≥ 1}
     * @param source     what the examples were read from, for messages
     * @throws IllegalArgumentException when shapes or labels do not fit together
     */
    public static LabelledData classification(INDArray features, int[] classes, int numClasses, String source) {
        return checked(features.dup('c'), PredictionTask.CLASSIFICATION, classes.clone(), numClasses, null, 0, 0, source);
    }

    /**
     * Regression examples.
     *
     * @param features {@code [n, d]}, floating point, finite; copied
     * @param targets  {@code [n, t]}, {@code t ≥ 1}, finite; copied and converted to the features' type
     * @throws IllegalArgumentException when the row counts differ
     */
    public static LabelledData regression(INDArray features, INDArray targets, String source) {
        Objects.requireNonNull(targets, "targets");
        if (targets.rank() != 2) {
            throw new IllegalArgumentException(source + ": regression targets must be a matrix [n, t], got shape "
                    + Arrays.toString(targets.shape()));
        }
        INDArray y = targets.castTo(features.dataType()).dup('c');
        return checked(features.dup('c'), PredictionTask.REGRESSION, null, 0, y, 0, 0, source);
    }

    /** The images of an {@link ImageDataSet} (pixel / 255, row-major), keeping their shape and class count. */
    public static LabelledData of(ImageDataSet images, String source) {
        return checked(images.features(), PredictionTask.CLASSIFICATION, images.labels(), images.numClasses(), null,
                images.height(), images.width(), source);
    }

    /**
     * The same examples seen as {@code height × width} images (row-major), e.g. a {@code .npy} array {@code [n, h, w]}.
     *
     * @throws IllegalArgumentException when {@code height·width} is not the feature count
     */
    public LabelledData withImageShape(int height, int width) {
        if (height < 1 || width < 1 || (long) height * width != featureCount()) {
            throw new IllegalArgumentException(source + ": " + featureCount() + " features are not images of " + height + "x" + width);
        }
        return new LabelledData(features, task, classes, numClasses, targets, height, width, source);
    }

    private static LabelledData checked(INDArray features, PredictionTask task, int[] classes, int numClasses, INDArray targets,
                                        int height, int width, String source) {
        Objects.requireNonNull(source, "source");
        if (features.rank() != 2 || !features.dataType().isFPType()) {
            throw new IllegalArgumentException(source + ": features must be a floating-point matrix [n, d], got "
                    + features.dataType() + " " + Arrays.toString(features.shape()));
        }
        long n = features.rows();
        if (task == PredictionTask.CLASSIFICATION) {
            if (numClasses < 1) {
                throw new IllegalArgumentException(source + ": the number of classes must be at least 1, got " + numClasses);
            }
            if (classes.length != n) {
                throw new IllegalArgumentException(source + ": " + n + " feature rows but " + classes.length + " labels");
            }
            for (int i = 0; i < classes.length; i++) {
                if (classes[i] < 0 || classes[i] >= numClasses) {
                    throw new IllegalArgumentException(source + ": example " + i + " has label " + classes[i] + ", outside the "
                            + numClasses + " classes 0.." + (numClasses - 1));
                }
            }
        } else if (targets.rows() != n || targets.columns() < 1) {
            throw new IllegalArgumentException(source + ": " + n + " feature rows but targets of shape "
                    + Arrays.toString(targets.shape()));
        }
        return new LabelledData(features, task, classes, numClasses, targets, height, width, source);
    }

    public PredictionTask task() {
        return task;
    }

    /** What the examples were read from (a file, a directory, a description), for messages. */
    public String source() {
        return source;
    }

    /** Number of examples {@code n}. */
    public int size() {
        return Math.toIntExact(features.rows());
    }

    /** Features per example {@code d}. */
    public int featureCount() {
        return Math.toIntExact(features.columns());
    }

    /** Whether the features are {@code height × width} images ({@link #height()}, {@link #width()}). */
    public boolean isImages() {
        return height > 0;
    }

    /** Image height, 0 for tabular data. */
    public int height() {
        return height;
    }

    /** Image width, 0 for tabular data. */
    public int width() {
        return width;
    }

    /** {@code K}, classification only. */
    public int numClasses() {
        requireTask(PredictionTask.CLASSIFICATION, "numClasses");
        return numClasses;
    }

    /** Target columns {@code t}, regression only. */
    public int targetCount() {
        requireTask(PredictionTask.REGRESSION, "targetCount");
        return Math.toIntExact(targets.columns());
    }

    /** The width of the model output these examples need: {@code K} or {@code t}. */
    public int outputCount() {
        return task == PredictionTask.CLASSIFICATION ? numClasses : Math.toIntExact(targets.columns());
    }

    /** A copy of the features, {@code [n, d]}. */
    public INDArray features() {
        return features.dup('c');
    }

    /** The type of the features. */
    public DataType dataType() {
        return features.dataType();
    }

    /** A copy of the class indices, classification only. */
    public int[] classes() {
        requireTask(PredictionTask.CLASSIFICATION, "classes");
        return classes.clone();
    }

    /**
     * The DL4J label matrix, a new array: one-hot {@code [n, K]} for classification, the targets {@code [n, t]} for
     * regression; of the features' type.
     */
    public INDArray labels() {
        if (task == PredictionTask.REGRESSION) {
            return targets.dup('c');
        }
        INDArray out = Nd4j.zeros(features.dataType(), classes.length, numClasses);
        for (int i = 0; i < classes.length; i++) {
            out.putScalar(i, classes[i], 1.0);
        }
        return out;
    }

    /** The whole set as an ND4J data set: {@link #features()} and {@link #labels()}. */
    public DataSet toDataSet() {
        return new DataSet(features(), labels());
    }

    /**
     * The classification examples as an {@link ImageDataSet}, for the code that works on those: images keep their
     * shape, tabular rows become {@code 1 × d} images (the features are not changed).
     *
     * @throws IllegalStateException for regression data
     */
    public ImageDataSet asImageDataSet() {
        requireTask(PredictionTask.CLASSIFICATION, "asImageDataSet");
        return isImages()
                ? ImageDataSet.of(features, classes, height, width, numClasses)
                : ImageDataSet.of(features, classes, 1, featureCount(), numClasses);
    }

    /**
     * The same examples with {@code K' ≥ K} classes, e.g. the model's class count when a test set lacks the last classes.
     *
     * @throws DataMismatchException when a label is {@code ≥ K'}, naming the example and the source
     */
    public LabelledData withNumClasses(int classCount) throws DataMismatchException {
        requireTask(PredictionTask.CLASSIFICATION, "withNumClasses");
        for (int i = 0; i < classes.length; i++) {
            if (classes[i] >= classCount) {
                throw new DataMismatchException(source + ": example " + i + " has label " + classes[i] + ", but the model has "
                        + classCount + " classes (0.." + (classCount - 1) + "); give data whose labels the model knows");
            }
        }
        return new LabelledData(features, task, classes, classCount, targets, height, width, source);
    }

    /**
     * Checks these examples against a model of {@code inputs} inputs and {@code outputs} outputs for {@code modelTask},
     * and returns them with the model's class count.
     *
     * @param model a name of the model for messages (its file)
     * @throws DataMismatchException naming the source and the model when the feature count, the task, the labels or the
     *                               number of targets do not fit
     */
    public LabelledData requireFits(long inputs, long outputs, PredictionTask modelTask, String model) throws DataMismatchException {
        if (featureCount() != inputs) {
            throw new DataMismatchException(source + " has " + featureCount() + " features per example, but " + model + " takes "
                    + inputs + " inputs" + (isImages() ? " (its images are " + height + "x" + width + ")" : "")
                    + "; give the data the model was trained on");
        }
        if (modelTask != task) {
            throw new DataMismatchException(source + " holds " + task.cliName() + " targets, but " + model + " is a "
                    + (modelTask == PredictionTask.CLASSIFICATION ? "classifier" : "regressor")
                    + (modelTask == PredictionTask.CLASSIFICATION ? "; give class labels" : "; give real-valued targets"));
        }
        if (task == PredictionTask.REGRESSION) {
            if (targetCount() != outputs) {
                throw new DataMismatchException(source + " has " + targetCount() + " target columns, but " + model + " has "
                        + outputs + " outputs");
            }
            return this;
        }
        return withNumClasses(Math.toIntExact(outputs));
    }

    /** Examples {@code [from, to)} in order. */
    public LabelledData subset(int from, int to) {
        if (from < 0 || to > size() || from > to) {
            throw new IndexOutOfBoundsException("subset [" + from + ", " + to + ") is outside the " + size() + " examples");
        }
        int[] indices = new int[to - from];
        for (int i = 0; i < indices.length; i++) {
            indices[i] = from + i;
        }
        return select(indices);
    }

    /** The examples at {@code indices}, in that order (repeats allowed). */
    public LabelledData select(int... indices) {
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= size()) {
                throw new IndexOutOfBoundsException("index " + indices[i] + " at position " + i + " is outside the " + size()
                        + " examples");
            }
        }
        INDArray x = indices.length == 0 ? Nd4j.create(features.dataType(), 0, featureCount()) : features.getRows(indices).dup('c');
        if (task == PredictionTask.REGRESSION) {
            INDArray y = indices.length == 0 ? Nd4j.create(targets.dataType(), 0, targets.columns()) : targets.getRows(indices).dup('c');
            return new LabelledData(x, task, null, 0, y, height, width, source);
        }
        int[] picked = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            picked[i] = classes[indices[i]];
        }
        return new LabelledData(x, task, picked, numClasses, null, height, width, source);
    }

    /**
     * {@code m} distinct examples drawn uniformly without replacement (a partial Fisher–Yates shuffle seeded by
     * {@code seed}), in the order drawn; {@code m = n} gives a seeded permutation.
     *
     * @throws IllegalArgumentException when {@code m} is negative or larger than {@link #size()}
     */
    public LabelledData sample(int m, long seed) {
        if (m < 0 || m > size()) {
            throw new IllegalArgumentException("cannot sample " + m + " distinct examples from the " + size() + " of " + source);
        }
        int[] order = ImageDataSet.identity(size());
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < m; i++) {
            int j = i + random.nextInt(size() - i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return select(Arrays.copyOf(order, m));
    }

    /**
     * The examples with {@code normalizer} applied: {@code x ↦ T(x)} for the features, and {@code y ↦ T_y(y)} for
     * regression targets when the normaliser was fitted on labels too ({@code fitLabel(true)}). A null normaliser
     * gives this set.
     *
     * @throws IllegalArgumentException when the normaliser was fitted for another feature count
     */
    public LabelledData normalized(DataNormalization normalizer) {
        if (normalizer == null) {
            return this;
        }
        INDArray x = features.dup('c');
        INDArray y = targets == null ? null : targets.dup('c');
        try {
            normalizer.transform(x);
            if (y != null && normalizer instanceof AbstractDataSetNormalizer<?> a && a.isFitLabel()) {
                normalizer.transformLabel(y);
            }
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("the normalizer does not fit the " + featureCount() + " features of " + source
                    + " (" + e.getMessage() + ")", e);
        }
        if (!Finite.all(x)) {
            throw new IllegalArgumentException("the normalizer turned features of " + source + " into NaN or infinity");
        }
        return new LabelledData(x, task, classes, numClasses, y, height, width, source);
    }

    /** The same examples with features of type {@code dataType}. */
    public LabelledData withDataType(DataType dataType) {
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException("features must have a floating-point type, got " + dataType);
        }
        return new LabelledData(features.castTo(dataType).dup('c'), task, classes, numClasses,
                targets == null ? null : targets.castTo(dataType).dup('c'), height, width, source);
    }

    private void requireTask(PredictionTask wanted, String what) {
        if (task != wanted) {
            throw new IllegalStateException(what + " applies to " + wanted.cliName() + " data; " + source + " holds "
                    + task.cliName() + " targets");
        }
    }

    @Override
    public String toString() {
        String shape = isImages() ? " images of " + height + "x" + width : " rows of " + featureCount() + " features";
        String targetsText = task == PredictionTask.CLASSIFICATION ? numClasses + " classes" : targets.columns() + " targets";
        return source + ": " + size() + shape + ", " + targetsText;
    }
}
