package org.symcurv.pruning;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.SymmetricEigen;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.operator.ScaledCurvature;
import org.symcurv.core.operator.DiagonalCurvature;

/**
 * Structured pruning: whole hidden units of dense layers and output channels of convolutional layers are removed and
 * the result is a genuinely smaller DL4J network. Unit (channel) {@code i} of hidden layer {@code l} owns the block
 * {@code Q_i} (its slice of {@code W_l}, its bias, its slice of the next parameterised layer's weight: outgoing row,
 * input channel of the next kernel, or the rows {@code i·H·W + s} of a dense layer after flattening;
 * {@link NetworkSurgery#unitBlock}). Removing it costs, in the quadratic model, the block OBS saliency
 *
 * <pre>    s_i = ½ w_Qᵀ ([F̃⁻¹]_QQ)⁻¹ w_Q,    with update  δθ = −F̃⁻¹ E_Q ([F̃⁻¹]_QQ)⁻¹ w_Q</pre>
 *
 * ({@code E_Q} the columns of the identity at {@code Q}; Hassibi and Stork 1993 for a set of weights). When the
 * Fisher commutes with the permutations of the layer's units ({@code PERM}, {@code SIGNED_PERM} or {@code ORTH}
 * groups, as the symmetry-averaged Fisher does), {@code [F̃⁻¹]_QQ} is the same matrix {@code M_l} for every unit of the
 * layer, so one {@code |Q| × |Q|} block of the inverse is formed and inverted per layer and round. For a diagonal
 * Fisher {@code M} is diagonal per unit and the update only zeroes the block. OBD scores {@code ½ Σ_{q∈Q} w_q² F_qq},
 * magnitude {@code ‖w_Q‖²}; neither compensates.
 *
 * <p>In each of {@code k} rounds every pruned layer keeps {@code (1 − u)^{r/k}} of its original units
 * ({@link PruningScope#PER_LAYER}) or the hidden units of all layers are ranked together
 * ({@link PruningScope#GLOBAL}, keeping at least one unit per layer); the units of a round are removed at once with
 * the summed updates {@code δθ = −F̃⁻¹ Σ_i E_{Q_i} M⁻¹ w_{Q_i}}, and the Fisher is re-estimated on the smaller network
 * before the next round. Immutable settings; {@link #prune} does not modify its input.
 */
public final class NeuronPruner {
    private final PruningMethod method;
    private final double unitFraction;
    private final int rounds;
    private final PruningScope scope;
    private final ObsDamping damping;
    private final SpecInference.Options specOptions;
    private final boolean unitScaled;

    private NeuronPruner(PruningMethod method, double unitFraction, int rounds, PruningScope scope, ObsDamping damping,
                         SpecInference.Options specOptions, boolean unitScaled) {
        this.method = Objects.requireNonNull(method, "method");
        if (!(unitFraction >= 0.0 && unitFraction < 1.0)) {
            throw new IllegalArgumentException("the fraction of hidden units to remove must be in [0, 1), got " + unitFraction);
        }
        if (rounds < 1) {
            throw new IllegalArgumentException("pruning needs at least one round, got " + rounds);
        }
        this.unitFraction = unitFraction;
        this.rounds = rounds;
        this.scope = Objects.requireNonNull(scope, "scope");
        this.damping = Objects.requireNonNull(damping, "damping");
        this.specOptions = Objects.requireNonNull(specOptions, "specOptions");
        this.unitScaled = unitScaled;
    }

    /**
     * Removes a fraction {@code u} of every hidden layer's units with {@code method}: one round, per layer,
     * {@link ObsDamping#DEFAULT}.
     *
     * @throws IllegalArgumentException unless {@code 0 ≤ u < 1}
     */
    public static NeuronPruner of(PruningMethod method, double unitFraction) {
        return new NeuronPruner(method, unitFraction, 1, PruningScope.PER_LAYER, ObsDamping.DEFAULT, SpecInference.Options.defaults(), false);
    }

    public NeuronPruner withRounds(int k) {
        return new NeuronPruner(method, unitFraction, k, scope, damping, specOptions, unitScaled);
    }

    public NeuronPruner withScope(PruningScope newScope) {
        return new NeuronPruner(method, unitFraction, rounds, newScope, damping, specOptions, unitScaled);
    }

    public NeuronPruner withDamping(ObsDamping newDamping) {
        return new NeuronPruner(method, unitFraction, rounds, scope, newDamping, specOptions, unitScaled);
    }

    public NeuronPruner withSpecOptions(SpecInference.Options options) {
        return new NeuronPruner(method, unitFraction, rounds, scope, damping, options, unitScaled);
    }

    /** Whether OBD and OBS on the symmetry Fisher use its unit-scaled form ({@link ScaledCurvature}). */
    public NeuronPruner withUnitScaledFisher(boolean scaled) {
        return new NeuronPruner(method, unitFraction, rounds, scope, damping, specOptions, scaled);
    }

    public PruningMethod method() {
        return method;
    }

    public double unitFraction() {
        return unitFraction;
    }

    public int rounds() {
        return rounds;
    }

    public PruningScope scope() {
        return scope;
    }

    /**
     * The outcome.
     *
     * @param network    the smaller network
     * @param keptUnits  hidden layer index → the original indices of the units (channels) it kept, increasing
     * @param rounds     one report per round ({@code removed} counts units)
     */
    public record Result(MultiLayerNetwork network, Map<Integer, int[]> keptUnits, List<RoundReport> rounds) {
        public Result {
            Map<Integer, int[]> copy = new LinkedHashMap<>();
            keptUnits.forEach((l, u) -> copy.put(l, u.clone()));
            keptUnits = java.util.Collections.unmodifiableMap(copy);
            rounds = List.copyOf(rounds);
        }
    }

    /**
     * Prunes units of a copy of {@code net}.
     *
     * @param net      {@code DenseLayer}s, {@code ConvolutionLayer}s (with subsampling and dropout layers between) and an
     *                 {@code OutputLayer}; not modified
     * @param fisher   where the Fisher comes from (unused by magnitude)
     * @param listener progress
     * @throws IllegalArgumentException if the network has no hidden layer, or OBS on a Fisher that neither is diagonal
     *                                  nor commutes with permutations of some layer's units
     */
    public Result prune(MultiLayerNetwork net, FisherSource fisher, PruningListener listener) {
        Objects.requireNonNull(listener, "listener");
        List<Integer> hidden = NetworkSurgery.hiddenLayers(net);
        Map<Integer, int[]> original = new LinkedHashMap<>();
        long totalUnits = 0;
        for (int l : hidden) {
            int n = NetworkSurgery.units(net, l);
            original.put(l, range(n));
            totalUnits += n;
        }
        MultiLayerNetwork work = net.clone();
        Map<Integer, int[]> kept = original; // original indices of the units still present
        List<RoundReport> reports = new ArrayList<>();
        for (int r = 1; r <= rounds; r++) {
            long started = System.nanoTime();
            String stage = "round " + r + "/" + rounds;
            ParameterLayout layout = ParameterLayout.of(work);
            INDArray theta = layout.read(work).castTo(DataType.DOUBLE);
            double fisherSeconds = 0.0;
            ScaledCurvature f = null;
            Curvature inverse = null;
            // all scores and updates in the Fisher's coordinates θ' = s ∘ θ (s = 1 unless unit-scaled)
            INDArray scaledTheta = theta;
            if (method != PruningMethod.MAGNITUDE) {
                long t = System.nanoTime();
                f = Fishers.estimate(method, work, fisher, specOptions, unitScaled, listener, stage);
                fisherSeconds = (System.nanoTime() - t) / 1e9;
                scaledTheta = f.toScaled(theta);
                if (method.isObs()) {
                    inverse = damping.inverse(f.scaled());
                }
            }
            Map<Integer, LayerScores> scores = new LinkedHashMap<>();
            for (int l : hidden) {
                scores.put(l, score(work, scaledTheta, l, f == null ? null : f.scaled(), inverse, listener, stage));
            }
            Map<Integer, int[]> removed = choose(scores, kept, original, r);
            double predicted = 0.0;
            long removedCount = 0;
            double[] v = new double[(int) layout.parameterCount()];
            for (Map.Entry<Integer, int[]> e : removed.entrySet()) {
                LayerScores s = scores.get(e.getKey());
                for (int i : e.getValue()) {
                    predicted += s.cost[i];
                    removedCount++;
                    if (s.coefficients != null) {
                        for (int j = 0; j < s.blocks[i].length; j++) {
                            v[(int) s.blocks[i][j]] += s.coefficients[i][j];
                        }
                    }
                }
            }
            if (inverse != null && removedCount > 0) {
                theta = theta.sub(f.fromScaled(inverse.multiply(Nd4j.createFromArray(v).castTo(inverse.dataType()))));
            }
            Map<Integer, int[]> keepLocal = new LinkedHashMap<>();
            Map<Integer, int[]> keepOriginal = new LinkedHashMap<>();
            for (int l : hidden) {
                int[] gone = removed.getOrDefault(l, new int[0]);
                int n = kept.get(l).length;
                boolean[] drop = new boolean[n];
                for (int i : gone) {
                    drop[i] = true;
                }
                int[] local = java.util.stream.IntStream.range(0, n).filter(i -> !drop[i]).toArray();
                keepLocal.put(l, local);
                int[] before = kept.get(l);
                keepOriginal.put(l, Arrays.stream(local).map(i -> before[i]).toArray());
            }
            work = NetworkSurgery.keepUnits(work, theta, keepLocal);
            kept = keepOriginal;
            long remaining = kept.values().stream().mapToLong(a -> a.length).sum();
            RoundReport report = new RoundReport(r, rounds, removedCount, 1.0 - (double) remaining / totalUnits,
                    method == PruningMethod.MAGNITUDE ? Double.NaN : predicted, fisherSeconds, (System.nanoTime() - started) / 1e9);
            reports.add(report);
            listener.roundFinished(report);
        }
        return new Result(work, kept, reports);
    }

    /**
     * Per unit of one layer: its block indices, its cost, and for OBS the coefficients {@code M⁻¹ w_Q} of its update.
     */
    private record LayerScores(long[][] blocks, double[] cost, double[][] coefficients) {
    }

    private LayerScores score(MultiLayerNetwork work, INDArray theta, int layer, Curvature f, Curvature inverse,
                              PruningListener listener, String stage) {
        long[][] blocks = NetworkSurgery.unitBlocks(work, layer);
        int n = blocks.length;
        double[] t = theta.toDoubleVector();
        double[][] w = gather(t, blocks);
        double[] cost = new double[n];
        switch (method) {
            case MAGNITUDE -> {
                for (int i = 0; i < n; i++) {
                    cost[i] = dot(w[i], w[i]);
                }
                return new LayerScores(blocks, cost, null);
            }
            case OBD -> {
                double[][] d = gather(f.diagonal().castTo(DataType.DOUBLE).toDoubleVector(), blocks);
                for (int i = 0; i < n; i++) {
                    for (int j = 0; j < w[i].length; j++) {
                        cost[i] += 0.5 * w[i][j] * w[i][j] * d[i][j];
                    }
                }
                return new LayerScores(blocks, cost, null);
            }
            default -> {
                double[][] coefficients = new double[n][];
                if (DiagonalCurvature.isDiagonal(inverse)) {
                    double[][] d = gather(inverse.diagonal().castTo(DataType.DOUBLE).toDoubleVector(), blocks);
                    for (int i = 0; i < n; i++) {
                        coefficients[i] = new double[w[i].length];
                        for (int j = 0; j < w[i].length; j++) {
                            coefficients[i][j] = w[i][j] / d[i][j];
                        }
                    }
                } else {
                    requirePermutationInvariant(inverse.spec(), NetworkSurgery.describe(work, layer));
                    INDArray mInverse = inverseOfSharedBlock(inverse, blocks[0], listener, stage + ": block of layer " + layer);
                    INDArray c = Nd4j.createFromArray(w).mmul(mInverse); // M⁻¹ symmetric: rows are M⁻¹ w_i
                    coefficients = c.toDoubleMatrix();
                }
                for (int i = 0; i < n; i++) {
                    cost[i] = 0.5 * dot(w[i], coefficients[i]);
                }
                return new LayerScores(blocks, cost, coefficients);
            }
        }
    }

    /** {@code ([F̃⁻¹]_QQ)⁻¹} for the block {@code Q} of one unit, the submatrix formed entry by entry ({@link Curvature#principalSubmatrix}). */
    private static INDArray inverseOfSharedBlock(Curvature inverse, long[] block, PruningListener listener, String stage) {
        listener.stageStarted(stage, block.length);
        INDArray m = inverse.principalSubmatrix(block);
        listener.stageProgress(block.length);
        SymmetricEigen eigen = SymmetricEigen.of(m);
        if (!(eigen.min() > 0.0)) {
            throw new ArithmeticException("the block of the damped inverse Fisher for one unit has eigenvalue " + eigen.min()
                    + " ≤ 0; raise the damping");
        }
        return eigen.power(-1.0, 0.0);
    }

    /**
     * @throws IllegalArgumentException unless the layer's units (channels) carry one group containing their
     *                                  permutations on every axis they index: {@code W_l}'s unit axis, {@code b_l} and
     *                                  the next layer's input axis
     */
    static void requirePermutationInvariant(SymmetrySpec spec, NetworkSurgery.Hidden hidden) {
        int layer = hidden.layer();
        AxisLabel out = spec.leaf(hidden.weight().name()).label(hidden.unitAxis());
        String problem = null;
        if (out.isFree()) {
            problem = "its units carry no group";
        } else {
            GroupType type = spec.group(out.group()).type();
            if (type == GroupType.SIGN) {
                problem = "its group " + out.group() + " is SIGN, which does not permute units";
            } else if ((hidden.bias() != null && !out.equals(spec.leaf(hidden.bias().name()).label(0)))
                    || !out.equals(spec.leaf(hidden.next().name()).label(hidden.nextAxis()))) {
                problem = "its bias or the next layer's input axis carry another group than " + out.group();
            }
        }
        if (problem != null) {
            throw new IllegalArgumentException("structured OBS needs a Fisher that is diagonal or commutes with permutations of the units of"
                    + " layer " + layer + ", but " + problem + "; use the inferred groups (PERM, SIGNED_PERM or ORTH) or the diagonal Fisher");
        }
    }

    /** Which units (current local indices) each layer loses in round {@code r}. */
    private Map<Integer, int[]> choose(Map<Integer, LayerScores> scores, Map<Integer, int[]> kept, Map<Integer, int[]> original, int r) {
        Map<Integer, int[]> removed = new LinkedHashMap<>();
        if (scope == PruningScope.PER_LAYER) {
            for (Map.Entry<Integer, LayerScores> e : scores.entrySet()) {
                int l = e.getKey();
                int n = kept.get(l).length;
                long keep = Math.max(1, Selection.keptAfterRound(original.get(l).length, unitFraction, r, rounds));
                long[] chosen = Selection.smallest(e.getValue().cost, longRange(n), (int) Math.max(0, n - keep));
                removed.put(l, Arrays.stream(chosen).mapToInt(x -> (int) x).toArray());
            }
            return removed;
        }
        long total = original.values().stream().mapToLong(a -> a.length).sum();
        long now = kept.values().stream().mapToLong(a -> a.length).sum();
        long remove = Math.max(0, now - Selection.keptAfterRound(total, unitFraction, r, rounds));
        List<int[]> pool = new ArrayList<>(); // {layer, unit}
        for (Map.Entry<Integer, LayerScores> e : scores.entrySet()) {
            for (int i = 0; i < e.getValue().cost.length; i++) {
                pool.add(new int[] {e.getKey(), i});
            }
        }
        pool.sort((a, b) -> {
            int c = Double.compare(scores.get(a[0]).cost[a[1]], scores.get(b[0]).cost[b[1]]);
            return c != 0 ? c : (a[0] != b[0] ? Integer.compare(a[0], b[0]) : Integer.compare(a[1], b[1]));
        });
        Map<Integer, List<Integer>> lists = new LinkedHashMap<>();
        Map<Integer, Integer> left = new LinkedHashMap<>();
        kept.forEach((l, u) -> left.put(l, u.length));
        for (int[] unit : pool) {
            if (remove == 0) {
                break;
            }
            if (left.get(unit[0]) > 1) {
                lists.computeIfAbsent(unit[0], x -> new ArrayList<>()).add(unit[1]);
                left.merge(unit[0], -1, Integer::sum);
                remove--;
            }
        }
        lists.forEach((l, u) -> removed.put(l, u.stream().mapToInt(Integer::intValue).sorted().toArray()));
        return removed;
    }

    private static double[][] gather(double[] values, long[][] blocks) {
        double[][] out = new double[blocks.length][];
        for (int i = 0; i < blocks.length; i++) {
            out[i] = new double[blocks[i].length];
            for (int j = 0; j < blocks[i].length; j++) {
                out[i][j] = values[(int) blocks[i][j]];
            }
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0.0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }

    private static int[] range(int n) {
        return java.util.stream.IntStream.range(0, n).toArray();
    }

    private static long[] longRange(int n) {
        return java.util.stream.LongStream.range(0, n).toArray();
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s structured, %.1f%% of hidden units, %d round%s, %s, damping %s", method.label(),
                100 * unitFraction, rounds, rounds == 1 ? "" : "s", scope.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), damping);
    }
}
