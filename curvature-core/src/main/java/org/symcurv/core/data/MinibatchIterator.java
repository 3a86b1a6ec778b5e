package org.symcurv.core.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.NoSuchElementException;
import java.util.SplittableRandom;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.dataset.api.DataSetPreProcessor;
import org.nd4j.linalg.dataset.api.iterator.DataSetIterator;

/**
 * Minibatches over an {@link ImageDataSet} as ND4J {@link DataSet}s: features {@code [b, height·width]},
 * one-hot labels {@code [b, numClasses]}. One epoch visits every example exactly once in batches of
 * {@link #batch()} (the last one smaller when the batch size does not divide the set). When shuffled, epoch
 * {@code e} uses a permutation drawn from the {@code e}-th split of a {@link SplittableRandom} seeded with the
 * given seed, so a run is reproducible from the seed alone.
 *
 * <p>{@link #reset()} moves to the next epoch only when the current one has handed out a batch, so a
 * {@code reset()} before the first batch (as DL4J's {@code fit} does) does not skip a permutation.
 * Not thread-safe; async prefetch is declined ({@link #asyncSupported()} is false) to keep the order exact.
 */
public final class MinibatchIterator implements DataSetIterator {
    private static final long serialVersionUID = 1L;

    private final transient ImageDataSet data;
    private final int batchSize;
    private final boolean shuffle;
    private final transient SplittableRandom epochSeeds;
    private int[] order;
    private int cursor;
    private int epoch;
    private transient DataSetPreProcessor preProcessor;

    MinibatchIterator(ImageDataSet data, int batchSize, boolean shuffle, long seed) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        this.data = data;
        this.batchSize = batchSize;
        this.shuffle = shuffle;
        this.epochSeeds = new SplittableRandom(seed);
        this.order = orderForNewEpoch();
    }

    private int[] orderForNewEpoch() {
        int[] next = ImageDataSet.identity(data.size());
        if (shuffle) {
            SplittableRandom random = epochSeeds.split();
            for (int i = next.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = next[i];
                next[i] = next[j];
                next[j] = t;
            }
        }
        return next;
    }

    /** The epoch the next batch belongs to, counting from 0. */
    public int epoch() {
        return epoch;
    }

    /** Number of batches in one epoch, {@code ⌈size / batch⌉}. */
    public int batchesPerEpoch() {
        return (data.size() + batchSize - 1) / batchSize;
    }

    /** The example indices of the current epoch in visiting order; a copy. */
    public int[] epochOrder() {
        return order.clone();
    }

    @Override
    public boolean hasNext() {
        return cursor < order.length;
    }

    @Override
    public DataSet next() {
        return next(batchSize);
    }

    @Override
    public DataSet next(int num) {
        if (!hasNext()) {
            throw new NoSuchElementException("epoch " + epoch + " is finished after " + order.length
                    + " examples; call reset() to start the next one");
        }
        if (num < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + num);
        }
        int end = Math.min(order.length, cursor + num);
        int[] indices = Arrays.copyOfRange(order, cursor, end);
        int[] batchLabels = new int[indices.length];
        for (int i = 0; i < indices.length; i++) {
            batchLabels[i] = data.label(indices[i]);
        }
        cursor = end;
        DataSet batch = new DataSet(data.rows(indices), data.oneHot(batchLabels, 0, batchLabels.length));
        if (preProcessor != null) {
            preProcessor.preProcess(batch);
        }
        return batch;
    }

    @Override
    public int inputColumns() {
        return data.featureCount();
    }

    @Override
    public int totalOutcomes() {
        return data.numClasses();
    }

    @Override
    public boolean resetSupported() {
        return true;
    }

    @Override
    public boolean asyncSupported() {
        return false;
    }

    @Override
    public void reset() {
        if (cursor > 0) {
            epoch++;
            order = orderForNewEpoch();
        }
        cursor = 0;
    }

    @Override
    public int batch() {
        return batchSize;
    }

    @Override
    public void setPreProcessor(DataSetPreProcessor preProcessor) {
        this.preProcessor = preProcessor;
    }

    @Override
    public DataSetPreProcessor getPreProcessor() {
        return preProcessor;
    }

    /** The class names {@code "0"}, {@code "1"}, … (the data set's own names live with its loader). */
    @Override
    public List<String> getLabels() {
        List<String> names = new ArrayList<>(data.numClasses());
        for (int k = 0; k < data.numClasses(); k++) {
            names.add(Integer.toString(k));
        }
        return names;
    }
}
