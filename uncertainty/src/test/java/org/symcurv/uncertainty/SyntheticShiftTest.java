package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.ImageDataSet;

/** The built-in shifts on a 3×3 image whose pixels are 0.1 … 0.9 row by row. */
class SyntheticShiftTest {
    private static final float[] IMAGE = {0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f, 0.7f, 0.8f, 0.9f};

    private static ImageDataSet set() {
        return ImageDataSet.of(Nd4j.createFromArray(new float[][] {IMAGE}), new int[] {0}, 3, 3, 10);
    }

    private static float[] shifted(SyntheticShift shift, long seed) {
        return shift.apply(set(), seed).features().toFloatMatrix()[0];
    }

    @Test
    void geometricShifts() {
        // clockwise: the left column, bottom to top, becomes the top row
        assertArrayEquals(new float[] {0.7f, 0.4f, 0.1f, 0.8f, 0.5f, 0.2f, 0.9f, 0.6f, 0.3f}, shifted(SyntheticShift.ROTATE_90, 0), 0);
        assertArrayEquals(new float[] {0.7f, 0.8f, 0.9f, 0.4f, 0.5f, 0.6f, 0.1f, 0.2f, 0.3f}, shifted(SyntheticShift.VERTICAL_FLIP, 0), 0);
        float[] inverted = shifted(SyntheticShift.INVERT, 0);
        for (int i = 0; i < 9; i++) {
            assertTrue(Math.abs(inverted[i] - (1 - IMAGE[i])) < 1e-7);
        }
        assertThrows(IllegalArgumentException.class, () -> SyntheticShift.ROTATE_90.apply(
                ImageDataSet.of(Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.FLOAT, 1, 6), new int[] {0}, 2, 3, 10), 0));
    }

    @Test
    void seededShifts() {
        float[] permuted = shifted(SyntheticShift.PIXEL_PERMUTATION, 4);
        float[] sorted = permuted.clone();
        Arrays.sort(sorted);
        assertArrayEquals(IMAGE, sorted, 0);
        assertNotEquals(Arrays.toString(IMAGE), Arrays.toString(permuted));
        assertArrayEquals(permuted, shifted(SyntheticShift.PIXEL_PERMUTATION, 4), 0);
        float[] noise = shifted(SyntheticShift.UNIFORM_NOISE, 9);
        for (float v : noise) {
            assertTrue(v >= 0 && v < 1);
        }
        assertArrayEquals(noise, shifted(SyntheticShift.UNIFORM_NOISE, 9), 0);
        assertNotEquals(Arrays.toString(noise), Arrays.toString(shifted(SyntheticShift.UNIFORM_NOISE, 10)));
        assertThrows(IllegalArgumentException.class, () -> SyntheticShift.parse("blur"));
    }
}
