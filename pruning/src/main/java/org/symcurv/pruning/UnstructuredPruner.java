package org.symcurv.pruning;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.operator.ScaledCurvature;

/**
 * Unstructured pruning of a DL4J network to a target sparsity {@code s} of its weights (dense weight matrices and
 * convolution kernels {@code [out, in, kh, kw]}), in {@code k}
 * rounds. Round {@code r} keeps a fraction {@code (1 − s)^{r/k}} of the prunable weights (every round removes the
 * same share of what is left): it re-estimates the Fisher {@code F} at the current weights, scores the weights still
 * present ({@link Saliencies}), removes the lowest-scoring ones — over all weight matrices together
 * ({@link PruningScope#GLOBAL}) or matrix by matrix ({@link PruningScope#PER_LAYER}) — and, for OBS, applies the
 * summed compensating update
 *
 * <pre>    δθ = −F̃⁻¹ Σ_{q∈Q} (w_q / [F̃⁻¹]_qq) e_q</pre>
 *
 * (one application of the structured {@code F̃⁻¹}; biases are not pruned but move with the update). The mask is then
 * applied, so every weight pruned in this or an earlier round is exactly zero (Hassibi and Stork 1993; Artemev et
 * al., ICML 2026; symmetry-curvature.md section 9).
 *
 * <p>Immutable settings; {@link #prune} leaves its input network untouched and returns a pruned copy.
 */
public final class UnstructuredPruner {
    private final PruningMethod method;
    private final double sparsity;
    private final int rounds;
    private final PruningScope scope;
    private final ObsDamping damping;
    private final SpecInference.Options specOptions;
    private final Compensation compensation;
    private final int solverIterations;
    private final boolean unitScaled;

    /** Default bound on the conjugate-gradient iterations of {@link Compensation#CONSTRAINED}. */
    public static final int DEFAULT_SOLVER_ITERATIONS = 50;
    /** Relative residual at which the constrained solve stops early. */
    static final double SOLVER_TOLERANCE = 1e-4;

    private UnstructuredPruner(PruningMethod method, double sparsity, int rounds, PruningScope scope, ObsDamping damping,
                               SpecInference.Options specOptions, Compensation compensation, int solverIterations, boolean unitScaled) {
        this.method = Objects.requireNonNull(method, "method");
        if (!(sparsity >= 0.0 && sparsity < 1.0)) {
            throw new IllegalArgumentException("target sparsity must be in [0, 1), got " + sparsity);
        }
        if (rounds < 1) {
            throw new IllegalArgumentException("pruning needs at least one round, got " + rounds);
        }
        this.sparsity = sparsity;
        this.rounds = rounds;
        this.scope = Objects.requireNonNull(scope, "scope");
        this.damping = Objects.requireNonNull(damping, "damping");
        this.specOptions = Objects.requireNonNull(specOptions, "specOptions");
        this.compensation = Objects.requireNonNull(compensation, "compensation");
        if (solverIterations < 1) {
            throw new IllegalArgumentException("the constrained solve needs at least one iteration, got " + solverIterations);
        }
        this.solverIterations = solverIterations;
        this.unitScaled = unitScaled;
    }

    /**
     * Pruning with {@code method} to {@code sparsity} of the weight matrices: one round, global ranking,
     * {@link ObsDamping#DEFAULT}, groups inferred from the activations.
     *
     * @throws IllegalArgumentException unless {@code 0 ≤ sparsity < 1}
     */
    public static UnstructuredPruner of(PruningMethod method, double sparsity) {
        return new UnstructuredPruner(method, sparsity, 1, PruningScope.GLOBAL, ObsDamping.DEFAULT, SpecInference.Options.defaults(),
                Compensation.SUMMED, DEFAULT_SOLVER_ITERATIONS, false);
    }

    /** @throws IllegalArgumentException for {@code k < 1} */
    public UnstructuredPruner withRounds(int k) {
        return new UnstructuredPruner(method, sparsity, k, scope, damping, specOptions, compensation, solverIterations, unitScaled);
    }

    public UnstructuredPruner withScope(PruningScope newScope) {
        return new UnstructuredPruner(method, sparsity, rounds, newScope, damping, specOptions, compensation, solverIterations, unitScaled);
    }

    public UnstructuredPruner withDamping(ObsDamping newDamping) {
        return new UnstructuredPruner(method, sparsity, rounds, scope, newDamping, specOptions, compensation, solverIterations, unitScaled);
    }

    /** How the symmetry spec of the network is inferred (e.g. a coarser or finer group type). */
    public UnstructuredPruner withSpecOptions(SpecInference.Options options) {
        return new UnstructuredPruner(method, sparsity, rounds, scope, damping, options, compensation, solverIterations, unitScaled);
    }

    /**
     * How OBS compensates ({@link Compensation#SUMMED} by default); {@code maxIterations} bounds the conjugate-gradient
     * iterations of {@link Compensation#CONSTRAINED}.
     */
    public UnstructuredPruner withCompensation(Compensation newCompensation, int maxIterations) {
        return new UnstructuredPruner(method, sparsity, rounds, scope, damping, specOptions, newCompensation, maxIterations, unitScaled);
    }

    /**
     * Whether OBD and OBS on the symmetry Fisher use its unit-scaled form {@code S F' S} ({@link ScaledCurvature};
     * the factored route of {@link FisherSource}).
     */
    public UnstructuredPruner withUnitScaledFisher(boolean scaled) {
        return new UnstructuredPruner(method, sparsity, rounds, scope, damping, specOptions, compensation, solverIterations, scaled);
    }

    public boolean unitScaledFisher() {
        return unitScaled;
    }

    public Compensation compensation() {
        return compensation;
    }

    public PruningMethod method() {
        return method;
    }

    public double sparsity() {
        return sparsity;
    }

    public int rounds() {
        return rounds;
    }

    public PruningScope scope() {
        return scope;
    }

    public ObsDamping damping() {
        return damping;
    }

    /**
     * The outcome.
     *
     * @param network a new network with the pruned (and, for OBS, compensated) parameters
     * @param mask    the pruned parameters, all exactly zero in {@code network}
     * @param rounds  one report per round
     */
    public record Result(MultiLayerNetwork network, PruningMask mask, List<RoundReport> rounds) {
        public Result {
            rounds = List.copyOf(rounds);
        }

        /** Fraction of the weight matrices' entries that are pruned. */
        public double sparsity() {
            return mask.sparsity(prunableLeaves(ParameterLayout.of(network)));
        }
    }

    /** The weights {@code l_W} of every layer (dense matrices, convolution kernels): what unstructured pruning may remove (biases are kept). */
    public static List<ParameterLeaf> prunableLeaves(ParameterLayout layout) {
        List<ParameterLeaf> out = new ArrayList<>();
        for (ParameterLeaf leaf : layout.leaves()) {
            if (leaf.key().equals("W")) {
                out.add(leaf);
            }
        }
        return out;
    }

    /**
     * Prunes a copy of {@code net}.
     *
     * @param net      a network of {@code DenseLayer}s, {@code ConvolutionLayer}s (with subsampling and dropout layers) and an
     *                 {@code OutputLayer}; not modified
     * @param fisher   where the Fisher comes from (unused by {@link PruningMethod#MAGNITUDE})
     * @param listener progress
     * @throws org.symcurv.core.model.UnsupportedLayerException for another kind of layer
     * @throws ArithmeticException if the Fisher or the saliencies contain NaN
     */
    public Result prune(MultiLayerNetwork net, FisherSource fisher, PruningListener listener) {
        Objects.requireNonNull(listener, "listener");
        ParameterLayout layout = ParameterLayout.of(net);
        MultiLayerNetwork work = net.clone();
        List<ParameterLeaf> leaves = prunableLeaves(layout);
        PruningMask mask = PruningMask.none(layout.parameterCount());
        INDArray theta = layout.read(work).castTo(DataType.DOUBLE);
        List<RoundReport> reports = new ArrayList<>();
        long prunableTotal = leaves.stream().mapToLong(ParameterLeaf::length).sum();
        for (int r = 1; r <= rounds; r++) {
            long started = System.nanoTime();
            String stage = "round " + r + "/" + rounds;
            Scores scores = score(work, theta, fisher, listener, stage);
            long[] removed = select(layout, leaves, mask, scores.saliency, r);
            double predicted = 0.0;
            for (long q : removed) {
                predicted += scores.saliency[(int) q];
            }
            PruningMask next = mask.withPruned(removed);
            if (method.isObs() && removed.length > 0) {
                // OBS in the coordinates θ' = s ∘ θ of the (possibly unit-scaled) Fisher; the update maps back by 1/s
                INDArray scaledTheta = scores.fisher.toScaled(theta);
                if (compensation == Compensation.SUMMED) {
                    theta = theta.add(scores.fisher.fromScaled(
                            Saliencies.summedObsUpdate(scores.inverse, scores.inverseDiagonal, scaledTheta, removed)));
                } else if (compensation == Compensation.CONSTRAINED) {
                    listener.stageStarted(stage + ": constrained OBS update", solverIterations);
                    ConstrainedObs.Solution solution = ConstrainedObs.solve(scores.damped, scores.inverse, scaledTheta, next.prunedSet(),
                            solverIterations, SOLVER_TOLERANCE);
                    listener.stageProgress(solverIterations);
                    theta = theta.add(scores.fisher.fromScaled(solution.update()));
                    predicted = solution.cost();
                }
            }
            mask = next;
            theta = mask.apply(theta);
            layout.write(theta, work);
            // what the network holds, rounded to its own data type, is what the next round sees
            theta = layout.read(work).castTo(DataType.DOUBLE);
            double seconds = (System.nanoTime() - started) / 1e9;
            RoundReport report = new RoundReport(r, rounds, removed.length, (double) mask.prunedCount() / prunableTotal,
                    method == PruningMethod.MAGNITUDE ? Double.NaN : predicted, scores.fisherSeconds, seconds);
            reports.add(report);
            listener.roundFinished(report);
        }
        return new Result(work, mask, reports);
    }

    /** Saliencies and, for OBS, the damped inverse they came from. */
    private record Scores(double[] saliency, ScaledCurvature fisher, Curvature damped, Curvature inverse, INDArray inverseDiagonal,
                          double fisherSeconds) {
    }

    private Scores score(MultiLayerNetwork work, INDArray theta, FisherSource fisher, PruningListener listener, String stage) {
        if (method == PruningMethod.MAGNITUDE) {
            return new Scores(Saliencies.magnitude(theta).toDoubleVector(), null, null, null, null, 0.0);
        }
        long started = System.nanoTime();
        ScaledCurvature f = Fishers.estimate(method, work, fisher, specOptions, unitScaled, listener, stage);
        double fisherSeconds = (System.nanoTime() - started) / 1e9;
        INDArray scaledTheta = f.toScaled(theta);
        if (!method.isObs()) {
            return new Scores(Saliencies.obd(scaledTheta, f.scaled().diagonal()).toDoubleVector(), f, null, null, null, fisherSeconds);
        }
        Curvature damped = damping.damp(f.scaled());
        Curvature inverse = damped.inverse(org.symcurv.core.operator.Damping.NONE);
        INDArray inverseDiagonal = inverse.diagonal().castTo(DataType.DOUBLE);
        return new Scores(Saliencies.obs(scaledTheta, inverseDiagonal).toDoubleVector(), f, damped, inverse, inverseDiagonal, fisherSeconds);
    }

    /** The weights to remove in round {@code r}: the lowest saliencies among the weights still present. */
    private long[] select(ParameterLayout layout, List<ParameterLeaf> leaves, PruningMask mask, double[] saliency, int r) {
        if (scope == PruningScope.GLOBAL) {
            long total = leaves.stream().mapToLong(ParameterLeaf::length).sum();
            long keptNow = total - leaves.stream().mapToLong(mask::prunedCount).sum();
            long keep = Selection.keptAfterRound(total, sparsity, r, rounds);
            return Selection.smallest(saliency, candidates(leaves, mask), (int) Math.max(0, keptNow - keep));
        }
        List<long[]> parts = new ArrayList<>();
        int size = 0;
        for (ParameterLeaf leaf : leaves) {
            long keptNow = leaf.length() - mask.prunedCount(leaf);
            long keep = Selection.keptAfterRound(leaf.length(), sparsity, r, rounds);
            long[] chosen = Selection.smallest(saliency, candidates(List.of(leaf), mask), (int) Math.max(0, keptNow - keep));
            parts.add(chosen);
            size += chosen.length;
        }
        long[] all = new long[size];
        int i = 0;
        for (long[] part : parts) {
            System.arraycopy(part, 0, all, i, part.length);
            i += part.length;
        }
        java.util.Arrays.sort(all);
        return all;
    }

    private static long[] candidates(List<ParameterLeaf> leaves, PruningMask mask) {
        long count = 0;
        for (ParameterLeaf leaf : leaves) {
            count += leaf.length() - mask.prunedCount(leaf);
        }
        long[] out = new long[(int) count];
        int i = 0;
        for (ParameterLeaf leaf : leaves) {
            for (long q = leaf.offset(); q < leaf.offset() + leaf.length(); q++) {
                if (!mask.isPruned(q)) {
                    out[i++] = q;
                }
            }
        }
        return out;
    }

    @Override
    public String toString() {
        return String.format(java.util.Locale.ROOT, "%s%s to %.1f%% sparsity, %d round%s, %s, damping %s, %s compensation", method.label(),
                unitScaled && method.fisher() == PruningMethod.FisherKind.SYMMETRY ? " (unit-scaled)" : "",
                100 * sparsity, rounds, rounds == 1 ? "" : "s", scope.name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'), damping,
                compensation.name().toLowerCase(java.util.Locale.ROOT));
    }
}
