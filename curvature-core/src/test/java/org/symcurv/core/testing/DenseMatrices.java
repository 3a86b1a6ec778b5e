package org.symcurv.core.testing;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Plain float64 matrices ({@code double[rows][columns]}, row-major) for oracles and assertions: conversion
 * to and from ND4J, the relative Frobenius error {@code ‖A − E‖_F / ‖E‖_F}, symmetry checks and the few
 * products a test needs. Nothing here modifies its arguments.
 */
public final class DenseMatrices {
    private DenseMatrices() {
    }

    /** The entries of a matrix-shaped INDArray {@code [rows, columns]} (any data type) as float64. */
    public static double[][] toMatrix(INDArray a) {
        if (a.rank() != 2) {
            throw new IllegalArgumentException("expected a matrix [rows, columns], got shape " + java.util.Arrays.toString(a.shape()));
        }
        return a.castTo(DataType.DOUBLE).toDoubleMatrix();
    }

    /** The entries of a vector-shaped INDArray ({@code [n]}, {@code [1, n]} or {@code [n, 1]}) as float64. */
    public static double[] toVector(INDArray a) {
        if (!(a.rank() == 1 || (a.rank() == 2 && (a.rows() == 1 || a.columns() == 1)))) {
            throw new IllegalArgumentException("expected a vector, got shape " + java.util.Arrays.toString(a.shape()));
        }
        return a.castTo(DataType.DOUBLE).reshape(a.length()).toDoubleVector();
    }

    /** A float64 INDArray {@code [rows, columns]} holding a copy of {@code m}. */
    public static INDArray toArray(double[][] m) {
        return Nd4j.create(m).castTo(DataType.DOUBLE);
    }

    /** A float64 row vector {@code [1, n]} holding a copy of {@code v}. */
    public static INDArray toRow(double[] v) {
        return Nd4j.create(new double[][] {v}).castTo(DataType.DOUBLE);
    }

    /** Frobenius norm {@code sqrt(Σ m_ij²)}. */
    public static double frobeniusNorm(double[][] m) {
        double s = 0;
        for (double[] row : m) {
            for (double x : row) {
                s += x * x;
            }
        }
        return Math.sqrt(s);
    }

    /** Euclidean norm {@code sqrt(Σ v_i²)}. */
    public static double norm(double[] v) {
        double s = 0;
        for (double x : v) {
            s += x * x;
        }
        return Math.sqrt(s);
    }

    /**
     * Relative Frobenius error {@code ‖actual − expected‖_F / ‖expected‖_F}; when {@code expected} is zero it
     * is the absolute error {@code ‖actual‖_F}.
     *
     * @throws IllegalArgumentException naming both shapes if they differ
     */
    public static double relativeError(double[][] actual, double[][] expected) {
        requireSameShape(actual, expected);
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                double d = actual[i][j] - expected[i][j];
                diff += d * d;
            }
        }
        double scale = frobeniusNorm(expected);
        return scale == 0 ? Math.sqrt(diff) : Math.sqrt(diff) / scale;
    }

    /** Relative Euclidean error {@code ‖actual − expected‖ / ‖expected‖} (absolute when {@code expected = 0}). */
    public static double relativeError(double[] actual, double[] expected) {
        if (actual.length != expected.length) {
            throw new IllegalArgumentException("vector lengths differ: actual " + actual.length + ", expected " + expected.length);
        }
        double diff = 0;
        for (int i = 0; i < expected.length; i++) {
            double d = actual[i] - expected[i];
            diff += d * d;
        }
        double scale = norm(expected);
        return scale == 0 ? Math.sqrt(diff) : Math.sqrt(diff) / scale;
    }

    /** Largest entry of {@code |m − mᵀ|}. */
    public static double maxAsymmetry(double[][] m) {
        requireSquare(m);
        double worst = 0;
        for (int i = 0; i < m.length; i++) {
            for (int j = 0; j < i; j++) {
                worst = Math.max(worst, Math.abs(m[i][j] - m[j][i]));
            }
        }
        return worst;
    }

    /** {@code m v}. */
    public static double[] multiply(double[][] m, double[] v) {
        double[] out = new double[m.length];
        for (int i = 0; i < m.length; i++) {
            if (m[i].length != v.length) {
                throw new IllegalArgumentException("row " + i + " has " + m[i].length + " columns but the vector has length " + v.length);
            }
            double s = 0;
            for (int j = 0; j < v.length; j++) {
                s += m[i][j] * v[j];
            }
            out[i] = s;
        }
        return out;
    }

    /** {@code mᵀ}. */
    public static double[][] transpose(double[][] m) {
        int rows = m.length;
        int columns = rows == 0 ? 0 : m[0].length;
        double[][] t = new double[columns][rows];
        for (int i = 0; i < rows; i++) {
            for (int j = 0; j < columns; j++) {
                t[j][i] = m[i][j];
            }
        }
        return t;
    }

    /** Asserts {@code relativeError(actual, expected) ≤ tolerance}, naming the quantity and the error. */
    public static void assertClose(double[][] expected, double[][] actual, double tolerance, String what) {
        double error = relativeError(actual, expected);
        if (!(error <= tolerance)) {
            fail(what + ": relative Frobenius error " + error + " exceeds tolerance " + tolerance
                    + " (‖expected‖ = " + frobeniusNorm(expected) + ", ‖actual‖ = " + frobeniusNorm(actual) + ")");
        }
    }

    /** Asserts {@code relativeError(actual, expected) ≤ tolerance}, naming the quantity and the error. */
    public static void assertClose(double[] expected, double[] actual, double tolerance, String what) {
        double error = relativeError(actual, expected);
        if (!(error <= tolerance)) {
            fail(what + ": relative error " + error + " exceeds tolerance " + tolerance
                    + " (‖expected‖ = " + norm(expected) + ", ‖actual‖ = " + norm(actual) + ")");
        }
    }

    /** Asserts {@code |actual − expected| ≤ tolerance · max(|expected|, 1e-300)}. */
    public static void assertClose(double expected, double actual, double tolerance, String what) {
        double error = Math.abs(actual - expected) / Math.max(Math.abs(expected), 1e-300);
        assertEquals(expected, actual, tolerance * Math.max(Math.abs(expected), 1e-300),
                what + ": relative error " + error + " exceeds tolerance " + tolerance);
    }

    private static void requireSquare(double[][] m) {
        for (int i = 0; i < m.length; i++) {
            if (m[i].length != m.length) {
                throw new IllegalArgumentException("expected a square matrix: " + m.length + " rows but row " + i + " has " + m[i].length + " columns");
            }
        }
    }

    private static void requireSameShape(double[][] a, double[][] b) {
        boolean same = a.length == b.length;
        for (int i = 0; same && i < a.length; i++) {
            same = a[i].length == b[i].length;
        }
        if (!same) {
            throw new IllegalArgumentException("matrix shapes differ: actual " + shape(a) + ", expected " + shape(b));
        }
    }

    private static String shape(double[][] m) {
        return "[" + m.length + ", " + (m.length == 0 ? 0 : m[0].length) + "]";
    }
}
