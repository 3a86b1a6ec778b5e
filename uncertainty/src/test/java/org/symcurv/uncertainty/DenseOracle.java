package org.symcurv.uncertainty;

import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Float64 oracles that do not use this module's Jacobian code: output pre-activations read from DL4J's own forward pass
 * ({@code feedForward} gives the last hidden activation; {@code z_L = a W + b} with the network's parameters) and their
 * Jacobian by central differences of those.
 */
final class DenseOracle {
    /** Central-difference step for float64 networks. */
    static final double STEP = 1e-6;

    private DenseOracle() {
    }

    /** {@code z_L(x)} for every row of {@code x}, {@code [n][C]}, from DL4J's forward pass. */
    static double[][] logits(MultiLayerNetwork net, INDArray x) {
        List<INDArray> activations = net.feedForward(x.castTo(DataType.DOUBLE), false);
        int last = net.getnLayers() - 1;
        INDArray hidden = activations.get(last); // input of the output layer
        INDArray w = net.getLayer(last).getParam("W");
        INDArray b = net.getLayer(last).getParam("b");
        return hidden.mmul(w).addiRowVector(b.reshape(1, b.length())).toDoubleMatrix();
    }

    /**
     * {@code ∂z_L(x_e)/∂θ} on the leaves of {@code spec}, {@code [n][C][P]}, by central differences (the network is
     * restored afterwards).
     */
    static double[][][] jacobian(MultiLayerNetwork net, SymmetrySpec spec, INDArray x) {
        LeafSubset subset = LeafSubset.of(spec, ParameterLayout.of(net));
        INDArray theta = net.params().dup();
        INDArray thetaSub = subset.extract(theta);
        int p = (int) spec.parameterCount();
        int n = (int) x.size(0);
        double[][][] j = null;
        try {
            for (int q = 0; q < p; q++) {
                double[][][] side = new double[2][][];
                for (int sign = 0; sign < 2; sign++) {
                    INDArray moved = thetaSub.dup();
                    moved.putScalar(q, moved.getDouble(q) + (sign == 0 ? STEP : -STEP));
                    INDArray full = theta.dup();
                    subset.insert(moved, full);
                    net.setParams(full);
                    side[sign] = logits(net, x);
                }
                if (j == null) {
                    j = new double[n][side[0][0].length][p];
                }
                for (int e = 0; e < n; e++) {
                    for (int c = 0; c < side[0][e].length; c++) {
                        j[e][c][q] = (side[0][e][c] - side[1][e][c]) / (2 * STEP);
                    }
                }
            }
        } finally {
            net.setParams(theta);
        }
        return j;
    }

    /** {@code J Σ Jᵀ} per example. */
    static double[][][] sandwich(double[][][] j, double[][] sigma) {
        double[][][] out = new double[j.length][][];
        for (int e = 0; e < j.length; e++) {
            int c = j[e].length;
            int p = sigma.length;
            double[][] sj = new double[c][p];
            for (int a = 0; a < c; a++) {
                for (int r = 0; r < p; r++) {
                    double s = 0;
                    for (int q = 0; q < p; q++) {
                        s += sigma[r][q] * j[e][a][q];
                    }
                    sj[a][r] = s;
                }
            }
            out[e] = new double[c][c];
            for (int a = 0; a < c; a++) {
                for (int b = 0; b < c; b++) {
                    double s = 0;
                    for (int r = 0; r < p; r++) {
                        s += j[e][a][r] * sj[b][r];
                    }
                    out[e][a][b] = s;
                }
            }
        }
        return out;
    }

    /** {@code [n][C][C]} from an INDArray {@code [n, C, C]}. */
    static double[][][] toCube(INDArray a) {
        double[][][] out = new double[(int) a.size(0)][][];
        for (int e = 0; e < out.length; e++) {
            out[e] = a.slice(e).castTo(DataType.DOUBLE).toDoubleMatrix();
        }
        return out;
    }

    /** Relative Frobenius error over all entries. */
    static double relativeError(double[][][] actual, double[][][] expected) {
        double num = 0;
        double den = 0;
        for (int e = 0; e < expected.length; e++) {
            for (int a = 0; a < expected[e].length; a++) {
                for (int b = 0; b < expected[e][a].length; b++) {
                    double d = actual[e][a][b] - expected[e][a][b];
                    num += d * d;
                    den += expected[e][a][b] * expected[e][a][b];
                }
            }
        }
        return Math.sqrt(num / den);
    }

}
