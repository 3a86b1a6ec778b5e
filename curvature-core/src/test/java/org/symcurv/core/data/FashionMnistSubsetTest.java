package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.core.testing.InstalledData;
import org.symcurv.core.testing.TestData;

/** The committed subset is what its README says: the first 2,000 / 500 examples of the installed data set. */
class FashionMnistSubsetTest {
    @TempDir
    Path dir;

    @Test
    void committedSubsetHoldsTheFirstExamplesOfTheInstalledDataSetByteForByte() throws IOException {
        Path installed = InstalledData.fashionMnist();
        Path committed = TestData.fashionMnistSubset();
        compareFirst(installed, committed, FashionMnist.TRAIN_IMAGES, FashionMnist.TRAIN_LABELS, TestData.FASHION_MNIST_SUBSET_TRAIN_SIZE);
        compareFirst(installed, committed, FashionMnist.TEST_IMAGES, FashionMnist.TEST_LABELS, TestData.FASHION_MNIST_SUBSET_TEST_SIZE);
    }

    @Test
    void writeSubsetReproducesTheCommittedContent() throws IOException {
        FashionMnist.writeSubset(TestData.fashionMnistSubset(), dir, 30, 12);
        compareFirst(TestData.fashionMnistSubset(), dir, FashionMnist.TRAIN_IMAGES, FashionMnist.TRAIN_LABELS, 30);
        compareFirst(TestData.fashionMnistSubset(), dir, FashionMnist.TEST_IMAGES, FashionMnist.TEST_LABELS, 12);
        assertEquals(30, FashionMnist.loadTrain(dir).size());
    }

    private static void compareFirst(Path full, Path part, String imagesName, String labelsName, int count) throws IOException {
        IdxImages partImages = IdxFormat.readImages(part.resolve(imagesName));
        IdxLabels partLabels = IdxFormat.readLabels(part.resolve(labelsName));
        assertEquals(count, partImages.count(), imagesName);
        assertEquals(count, partLabels.count(), labelsName);
        assertArrayEquals(IdxFormat.readImages(full.resolve(imagesName)).slice(0, count).pixels(), partImages.pixels(), imagesName);
        assertArrayEquals(IdxFormat.readLabels(full.resolve(labelsName)).slice(0, count).bytes(), partLabels.bytes(), labelsName);
    }
}
