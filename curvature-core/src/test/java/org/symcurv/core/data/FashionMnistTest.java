package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.testing.InstalledData;
import org.symcurv.core.testing.TestData;

class FashionMnistTest {
    /** Largest difference between a float feature and pixel/255 computed in double: half a float ulp near 1. */
    private static final double FLOAT_ROUNDING = 1e-7;

    @TempDir
    Path dir;

    @Test
    void theSubsetLoadsUnderTheDocumentedConvention() throws IOException {
        Path subset = TestData.fashionMnistSubset();
        ImageDataSet train = FashionMnist.loadTrain(subset);
        assertEquals(TestData.FASHION_MNIST_SUBSET_TRAIN_SIZE, train.size());
        assertEquals(784, train.featureCount());
        assertEquals(28, train.height());
        assertEquals(10, train.numClasses());
        assertEquals(DataType.FLOAT, train.dataType());
        assertArrayEquals(new int[] {194, 216, 202, 195, 186, 200, 194, 215, 198, 200}, train.classCounts(),
                "class counts recorded in the subset's README");

        IdxImages raw = IdxFormat.readImages(subset.resolve(FashionMnist.TRAIN_IMAGES));
        INDArray features = train.features();
        assertEquals(0.0, features.minNumber().doubleValue(), 0.0);
        assertEquals(1.0, features.maxNumber().doubleValue(), FLOAT_ROUNDING);
        // row-major flattening: feature r*28+c of image i is pixel (i, r, c) / 255
        for (int i : new int[] {0, 17, 1999}) {
            for (int r = 0; r < 28; r += 3) {
                for (int c = 0; c < 28; c += 5) {
                    assertEquals(raw.pixel(i, r, c) / 255.0, features.getDouble(i, r * 28 + c), FLOAT_ROUNDING,
                            "image " + i + " pixel (" + r + ", " + c + ")");
                }
            }
        }
        assertEquals(9, train.label(0), "the first Fashion-MNIST training image is an ankle boot");
        assertEquals(TestData.FASHION_MNIST_SUBSET_TEST_SIZE, FashionMnist.loadTest(subset).size());
    }

    @Test
    void float64LoadingGivesExactlyPixelOver255() throws IOException {
        Path subset = TestData.fashionMnistSubset();
        ImageDataSet test = FashionMnist.loadTest(subset, DataType.DOUBLE);
        IdxImages raw = IdxFormat.readImages(subset.resolve(FashionMnist.TEST_IMAGES));
        INDArray features = test.features();
        for (int k = 0; k < 784; k += 7) {
            assertEquals(raw.pixel(3, k / 28, k % 28) / 255.0, features.getDouble(3, k), 0.0);
        }
    }

    @Test
    void theFullInstalledDataSetHasItsPublishedSizesAndBalancedClasses() throws IOException {
        Path installed = InstalledData.fashionMnist();
        ImageDataSet test = FashionMnist.loadTest(installed);
        assertEquals(FashionMnist.TEST_SIZE, test.size());
        int[] perClass = new int[10];
        java.util.Arrays.fill(perClass, 1000);
        assertArrayEquals(perClass, test.classCounts());
        ImageDataSet train = FashionMnist.loadTrain(installed);
        assertEquals(FashionMnist.TRAIN_SIZE, train.size());
        java.util.Arrays.fill(perClass, 6000);
        assertArrayEquals(perClass, train.classCounts());
    }

    @Test
    void uncompressedFilesAreFoundAndReadLikeCompressedOnes() throws IOException {
        for (String name : FashionMnist.FILE_NAMES) {
            try (InputStream in = new GZIPInputStream(Files.newInputStream(TestData.fashionMnistSubset().resolve(name)))) {
                Files.copy(in, dir.resolve(name.replace(".gz", "")));
            }
        }
        assertEquals(dir, FashionMnist.locate(dir));
        ImageDataSet raw = FashionMnist.loadTest(dir);
        ImageDataSet compressed = FashionMnist.loadTest(TestData.fashionMnistSubset());
        assertEquals(compressed.features(), raw.features());
        assertArrayEquals(compressed.labels(), raw.labels());
    }

    @Test
    void locateSearchesExplicitThenEnvironmentThenSystemDirectory() throws IOException {
        Path subset = TestData.fashionMnistSubset();
        Path absent = dir.resolve("absent");
        assertEquals(subset, FashionMnist.locate(subset, null, absent));
        assertEquals(subset, FashionMnist.locate(null, subset.toString(), absent));
        assertEquals(subset, FashionMnist.locate(null, null, subset));
        assertEquals(subset, FashionMnist.locate(null, dir.toString(), subset), "an incomplete $SYMCURV_DATA falls through");
    }

    @Test
    void nothingFoundNamesThePackageTheFilesAndThePlacesSearched() {
        Path absent = dir.resolve("absent");
        DataNotFoundException e = assertThrows(DataNotFoundException.class,
                () -> FashionMnist.locate(null, dir.toString(), absent));
        String message = e.getMessage();
        assertTrue(message.contains("apt-get install -y dataset-fashion-mnist"), message);
        for (String name : FashionMnist.FILE_NAMES) {
            assertTrue(message.contains(name), message);
        }
        assertTrue(message.contains(dir.toString()) && message.contains(absent.toString()), message);
    }

    @Test
    void anExplicitDirectoryLackingFilesIsAnErrorNotASilentFallBack() throws IOException {
        Files.copy(TestData.fashionMnistSubset().resolve(FashionMnist.TRAIN_IMAGES), dir.resolve(FashionMnist.TRAIN_IMAGES));
        DataNotFoundException e = assertThrows(DataNotFoundException.class,
                () -> FashionMnist.locate(dir, null, TestData.fashionMnistSubset()));
        assertTrue(e.getMessage().contains("given explicitly") && e.getMessage().contains("missing " + FashionMnist.TRAIN_LABELS),
                e.getMessage());
    }

    @Test
    void imagesAndLabelsOfDifferentSplitsAreRejectedNamingBothFiles() {
        Path subset = TestData.fashionMnistSubset();
        Path images = subset.resolve(FashionMnist.TRAIN_IMAGES);
        Path labels = subset.resolve(FashionMnist.TEST_LABELS);
        MalformedDataException e = assertThrows(MalformedDataException.class,
                () -> FashionMnist.load(images, labels, DataType.FLOAT));
        assertTrue(e.getMessage().contains(images.toString()) && e.getMessage().contains(labels.toString())
                && e.getMessage().contains("2000 images") && e.getMessage().contains("500 labels"), e.getMessage());
    }

    @Test
    void imagesOfAnotherSizeAndLabelsAbove9AreRejected() throws IOException {
        Path images = dir.resolve("images.gz");
        Path labels = dir.resolve("labels.gz");
        IdxFormat.writeImages(new IdxImages(2, 32, 32, new byte[2 * 32 * 32]), images);
        IdxFormat.writeLabels(IdxLabels.of(1, 2), labels);
        MalformedDataException size = assertThrows(MalformedDataException.class,
                () -> FashionMnist.load(images, labels, DataType.FLOAT));
        assertTrue(size.getMessage().contains("32x32") && size.getMessage().contains("28x28"), size.getMessage());

        IdxFormat.writeImages(new IdxImages(2, 28, 28, new byte[2 * 28 * 28]), images);
        IdxFormat.writeLabels(IdxLabels.of(1, 10), labels);
        MalformedDataException label = assertThrows(MalformedDataException.class,
                () -> FashionMnist.load(images, labels, DataType.FLOAT));
        assertTrue(label.getMessage().contains(labels.toString()) && label.getMessage().contains("example 1")
                && label.getMessage().contains("label 10"), label.getMessage());
    }

    @Test
    void aMissingFileInLoadNamesItAndThePackage() {
        java.nio.file.NoSuchFileException e = assertThrows(java.nio.file.NoSuchFileException.class,
                () -> FashionMnist.loadTrain(dir));
        assertTrue(e.getMessage().contains(FashionMnist.TRAIN_IMAGES) && e.getMessage().contains("dataset-fashion-mnist"),
                e.getMessage());
    }
}
