package org.symcurv.optimizer;

import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Checks and small operations on flat parameter vectors {@code [P]}. */
final class Vectors {
    private Vectors() {
    }

    /** {@code v} as a rank-1 array of length {@code p}; a view when it already is one. */
    static INDArray flat(INDArray v, long p, String what) {
        if (v == null) {
            throw new IllegalArgumentException(what + " is null; pass a vector of " + p + " entries");
        }
        boolean vector = v.rank() == 1 || (v.rank() == 2 && (v.rows() == 1 || v.columns() == 1));
        if (!vector || v.length() != p) {
            throw new IllegalArgumentException(what + " must be a vector of " + p + " entries (the parameter count), got shape "
                    + Arrays.toString(v.shape()));
        }
        return v.rank() == 1 ? v : v.reshape(p);
    }

    /** Whether every entry is finite. */
    static boolean isFinite(INDArray v) {
        return org.symcurv.core.Finite.all(v);
    }

    static void requireProbability(double beta, String name) {
        if (!(beta >= 0 && beta < 1)) {
            throw new IllegalArgumentException(name + " must be in [0, 1), got " + beta);
        }
    }

    static void requirePositive(double x, String name) {
        if (!(x > 0) || Double.isInfinite(x)) {
            throw new IllegalArgumentException(name + " must be a positive finite number, got " + x);
        }
    }

    static void requireNonNegative(double x, String name) {
        if (!(x >= 0) || Double.isInfinite(x)) {
            throw new IllegalArgumentException(name + " must be a finite number ≥ 0, got " + x);
        }
    }
}
