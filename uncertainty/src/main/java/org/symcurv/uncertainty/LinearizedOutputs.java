package org.symcurv.uncertainty;

import java.util.Random;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The linearised network's outputs {@code f(x) ~ N(μ(x), V(x))} for a set of inputs: {@code μ = z_L(x; θ*)} and
 * {@code V = J Σ Jᵀ} ({@code V = 0} for the MAP).
 *
 * @param mean       {@code μ}, {@code [n][C]}
 * @param covariance {@code V}, {@code [n][C][C]}
 */
public record LinearizedOutputs(double[][] mean, double[][][] covariance) {
    /** From ND4J arrays {@code [n, C]} and {@code [n, C, C]}. */
    public static LinearizedOutputs of(INDArray mean, INDArray covariance) {
        double[][] mu = mean.castTo(DataType.DOUBLE).toDoubleMatrix();
        int n = mu.length;
        int c = n == 0 ? 0 : mu[0].length;
        double[] flat = covariance.castTo(DataType.DOUBLE).dup('c').reshape(covariance.length()).toDoubleVector();
        double[][][] v = new double[n][c][c];
        for (int e = 0; e < n; e++) {
            for (int i = 0; i < c; i++) {
                System.arraycopy(flat, (e * c + i) * c, v[e][i], 0, c);
            }
        }
        return new LinearizedOutputs(mu, v);
    }

    public int size() {
        return mean.length;
    }

    /**
     * Class probabilities under {@code link}.
     *
     * @param samples draws per example for {@link GlmLink#MONTE_CARLO}
     * @param seed    seeds those draws (one generator for the whole set, examples in order)
     * @return {@code [n][C]}
     */
    public double[][] probabilities(GlmLink link, int samples, long seed) {
        Random random = new Random(seed);
        double[][] p = new double[mean.length][];
        for (int e = 0; e < mean.length; e++) {
            p[e] = link.probabilities(mean[e], covariance[e], samples, random);
        }
        return p;
    }

    /** The softmax of the mean, {@code softmax(μ)} (the MAP's probabilities). */
    public double[][] mapProbabilities() {
        double[][] p = new double[mean.length][];
        for (int e = 0; e < mean.length; e++) {
            p[e] = GlmLink.softmax(mean[e]);
        }
        return p;
    }

    /** The variances {@code V_cc}, {@code [n][C]}. */
    public double[][] variances() {
        double[][] out = new double[covariance.length][];
        for (int e = 0; e < covariance.length; e++) {
            out[e] = new double[covariance[e].length];
            for (int k = 0; k < out[e].length; k++) {
                out[e][k] = covariance[e][k][k];
            }
        }
        return out;
    }
}
