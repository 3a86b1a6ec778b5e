package org.symcurv.core;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/** The one-reduction finite check agrees with the entry-by-entry definition, including sums that overflow. */
class FiniteTest {
    @Test
    void nanAndInfinitiesAnywhereAreFound() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            assertTrue(Finite.all(Nd4j.create(new double[] {1, -2, 3.5}).castTo(type)));
            assertFalse(Finite.all(Nd4j.create(new double[] {1, Double.NaN, 3}).castTo(type)));
            assertFalse(Finite.all(Nd4j.create(new double[] {1, 2, Double.POSITIVE_INFINITY}).castTo(type)));
            assertFalse(Finite.all(Nd4j.create(new double[] {Double.NEGATIVE_INFINITY, 2, 3}).castTo(type)));
            assertFalse(Finite.all(Nd4j.create(new double[] {Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY}).castTo(type)),
                    "+∞ and −∞ sum to NaN, still not finite");
            assertTrue(Finite.all(Nd4j.create(type, 0)), "an empty array has no entry that is not finite");
        }
    }

    @Test
    void finiteEntriesWhoseSumOverflowsAreFinite() {
        assertTrue(Finite.all(Nd4j.create(new float[] {3e38f, 3e38f, 3e38f})), "the float32 sum overflows, the entries do not");
        assertTrue(Finite.all(Nd4j.create(new double[] {1.7e308, 1.7e308})));
        assertFalse(Finite.all(Nd4j.create(new float[] {3e38f, 3e38f, Float.NaN})));
    }
}
