package org.symcurv.core.model;

import java.util.Arrays;
import java.util.Objects;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.estimate.FisherEstimator;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The symmetry-averaged Fisher {@code F = (1/N) Σ_i R2(g_i, g_i)} of a DL4J dense network over a whole data set
 * (symmetry-curvature.md section 5.2), streamed in minibatches: {@link PerExampleFactors} gives each batch's
 * gradient factors, a {@link FisherEstimator} accumulates them. Two kinds of per-example gradient {@code g_i}:
 *
 * <ul>
 *   <li>{@link Type#MONTE_CARLO}: {@code g_i} at labels drawn from the model's own predictive, {@code k} per example,
 *       {@code F = (1/(N k)) Σ_i Σ_s R2(g_{i,s}, g_{i,s})}, whose expectation is the orbit average of the GGN;</li>
 *   <li>{@link Type#EMPIRICAL}: {@code g_i} at the true labels, the orbit average of the empirical Fisher
 *       {@code (1/N) Σ_i ∇ℓ_i ∇ℓ_iᵀ} (not the GGN: offered, but labelled as such).</li>
 * </ul>
 *
 * Immutable settings: {@code FisherEstimation.monteCarlo(seed).withBatchSize(512).estimate(net, spec, x, null)}.
 */
public final class FisherEstimation {
    /** Default number of examples per forward/backward pass. */
    public static final int DEFAULT_BATCH_SIZE = 256;

    /** Which labels the per-example gradients are taken at. */
    public enum Type {
        /** Labels sampled from the model's predictive: the (Monte Carlo) Fisher, equal to the GGN in expectation. */
        MONTE_CARLO,
        /** The data's labels: the empirical Fisher. */
        EMPIRICAL
    }

    /**
     * Progress of {@link #estimate}: called after each batch, on the calling thread.
     */
    @FunctionalInterface
    public interface ProgressListener {
        /**
         * @param examplesDone  examples processed so far
         * @param examplesTotal examples in the data set
         */
        void progress(long examplesDone, long examplesTotal);

        /** A listener that does nothing. */
        ProgressListener NONE = (done, total) -> { };
    }

    private final Type type;
    private final long seed;
    private final int samplesPerExample;
    private final int batchSize;
    private final BlockBudget budget;
    private final DataType accumulatorType;

    private FisherEstimation(Type type, long seed, int samplesPerExample, int batchSize, BlockBudget budget, DataType accumulatorType) {
        if (samplesPerExample < 1) {
            throw new IllegalArgumentException("samples per example must be ≥ 1, got " + samplesPerExample);
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be ≥ 1, got " + batchSize);
        }
        if (accumulatorType != DataType.FLOAT && accumulatorType != DataType.DOUBLE) {
            throw new IllegalArgumentException("the Fisher is accumulated in FLOAT or DOUBLE, not " + accumulatorType);
        }
        this.type = type;
        this.seed = seed;
        this.samplesPerExample = samplesPerExample;
        this.batchSize = batchSize;
        this.budget = Objects.requireNonNull(budget, "budget");
        this.accumulatorType = accumulatorType;
    }

    /**
     * The Monte Carlo Fisher with one label sample per example drawn from {@code new Random(seed)}, batches of
     * {@value #DEFAULT_BATCH_SIZE}, {@link BlockBudget#DEFAULT}, accumulated in {@code DOUBLE}.
     */
    public static FisherEstimation monteCarlo(long seed) {
        return new FisherEstimation(Type.MONTE_CARLO, seed, 1, DEFAULT_BATCH_SIZE, BlockBudget.DEFAULT, DataType.DOUBLE);
    }

    /** The empirical Fisher, with the other settings as {@link #monteCarlo}. */
    public static FisherEstimation empirical() {
        return new FisherEstimation(Type.EMPIRICAL, 0L, 1, DEFAULT_BATCH_SIZE, BlockBudget.DEFAULT, DataType.DOUBLE);
    }

    /** {@code k} label samples per example (Monte Carlo only; more samples, less sampling noise, {@code k}× the backward work). */
    public FisherEstimation withSamplesPerExample(int k) {
        if (type != Type.MONTE_CARLO && k != 1) {
            throw new IllegalArgumentException("the empirical Fisher uses each example's one true label; samples per example apply to the Monte Carlo Fisher");
        }
        return new FisherEstimation(type, seed, k, batchSize, budget, accumulatorType);
    }

    /** Examples per forward/backward pass (memory grows with it; the result does not depend on it beyond round-off). */
    public FisherEstimation withBatchSize(int examples) {
        return new FisherEstimation(type, seed, samplesPerExample, examples, budget, accumulatorType);
    }

    /** Largest dense block, and whether larger ones keep their diagonal. */
    public FisherEstimation withBudget(BlockBudget blockBudget) {
        return new FisherEstimation(type, seed, samplesPerExample, batchSize, blockBudget, accumulatorType);
    }

    /** The data type of the sums and of the resulting blocks ({@code FLOAT} or {@code DOUBLE}). */
    public FisherEstimation withAccumulatorType(DataType dataType) {
        return new FisherEstimation(type, seed, samplesPerExample, batchSize, budget, dataType);
    }

    public Type type() {
        return type;
    }

    /** The seed of the label draws (Monte Carlo only). */
    public long seed() {
        return seed;
    }

    public int samplesPerExample() {
        return samplesPerExample;
    }

    public int batchSize() {
        return batchSize;
    }

    public BlockBudget budget() {
        return budget;
    }

    public DataType accumulatorType() {
        return accumulatorType;
    }

    /** {@link #estimate(MultiLayerNetwork, SymmetrySpec, INDArray, INDArray, ProgressListener)} without progress reports. */
    public Curvature estimate(MultiLayerNetwork net, SymmetrySpec spec, INDArray features, INDArray targets) {
        return estimate(net, spec, features, targets, ProgressListener.NONE);
    }

    /**
     * The Fisher of {@code net} over all rows of {@code features}, in the structure of {@code spec}.
     *
     * @param net      a {@code DenseLayer* + OutputLayer} network ({@link PerExampleFactors#of}); not modified
     * @param spec     the leaves and groups of the result (any subset of the network's leaves)
     * @param features {@code [N, nIn]}; not modified
     * @param targets  {@code [N, o]} labels for {@link Type#EMPIRICAL} (one-hot for a softmax output); ignored, and may
     *                 be {@code null}, for {@link Type#MONTE_CARLO}
     * @param listener called after each batch
     * @throws UnsupportedLayerException  naming the layer if the network is not supported
     * @throws IllegalArgumentException   if shapes do not fit, a block is over budget, or targets are missing
     * @throws ArithmeticException        if the network produces NaN or infinite gradients
     */
    public Curvature estimate(MultiLayerNetwork net, SymmetrySpec spec, INDArray features, INDArray targets, ProgressListener listener) {
        Objects.requireNonNull(listener, "listener");
        PerExampleFactors factors = PerExampleFactors.of(net);
        if (features == null || features.rank() != 2) {
            throw new IllegalArgumentException("features must be a matrix [N, " + factors.inputCount() + "], got "
                    + (features == null ? "null" : Arrays.toString(features.shape())));
        }
        long n = features.size(0);
        if (n < 1) {
            throw new IllegalArgumentException("no examples: the Fisher is an average over at least one example");
        }
        if (type == Type.EMPIRICAL && (targets == null || targets.rank() != 2 || targets.size(0) != n || targets.size(1) != factors.outputCount())) {
            throw new IllegalArgumentException("the empirical Fisher needs targets [" + n + ", " + factors.outputCount() + "], one row per example; got "
                    + (targets == null ? "none" : Arrays.toString(targets.shape())));
        }
        FisherEstimator estimator = new FisherEstimator(KindDecomposition.of(spec), budget, accumulatorType);
        Random random = new Random(seed);
        for (long start = 0; start < n; start += batchSize) {
            long end = Math.min(n, start + batchSize);
            INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
            estimator.add(type == Type.MONTE_CARLO
                    ? factors.withSampledLabels(x, samplesPerExample, random, spec)
                    : factors.withLabels(x, targets.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), spec));
            listener.progress(end, n);
        }
        return estimator.estimate();
    }

    @Override
    public String toString() {
        return "FisherEstimation[" + type + (type == Type.MONTE_CARLO ? ", " + samplesPerExample + " label sample(s) per example, seed " + seed : "")
                + ", batch " + batchSize + ", " + budget + ", " + accumulatorType + "]";
    }
}
