package org.symcurv.uncertainty;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.model.OutputLoss;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.model.OutputJacobian;
import org.symcurv.core.model.JacobianFactors;

/**
 * Predictions of a trained dense network under a {@link LaplacePosterior} {@code N(θ*, Σ)}, or under none (the MAP, the
 * same code path with {@code Σ = 0}):
 * <ul>
 *   <li>{@link #linearize}: the linearised network {@code f(x; θ) ≈ z_L(x; θ*) + J(x)(θ − θ*)}, whose outputs are
 *       {@code N(z_L(x; θ*), J Σ Jᵀ)} ({@link LinearizedCovariance}); a {@link GlmLink} turns them into class
 *       probabilities (the GLM predictive, Immer et al. 2021);</li>
 *   <li>{@link #sampledNetworks}: {@code (1/S) Σ_s softmax(z_L(x; θ_s))}, {@code θ_s ~ N(θ*, Σ)} (the "nn" predictive,
 *       Monte Carlo over sampled networks);</li>
 *   <li>{@link #regression}: for an identity/MSE output, the mean {@code z_L(x; θ*)} and variance
 *       {@code diag(J Σ Jᵀ) + σ²}, with {@code σ² = o/2} the noise variance that DL4J's MSE (the squared error averaged
 *       over the {@code o} outputs) implies as a Gaussian negative log likelihood.</li>
 * </ul>
 * The network is never modified (sampled networks are evaluated on a clone).
 */
public final class LaplacePredictive {
    /** Examples per Jacobian batch on the factored routes. */
    public static final int DEFAULT_BATCH = 256;
    /** Bound on {@code n · C · P} for batches on the route that forms Jacobian rows. */
    static final long MATERIALISED_ROW_BUDGET = 1L << 23;

    private final MultiLayerNetwork net;
    private final OutputJacobian jacobian;
    private final LaplacePosterior posterior;
    private final LeafSubset subset;
    private final int lowestLayer;
    private final int batchSize;

    private LaplacePredictive(MultiLayerNetwork net, LaplacePosterior posterior, int batchSize) {
        this.net = Objects.requireNonNull(net, "net");
        this.jacobian = OutputJacobian.of(net);
        this.posterior = posterior;
        this.subset = posterior == null ? null : LeafSubset.of(posterior.spec(), ParameterLayout.of(net));
        int lowest = jacobian.layerCount() - 1;
        if (posterior != null) {
            for (LeafSpec leaf : posterior.spec().leaves()) {
                lowest = Math.min(lowest, JacobianFactors.Leaf.parse(leaf).layer());
            }
        }
        this.lowestLayer = lowest;
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1, got " + batchSize);
        }
        int batch = batchSize;
        if (posterior != null && !LinearizedCovariance.isParameterDiagonal(posterior.fisher())
                && posterior.fisher().decomposition().kinds().stream().anyMatch(k -> k.familySize() > 1)) {
            long perExample = (long) jacobian.outputCount() * posterior.parameterCount();
            batch = (int) Math.max(1, Math.min(batchSize, MATERIALISED_ROW_BUDGET / perExample));
        }
        this.batchSize = batch;
    }

    /** The MAP: {@code Σ = 0}. */
    public static LaplacePredictive map(MultiLayerNetwork net) {
        return new LaplacePredictive(net, null, DEFAULT_BATCH);
    }

    /**
     * Predictions under {@code posterior}, whose mean must be the network's current weights on its leaves.
     *
     * @throws IllegalArgumentException if the posterior's leaves are not the network's
     */
    public static LaplacePredictive of(MultiLayerNetwork net, LaplacePosterior posterior) {
        return new LaplacePredictive(net, Objects.requireNonNull(posterior, "posterior"), DEFAULT_BATCH);
    }

    /** The same predictive with another batch size (memory only; results do not depend on it). */
    public LaplacePredictive withBatchSize(int examples) {
        return new LaplacePredictive(net, posterior, examples);
    }

    /** The posterior, or {@code null} for the MAP. */
    public LaplacePosterior posterior() {
        return posterior;
    }

    /** The network (not a copy). */
    public MultiLayerNetwork network() {
        return net;
    }

    public OutputJacobian jacobian() {
        return jacobian;
    }

    /**
     * Jacobian factors of {@code features} in batches, for repeated {@link #linearize(List)} calls (e.g. a prior grid).
     *
     * @param features {@code [n, nIn]}; not modified
     */
    public List<JacobianFactors> jacobianFactors(INDArray features) {
        List<JacobianFactors> out = new ArrayList<>();
        long n = features.size(0);
        for (long start = 0; start < n; start += batchSize) {
            long end = Math.min(n, start + batchSize);
            out.add(jacobian.compute(features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), lowestLayer));
        }
        return out;
    }

    /** {@code N(z_L(x; θ*), J Σ Jᵀ)} for every row of {@code features} ({@code [n, nIn]}). */
    public LinearizedOutputs linearize(INDArray features) {
        if (posterior == null) {
            INDArray mu = jacobian.outputs(features);
            return LinearizedOutputs.of(mu, Nd4j.zeros(DataType.DOUBLE, mu.size(0), mu.size(1), mu.size(1)));
        }
        return linearize(jacobianFactors(features));
    }

    /** As {@link #linearize(INDArray)}, from precomputed factors (which must cover this posterior's layers). */
    public LinearizedOutputs linearize(List<JacobianFactors> batches) {
        List<INDArray> means = new ArrayList<>();
        List<INDArray> covariances = new ArrayList<>();
        for (JacobianFactors batch : batches) {
            means.add(batch.outputs());
            covariances.add(posterior == null
                    ? Nd4j.zeros(DataType.DOUBLE, batch.examples(), batch.outputCount(), batch.outputCount())
                    : LinearizedCovariance.of(posterior.covariance(), batch));
        }
        return LinearizedOutputs.of(Nd4j.concat(0, means.toArray(INDArray[]::new)), Nd4j.concat(0, covariances.toArray(INDArray[]::new)));
    }

    /**
     * Monte Carlo over sampled networks: {@code (1/S) Σ_s softmax(z_L(x; θ_s))}, {@code θ_s = θ* + ε_s},
     * {@code ε_s ~ N(0, Σ)} on the posterior's leaves (all draws from {@code seed}).
     *
     * @return {@code [n][C]}; the MAP's probabilities when there is no posterior
     */
    public double[][] sampledNetworks(INDArray features, int samples, long seed) {
        requireClassifier();
        if (posterior == null) {
            return linearize(features).mapProbabilities();
        }
        if (samples < 1) {
            throw new IllegalArgumentException("sampled networks need at least one sample, got " + samples);
        }
        INDArray deviations = posterior.sampleDeviations(samples, seed);
        MultiLayerNetwork copy = net.clone();
        INDArray theta = copy.params().dup().reshape(copy.numParams());
        INDArray thetaStar = subset.extract(theta).castTo(DataType.DOUBLE);
        long n = features.size(0);
        int c = jacobian.outputCount();
        INDArray sum = Nd4j.zeros(DataType.DOUBLE, n, c);
        for (int s = 0; s < samples; s++) {
            INDArray sampled = theta.dup();
            subset.insert(thetaStar.add(deviations.getRow(s)), sampled);
            copy.setParams(sampled.reshape(copy.params().shape()).castTo(copy.params().dataType()));
            OutputJacobian sampledJacobian = OutputJacobian.of(copy);
            for (long start = 0; start < n; start += 1000) {
                long end = Math.min(n, start + 1000);
                INDArray z = sampledJacobian.outputs(features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()));
                sum.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).addi(softmaxRows(z));
            }
        }
        return sum.divi(samples).toDoubleMatrix();
    }

    private static INDArray softmaxRows(INDArray z) {
        INDArray shifted = z.subColumnVector(z.max(true, 1));
        INDArray e = org.nd4j.linalg.ops.transforms.Transforms.exp(shifted, false);
        return e.diviColumnVector(e.sum(true, 1));
    }

    /**
     * The regression predictive {@code N(z_L(x; θ*), diag(J Σ Jᵀ) + σ² I)} with {@code σ² = o/2}.
     *
     * @throws IllegalStateException unless the output is identity with MSE
     */
    public RegressionPrediction regression(INDArray features) {
        if (jacobian.outputLoss() != OutputLoss.IDENTITY_MEAN_SQUARED_ERROR) {
            throw new IllegalStateException("the regression predictive needs an identity output with MSE loss; this network has "
                    + jacobian.outputLoss());
        }
        LinearizedOutputs f = linearize(features);
        double noise = jacobian.outputCount() / 2.0;
        double[][] variance = f.variances();
        double[][] total = new double[variance.length][];
        for (int e = 0; e < variance.length; e++) {
            total[e] = new double[variance[e].length];
            for (int k = 0; k < variance[e].length; k++) {
                total[e][k] = variance[e][k] + noise;
            }
        }
        return new RegressionPrediction(f.mean(), variance, total, noise);
    }

    private void requireClassifier() {
        if (jacobian.outputLoss() != OutputLoss.SOFTMAX_CROSS_ENTROPY) {
            throw new IllegalStateException("class probabilities need a softmax output with cross-entropy; this network has " + jacobian.outputLoss());
        }
    }

    /**
     * The Gaussian predictive of a regressor.
     *
     * @param mean          {@code z_L(x; θ*)}, {@code [n][o]}
     * @param modelVariance {@code diag(J Σ Jᵀ)}, {@code [n][o]} (the epistemic part)
     * @param variance      {@code diag(J Σ Jᵀ) + σ²}, {@code [n][o]}
     * @param noiseVariance {@code σ² = o/2}
     */
    public record RegressionPrediction(double[][] mean, double[][] modelVariance, double[][] variance, double noiseVariance) {
    }
}
