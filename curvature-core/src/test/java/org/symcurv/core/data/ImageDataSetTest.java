package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.testing.TestData;

class ImageDataSetTest {
    /** Float32 sums of 16 values in [0, 1]: rounding stays far below this. */
    private static final double POOLING_TOLERANCE = 1e-6;

    /**
     * {@code n} images of 2x2 whose features identify the example: feature k of example i is i + k/10, and the
     * label is i mod 3. So any row can be traced back to its source index.
     */
    private static ImageDataSet traceable(int n) {
        double[][] rows = new double[n][4];
        int[] labels = new int[n];
        for (int i = 0; i < n; i++) {
            for (int k = 0; k < 4; k++) {
                rows[i][k] = i + k / 10.0;
            }
            labels[i] = i % 3;
        }
        return ImageDataSet.of(Nd4j.create(rows).castTo(DataType.FLOAT), labels, 2, 2, 3);
    }

    private static int sourceIndex(INDArray features, int row) {
        return (int) Math.round(features.getDouble(row, 0));
    }

    @Test
    void constructionRejectsMismatchedShapesAndOutOfRangeLabels() {
        INDArray features = Nd4j.zeros(DataType.FLOAT, 3, 4);
        IllegalArgumentException rows = assertThrows(IllegalArgumentException.class,
                () -> ImageDataSet.of(features, new int[] {0, 1}, 2, 2, 3));
        assertTrue(rows.getMessage().contains("3 rows") && rows.getMessage().contains("2 labels"), rows.getMessage());
        IllegalArgumentException columns = assertThrows(IllegalArgumentException.class,
                () -> ImageDataSet.of(features, new int[] {0, 1, 2}, 3, 3, 3));
        assertTrue(columns.getMessage().contains("4 columns") && columns.getMessage().contains("3x3"), columns.getMessage());
        IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
                () -> ImageDataSet.of(features, new int[] {0, 3, 1}, 2, 2, 3));
        assertTrue(label.getMessage().contains("label 1 is 3"), label.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> ImageDataSet.of(Nd4j.zeros(DataType.INT, 3, 4), new int[] {0, 1, 2}, 2, 2, 3));
    }

    @Test
    void itIsImmutableThroughItsAccessorsAndItsInputs() {
        INDArray source = Nd4j.zeros(DataType.FLOAT, 2, 4);
        int[] labels = {0, 1};
        ImageDataSet set = ImageDataSet.of(source, labels, 2, 2, 2);
        source.putScalar(0, 0, 5.0);
        labels[0] = 1;
        set.features().putScalar(1, 1, 7.0);
        set.labels()[1] = 0;
        assertEquals(0.0, set.features().sumNumber().doubleValue(), 0.0);
        assertArrayEquals(new int[] {0, 1}, set.labels());
    }

    @Test
    void subsetSelectAndSampleKeepFeaturesWithTheirLabels() {
        ImageDataSet set = traceable(50);
        ImageDataSet middle = set.subset(10, 20);
        assertEquals(10, middle.size());
        assertEquals(10, sourceIndex(middle.features(), 0));
        assertEquals(19 % 3, middle.label(9));

        ImageDataSet sample = set.sample(20, 7L);
        INDArray features = sample.features();
        Set<Integer> drawn = new HashSet<>();
        for (int i = 0; i < sample.size(); i++) {
            int source = sourceIndex(features, i);
            assertTrue(drawn.add(source), "sampling is without replacement");
            assertEquals(source % 3, sample.label(i), "label travels with its image");
        }
        assertArrayEquals(sample.labels(), set.sample(20, 7L).labels());
        assertEquals(sample.features(), set.sample(20, 7L).features(), "same seed, same sample");
        assertNotEquals(sample.features(), set.sample(20, 8L).features(), "another seed, another sample");
        assertThrows(IllegalArgumentException.class, () -> set.sample(51, 1L));
        assertThrows(IndexOutOfBoundsException.class, () -> set.subset(40, 51));
        assertEquals(0, set.subset(5, 5).size());
    }

    @Test
    void toDataSetHasOneHotLabels() {
        ImageDataSet set = traceable(7);
        DataSet data = set.toDataSet();
        assertArrayEquals(new long[] {7, 4}, data.getFeatures().shape());
        assertArrayEquals(new long[] {7, 3}, data.getLabels().shape());
        for (int i = 0; i < 7; i++) {
            for (int k = 0; k < 3; k++) {
                assertEquals(k == i % 3 ? 1.0 : 0.0, data.getLabels().getDouble(i, k), 0.0);
            }
        }
    }

    @Test
    void anEpochVisitsEveryExampleOnceInBatchesWithTheLastOneSmaller() {
        ImageDataSet set = traceable(23);
        MinibatchIterator batches = set.minibatches(5, 11L);
        assertEquals(5, batches.batchesPerEpoch());
        int[] sizes = new int[5];
        int[] seen = new int[23];
        int b = 0;
        while (batches.hasNext()) {
            DataSet batch = batches.next();
            sizes[b++] = batch.numExamples();
            for (int r = 0; r < batch.numExamples(); r++) {
                int source = sourceIndex(batch.getFeatures(), r);
                seen[source]++;
                assertEquals(1.0, batch.getLabels().getDouble(r, source % 3), 0.0, "one-hot label of example " + source);
                assertEquals(1.0, batch.getLabels().getRow(r).sumNumber().doubleValue(), 0.0);
            }
        }
        assertArrayEquals(new int[] {5, 5, 5, 5, 3}, sizes);
        int[] once = new int[23];
        Arrays.fill(once, 1);
        assertArrayEquals(once, seen);
    }

    @Test
    void shufflingIsReproducibleFromTheSeedAndDiffersBetweenEpochs() {
        ImageDataSet set = traceable(40);
        MinibatchIterator first = set.minibatches(8, 3L);
        MinibatchIterator second = set.minibatches(8, 3L);
        second.reset(); // a reset before any batch (as DL4J's fit does) must not skip a permutation
        int[] epoch0 = first.epochOrder();
        assertArrayEquals(epoch0, second.epochOrder());
        assertFalse(Arrays.equals(epoch0, ImageDataSet.identity(40)), "epoch 0 is shuffled");
        assertEquals(sourceIndex(first.next().getFeatures(), 0), epoch0[0]);
        first.reset();
        assertEquals(1, first.epoch());
        assertFalse(Arrays.equals(epoch0, first.epochOrder()), "each epoch has its own permutation");
        while (second.hasNext()) {
            second.next();
        }
        second.reset();
        assertArrayEquals(first.epochOrder(), second.epochOrder(), "epoch 1 depends only on seed and epoch");
        assertFalse(Arrays.equals(epoch0, set.minibatches(8, 4L).epochOrder()), "another seed, another order");
    }

    @Test
    void inOrderBatchesFollowTheStoredOrderEveryEpoch() {
        ImageDataSet set = traceable(10);
        MinibatchIterator batches = set.minibatchesInOrder(4);
        assertEquals(0, sourceIndex(batches.next().getFeatures(), 0));
        assertEquals(4, sourceIndex(batches.next().getFeatures(), 0));
        batches.reset();
        assertArrayEquals(ImageDataSet.identity(10), batches.epochOrder());
        assertEquals(4, batches.inputColumns());
        assertEquals(3, batches.totalOutcomes());
    }

    @Test
    void downsamplingAveragesBlocksOfTheRealImages() throws IOException {
        ImageDataSet images = FashionMnist.loadTest(TestData.fashionMnistSubset()).subset(0, 20);
        INDArray full = images.features();
        for (int side : new int[] {7, 14}) {
            ImageDataSet small = images.downsample(side);
            assertEquals(side, small.height());
            assertEquals(side * side, small.featureCount());
            assertArrayEquals(images.labels(), small.labels());
            int block = 28 / side;
            INDArray pooled = small.features();
            for (int i = 0; i < 20; i++) {
                for (int r = 0; r < side; r++) {
                    for (int c = 0; c < side; c++) {
                        double sum = 0;
                        for (int dr = 0; dr < block; dr++) {
                            for (int dc = 0; dc < block; dc++) {
                                sum += full.getDouble(i, (r * block + dr) * 28 + c * block + dc);
                            }
                        }
                        assertEquals(sum / (block * block), pooled.getDouble(i, r * side + c), POOLING_TOLERANCE,
                                "image " + i + " block (" + r + ", " + c + ") at side " + side);
                    }
                }
            }
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> images.downsample(5));
        assertTrue(e.getMessage().contains("28"), e.getMessage());
    }

    @Test
    void withDataTypeAndWithFeaturesKeepLabelsAndCheckShapes() {
        ImageDataSet set = traceable(6);
        ImageDataSet doubles = set.withDataType(DataType.DOUBLE);
        assertEquals(DataType.DOUBLE, doubles.dataType());
        assertEquals(set.features().castTo(DataType.DOUBLE), doubles.features());
        assertEquals(DataType.DOUBLE, doubles.toDataSet().getLabels().dataType());

        ImageDataSet doubled = set.withFeatures(set.features().mul(2));
        assertEquals(2 * 5.3, doubled.features().getDouble(5, 3), 1e-5);
        assertArrayEquals(set.labels(), doubled.labels());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> set.withFeatures(Nd4j.zeros(DataType.FLOAT, 6, 9)));
        assertTrue(e.getMessage().contains("withFeatures(features, height, width)"), e.getMessage());
        assertEquals(3, set.withFeatures(Nd4j.zeros(DataType.FLOAT, 6, 9), 3, 3).height());
        assertThrows(IllegalArgumentException.class, () -> set.withFeatures(Nd4j.zeros(DataType.FLOAT, 5, 4)));
    }
}
