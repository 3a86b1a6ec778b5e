package org.symcurv.pruning;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.estimate.FactoredGradients;
import org.symcurv.core.model.FisherEstimation;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.PerExampleFactors;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The Monte Carlo Fisher from per-example gradient factors, without materialising any per-example gradient
 * (symmetry-curvature.md section 5.2): the symmetry-averaged {@code F = (1/N) Σ_i R2(g_i, g_i)} by
 * {@link FisherEstimation}, and the diagonal from the factors {@code ∂ℓ_i/∂W = a_i ⊗ δ_i}:
 * {@code diag(F)_W = (1/N) Σ_i (a_i ∘ a_i) ⊗ (δ_i ∘ δ_i) = (1/N) (A ∘ A)ᵀ (Δ ∘ Δ)}, {@code diag(F)_b = (1/N) Σ_i δ_i ∘ δ_i}.
 * Labels are drawn from the model's predictive with {@code new Random(seed)} in example order, so the symmetric and
 * the diagonal estimate of one network see the same labels (Monte Carlo Fisher), or are the data's own (empirical
 * Fisher). Immutable.
 */
public final class FactoredFisher implements FisherSource {
    /** Examples per forward/backward pass. */
    public static final int BATCH = 500;
    /** A unit's scale is at least this fraction of its axis's mean scale. */
    public static final double SCALE_FLOOR = 1e-3;

    private final INDArray features;
    private final INDArray labels;
    private final long seed;

    private FactoredFisher(INDArray features, INDArray labels, long seed) {
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
     * The Monte Carlo Fisher: labels drawn from the model's predictive with {@code new Random(seed)}.
     *
     * @param features {@code [N, inputs]}; copied
     */
    public static FactoredFisher monteCarlo(INDArray features, long seed) {
        return new FactoredFisher(Objects.requireNonNull(features, "features"), null, seed);
    }

    /**
     * The empirical Fisher at the data's labels.
     *
     * @param data features {@code [N, inputs]} and one-hot labels {@code [N, classes]}; copied
     */
    public static FactoredFisher empirical(org.nd4j.linalg.dataset.DataSet data) {
        return new FactoredFisher(data.getFeatures(), Objects.requireNonNull(data.getLabels(), "labels"), 0L);
    }

    @Override
    public Curvature symmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        FisherEstimation estimation = labels == null ? FisherEstimation.monteCarlo(seed) : FisherEstimation.empirical();
        return estimation.withBatchSize(BATCH).estimate(net, spec, features, labels, progress::update);
    }

    /**
     * {@inheritDoc}
     *
     * <p>For each leaf axis that carries a group, the scale of index {@code k} is the root mean square over the examples
     * of that axis's gradient factor, {@code r_k = sqrt((1/N) Σ_i u_{i,k}²)} (for {@code W_l}'s unit axis and {@code b_l}
     * the backpropagated error {@code δ_l}, for {@code W_{l+1}}'s input axis the unit's activation), floored at
     * {@value #SCALE_FLOOR} times the axis mean so a dead unit stays finite; free axes are not rescaled. A parameter's
     * scale is the product over its leaf's axes. Both passes see the same labels.
     */
    @Override
    public ScaledCurvature unitScaledSymmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        PerExampleFactors factors = PerExampleFactors.of(net);
        Random random = new Random(seed);
        long n = features.size(0);
        List<FactoredGradients> batches = new java.util.ArrayList<>();
        List<List<INDArray>> squares = new java.util.ArrayList<>();
        for (long start = 0; start < n; start += BATCH) {
            long end = Math.min(n, start + BATCH);
            INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
            FactoredGradients g = labels == null ? factors.withSampledLabels(x, 1, random, spec)
                    : factors.withLabels(x, labels.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), spec);
            batches.add(g);
            for (int l = 0; l < spec.leaves().size(); l++) {
                if (squares.size() <= l) {
                    squares.add(new java.util.ArrayList<>());
                }
                List<INDArray> f = g.leafFactors(l);
                for (int a = 0; a < f.size(); a++) {
                    INDArray sq = f.get(a).castTo(DataType.DOUBLE);
                    sq = sq.mul(sq).sum(0);
                    if (squares.get(l).size() <= a) {
                        squares.get(l).add(sq);
                    } else {
                        squares.get(l).get(a).addi(sq);
                    }
                }
            }
        }
        // per leaf and axis: the scale vector (ones on free axes)
        List<List<INDArray>> axisScales = new java.util.ArrayList<>();
        for (int l = 0; l < spec.leaves().size(); l++) {
            LeafSpec leaf = spec.leaves().get(l);
            List<INDArray> perAxis = new java.util.ArrayList<>();
            for (int a = 0; a < leaf.rank(); a++) {
                if (leaf.label(a).isFree()) {
                    perAxis.add(org.nd4j.linalg.factory.Nd4j.ones(DataType.DOUBLE, leaf.size(a)));
                } else {
                    INDArray rms = org.nd4j.linalg.ops.transforms.Transforms.sqrt(squares.get(l).get(a).div(n), false);
                    double floor = SCALE_FLOOR * rms.meanNumber().doubleValue();
                    perAxis.add(org.nd4j.linalg.ops.transforms.Transforms.max(rms, floor > 0 ? floor : 1.0, false));
                }
            }
            axisScales.add(perAxis);
        }
        org.symcurv.core.estimate.FisherEstimator estimator = new org.symcurv.core.estimate.FisherEstimator(
                org.symcurv.core.symmetry.KindDecomposition.of(spec), org.symcurv.core.operator.BlockBudget.DEFAULT, DataType.DOUBLE);
        long done = 0;
        for (FactoredGradients g : batches) {
            List<List<INDArray>> scaled = new java.util.ArrayList<>();
            for (int l = 0; l < spec.leaves().size(); l++) {
                List<INDArray> f = g.leafFactors(l);
                List<INDArray> s = new java.util.ArrayList<>();
                for (int a = 0; a < f.size(); a++) {
                    s.add(f.get(a).castTo(DataType.DOUBLE).divRowVector(axisScales.get(l).get(a).reshape(1, f.get(a).size(1))));
                }
                scaled.add(s);
            }
            estimator.add(new FactoredGradients(spec, scaled, g.count()));
            done += g.count();
            progress.update(done, n);
        }
        Map<String, INDArray> scaleByLeaf = new LinkedHashMap<>();
        for (int l = 0; l < spec.leaves().size(); l++) {
            LeafSpec leaf = spec.leaves().get(l);
            List<INDArray> perAxis = axisScales.get(l);
            INDArray value = perAxis.get(0);
            if (leaf.rank() == 2) {
                value = perAxis.get(0).reshape(leaf.size(0), 1).mmul(perAxis.get(1).reshape(1, leaf.size(1)));
            }
            scaleByLeaf.put(leaf.name(), value);
        }
        ParameterLayout layout = ParameterLayout.of(net);
        return new ScaledCurvature(estimator.estimate(), layout.flatten(scaleByLeaf));
    }

    @Override
    public Curvature diagonal(MultiLayerNetwork net, Progress progress) {
        ParameterLayout layout = ParameterLayout.of(net);
        SymmetrySpec free = new SymmetrySpec(List.of(), layout.leafSpecs());
        PerExampleFactors factors = PerExampleFactors.of(net);
        Random random = new Random(seed);
        long n = features.size(0);
        Map<String, INDArray> sums = new LinkedHashMap<>();
        for (long start = 0; start < n; start += BATCH) {
            long end = Math.min(n, start + BATCH);
            INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
            FactoredGradients g = labels == null ? factors.withSampledLabels(x, 1, random, free)
                    : factors.withLabels(x, labels.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), free);
            for (int l = 0; l < free.leaves().size(); l++) {
                LeafSpec leaf = free.leaves().get(l);
                List<INDArray> f = g.leafFactors(l);
                INDArray square;
                if (f.size() == 2) {
                    INDArray a = f.get(0).castTo(DataType.DOUBLE);
                    INDArray d = f.get(1).castTo(DataType.DOUBLE);
                    square = a.mul(a).transpose().mmul(d.mul(d));
                } else {
                    INDArray d = f.get(0).castTo(DataType.DOUBLE);
                    square = d.mul(d).sum(0);
                }
                sums.merge(leaf.name(), square, INDArray::addi);
            }
            progress.update(end, n);
        }
        sums.replaceAll((name, s) -> s.divi(n));
        return DiagonalCurvature.of(free, layout.flatten(sums));
    }

    @Override
    public String describe() {
        return labels == null
                ? String.format(java.util.Locale.ROOT, "Monte Carlo Fisher from gradient factors, %,d examples, seed %d", features.size(0), seed)
                : String.format(java.util.Locale.ROOT, "empirical Fisher from gradient factors, %,d examples", features.size(0));
    }
}
