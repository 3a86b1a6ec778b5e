package org.symcurv.continual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.testing.TestData;

/** The permuted and split streams on the committed Fashion-MNIST subset. */
class TaskStreamsTest {
    static ImageDataSet train;
    static ImageDataSet test;

    @BeforeAll
    static void load() throws IOException {
        train = FashionMnist.loadTrain(TestData.fashionMnistSubset());
        test = FashionMnist.loadTest(TestData.fashionMnistSubset());
    }

    @Test
    void permutationsAreSeededReproducibleAndTaskZeroIsTheIdentity() {
        assertArrayEquals(IntStream.range(0, 784).toArray(), TaskStreams.permutation(784, 5, 0));
        int[] a = TaskStreams.permutation(784, 5, 1);
        assertArrayEquals(a, TaskStreams.permutation(784, 5, 1));
        assertFalse(Arrays.equals(a, TaskStreams.permutation(784, 5, 2)));
        assertFalse(Arrays.equals(a, TaskStreams.permutation(784, 6, 1)));
        int[] sorted = a.clone();
        Arrays.sort(sorted);
        assertArrayEquals(IntStream.range(0, 784).toArray(), sorted, "a permutation");
    }

    @Test
    void permutedTasksMovePixelsAndKeepLabels() {
        List<ContinualTask> tasks = TaskStreams.permuted(train, test, 3, 300, 50, 9);
        assertEquals(3, tasks.size());
        for (ContinualTask t : tasks) {
            assertEquals(250, t.train().size());
            assertEquals(50, t.validation().size());
            assertEquals(test.size(), t.test().size());
            assertEquals(10, t.classes().length);
            assertArrayEquals(test.labels(), t.test().labels());
        }
        assertEquals(test.features(), tasks.get(0).test().features(), "task 0 is unpermuted");
        int[] pi = TaskStreams.permutation(784, 9, 2);
        float[] original = test.features().getRow(3).toFloatVector();
        float[] permuted = tasks.get(2).test().features().getRow(3).toFloatVector();
        for (int j = 0; j < 784; j++) {
            assertEquals(original[pi[j]], permuted[j], 0f);
        }
        List<ContinualTask> again = TaskStreams.permuted(train, test, 3, 300, 50, 9);
        assertEquals(tasks.get(1).train().features(), again.get(1).train().features(), "seeded");
        assertThrows(IllegalArgumentException.class, () -> TaskStreams.permuted(train, test, 2, 5000, 10, 1));
        assertThrows(IllegalArgumentException.class, () -> TaskStreams.permuted(train, test, 2, 100, 100, 1));
    }

    @Test
    void splitTasksHoldTwoClassesEachAndTheHeadMaskSelectsThem() {
        List<ContinualTask> tasks = TaskStreams.split(train, test, 150, 30, 4);
        assertEquals(5, tasks.size());
        for (ContinualTask t : tasks) {
            int[] expected = {2 * t.index(), 2 * t.index() + 1};
            assertArrayEquals(expected, t.classes());
            for (ImageDataSet part : List.of(t.train(), t.validation(), t.test())) {
                assertTrue(Arrays.stream(part.labels()).allMatch(y -> y == expected[0] || y == expected[1]), t.name());
            }
            assertEquals(120, t.train().size());
            boolean[] mask = t.headMask(10);
            for (int k = 0; k < 10; k++) {
                assertEquals(k == expected[0] || k == expected[1], mask[k]);
            }
        }
        int testImages = tasks.stream().mapToInt(t -> t.test().size()).sum();
        assertEquals(test.size(), testImages, "the split test sets partition the test set");
    }
}
