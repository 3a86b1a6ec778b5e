package org.symcurv.pruning;

import java.util.Objects;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.PerExampleFactors;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The Fisher from materialised per-example gradients {@code g_i = ∇ℓ(x_i, y_i)} ({@link Gradients#perExample}, one
 * backward pass per example), {@code F = (1/N) Σ_i R2(g_i, g_i)} by {@link OrbitAverage#secondMoment} and
 * {@code diag(F) = (1/N) Σ_i g_i²}. The labels are either drawn from the model's softmax predictive with a seeded
 * generator (Monte Carlo Fisher, the default) or the data's own (empirical Fisher).
 *
 * <p>Exact but slow ({@code O(N P)} memory traffic per estimate and {@code d_κ m_κ²} per example and kind): for small
 * networks and tests. Large networks use the factored estimator of {@code core.model.FisherEstimation}. Immutable.
 */
public final class PerExampleFisher implements FisherSource {
    /** Examples whose gradients are held at once. */
    static final int CHUNK = 64;

    private final INDArray features;
    private final INDArray labels;
    private final long seed;

    private PerExampleFisher(INDArray features, INDArray labels, long seed) {
        if (features.rank() != 2 || features.size(0) < 1) {
            throw new IllegalArgumentException("the Fisher needs features [N ≥ 1, inputs], got shape " + java.util.Arrays.toString(features.shape()));
        }
        if (labels != null && (labels.rank() != 2 || labels.size(0) != features.size(0))) {
            throw new IllegalArgumentException("labels must have one row per example, [" + features.size(0) + ", classes], got "
                    + java.util.Arrays.toString(labels.shape()));
        }
        this.features = features.dup('c');
        this.labels = labels == null ? null : labels.dup('c');
        this.seed = seed;
    }

    /**
     * The Monte Carlo Fisher on {@code features}: for each estimate, one label per example drawn from the model's
     * softmax output with {@code new Random(seed)}.
     *
     * @param features {@code [N, inputs]}; copied
     */
    public static PerExampleFisher monteCarlo(INDArray features, long seed) {
        return new PerExampleFisher(Objects.requireNonNull(features, "features"), null, seed);
    }

    /**
     * The empirical Fisher at the data's labels.
     *
     * @param data features {@code [N, inputs]} and one-hot labels {@code [N, classes]}; copied
     */
    public static PerExampleFisher empirical(DataSet data) {
        return new PerExampleFisher(data.getFeatures(), Objects.requireNonNull(data.getLabels(), "labels"), 0L);
    }

    @Override
    public Curvature symmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        INDArray y = labelsFor(net);
        long n = features.size(0);
        Curvature sum = null;
        for (long start = 0; start < n; start += CHUNK) {
            long end = Math.min(n, start + CHUNK);
            INDArray g = gradients(net, y, start, end);
            Curvature part = OrbitAverage.secondMoment(kinds, g, BlockBudget.DEFAULT).scale((double) (end - start) / n);
            sum = sum == null ? part : sum.plus(part);
            progress.update(end, n);
        }
        return sum;
    }

    @Override
    public Curvature diagonal(MultiLayerNetwork net, Progress progress) {
        INDArray y = labelsFor(net);
        long n = features.size(0);
        INDArray sum = Nd4j.zeros(DataType.DOUBLE, net.numParams());
        for (long start = 0; start < n; start += CHUNK) {
            long end = Math.min(n, start + CHUNK);
            INDArray g = gradients(net, y, start, end);
            sum.addi(g.mul(g).sum(0));
            progress.update(end, n);
        }
        SymmetrySpec layout = new SymmetrySpec(java.util.List.of(), ParameterLayout.of(net).leafSpecs());
        return DiagonalCurvature.of(layout, sum.divi(n));
    }

    private INDArray gradients(MultiLayerNetwork net, INDArray y, long start, long end) {
        INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).dup();
        INDArray t = y.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).dup();
        return Gradients.perExample(net, new DataSet(x, t)).castTo(DataType.DOUBLE);
    }

    /** The data's labels, or one label per example drawn from the model's predictive ({@link PerExampleFactors#sampleLabels}). */
    private INDArray labelsFor(MultiLayerNetwork net) {
        if (labels != null) {
            return labels;
        }
        return PerExampleFactors.of(net).sampleLabels(features.castTo(net.params().dataType()), 1, new Random(seed)).castTo(DataType.DOUBLE);
    }

    @Override
    public String describe() {
        return String.format(java.util.Locale.ROOT, "%s Fisher from per-example gradients, %,d examples%s",
                labels == null ? "Monte Carlo" : "empirical", features.size(0), labels == null ? ", seed " + seed : "");
    }
}
