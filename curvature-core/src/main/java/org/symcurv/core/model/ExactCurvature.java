package org.symcurv.core.model;

import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;

/**
 * Exact float64 oracles for the mean loss {@code L(θ) = (1/n) Σ_i ℓ(z_L(x_i; θ), y_i)} of a small dense
 * network {@code z_l = a_{l−1} W_l + b_l}, {@code a_l = φ_l(z_l)}, {@code a_0 = x} (row vectors,
 * {@code W_l} of shape {@code [nIn, nOut]} as DL4J stores it): the loss, the gradient {@code ∇L}, the
 * per-example gradients and empirical Fisher {@code (1/n) Σ_i ∇ℓ_i ∇ℓ_iᵀ}, Hessian-vector products
 * {@code ∇²L v}, the Hessian {@code ∇²L}, and the generalised Gauss-Newton matrix
 * {@code G = (1/n) Σ_i J_iᵀ (∇²_z ℓ_i) J_i} with {@code J_i = ∂z_L(x_i)/∂θ}
 * (symmetry-curvature.md section 5.3; used only by tests and reports). Tiny CNNs (a few hundred parameters) work too:
 * the walk's convolution and pooling layers have plain-loop float64 pieces ({@link ConvolutionWalkLayer},
 * {@link SubsamplingWalkLayer}; max pooling is differentiated with its argmax fixed, exact except on ties).
 *
 * <p>This is an implementation independent of DL4J's: it reads only the architecture (sizes, activations,
 * loss) from the network and does its own forward and backward passes in plain {@code double} arithmetic.
 * Hessian-vector products are exact (Pearlmutter's R-operator: forward-mode differentiation of the
 * backward pass), so {@link #hessian} is exact up to round-off; {@link #hessianByCentralDifferences} is the
 * finite-difference construction the shared fixtures use. Parameter vectors {@code θ} are
 * {@code double[P]} in DL4J {@code params()} order ({@link ParameterLayout}). Regularisation is not part
 * of {@code L}. Immutable and thread-safe.
 */
public final class ExactCurvature {
    /** Step {@code h} of {@link #hessianByCentralDifferences}: balances truncation {@code O(h²)} and round-off {@code O(ε/h)}. */
    public static final double DEFAULT_DIFFERENCE_STEP = 1e-5;
    /** Largest {@code P} for which the dense {@code P × P} matrices are formed (10,000² doubles is 800 MB). */
    public static final int MAX_DENSE_PARAMETERS = 10_000;

    private final NetworkWalk walk;
    private final ParameterLayout layout;
    private final OutputLoss loss;
    private final int outputs;
    private final int parameterCount;

    private ExactCurvature(NetworkWalk walk) {
        this.walk = walk;
        this.layout = walk.layout();
        this.loss = walk.outputLoss();
        this.outputs = Math.toIntExact(walk.outputCount());
        this.parameterCount = Math.toIntExact(layout.parameterCount());
    }

    /**
     * The oracle for {@code net}'s architecture ({@link NetworkWalk}): {@link DenseLayer}s (no layer normalisation, no
     * dropout or weight noise, activation one of {@link ScalarActivation}'s), convolution and pooling layers (same
     * activations) with DL4J's CNN preprocessors, followed by one {@link OutputLayer} whose activation and loss form an
     * {@link OutputLoss}. A {@code DropoutLayer} is refused here (the oracles are compared with DL4J's training-mode
     * gradients, where it is random).
     *
     * @throws UnsupportedLayerException naming the layer index and class of the first layer outside that set
     */
    public static ExactCurvature of(MultiLayerNetwork net) {
        Gradients.requireDeterministic(net);
        NetworkWalk walk = NetworkWalk.of(net);
        walk.requireExact();
        return new ExactCurvature(walk);
    }

    /**
     * A batch of examples in float64: {@code inputs[i]} is {@code x_i} (length {@code nIn} of the first layer)
     * and {@code targets[i]} is {@code y_i} (length {@code nOut} of the last layer; one-hot or soft labels for
     * cross-entropy). The arrays are copied on construction and on access.
     */
    public record Batch(double[][] inputs, double[][] targets) {
        public Batch {
            if (inputs.length != targets.length) {
                throw new IllegalArgumentException("batch has " + inputs.length + " inputs but " + targets.length + " targets");
            }
            if (inputs.length == 0) {
                throw new IllegalArgumentException("batch has no examples: the mean loss is undefined");
            }
            inputs = copy(inputs);
            targets = copy(targets);
        }

        /** The features {@code [n, nIn]} and labels {@code [n, nOut]} of a DL4J data set, as float64. */
        public static Batch of(DataSet data) {
            return new Batch(data.getFeatures().castTo(DataType.DOUBLE).toDoubleMatrix(), data.getLabels().castTo(DataType.DOUBLE).toDoubleMatrix());
        }

        @Override
        public double[][] inputs() {
            return copy(inputs);
        }

        @Override
        public double[][] targets() {
            return copy(targets);
        }

        /** Number of examples {@code n}. */
        public int size() {
            return inputs.length;
        }

        private static double[][] copy(double[][] m) {
            double[][] c = new double[m.length][];
            for (int i = 0; i < m.length; i++) {
                c[i] = m[i].clone();
            }
            return c;
        }
    }

    /** The parameter layout the oracle reads {@code θ} in. */
    public ParameterLayout layout() {
        return layout;
    }

    /** {@code P}. */
    public int parameterCount() {
        return parameterCount;
    }

    /** The output loss. */
    public OutputLoss outputLoss() {
        return loss;
    }

    /** The network's current parameters {@code θ} as float64, in {@code params()} order. */
    public double[] parameters(MultiLayerNetwork net) {
        INDArray theta = layout.read(net);
        return theta.castTo(DataType.DOUBLE).toDoubleVector();
    }

    // ---------------------------------------------------------------- loss and gradients

    /** {@code L(θ) = (1/n) Σ_i ℓ_i(θ)}. */
    public double meanLoss(double[] theta, Batch batch) {
        requireTheta(theta, "theta");
        double[][] x = batch.inputs;
        double[][] y = batch.targets;
        double sum = 0;
        for (int i = 0; i < x.length; i++) {
            WalkLayer.ExactPass[] pass = forward(theta, x[i]);
            sum += loss.value(outputOf(pass), target(y[i]));
        }
        return sum / x.length;
    }

    /** {@code ∇L(θ)}, length {@code P}. */
    public double[] meanGradient(double[] theta, Batch batch) {
        requireTheta(theta, "theta");
        double[] g = new double[parameterCount];
        double weight = 1.0 / batch.size();
        for (int i = 0; i < batch.size(); i++) {
            WalkLayer.ExactPass[] pass = forward(theta, batch.inputs[i]);
            backward(theta, pass, loss.gradient(outputOf(pass), target(batch.targets[i])), g, weight);
        }
        return g;
    }

    /** {@code G[i] = ∇ℓ_i(θ)}, {@code [n][P]}. */
    public double[][] perExampleGradients(double[] theta, Batch batch) {
        requireTheta(theta, "theta");
        double[][] out = new double[batch.size()][parameterCount];
        for (int i = 0; i < batch.size(); i++) {
            WalkLayer.ExactPass[] pass = forward(theta, batch.inputs[i]);
            backward(theta, pass, loss.gradient(outputOf(pass), target(batch.targets[i])), out[i], 1.0);
        }
        return out;
    }

    /** The empirical Fisher {@code F = (1/n) Σ_i ∇ℓ_i ∇ℓ_iᵀ} (at the given targets), {@code [P][P]}. */
    public double[][] empiricalFisher(double[] theta, Batch batch) {
        requireDense();
        double[][] g = perExampleGradients(theta, batch);
        double[][] f = new double[parameterCount][parameterCount];
        for (double[] gi : g) {
            for (int p = 0; p < parameterCount; p++) {
                double s = gi[p] / g.length;
                if (s == 0) {
                    continue;
                }
                for (int q = p; q < parameterCount; q++) {
                    f[p][q] += s * gi[q];
                }
            }
        }
        return mirrorUpper(f);
    }

    // ---------------------------------------------------------------- Hessian

    /**
     * The exact Hessian-vector product {@code ∇²L(θ) v} by the R-operator (one forward and one backward pass
     * of directional derivatives per example).
     *
     * @param v a direction of length {@code P}; not modified
     */
    public double[] hessianVectorProduct(double[] theta, Batch batch, double[] v) {
        requireTheta(theta, "theta");
        requireTheta(v, "v");
        double[] out = new double[parameterCount];
        double weight = 1.0 / batch.size();
        for (int i = 0; i < batch.size(); i++) {
            rOperator(theta, v, batch.inputs[i], target(batch.targets[i]), out, weight);
        }
        return out;
    }

    /** The exact Hessian {@code ∇²L(θ)}: columns {@code ∇²L e_k} by the R-operator, then {@code (H + Hᵀ)/2}. */
    public double[][] hessian(double[] theta, Batch batch) {
        requireDense();
        double[][] columns = new double[parameterCount][];
        double[] e = new double[parameterCount];
        for (int k = 0; k < parameterCount; k++) {
            e[k] = 1;
            columns[k] = hessianVectorProduct(theta, batch, e);
            e[k] = 0;
        }
        return symmetrise(columns);
    }

    /**
     * The Hessian by central differences of exact gradients, {@code H[:, k] = (∇L(θ + h e_k) − ∇L(θ − h e_k)) / 2h},
     * then {@code (H + Hᵀ)/2}: the construction of the shared fixtures; error {@code O(h²)} plus round-off.
     *
     * @param step {@code h > 0}, e.g. {@link #DEFAULT_DIFFERENCE_STEP}
     */
    public double[][] hessianByCentralDifferences(double[] theta, Batch batch, double step) {
        requireDense();
        requireTheta(theta, "theta");
        if (!(step > 0) || !Double.isFinite(step)) {
            throw new IllegalArgumentException("the difference step must be positive and finite, got " + step);
        }
        double[][] columns = new double[parameterCount][];
        double[] shifted = theta.clone();
        for (int k = 0; k < parameterCount; k++) {
            shifted[k] = theta[k] + step;
            double[] plus = meanGradient(shifted, batch);
            shifted[k] = theta[k] - step;
            double[] minus = meanGradient(shifted, batch);
            shifted[k] = theta[k];
            double[] column = new double[parameterCount];
            for (int p = 0; p < parameterCount; p++) {
                column[p] = (plus[p] - minus[p]) / (2 * step);
            }
            columns[k] = column;
        }
        return symmetrise(columns);
    }

    // ---------------------------------------------------------------- GGN

    /** {@code G v = (1/n) Σ_i J_iᵀ (∇²_z ℓ_i)(J_i v)}: a forward directional derivative, the loss Hessian, a backward pass. */
    public double[] ggnVectorProduct(double[] theta, Batch batch, double[] v) {
        requireTheta(theta, "theta");
        requireTheta(v, "v");
        double[] out = new double[parameterCount];
        double weight = 1.0 / batch.size();
        for (int i = 0; i < batch.size(); i++) {
            WalkLayer.ExactPass[] pass = forward(theta, batch.inputs[i]);
            double[] jv = outputDirectionalDerivative(theta, v, pass);
            double[][] h = loss.hessian(outputOf(pass), target(batch.targets[i]));
            double[] u = new double[jv.length];
            for (int k = 0; k < u.length; k++) {
                for (int m = 0; m < u.length; m++) {
                    u[k] += h[k][m] * jv[m];
                }
            }
            backward(theta, pass, u, out, weight);
        }
        return out;
    }

    /** The GGN {@code G = (1/n) Σ_i J_iᵀ (∇²_z ℓ_i) J_i}, {@code [P][P]}, from explicit Jacobians {@code J_i} ({@code o × P}). */
    public double[][] ggn(double[] theta, Batch batch) {
        requireDense();
        requireTheta(theta, "theta");
        int o = outputs;
        double[][] g = new double[parameterCount][parameterCount];
        for (int i = 0; i < batch.size(); i++) {
            WalkLayer.ExactPass[] pass = forward(theta, batch.inputs[i]);
            double[][] jacobian = new double[o][parameterCount];
            double[] unit = new double[o];
            for (int k = 0; k < o; k++) {
                unit[k] = 1;
                backward(theta, pass, unit, jacobian[k], 1.0);
                unit[k] = 0;
            }
            double[][] h = loss.hessian(outputOf(pass), target(batch.targets[i]));
            double[][] hj = new double[o][parameterCount];
            for (int k = 0; k < o; k++) {
                for (int m = 0; m < o; m++) {
                    if (h[k][m] != 0) {
                        for (int q = 0; q < parameterCount; q++) {
                            hj[k][q] += h[k][m] * jacobian[m][q];
                        }
                    }
                }
            }
            double weight = 1.0 / batch.size();
            for (int k = 0; k < o; k++) {
                for (int p = 0; p < parameterCount; p++) {
                    double s = weight * jacobian[k][p];
                    if (s == 0) {
                        continue;
                    }
                    for (int q = p; q < parameterCount; q++) {
                        g[p][q] += s * hj[k][q];
                    }
                }
            }
        }
        return mirrorUpper(g);
    }

    // ---------------------------------------------------------------- passes (the network walk's exact pieces)

    private WalkLayer.ExactPass[] forward(double[] theta, double[] x) {
        return walk.exactForward(theta, x);
    }

    private static double[] outputOf(WalkLayer.ExactPass[] pass) {
        return pass[pass.length - 1].output();
    }

    /**
     * Backpropagates {@code delta = ∂(·)/∂z_L} through the network and adds {@code weight ·} the resulting
     * parameter gradient to {@code out}.
     */
    private void backward(double[] theta, WalkLayer.ExactPass[] pass, double[] deltaOut, double[] out, double weight) {
        walk.exactBackward(theta, pass, deltaOut, out, weight);
    }

    /** {@code J v = R(z_L)}: the forward directional derivative of the output pre-activation along {@code v}. */
    private double[] outputDirectionalDerivative(double[] theta, double[] v, WalkLayer.ExactPass[] pass) {
        WalkLayer.ExactTangent[] t = walk.exactTangents(theta, v, pass);
        return t[t.length - 1].output();
    }

    /**
     * Adds {@code weight · R(∇ℓ)} (the directional derivative of one example's gradient along {@code v}, i.e.
     * {@code ∇²ℓ v}) to {@code out}: the walk's forward directional derivatives {@code R(a_l)}, then
     * {@code R(δ_L) = ∇²_z ℓ R(z_L)} at the output, then the walk's differentiated backward pass (Pearlmutter's
     * R-operator; the per-layer formulas are in {@link DenseWalkLayer}).
     */
    private void rOperator(double[] theta, double[] v, double[] x, double[] y, double[] out, double weight) {
        WalkLayer.ExactPass[] pass = forward(theta, x);
        WalkLayer.ExactTangent[] tangents = walk.exactTangents(theta, v, pass);
        double[] zOut = outputOf(pass);
        double[] rzOut = tangents[tangents.length - 1].output();
        double[] delta = loss.gradient(zOut, y);
        double[][] h = loss.hessian(zOut, y);
        double[] rDelta = new double[delta.length];
        for (int k = 0; k < delta.length; k++) {
            for (int m = 0; m < delta.length; m++) {
                rDelta[k] += h[k][m] * rzOut[m];
            }
        }
        walk.exactTangentBackward(theta, v, pass, tangents, delta, rDelta, out, weight);
    }

    // ---------------------------------------------------------------- checks and helpers

    private double[] target(double[] y) {
        int o = outputs;
        if (y.length != o) {
            throw new IllegalArgumentException("a target has length " + y.length + " but the output layer has nOut " + o);
        }
        return y;
    }

    private void requireTheta(double[] v, String what) {
        if (v.length != parameterCount) {
            throw new IllegalArgumentException(what + " has length " + v.length + " but the network has " + parameterCount + " parameters");
        }
    }

    private void requireDense() {
        if (parameterCount > MAX_DENSE_PARAMETERS) {
            throw new IllegalArgumentException("a dense " + parameterCount + " × " + parameterCount + " matrix is too large for this oracle (limit "
                    + MAX_DENSE_PARAMETERS + " parameters); use the vector products instead");
        }
    }

    /** {@code (C + Cᵀ)/2} where {@code columns[k]} is column {@code k} of {@code C}. */
    private static double[][] symmetrise(double[][] columns) {
        int n = columns.length;
        double[][] s = new double[n][n];
        for (int p = 0; p < n; p++) {
            for (int q = 0; q < n; q++) {
                s[p][q] = 0.5 * (columns[q][p] + columns[p][q]);
            }
        }
        return s;
    }

    private static double[][] mirrorUpper(double[][] m) {
        for (int p = 0; p < m.length; p++) {
            for (int q = 0; q < p; q++) {
                m[p][q] = m[q][p];
            }
        }
        return m;
    }

    @Override
    public String toString() {
        return "ExactCurvature[" + walk.architecture() + ", " + parameterCount + " parameters]";
    }
}
