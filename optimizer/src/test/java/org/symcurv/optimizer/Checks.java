package org.symcurv.optimizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** Shared helpers of the optimizer tests: seeded Gaussian vectors and relative / bitwise comparisons. */
final class Checks {
    /** float64 results of the same formula computed by different routes (summation order, eigen round-off). */
    static final double FLOAT64 = 1e-9;

    private Checks() {
    }

    static INDArray gaussian(long n, Random rng) {
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return Nd4j.createFromArray(v);
    }

    static double relativeError(INDArray expected, INDArray actual) {
        INDArray e = expected.castTo(DataType.DOUBLE).dup('c').reshape(expected.length());
        INDArray a = actual.castTo(DataType.DOUBLE).dup('c').reshape(actual.length());
        return e.sub(a).norm2Number().doubleValue() / Math.max(e.norm2Number().doubleValue(), 1e-300);
    }

    static void assertClose(INDArray expected, INDArray actual, double tolerance, String what) {
        assertEquals(expected.length(), actual.length(), what + ": length");
        double error = relativeError(expected, actual);
        assertTrue(error <= tolerance, what + ": relative error " + error + " > " + tolerance);
    }

    static void assertBitwiseEqual(INDArray expected, INDArray actual, String what) {
        assertEquals(expected.dataType(), actual.dataType(), what + ": data type");
        if (expected.dataType() == DataType.FLOAT) {
            assertArrayEquals(expected.dup('c').data().asFloat(), actual.dup('c').data().asFloat(), 0f, what);
        } else {
            assertArrayEquals(expected.dup('c').data().asDouble(), actual.dup('c').data().asDouble(), 0.0, what);
        }
    }
}
