package org.symcurv.core.data;

import java.util.Arrays;
import java.util.Objects;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A labelled set of {@code n} grey-scale images of {@code height × width} pixels, as a feature matrix
 * {@code X ∈ ℝ^{n × height·width}} and a label vector {@code y ∈ {0, …, numClasses−1}^n}.
 *
 * <p><b>The one input convention of the toolkit.</b> Every model that symcurv trains, reads or writes sees
 * images this way and no other: feature {@code X[i, r·width + c] = pixel(i, r, c) / 255}, so values lie in
 * {@code [0, 1]} (0 = background, 1 = full ink), each image flattened row-major (row by row) into one row of
 * {@code X}; labels are class indices {@code 0–9} for Fashion-MNIST (one-hot only inside {@link #toDataSet()}
 * and the minibatch iterators); no mean subtraction, no standardisation, no other normalisation. Features
 * are {@link DataType#FLOAT} as read; {@link #withDataType} gives float64 copies for exact tests. Derived sets
 * ({@link #downsample}, {@link #withFeatures}) may hold other values; they keep the row-major layout.
 *
 * <p>Immutable: constructors copy their inputs, {@link #features()} and {@link #labels()} return copies, and
 * every operation returns a new set. The minibatch iterators read this set's arrays without copying them whole.
 */
public final class ImageDataSet {
    private final INDArray features;
    private final int[] labels;
    private final int height;
    private final int width;
    private final int numClasses;

    /** Takes ownership of both arrays: callers pass arrays nobody else holds. */
    private ImageDataSet(INDArray features, int[] labels, int height, int width, int numClasses) {
        this.features = features;
        this.labels = labels;
        this.height = height;
        this.width = width;
        this.numClasses = numClasses;
    }

    /**
     * A set from a feature matrix and labels.
     *
     * @param features   shape {@code [n, height·width]}, a floating-point type; copied, not modified
     * @param labels     {@code n} class indices in {@code [0, numClasses)}; copied, not modified
     * @param height     image height in pixels, ≥ 1
     * @param width      image width in pixels, ≥ 1
     * @param numClasses number of classes, ≥ 1
     * @throws IllegalArgumentException naming the mismatch when shapes, types or labels do not fit together
     */
    public static ImageDataSet of(INDArray features, int[] labels, int height, int width, int numClasses) {
        Objects.requireNonNull(features, "features");
        Objects.requireNonNull(labels, "labels");
        return checked(features.dup('c'), labels.clone(), height, width, numClasses);
    }

    /**
     * A set from raw IDX images and labels under the convention above: feature = pixel / 255.
     *
     * @param dataType the floating-point type of the features; each value is {@code pixel / 255} rounded
     *                 once to that type
     * @throws IllegalArgumentException when the counts differ or a label is not below {@code numClasses}
     */
    public static ImageDataSet fromPixels(IdxImages images, IdxLabels labels, int numClasses, DataType dataType) {
        if (images.count() != labels.count()) {
            throw new IllegalArgumentException("there are " + images.count() + " images but " + labels.count()
                    + " labels; each image needs exactly one label");
        }
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException("features must have a floating-point type, got " + dataType);
        }
        byte[] pixels = images.pixelsShared();
        long[] shape = {images.count(), images.pixelsPerImage()};
        INDArray features;
        if (dataType == DataType.DOUBLE) {
            double[] values = new double[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                values[i] = (pixels[i] & 0xFF) / 255.0;
            }
            features = Nd4j.create(values, shape, DataType.DOUBLE);
        } else {
            float[] values = new float[pixels.length];
            for (int i = 0; i < pixels.length; i++) {
                values[i] = (pixels[i] & 0xFF) / 255.0f;
            }
            features = Nd4j.create(values, shape, DataType.FLOAT);
            if (dataType != DataType.FLOAT) {
                features = features.castTo(dataType);
            }
        }
        return checked(features, labels.toIntArray(), images.rows(), images.cols(), numClasses);
    }

    private static ImageDataSet checked(INDArray features, int[] labels, int height, int width, int numClasses) {
        if (height < 1 || width < 1) {
            throw new IllegalArgumentException("image size must be at least 1x1, got " + height + "x" + width);
        }
        if (numClasses < 1) {
            throw new IllegalArgumentException("numClasses must be at least 1, got " + numClasses);
        }
        if (features.rank() != 2) {
            throw new IllegalArgumentException("features must be a matrix [n, height*width], got shape "
                    + Arrays.toString(features.shape()));
        }
        if (!features.dataType().isFPType()) {
            throw new IllegalArgumentException("features must have a floating-point type, got " + features.dataType());
        }
        if (features.rows() != labels.length) {
            throw new IllegalArgumentException("features have " + features.rows() + " rows but there are " + labels.length
                    + " labels; each row needs exactly one label");
        }
        if (features.columns() != (long) height * width) {
            throw new IllegalArgumentException("features have " + features.columns() + " columns but images of " + height
                    + "x" + width + " need " + (long) height * width);
        }
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] >= numClasses) {
                throw new IllegalArgumentException("label " + i + " is " + labels[i] + ", outside the " + numClasses
                        + " classes 0.." + (numClasses - 1));
            }
        }
        return new ImageDataSet(features, labels, height, width, numClasses);
    }

    /** A copy of the features, shape {@code [size(), height()·width()]}, row-major images; free to modify. */
    public INDArray features() {
        return features.dup('c');
    }

    /** A copy of the class indices, {@code size()} of them. */
    public int[] labels() {
        return labels.clone();
    }

    /** The class index of example {@code i}. */
    public int label(int i) {
        return labels[i];
    }

    /** Number of examples {@code n}. */
    public int size() {
        return labels.length;
    }

    public int numClasses() {
        return numClasses;
    }

    public int height() {
        return height;
    }

    public int width() {
        return width;
    }

    /** Number of features per example, {@code height·width}. */
    public int featureCount() {
        return height * width;
    }

    /** The type of the feature values. */
    public DataType dataType() {
        return features.dataType();
    }

    /** How many examples each class has: entry {@code k} counts the labels equal to {@code k}. */
    public int[] classCounts() {
        int[] counts = new int[numClasses];
        for (int label : labels) {
            counts[label]++;
        }
        return counts;
    }

    /** One-hot labels, shape {@code [size(), numClasses()]}, of the features' type; a new array. */
    public INDArray labelsOneHot() {
        return oneHot(labels, 0, labels.length);
    }

    INDArray oneHot(int[] source, int from, int to) {
        INDArray out = Nd4j.zeros(features.dataType(), to - from, numClasses);
        for (int i = from; i < to; i++) {
            out.putScalar(i - from, source[i], 1.0);
        }
        return out;
    }

    /** Examples {@code [from, to)} in order. */
    public ImageDataSet subset(int from, int to) {
        if (from < 0 || to > size() || from > to) {
            throw new IndexOutOfBoundsException("subset [" + from + ", " + to + ") is outside the " + size() + " examples [0, "
                    + size() + ")");
        }
        INDArray part = from == to
                ? Nd4j.create(features.dataType(), 0, featureCount())
                : features.get(NDArrayIndex.interval(from, to), NDArrayIndex.all()).dup('c');
        return new ImageDataSet(part, Arrays.copyOfRange(labels, from, to), height, width, numClasses);
    }

    /**
     * The examples at the given indices, in that order (repeats allowed).
     *
     * @param indices each in {@code [0, size())}; not modified
     */
    public ImageDataSet select(int... indices) {
        int[] picked = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            if (indices[i] < 0 || indices[i] >= size()) {
                throw new IndexOutOfBoundsException("index " + indices[i] + " at position " + i + " is outside the " + size()
                        + " examples");
            }
            picked[i] = labels[indices[i]];
        }
        return new ImageDataSet(rows(indices), picked, height, width, numClasses);
    }

    INDArray rows(int[] indices) {
        if (indices.length == 0) {
            return Nd4j.create(features.dataType(), 0, featureCount());
        }
        return features.getRows(indices);
    }

    /**
     * {@code n} distinct examples drawn uniformly without replacement, in the order drawn. The same seed
     * gives the same sample.
     *
     * @throws IllegalArgumentException when {@code n} is negative or larger than {@link #size()}
     */
    public ImageDataSet sample(int n, long seed) {
        if (n < 0 || n > size()) {
            throw new IllegalArgumentException("cannot sample " + n + " distinct examples from a set of " + size());
        }
        int[] order = identity(size());
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < n; i++) {
            int j = i + random.nextInt(size() - i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        return select(Arrays.copyOf(order, n));
    }

    static int[] identity(int n) {
        int[] order = new int[n];
        for (int i = 0; i < n; i++) {
            order[i] = i;
        }
        return order;
    }

    /** The whole set as an ND4J {@link DataSet}: features as above, labels one-hot {@code [n, numClasses]}. */
    public DataSet toDataSet() {
        return new DataSet(features.dup('c'), labelsOneHot());
    }

    /**
     * Minibatches of {@code batchSize} examples (the last one smaller when {@code batchSize} does not divide
     * {@code size()}), in an order shuffled afresh for each epoch: epoch {@code e}'s permutation depends only on
     * {@code seed} and {@code e}. The iterator starts at epoch 0, and each {@code reset()} after at least one
     * batch moves to the next epoch.
     */
    public MinibatchIterator minibatches(int batchSize, long seed) {
        return new MinibatchIterator(this, batchSize, true, seed);
    }

    /** Minibatches of {@code batchSize} examples in the stored order, the same every epoch (for evaluation). */
    public MinibatchIterator minibatchesInOrder(int batchSize) {
        return new MinibatchIterator(this, batchSize, false, 0L);
    }

    /**
     * The same labels with other features of the same image size.
     *
     * @param features shape {@code [size(), height()·width()]}, floating point; copied, not modified
     * @throws IllegalArgumentException when the shape differs; use {@link #withFeatures(INDArray, int, int)}
     *                                  for another image size
     */
    public ImageDataSet withFeatures(INDArray features) {
        if (features.rank() == 2 && features.columns() != featureCount()) {
            throw new IllegalArgumentException("new features have " + features.columns() + " columns but this set's images of "
                    + height + "x" + width + " have " + featureCount() + "; pass the new image size to withFeatures(features, height, width)");
        }
        return withFeatures(features, height, width);
    }

    /**
     * The same labels with features of another image size.
     *
     * @param features shape {@code [size(), height·width]}, floating point; copied, not modified
     */
    public ImageDataSet withFeatures(INDArray features, int height, int width) {
        return checked(features.dup('c'), labels.clone(), height, width, numClasses);
    }

    /**
     * Images shrunk to {@code side × side} by average pooling: output pixel {@code (r, c)} is the mean of the
     * {@code (height/side) × (width/side)} block of input pixels it covers, e.g. 28×28 → 7×7 by 4×4 blocks.
     * Values stay in {@code [0, 1]}; labels are unchanged.
     *
     * @throws IllegalArgumentException when {@code side} does not divide both the height and the width
     */
    public ImageDataSet downsample(int side) {
        if (side < 1 || height % side != 0 || width % side != 0) {
            throw new IllegalArgumentException("cannot average-pool " + height + "x" + width + " images to " + side + "x" + side
                    + ": the side must divide both " + height + " and " + width);
        }
        int blockHeight = height / side;
        int blockWidth = width / side;
        INDArray pooled;
        if (size() == 0) {
            pooled = Nd4j.create(features.dataType(), 0, (long) side * side);
        } else {
            pooled = features.reshape('c', size(), side, blockHeight, side, blockWidth)
                    .mean(2, 4)
                    .reshape('c', size(), (long) side * side);
        }
        return new ImageDataSet(pooled.dup('c'), labels.clone(), side, side, numClasses);
    }

    /** A copy whose features have type {@code dataType} (e.g. {@link DataType#DOUBLE} for float64 oracles). */
    public ImageDataSet withDataType(DataType dataType) {
        if (!dataType.isFPType()) {
            throw new IllegalArgumentException("features must have a floating-point type, got " + dataType);
        }
        INDArray cast = features.dataType() == dataType ? features.dup('c') : features.castTo(dataType).dup('c');
        return new ImageDataSet(cast, labels.clone(), height, width, numClasses);
    }

    @Override
    public String toString() {
        return "ImageDataSet[" + size() + " images of " + height + "x" + width + ", " + numClasses + " classes, "
                + features.dataType() + "]";
    }
}
