package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.symcurv.core.estimate.FactoredGradients;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.estimate.SymmetricFisherAccumulator;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.DiagonalCurvature;
import org.symcurv.core.operator.KroneckerCurvature;
import org.symcurv.core.operator.ScaledCurvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The one source of Fisher estimates for a trained DL4J network on a fixed data set (symmetry-curvature.md section 5.2):
 * {@code F = (1/N) Σ_i g_i g_iᵀ} of per-example gradients {@code g_i = ∇_θ ℓ(f(x_i; θ), y_i)} (the loss of one example,
 * not divided by {@code N}), in one of four structures. Three independent choices:
 *
 * <ul>
 *   <li><b>labels</b> ({@link Labels}): {@code y_i} drawn from the model's own predictive, {@code k} per example
 *       ({@link #monteCarlo}; then {@code F = (1/(N k)) Σ_i Σ_s g_{i,s} g_{i,s}ᵀ}, the GGN in expectation), or the data's
 *       labels ({@link #empirical}: the empirical Fisher, not the GGN — offered, but labelled as such). Monte Carlo labels
 *       come from one {@code new Random(seed)} consumed in example order at every estimate, so a seed gives the same
 *       labels for every batch size, route, structure and ND4J backend;</li>
 *   <li><b>route</b> ({@link Route}): {@link Route#FACTORED}, the gradient factors of a whole batch from one forward and
 *       one backward pass ({@link PerExampleFactors}: {@code ∂ℓ_i/∂W = a_i ⊗ δ_i}, no per-example gradient
 *       materialised), or {@link Route#PER_EXAMPLE}, one DL4J backward pass per example ({@link Gradients#perExample};
 *       slow, for checks). When some leaf's per-example gradient does not factor per axis, the factored route keeps what
 *       does factor: a dense weight reading a flattened image as {@code [H·W, C, nOut]} is {@code A_i ⊗ δ_i} over merged
 *       axes, and only a convolution's kernel, {@code Σ_p δ_{i,p} ⊗ x_{i,p}}, is materialised, per batch with one batched
 *       product ({@link SymmetricFisherAccumulator} takes both forms). {@link Route#MATERIALISED} instead materialises the
 *       per-example gradients of every leaf of a CNN, chunks of examples from the same batched passes
 *       ({@link PerExampleFactors#materialisedWithLabels}, {@code [rows, P_spec]}, at most {@value #MATERIALISED_ELEMENTS}
 *       elements at once) and averages them with {@link OrbitAverage#secondMoment}: the earlier CNN route, for checks and
 *       benchmarks;</li>
 *   <li><b>structure</b>, the method called: {@link #symmetric} {@code (1/N) Σ_i R2(g_i, g_i)}, the orbit average over
 *       the spec's groups; {@link #unitScaledSymmetric} the orbit average in unit-rescaled coordinates
 *       {@code F ≈ S F' S}; {@link #diagonal} {@code diag F}; {@link #kfac} {@code ⊕_l A_l ⊗ G_l}.</li>
 * </ul>
 *
 * The network is read at its current parameters at every call and never modified, so a pruner can re-estimate after
 * each round. Immutable settings; the data arrays are kept by reference (the caller must not modify them).
 */
public final class FisherSource {
    /** Default number of examples per forward/backward pass of the factored route. */
    public static final int DEFAULT_BATCH_SIZE = 256;
    /** Examples whose gradients the per-example route holds at once ({@code [chunk, P]}). */
    public static final int PER_EXAMPLE_CHUNK = 64;
    /** Elements of the per-example gradients {@code [rows, P]} the materialised route holds at once (32 MB in float64). */
    public static final long MATERIALISED_ELEMENTS = 1L << 22;
    /** A unit's scale in {@link #unitScaledSymmetric} is at least this fraction of its axis's mean scale. */
    public static final double SCALE_FLOOR = 1e-3;

    /** Which labels the per-example gradients are taken at. */
    public enum Labels {
        /** Labels sampled from the model's predictive: the (Monte Carlo) Fisher, equal to the GGN in expectation. */
        MONTE_CARLO,
        /** The data's labels: the empirical Fisher. */
        EMPIRICAL
    }

    /** How the per-example gradients are obtained. */
    public enum Route {
        /**
         * Gradient factors of a whole batch from the network walk: dense leaves as outer products (also the dense weight
         * after a flattening, {@code A_i ⊗ δ_i}), only convolution kernels materialised, per batch.
         */
        FACTORED,
        /**
         * As {@link #FACTORED}, except that when some leaf does not factor per axis (a CNN) every leaf's per-example gradient is
         * materialised ({@code [rows, P]} chunks from the walk's batched passes) and orbit-averaged by
         * {@link OrbitAverage#secondMoment}: the CNN route before the factored one, kept for checks and benchmarks. On a
         * network whose leaves all factor it is {@link #FACTORED}.
         */
        MATERIALISED,
        /** One DL4J backward pass per example, {@code [chunk, P]} gradients materialised: slow, for checks. */
        PER_EXAMPLE
    }

    /** Progress of an estimate: called after each batch, on the calling thread. */
    @FunctionalInterface
    public interface Progress {
        /**
         * @param done  examples processed so far
         * @param total examples in the data set
         */
        void update(long done, long total);

        /** Ignores progress. */
        Progress NONE = (done, total) -> { };
    }

    private final INDArray features;
    private final INDArray targets;
    private final Labels labels;
    private final long seed;
    private final int samplesPerExample;
    private final Route route;
    private final int batchSize;
    private final BlockBudget budget;
    private final DataType accumulatorType;

    private FisherSource(INDArray features, INDArray targets, Labels labels, long seed, int samplesPerExample, Route route, int batchSize,
                         BlockBudget budget, DataType accumulatorType) {
        if (features == null || features.rank() != 2 || features.size(0) < 1) {
            throw new IllegalArgumentException("the Fisher needs features [N ≥ 1, inputs], got "
                    + (features == null ? "none" : "shape " + Arrays.toString(features.shape())));
        }
        if (labels == Labels.EMPIRICAL && (targets == null || targets.rank() != 2 || targets.size(0) != features.size(0))) {
            throw new IllegalArgumentException("the empirical Fisher needs targets with one row per example, [" + features.size(0) + ", outputs], got "
                    + (targets == null ? "none" : Arrays.toString(targets.shape())));
        }
        if (samplesPerExample < 1) {
            throw new IllegalArgumentException("samples per example must be ≥ 1, got " + samplesPerExample);
        }
        if (labels == Labels.EMPIRICAL && samplesPerExample != 1) {
            throw new IllegalArgumentException("the empirical Fisher uses each example's one true label; samples per example apply to the Monte Carlo Fisher");
        }
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be ≥ 1, got " + batchSize);
        }
        if (accumulatorType != DataType.FLOAT && accumulatorType != DataType.DOUBLE) {
            throw new IllegalArgumentException("the Fisher is accumulated in FLOAT or DOUBLE, not " + accumulatorType);
        }
        this.features = features;
        this.targets = labels == Labels.EMPIRICAL ? targets : null;
        this.labels = labels;
        this.seed = seed;
        this.samplesPerExample = samplesPerExample;
        this.route = Objects.requireNonNull(route, "route");
        this.batchSize = batchSize;
        this.budget = Objects.requireNonNull(budget, "budget");
        this.accumulatorType = accumulatorType;
    }

    /**
     * The Monte Carlo Fisher on {@code features}: one label per example drawn from the model's predictive with
     * {@code new Random(seed)}, the factored route, batches of {@value #DEFAULT_BATCH_SIZE}, {@link BlockBudget#DEFAULT},
     * accumulated in {@code DOUBLE}.
     *
     * @param features {@code [N, inputs]}; kept, not copied
     */
    public static FisherSource monteCarlo(INDArray features, long seed) {
        return new FisherSource(features, null, Labels.MONTE_CARLO, seed, 1, Route.FACTORED, DEFAULT_BATCH_SIZE, BlockBudget.DEFAULT, DataType.DOUBLE);
    }

    /**
     * The empirical Fisher at the data's labels, with the other settings as {@link #monteCarlo}.
     *
     * @param features {@code [N, inputs]}; kept, not copied
     * @param targets  {@code [N, o]}: one-hot labels for a softmax output, real targets for MSE, 0/1 for XENT; kept
     */
    public static FisherSource empirical(INDArray features, INDArray targets) {
        return new FisherSource(features, targets, Labels.EMPIRICAL, 0L, 1, Route.FACTORED, DEFAULT_BATCH_SIZE, BlockBudget.DEFAULT, DataType.DOUBLE);
    }

    /** The empirical Fisher of a data set's features and labels. */
    public static FisherSource empirical(DataSet data) {
        return empirical(data.getFeatures(), Objects.requireNonNull(data.getLabels(), "labels"));
    }

    /** {@code k} label samples per example (Monte Carlo only; less sampling noise, {@code k}× the backward work). */
    public FisherSource withSamplesPerExample(int k) {
        return new FisherSource(features, targets, labels, seed, k, route, batchSize, budget, accumulatorType);
    }

    /** How the per-example gradients are obtained. */
    public FisherSource withRoute(Route r) {
        return new FisherSource(features, targets, labels, seed, samplesPerExample, r, batchSize, budget, accumulatorType);
    }

    /** Examples per forward/backward pass of the factored route (memory; the result depends on it only through round-off). */
    public FisherSource withBatchSize(int examples) {
        return new FisherSource(features, targets, labels, seed, samplesPerExample, route, examples, budget, accumulatorType);
    }

    /** Largest dense block of the symmetric structures, and whether larger ones keep their diagonal. */
    public FisherSource withBudget(BlockBudget blockBudget) {
        return new FisherSource(features, targets, labels, seed, samplesPerExample, route, batchSize, blockBudget, accumulatorType);
    }

    /** The data type of the factored route's sums and of the resulting blocks ({@code FLOAT} or {@code DOUBLE}). */
    public FisherSource withAccumulatorType(DataType dataType) {
        return new FisherSource(features, targets, labels, seed, samplesPerExample, route, batchSize, budget, dataType);
    }

    public Labels labels() {
        return labels;
    }

    /** The seed of the label draws (Monte Carlo only). */
    public long seed() {
        return seed;
    }

    public int samplesPerExample() {
        return samplesPerExample;
    }

    public Route route() {
        return route;
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

    /** Number of examples {@code N}. */
    public long examples() {
        return features.size(0);
    }

    // ------------------------------------------------------------------ structures

    /** {@link #symmetric(MultiLayerNetwork, SymmetrySpec, Progress)} without progress reports. */
    public Curvature symmetric(MultiLayerNetwork net, SymmetrySpec spec) {
        return symmetric(net, spec, Progress.NONE);
    }

    /** {@link #diagonal(MultiLayerNetwork, SymmetrySpec, Progress)} without progress reports. */
    public Curvature diagonal(MultiLayerNetwork net, SymmetrySpec leaves) {
        return diagonal(net, leaves, Progress.NONE);
    }

    /** The diagonal Fisher on all of the network's parameters ({@link #diagonal(MultiLayerNetwork, SymmetrySpec, Progress)}). */
    public Curvature diagonal(MultiLayerNetwork net, Progress progress) {
        return diagonal(net, new SymmetrySpec(List.of(), ParameterLayout.of(net).leafSpecs()), progress);
    }

    /** {@link #kfac(MultiLayerNetwork, SymmetrySpec, Progress)} without progress reports. */
    public KroneckerCurvature kfac(MultiLayerNetwork net, SymmetrySpec leaves) {
        return kfac(net, leaves, Progress.NONE);
    }

    /**
     * The symmetry-averaged Fisher {@code F = (1/N) Σ_i R2(g_i, g_i)} in the structure of {@code spec}, accumulated
     * batch by batch from the factors ({@link SymmetricFisherAccumulator}; on a CNN with its kernels' gradients
     * materialised per batch) or, from materialised per-example gradients (the materialised and per-example routes), by
     * {@link OrbitAverage#secondMoment}.
     *
     * @param net  a network the {@link NetworkWalk} understands; not modified
     * @param spec the leaves and groups of the result (any subset of the network's leaves)
     * @throws UnsupportedLayerException naming the layer if the network is not supported
     * @throws IllegalArgumentException  if shapes do not fit or a block is over budget
     * @throws ArithmeticException       if the network produces NaN or infinite gradients
     */
    public Curvature symmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        Objects.requireNonNull(progress, "progress");
        if (route == Route.PER_EXAMPLE) {
            return perExampleSymmetric(net, spec, progress);
        }
        if (route == Route.MATERIALISED && !PerExampleFactors.of(net).factors(spec)) {
            return materialisedSymmetric(net, spec, progress, null);
        }
        SymmetricFisherAccumulator accumulator = new SymmetricFisherAccumulator(KindDecomposition.of(spec), budget, accumulatorType);
        forEachBatch(net, spec, (batch, done) -> {
            accumulator.add(batch);
            progress.update(done, examples());
        });
        return accumulator.estimate();
    }

    /**
     * The symmetry-averaged Fisher of the unit-rescaled parameters, {@code F ≈ S F' S} ({@link ScaledCurvature}): for
     * each leaf axis that carries a group, the scale of index {@code k} is the root mean square over the examples of that
     * axis's gradient factor, {@code r_k = sqrt((1/N) Σ_i u_{i,k}²)} (for {@code W_l}'s unit axis and {@code b_l} the
     * backpropagated error {@code δ_l}, for {@code W_{l+1}}'s input axis the unit's activation), floored at
     * {@value #SCALE_FLOOR} times the axis mean so a dead unit stays finite; free axes are not rescaled. A parameter's
     * scale is the product over its leaf's axes, and {@code F'} is the orbit average of the rescaled factors
     * {@code u_{i,k} / r_k}. Both passes see the same labels.
     *
     * <p>Why: averaging over permutations gives every unit of a layer the same curvature, so the plain symmetric Fisher
     * cannot tell a busy unit from a dead one; averaging in rescaled coordinates keeps each unit's own scale (our design
     * choice for pruning, not the paper's; docs/BENCHMARKS.md, pruning).
     *
     * <p>When a leaf does not factor per axis (a CNN) the scales come from the mean squared gradient entries instead
     * (one pass, dense leaves from their factors, kernels materialised), for every leaf:
     * {@code r_{a,k} = ρ_{a,k} ρ^{1/|A| − 1}} with {@code ρ_{a,k}} the RMS of the leaf's gradient entries in slice
     * {@code k} of axis {@code a}, {@code ρ} their RMS over the whole leaf and {@code A} the leaf's axes with a group
     * (floored like the factored route's); for a gradient that is one outer product {@code u ⊗ v} this gives
     * {@code r_k r_l = |u_k| |v_l|} up to the RMS normalisation, and it is the same formula for any leaf shape. The scale
     * of a parameter is a product over its leaf's axes, so the rescaled gradient keeps the factored form: each factor is
     * divided by the scales of its axes, and the second pass accumulates like {@link #symmetric} (the materialised route:
     * by {@link OrbitAverage#secondMoment} of the rescaled materialised gradients).
     *
     * @throws UnsupportedOperationException on the per-example route (the scales come from the factors)
     */
    public ScaledCurvature unitScaledSymmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        Objects.requireNonNull(progress, "progress");
        requireFactored("the unit-scaled symmetric Fisher");
        if (!PerExampleFactors.of(net).factors(spec)) {
            return route == Route.MATERIALISED ? materialisedUnitScaled(net, spec, progress) : partlyFactoredUnitScaled(net, spec, progress);
        }
        List<FactoredGradients> batches = new ArrayList<>();
        List<List<INDArray>> squares = new ArrayList<>();
        forEachBatch(net, spec, (g, done) -> {
            batches.add(g);
            for (int l = 0; l < spec.leaves().size(); l++) {
                if (squares.size() <= l) {
                    squares.add(new ArrayList<>());
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
        });
        long n = examples();
        // per leaf and axis: the scale vector (ones on free axes)
        List<List<INDArray>> axisScales = new ArrayList<>();
        for (int l = 0; l < spec.leaves().size(); l++) {
            LeafSpec leaf = spec.leaves().get(l);
            List<INDArray> perAxis = new ArrayList<>();
            for (int a = 0; a < leaf.rank(); a++) {
                if (leaf.label(a).isFree()) {
                    perAxis.add(Nd4j.ones(DataType.DOUBLE, leaf.size(a)));
                } else {
                    INDArray rms = Transforms.sqrt(squares.get(l).get(a).div(n), false);
                    double floor = SCALE_FLOOR * rms.meanNumber().doubleValue();
                    perAxis.add(Transforms.max(rms, floor > 0 ? floor : 1.0, false));
                }
            }
            axisScales.add(perAxis);
        }
        SymmetricFisherAccumulator accumulator = new SymmetricFisherAccumulator(KindDecomposition.of(spec), budget, accumulatorType);
        long done = 0;
        for (FactoredGradients g : batches) {
            List<List<INDArray>> scaled = new ArrayList<>();
            for (int l = 0; l < spec.leaves().size(); l++) {
                List<INDArray> f = g.leafFactors(l);
                List<INDArray> s = new ArrayList<>();
                for (int a = 0; a < f.size(); a++) {
                    s.add(f.get(a).castTo(DataType.DOUBLE).divRowVector(axisScales.get(l).get(a).reshape(1, f.get(a).size(1))));
                }
                scaled.add(s);
            }
            accumulator.add(new FactoredGradients(spec, scaled, g.count()));
            done += g.count() / samplesPerExample;
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
        INDArray scale = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        for (LeafSpec leaf : spec.leaves()) {
            KindDecomposition.addToLeaf(scale, leaf, scaleByLeaf.get(leaf.name()));
        }
        return new ScaledCurvature(accumulator.estimate(), scale);
    }

    /**
     * The diagonal Fisher {@code diag(F)_q = (1/N) Σ_i g_{i,q}²} on the leaves of {@code leaves} (their labels are
     * ignored), as a {@link DiagonalCurvature} (every parameter its own kind, {@code SIGN} on every axis). On the factored
     * route straight from the factors: {@code Σ_i g_i² = (A ∘ A)ᵀ (Δ ∘ Δ)} for a weight, {@code Σ_i δ_i²} for a bias,
     * one product per batch; no loop over parameters. On a CNN the kernels' squares come from their materialised
     * per-example gradients, one leaf at a time per batch ({@link PerExampleFactors#squaredGradientSumsWithLabels}).
     *
     * @param leaves the parameter leaves, e.g. the network's layout or a last-layer subset
     */
    public Curvature diagonal(MultiLayerNetwork net, SymmetrySpec leaves, Progress progress) {
        Objects.requireNonNull(progress, "progress");
        SymmetrySpec free = new SymmetrySpec(List.of(), leaves.leaves().stream().map(l -> l.withLabels(freeLabels(l))).toList());
        INDArray diagonal = Nd4j.zeros(DataType.DOUBLE, free.parameterCount());
        if (route == Route.PER_EXAMPLE) {
            forEachPerExampleChunk(net, (g, done) -> {
                INDArray restricted = restrict(net, free, g);
                diagonal.addi(restricted.mul(restricted).sum(0));
                progress.update(done, examples());
            });
            return DiagonalCurvature.of(free, diagonal.divi(examples() * samplesPerExample));
        }
        if (!PerExampleFactors.of(net).factors(free)) {
            // a CNN: per batch, dense leaves from their factors and the others materialised one leaf at a time
            return DiagonalCurvature.of(free, squaredGradientSums(net, free, progress).divi(examples() * samplesPerExample));
        }
        List<INDArray> sums = new ArrayList<>();
        for (LeafSpec leaf : free.leaves()) {
            sums.add(Nd4j.zeros(DataType.DOUBLE, leaf.shape()));
        }
        forEachBatch(net, free, (batch, done) -> {
            for (int l = 0; l < free.leaves().size(); l++) {
                List<INDArray> f = batch.leafFactors(l);
                INDArray last = f.get(f.size() - 1).castTo(DataType.DOUBLE);
                INDArray deltaSquared = last.mul(last);
                if (f.size() == 2) {
                    INDArray a = f.get(0).castTo(DataType.DOUBLE);
                    sums.get(l).addi(a.mul(a).transpose().mmul(deltaSquared));
                } else {
                    sums.get(l).addi(deltaSquared.sum(0));
                }
            }
            progress.update(done, examples());
        });
        long rows = examples() * samplesPerExample;
        for (int l = 0; l < free.leaves().size(); l++) {
            KindDecomposition.addToLeaf(diagonal, free.leaves().get(l), sums.get(l).divi(rows));
        }
        return DiagonalCurvature.of(free, diagonal);
    }

    /**
     * K-FAC, {@code F ≈ ⊕_l A_l ⊗ G_l} over the network's layers ({@link KroneckerCurvature}):
     * {@code A_l = (1/N) Σ_i ā_i ā_iᵀ} of the bias-augmented layer inputs {@code ā = [a; 1]} and
     * {@code G_l = (1/N) Σ_i δ_i δ_iᵀ} of the errors at the layer's pre-activation, both from the gradient factors (rows
     * {@code N·k} with Monte Carlo samples). Accumulated in float64. Dense layers only: a convolution (whose K-FAC form,
     * patch covariance ⊗ error covariance summed over positions, is not implemented) and a dense layer reading a flattened
     * image are refused naming the layer ({@link UnsupportedLayerException}); K-FAC of a CNN's dense tail works.
     *
     * @param leaves the layers' leaves (weight and, where the layer has one, bias), e.g. the network's layout
     * @throws UnsupportedOperationException on the per-example route (K-FAC is built from the factors)
     * @throws IllegalArgumentException      if a leaf set holds a bias without its weight or a parameter that is not a
     *                                       dense layer's
     */
    public KroneckerCurvature kfac(MultiLayerNetwork net, SymmetrySpec leaves, Progress progress) {
        Objects.requireNonNull(progress, "progress");
        requireFactored("K-FAC");
        NetworkWalk walk = NetworkWalk.of(net);
        SymmetrySpec free = new SymmetrySpec(List.of(), leaves.leaves().stream().map(l -> l.withLabels(freeLabels(l))).toList());
        // per layer: the index of its weight and bias leaf in the spec
        Map<Integer, int[]> layers = new LinkedHashMap<>();
        for (int i = 0; i < free.leaves().size(); i++) {
            NetworkWalk.Parameter p = walk.parameter(free.leaves().get(i));
            WalkLayer layer = walk.layers().get(p.layer());
            if (!(layer instanceof DenseWalkLayer) || !walk.factors(new NetworkWalk.Parameter(p.layer(), "W"))) {
                throw new UnsupportedLayerException(p.layer(), layer.layerClass(), "has leaf '" + free.leaves().get(i).name()
                        + "', whose per-example gradient does not factor as a ⊗ δ (a convolution, or a dense layer reading a flattened image):"
                        + " K-FAC is implemented for dense layers only", "use the symmetric or diagonal Fisher, or K-FAC on the dense leaves");
            }
            int[] wb = layers.computeIfAbsent(p.layer(), k -> new int[] {-1, -1});
            switch (p.key()) {
                case "W" -> wb[0] = i;
                case "b" -> wb[1] = i;
                default -> throw new IllegalArgumentException("K-FAC handles dense weights and biases, not leaf '" + free.leaves().get(i).name() + "'");
            }
        }
        Map<Integer, INDArray[]> sums = new LinkedHashMap<>();
        for (Map.Entry<Integer, int[]> e : layers.entrySet()) {
            int[] wb = e.getValue();
            if (wb[0] < 0) {
                throw new IllegalArgumentException("K-FAC needs layer " + e.getKey() + "'s weight with its bias; the leaves hold only '"
                        + free.leaves().get(wb[1]).name() + "'");
            }
            LeafSpec w = free.leaves().get(wb[0]);
            long rows = w.size(0) + (wb[1] >= 0 ? 1 : 0);
            sums.put(e.getKey(), new INDArray[] {Nd4j.zeros(DataType.DOUBLE, rows, rows), Nd4j.zeros(DataType.DOUBLE, w.size(1), w.size(1))});
        }
        forEachBatch(net, free, (batch, done) -> {
            for (Map.Entry<Integer, int[]> e : layers.entrySet()) {
                int[] wb = e.getValue();
                List<INDArray> f = batch.leafFactors(wb[0]);
                INDArray a = f.get(0).castTo(DataType.DOUBLE);
                INDArray delta = f.get(1).castTo(DataType.DOUBLE);
                if (wb[1] >= 0) {
                    a = Nd4j.hstack(a, Nd4j.ones(DataType.DOUBLE, a.size(0), 1));
                }
                INDArray[] s = sums.get(e.getKey());
                s[0].addi(a.transpose().mmul(a));
                s[1].addi(delta.transpose().mmul(delta));
            }
            progress.update(done, examples());
        });
        double rows = (double) examples() * samplesPerExample;
        List<KroneckerCurvature.LayerBlock> blocks = new ArrayList<>();
        for (Map.Entry<Integer, int[]> e : layers.entrySet()) {
            int[] wb = e.getValue();
            INDArray[] s = sums.get(e.getKey());
            blocks.add(new KroneckerCurvature.LayerBlock(free.leaves().get(wb[0]).name(), wb[1] >= 0 ? free.leaves().get(wb[1]).name() : null,
                    s[0].divi(rows), s[1].divi(rows)));
        }
        return KroneckerCurvature.of(free, blocks);
    }

    // ------------------------------------------------------------------ passes over the data

    @FunctionalInterface
    private interface BatchConsumer {
        void accept(FactoredGradients batch, long examplesDone);
    }

    /** The factored route: the gradient factors of every batch in order, with the labels of this source. */
    private void forEachBatch(MultiLayerNetwork net, SymmetrySpec spec, BatchConsumer consumer) {
        PerExampleFactors factors = PerExampleFactors.of(net);
        if (labels == Labels.EMPIRICAL && targets.size(1) != factors.outputCount()) {
            throw new IllegalArgumentException("the empirical Fisher needs targets [" + examples() + ", " + factors.outputCount() + "], one row per example; got "
                    + Arrays.toString(targets.shape()));
        }
        long n = examples();
        Random random = new Random(seed);
        for (long start = 0; start < n; start += batchSize) {
            long end = Math.min(n, start + batchSize);
            INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
            consumer.accept(labels == Labels.MONTE_CARLO
                    ? factors.withSampledLabels(x, samplesPerExample, random, spec)
                    : factors.withLabels(x, targets.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), spec), end);
        }
    }

    private void requireFactored(String what) {
        if (route == Route.PER_EXAMPLE) {
            throw new UnsupportedOperationException(what + " is built from the gradient factors: use Route.FACTORED");
        }
    }

    /**
     * The materialised route (a network whose per-example gradients do not all factor, e.g. a CNN): the per-example
     * gradients of chunks of examples, {@code [rows, P_spec]} in {@code spec}'s layout from one batched forward and backward
     * pass each ({@link PerExampleFactors#materialisedWithLabels}), chunks of at most {@link #batchSize()} examples and about
     * {@value #MATERIALISED_ELEMENTS} elements, with the labels of this source (the same draws as the factored route).
     */
    private void forEachMaterialisedChunk(MultiLayerNetwork net, SymmetrySpec spec, ChunkConsumer consumer) {
        PerExampleFactors factors = PerExampleFactors.of(net);
        requireTargetWidth(factors);
        long n = examples();
        long perChunk = Math.max(1, Math.min(batchSize, MATERIALISED_ELEMENTS / Math.max(1, spec.parameterCount() * samplesPerExample)));
        Random random = new Random(seed);
        for (long start = 0; start < n; start += perChunk) {
            long end = Math.min(n, start + perChunk);
            INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
            consumer.accept(labels == Labels.MONTE_CARLO
                    ? factors.materialisedWithSampledLabels(x, samplesPerExample, random, spec)
                    : factors.materialisedWithLabels(x, targets.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), spec), end);
        }
    }

    /** {@code Σ_r g_r²} over all examples and label samples, {@code [P_spec]} float64 ({@link PerExampleFactors#squaredGradientSumsWithLabels}). */
    private INDArray squaredGradientSums(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        PerExampleFactors walkFactors = PerExampleFactors.of(net);
        requireTargetWidth(walkFactors);
        INDArray sums = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        Random random = new Random(seed);
        long n = examples();
        for (long start = 0; start < n; start += batchSize) {
            long end = Math.min(n, start + batchSize);
            INDArray x = features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all());
            sums.addi(labels == Labels.MONTE_CARLO ? walkFactors.squaredGradientSumsWithSampledLabels(x, samplesPerExample, random, spec)
                    : walkFactors.squaredGradientSumsWithLabels(x, targets.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()), spec));
            progress.update(end, n);
        }
        return sums;
    }

    private void requireTargetWidth(PerExampleFactors factors) {
        if (labels == Labels.EMPIRICAL && targets.size(1) != factors.outputCount()) {
            throw new IllegalArgumentException("the empirical Fisher needs targets [" + examples() + ", " + factors.outputCount() + "], one row per example; got "
                    + Arrays.toString(targets.shape()));
        }
    }

    /**
     * {@code (1/(N k)) Σ_i R2(g_i / s, g_i / s)} from materialised per-example gradients, chunk by chunk
     * ({@link OrbitAverage#secondMoment}); {@code scale} {@code s} ({@code [P_spec]}) or {@code null} for none.
     */
    private Curvature materialisedSymmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress, INDArray scale) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        double rows = (double) examples() * samplesPerExample;
        Curvature[] sum = {null};
        INDArray row = scale == null ? null : scale.castTo(accumulatorType).reshape(1, scale.length());
        forEachMaterialisedChunk(net, spec, (g, done) -> {
            if (!org.symcurv.core.Finite.all(g)) {
                throw new ArithmeticException("per-example gradients contain NaN or infinity; check the model and data (a diverged model cannot give a Fisher)");
            }
            INDArray x = g.castTo(accumulatorType);
            if (row != null) {
                x = x.divRowVector(row);
            }
            Curvature part = OrbitAverage.secondMoment(kinds, x, budget).scale(g.size(0) / rows);
            sum[0] = sum[0] == null ? part : sum[0].plus(part);
            progress.update(done, examples());
        });
        return sum[0];
    }

    /**
     * The unit-scaled symmetric Fisher from materialised per-example gradients (two passes over the data with the same
     * labels). For a leaf {@code L} and each of its axes {@code a} that carries a group ({@code A_L} the set of such axes),
     * with {@code ρ_{a,k}² = (1/(R m_a)) Σ_r Σ_{θ ∈ L, index k on a} g_{r,θ}²} the mean square of the gradient entries of
     * slice {@code k} over the {@code R = N·k} rows ({@code m_a} entries per slice) and {@code ρ²} the mean square over the
     * whole leaf, the scale of index {@code k} is {@code r_{a,k} = ρ_{a,k} ρ^{1/|A_L| − 1}}, floored at
     * {@value #SCALE_FLOOR} times the axis mean; free axes are not rescaled, and a parameter's scale is the product over
     * {@code A_L}. For a gradient that is one outer product {@code u ⊗ v} this gives {@code r_k r_l = |u_k| |v_l|} up to
     * the RMS normalisation, so a parameter's scale is its gradient's magnitude, as the factored route's factor RMS does
     * for a dense layer.
     */
    private ScaledCurvature materialisedUnitScaled(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        INDArray squares = squaredGradientSums(net, spec, (done, all) -> progress.update(done / 2, all));
        double rows = (double) examples() * samplesPerExample;
        INDArray scale = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        for (LeafSpec leaf : spec.leaves()) {
            KindDecomposition.addToLeaf(scale, leaf, leafScale(leaf, KindDecomposition.leafTensor(squares, leaf).div(rows)));
        }
        Curvature averaged = materialisedSymmetric(net, spec, (done, all) -> progress.update((all + done) / 2, all), scale);
        return new ScaledCurvature(averaged, scale);
    }

    /**
     * The factored route's unit-scaled symmetric Fisher of a CNN: the scales of {@link #materialisedUnitScaled} from one
     * pass of squared gradient sums, then the factors of a second pass (the same labels) divided by their axes' scales and
     * accumulated ({@link SymmetricFisherAccumulator}).
     */
    private ScaledCurvature partlyFactoredUnitScaled(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        INDArray squares = squaredGradientSums(net, spec, (done, all) -> progress.update(done / 2, all));
        double rows = (double) examples() * samplesPerExample;
        INDArray scale = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        List<List<INDArray>> axisScales = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            List<INDArray> perAxis = leafAxisScales(leaf, KindDecomposition.leafTensor(squares, leaf).div(rows));
            axisScales.add(perAxis);
            KindDecomposition.addToLeaf(scale, leaf, outer(perAxis, 0, leaf.rank()).reshape(leaf.shape()));
        }
        SymmetricFisherAccumulator accumulator = new SymmetricFisherAccumulator(KindDecomposition.of(spec), budget, accumulatorType);
        forEachBatch(net, spec, (batch, done) -> {
            List<List<INDArray>> scaled = new ArrayList<>();
            for (int l = 0; l < spec.leaves().size(); l++) {
                List<INDArray> s = new ArrayList<>();
                int first = 0;
                for (INDArray f : batch.leafFactors(l)) {
                    int run = f.rank() - 1;
                    INDArray divisor = outer(axisScales.get(l), first, run).castTo(accumulatorType);
                    long[] shape = f.shape().clone();
                    shape[0] = 1;
                    INDArray x = f.castTo(accumulatorType);
                    s.add(x.div(divisor.reshape('c', shape).broadcast(x.shape())));
                    first += run;
                }
                scaled.add(s);
            }
            accumulator.add(new FactoredGradients(spec, scaled, batch.count()));
            progress.update((examples() + done) / 2, examples());
        });
        return new ScaledCurvature(accumulator.estimate(), scale);
    }

    /** The outer product of the vectors {@code perAxis[first … first + run)} as a {@code 'c'}-ordered tensor of their sizes. */
    private static INDArray outer(List<INDArray> perAxis, int first, int run) {
        INDArray t = perAxis.get(first).reshape(1, perAxis.get(first).length());
        for (int a = first + 1; a < first + run; a++) {
            t = SymmetricFisherAccumulator.rowKronecker(t, perAxis.get(a).reshape(1, perAxis.get(a).length()));
        }
        long[] shape = new long[run];
        for (int a = 0; a < run; a++) {
            shape[a] = perAxis.get(first + a).length();
        }
        return t.reshape('c', shape);
    }

    /** The scale tensor of one leaf from its mean squared gradient entries {@code meanSquares} (leaf-shaped); see {@link #materialisedUnitScaled}. */
    private static INDArray leafScale(LeafSpec leaf, INDArray meanSquares) {
        return outer(leafAxisScales(leaf, meanSquares), 0, leaf.rank()).reshape(leaf.shape());
    }

    /**
     * A leaf's scale as one vector per axis, its product the scale tensor ({@link #materialisedUnitScaled}): on an axis with
     * a group {@code r_{a,k} = ρ_{a,k} ρ^{1/|A| − 1}}, floored; ones on free axes (and on every axis of a leaf whose
     * gradient is zero).
     */
    private static List<INDArray> leafAxisScales(LeafSpec leaf, INDArray meanSquares) {
        int rank = leaf.rank();
        List<Integer> grouped = new ArrayList<>();
        List<INDArray> perAxis = new ArrayList<>();
        for (int a = 0; a < rank; a++) {
            if (!leaf.label(a).isFree()) {
                grouped.add(a);
            }
            perAxis.add(Nd4j.ones(DataType.DOUBLE, leaf.size(a)));
        }
        double overall = Math.sqrt(meanSquares.meanNumber().doubleValue());
        if (grouped.isEmpty() || !(overall > 0)) {
            return perAxis;
        }
        double normalisation = Math.pow(overall, 1.0 / grouped.size() - 1.0);
        for (int a : grouped) {
            int[] others = new int[rank - 1];
            for (int b = 0, o = 0; b < rank; b++) {
                if (b != a) {
                    others[o++] = b;
                }
            }
            INDArray slice = others.length == 0 ? meanSquares.dup() : meanSquares.mean(others); // [size(a)]
            INDArray r = Transforms.sqrt(slice, false).muli(normalisation);
            double floor = SCALE_FLOOR * r.meanNumber().doubleValue();
            perAxis.set(a, Transforms.max(r, floor > 0 ? floor : 1.0, false).reshape(leaf.size(a)));
        }
        return perAxis;
    }

    @FunctionalInterface
    private interface ChunkConsumer {
        /** @param gradients {@code [rows, P]} per-example gradients (in {@code params()} order, or the spec's for the materialised route) */
        void accept(INDArray gradients, long examplesDone);
    }

    /**
     * The per-example route: chunks of {@value #PER_EXAMPLE_CHUNK} examples (times {@code k} label samples), one DL4J
     * backward pass each; the labels are drawn for all examples at once from {@code new Random(seed)}, the same draws as
     * the factored route's.
     */
    private void forEachPerExampleChunk(MultiLayerNetwork net, ChunkConsumer consumer) {
        DataType type = net.params().dataType();
        INDArray x = NetworkWalk.repeatRows(features.castTo(type), samplesPerExample);
        INDArray y = labels == Labels.EMPIRICAL ? targets.castTo(DataType.DOUBLE)
                : PerExampleFactors.of(net).sampleLabels(features.castTo(type), samplesPerExample, new Random(seed)).castTo(DataType.DOUBLE);
        long n = x.size(0);
        for (long start = 0; start < n; start += PER_EXAMPLE_CHUNK) {
            long end = Math.min(n, start + PER_EXAMPLE_CHUNK);
            INDArray xs = x.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).dup();
            INDArray ys = y.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).dup();
            consumer.accept(Gradients.perExample(net, new DataSet(xs, ys)).castTo(DataType.DOUBLE), end / samplesPerExample);
        }
    }

    private Curvature perExampleSymmetric(MultiLayerNetwork net, SymmetrySpec spec, Progress progress) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        long rows = examples() * samplesPerExample;
        Curvature[] sum = {null};
        forEachPerExampleChunk(net, (g, done) -> {
            INDArray restricted = restrict(net, spec, g);
            Curvature part = OrbitAverage.secondMoment(kinds, restricted, budget).scale((double) g.size(0) / rows);
            sum[0] = sum[0] == null ? part : sum[0].plus(part);
            progress.update(done, examples());
        });
        return sum[0];
    }

    /** The columns of full per-example gradients ({@code [rows, P_net]}) that belong to {@code spec}'s leaves, in its layout. */
    private static INDArray restrict(MultiLayerNetwork net, SymmetrySpec spec, INDArray gradients) {
        ParameterLayout layout = ParameterLayout.of(net);
        if (spec.parameterCount() == layout.parameterCount() && spec.leaves().stream().allMatch(l -> l.offset() == layout.leaf(l.name()).offset())) {
            return gradients;
        }
        INDArray out = Nd4j.zeros(DataType.DOUBLE, gradients.size(0), spec.parameterCount());
        for (LeafSpec leaf : spec.leaves()) {
            ParameterLeaf source = layout.leaf(leaf.name());
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                    .assign(gradients.get(NDArrayIndex.all(), NDArrayIndex.interval(source.offset(), source.offset() + source.length())));
        }
        return out;
    }

    private static List<org.symcurv.core.symmetry.AxisLabel> freeLabels(LeafSpec leaf) {
        List<org.symcurv.core.symmetry.AxisLabel> labels = new ArrayList<>();
        for (int a = 0; a < leaf.rank(); a++) {
            labels.add(org.symcurv.core.symmetry.AxisLabel.FREE);
        }
        return labels;
    }

    /** A short description for reports, e.g. "Monte Carlo Fisher from gradient factors, 2,000 examples, seed 7". */
    public String describe() {
        String how = switch (route) {
            case FACTORED -> "from gradient factors";
            case MATERIALISED -> "from gradient factors, materialised on CNNs";
            case PER_EXAMPLE -> "from per-example gradients";
        };
        String samples = samplesPerExample == 1 ? "" : String.format(Locale.ROOT, ", %d labels per example", samplesPerExample);
        return labels == Labels.MONTE_CARLO
                ? String.format(Locale.ROOT, "Monte Carlo Fisher %s, %,d examples%s, seed %d", how, examples(), samples, seed)
                : String.format(Locale.ROOT, "empirical Fisher %s, %,d examples", how, examples());
    }

    @Override
    public String toString() {
        return "FisherSource[" + describe() + ", batch " + batchSize + ", " + budget + ", " + accumulatorType + "]";
    }
}
