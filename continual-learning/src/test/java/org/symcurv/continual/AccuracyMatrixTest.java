package org.symcurv.continual;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import org.junit.jupiter.api.Test;

class AccuracyMatrixTest {
    @Test
    void summariesOfAHandMadeMatrix() {
        AccuracyMatrix m = new AccuracyMatrix(new double[][] {
                {0.9, 0.1, 0.2},
                {0.7, 0.8, 0.1},
                {0.6, 0.5, 0.9}});
        assertEquals((0.6 + 0.5 + 0.9) / 3, m.averageAccuracy(), 1e-15);
        assertEquals(0.9, m.averageAfter(0), 1e-15);
        assertEquals((0.7 + 0.8) / 2, m.averageAfter(1), 1e-15);
        assertEquals(((0.6 - 0.9) + (0.5 - 0.8)) / 2, m.backwardTransfer(), 1e-15);
        assertEquals(((0.9 - 0.6) + (0.8 - 0.5)) / 2, m.forgetting(), 1e-15);
    }

    @Test
    void forgettingUsesTheBestEarlierAccuracyNotTheDiagonal() {
        // task 0 improves after task 1 (positive transfer), then drops: forgetting counts from the peak 0.95
        AccuracyMatrix m = new AccuracyMatrix(new double[][] {
                {0.80, 0.0, 0.0},
                {0.95, 0.9, 0.0},
                {0.85, 0.9, 0.7}});
        assertEquals(((0.95 - 0.85) + 0.0) / 2, m.forgetting(), 1e-15);
        assertEquals(((0.85 - 0.80) + 0.0) / 2, m.backwardTransfer(), 1e-15);
    }

    @Test
    void oneTaskHasNoTransferAndBadShapesAreRefused() {
        AccuracyMatrix one = new AccuracyMatrix(new double[][] {{0.7}});
        assertEquals(0.7, one.averageAccuracy(), 0);
        assertEquals(0, one.backwardTransfer(), 0);
        assertEquals(0, one.forgetting(), 0);
        assertThrows(IllegalArgumentException.class, () -> new AccuracyMatrix(new double[][] {{0.1, 0.2}}));
        assertThrows(IllegalArgumentException.class, () -> new AccuracyMatrix(new double[0][]));
    }
}
