package org.symcurv.core.testing;

import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A reproducible source of test data: standard normal and uniform draws from {@link java.util.Random}, whose
 * algorithm is fixed by its specification, so the same seed gives the same numbers on every JDK and every
 * ND4J backend (ND4J's own RNG differs between CPU and CUDA). Not thread-safe; one per test.
 */
public final class SeededRandom {
    private final Random random;

    /** @param seed the seed; tests name it so a failure can be replayed */
    public SeededRandom(long seed) {
        this.random = new Random(seed);
    }

    /** One draw from {@code N(0, 1)}. */
    public double gaussian() {
        return random.nextGaussian();
    }

    /** One draw from the uniform distribution on {@code [0, 1)}. */
    public double uniform() {
        return random.nextDouble();
    }

    /** A uniform integer in {@code [0, bound)}. */
    public int nextInt(int bound) {
        return random.nextInt(bound);
    }

    /** A vector of {@code n} independent {@code N(0, scale²)} draws. */
    public double[] gaussianVector(int n, double scale) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = scale * random.nextGaussian();
        }
        return v;
    }

    /** A {@code rows × columns} matrix of independent {@code N(0, scale²)} draws, filled row by row. */
    public double[][] gaussianMatrix(int rows, int columns, double scale) {
        double[][] m = new double[rows][];
        for (int r = 0; r < rows; r++) {
            m[r] = gaussianVector(columns, scale);
        }
        return m;
    }

    /** A symmetric {@code n × n} matrix {@code (G + Gᵀ)/2} with {@code G} Gaussian. */
    public double[][] symmetricGaussianMatrix(int n, double scale) {
        double[][] g = gaussianMatrix(n, n, scale);
        double[][] s = new double[n][n];
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < n; j++) {
                s[i][j] = 0.5 * (g[i][j] + g[j][i]);
            }
        }
        return s;
    }

    /** A float64 {@code [rows, columns]} INDArray of {@code N(0, scale²)} draws. */
    public INDArray gaussianArray(int rows, int columns, double scale) {
        return Nd4j.create(gaussianMatrix(rows, columns, scale));
    }

    /** A float64 row vector {@code [1, n]} of {@code N(0, scale²)} draws (the shape of DL4J's {@code params()}). */
    public INDArray gaussianRow(int n, double scale) {
        return Nd4j.create(new double[][] {gaussianVector(n, scale)});
    }
}
