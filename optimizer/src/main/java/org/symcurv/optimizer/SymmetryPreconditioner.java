package org.symcurv.optimizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.estimate.TaylorEstimator;
import org.symcurv.core.estimate.TaylorEstimator.InvariantPolicy;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The symmetry-preconditioned direction {@code u_t = H⁻¹ ḡ_t} of the Taylor estimate (symmetry-curvature.md
 * section 5.1; Artemev et al., ICML 2026, Eq. 10):
 * <pre>
 *   m_t = β1 m_{t-1} + (1-β1) g_t,   ḡ = m_t/(1-β1^t),   δ_g = ḡ − R1(ḡ),   δ_w = w − R1(w),
 *   S_g ← β2 S_g + (1-β2) R2(δ_g, δ_g)     (bias-corrected),          S_w = R2(δ_w, δ_w),
 *   H⁻¹ = S_w^{1/2~} (S_w^{1/2~} S_g S_w^{1/2~})^{-1/2~} S_w^{1/2~},
 * </pre>
 * blockwise over the kinds of the spec, with damped powers {@code X^{p~} = U (λ s_max + s)^p Uᵀ}. The invariant kind
 * {@code κ0} gets {@code R1(ḡ)/(√v̂+ε)} with {@code v} the EMA of {@code R1(g)²} ({@link InvariantPolicy#ADAM}) or the
 * damped formula ({@link InvariantPolicy#DAMPED_SCALAR}).
 *
 * <p>This is the step of {@link TaylorEstimator} (and equal to it, checked in the tests) written with explicit,
 * immutable state and three economies the estimator does not make: {@code H⁻¹} is recomputed only every
 * {@code refreshInterval} steps and reused in between; {@code S_g} may be updated only every
 * {@code statisticsInterval} steps (its bias correction counts those updates); and under
 * {@link InvariantPolicy#ADAM} no block of {@code κ0} is built or decomposed (its {@code m} is the number of free
 * copies, 807 for a 784-256-256-10 MLP, and the estimator would decompose it four times per refresh only to
 * discard the result). Eigendecompositions use {@link Eigensolver}.
 */
public final class SymmetryPreconditioner implements Preconditioner<SymmetryPreconditioner.State> {

    /**
     * @param beta1              momentum of the gradient, {@code 0 ≤ β1 < 1}
     * @param beta2              EMA rate of {@code S_g} (and of Adam's {@code v} on {@code κ0}), {@code 0 ≤ β2 < 1}
     * @param damping            relative damping {@code λ} and where {@code s_max} is taken
     * @param refreshInterval    recompute {@code H⁻¹} every this many steps, ≥ 1
     * @param statisticsInterval update {@code S_g} every this many steps, ≥ 1
     * @param invariantPolicy    how {@code κ0} is preconditioned
     * @param adamEpsilon        the {@code ε} of the Adam-style invariant part, {@code > 0}
     */
    public record Options(double beta1, double beta2, Damping damping, int refreshInterval, int statisticsInterval,
                          InvariantPolicy invariantPolicy, double adamEpsilon) {
        /**
         * β1 0.9, β2 0.99, damping 1e-2 per block, refresh every 10 steps, statistics every step, Adam on {@code κ0}
         * (the numpy prototype's settings, symmetry-curvature.md section 5.1).
         */
        public static final Options DEFAULT = new Options(0.9, 0.99, Damping.perBlock(1e-2), 10, 1, InvariantPolicy.ADAM, 1e-8);

        public Options {
            Vectors.requireProbability(beta1, "β1");
            Vectors.requireProbability(beta2, "β2");
            Objects.requireNonNull(damping, "damping");
            Objects.requireNonNull(invariantPolicy, "invariantPolicy");
            Vectors.requirePositive(adamEpsilon, "Adam ε");
            if (refreshInterval < 1 || statisticsInterval < 1) {
                throw new IllegalArgumentException("refresh and statistics intervals must be at least 1 step, got "
                        + refreshInterval + " and " + statisticsInterval);
            }
            if (invariantPolicy == InvariantPolicy.DAMPED_SCALAR
                    && (damping.scope() == Damping.Scope.PER_BLOCK || damping.relative() == 0)) {
                throw new IllegalArgumentException("the damped-scalar invariant policy needs global damping λ > 0: with "
                        + damping + " the invariant kind's blocks are zero and its parameters would never move; use "
                        + "Damping.global(λ) or the Adam invariant policy");
            }
        }

        public Options withBetas(double b1, double b2) {
            return new Options(b1, b2, damping, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon);
        }

        public Options withDamping(Damping d) {
            return new Options(beta1, beta2, d, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon);
        }

        public Options withRefreshInterval(int k) {
            return new Options(beta1, beta2, damping, k, statisticsInterval, invariantPolicy, adamEpsilon);
        }

        public Options withStatisticsInterval(int s) {
            return new Options(beta1, beta2, damping, refreshInterval, s, invariantPolicy, adamEpsilon);
        }

        public Options withInvariantPolicy(InvariantPolicy policy) {
            return new Options(beta1, beta2, damping, refreshInterval, statisticsInterval, policy, adamEpsilon);
        }
    }

    /**
     * @param count                 {@code t}, the number of updates taken
     * @param statisticsCount       the number of {@code S_g} updates (its bias correction is {@code 1-β2^n})
     * @param momentum              {@code m_t}, {@code [P]}
     * @param gradientMoment        {@code S_g} without bias correction, one {@code [F, m, m]} block per kind (null for
     *                              kinds not preconditioned by the estimate)
     * @param invariantSecondMoment {@code v_t}, {@code [P]}, under {@link InvariantPolicy#ADAM}; otherwise null
     * @param inverse               the last {@code H⁻¹} blocks, per kind as {@code gradientMoment}; null before the first step
     */
    public record State(long count, long statisticsCount, INDArray momentum, List<INDArray> gradientMoment,
                        INDArray invariantSecondMoment, List<INDArray> inverse) {
        public State {
            gradientMoment = java.util.Collections.unmodifiableList(new ArrayList<>(gradientMoment));
            inverse = inverse == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(inverse));
        }
    }

    private final KindDecomposition kinds;
    private final Options options;
    private final boolean[] active;

    /**
     * @param spec    the symmetry spec over the network's parameter layout (e.g. {@code SpecInference.infer(net)})
     * @param options the settings
     */
    public SymmetryPreconditioner(SymmetrySpec spec, Options options) {
        this.kinds = KindDecomposition.of(spec);
        this.options = Objects.requireNonNull(options, "options");
        this.active = new boolean[kinds.kinds().size()];
        for (int k = 0; k < active.length; k++) {
            active[k] = options.invariantPolicy() == InvariantPolicy.DAMPED_SCALAR || !kinds.kinds().get(k).kind().isInvariant();
        }
    }

    public KindDecomposition decomposition() {
        return kinds;
    }

    public Options options() {
        return options;
    }

    @Override
    public State init(INDArray params) {
        INDArray w = Vectors.flat(params, kinds.spec().parameterCount(), "params");
        DataType type = w.dataType();
        List<INDArray> moments = new ArrayList<>();
        for (int k = 0; k < active.length; k++) {
            KindLayout layout = kinds.kinds().get(k);
            moments.add(active[k] ? Nd4j.zeros(type, layout.familySize(), layout.copies(), layout.copies()) : null);
        }
        INDArray v = options.invariantPolicy() == InvariantPolicy.ADAM ? Nd4j.zeros(type, w.length()) : null;
        return new State(0, 0, Nd4j.zeros(type, w.length()), moments, v, null);
    }

    @Override
    public Update<State> update(INDArray gradient, State state, INDArray params) {
        long p = kinds.spec().parameterCount();
        INDArray g = Vectors.flat(gradient, p, "gradient");
        INDArray w = Vectors.flat(params, p, "params");
        double b1 = options.beta1();
        double b2 = options.beta2();
        long t = state.count() + 1;
        INDArray m = state.momentum().mul(b1).addi(g.mul(1 - b1));
        INDArray gBar = m.div(1 - Math.pow(b1, t));
        INDArray invariant = OrbitAverage.firstOrder(kinds, gBar);
        INDArray deltaG = gBar.sub(invariant);

        boolean statistics = (t - 1) % options.statisticsInterval() == 0;
        long n = state.statisticsCount() + (statistics ? 1 : 0);
        List<INDArray> moments = new ArrayList<>(state.gradientMoment());
        List<INDArray> copies = new ArrayList<>();
        for (int k = 0; k < active.length; k++) {
            INDArray z = active[k] && options.invariantPolicy() == InvariantPolicy.ADAM ? kinds.copyMatrix(k, deltaG) : null;
            copies.add(z);
            if (active[k] && statistics) {
                INDArray zs = z != null ? z : kinds.copyMatrix(k, deltaG);
                INDArray sample = Nd4j.matmul(zs, zs, true, false, false).muli(1.0 / kinds.kinds().get(k).dimension());
                moments.set(k, moments.get(k).mul(b2).add(sample.mul(1 - b2)));
            }
        }

        INDArray v = null;
        if (options.invariantPolicy() == InvariantPolicy.ADAM) {
            INDArray invariantGradient = OrbitAverage.firstOrder(kinds, g);
            v = state.invariantSecondMoment().mul(b2).addi(invariantGradient.mul(invariantGradient).muli(1 - b2));
        }

        boolean refresh = state.inverse() == null || (t - 1) % options.refreshInterval() == 0;
        List<INDArray> inverse = refresh ? inverse(moments, 1.0 / (1 - Math.pow(b2, n)), w) : state.inverse();

        INDArray out = Nd4j.zeros(g.dataType(), p);
        for (int k = 0; k < active.length; k++) {
            if (active[k]) {
                INDArray z = copies.get(k) != null ? copies.get(k) : kinds.copyMatrix(k, gBar);
                kinds.scatterAdd(k, Nd4j.matmul(z, inverse.get(k).castTo(z.dataType())), out);
            }
        }
        if (options.invariantPolicy() == InvariantPolicy.ADAM) {
            INDArray vHat = v.div(1 - Math.pow(b2, t));
            out.addi(invariant.div(Transforms.sqrt(vHat, true).addi(options.adamEpsilon())));
        }
        return new Update<>(out, new State(t, n, m, moments, v, inverse));
    }

    /**
     * {@code H⁻¹ = S_w^{1/2~} (S_w^{1/2~} S_g S_w^{1/2~})^{-1/2~} S_w^{1/2~}} on the active kinds, as
     * {@code TaylorEstimator.inverseHessian} computes it.
     *
     * @param moments    {@code S_g} blocks without bias correction
     * @param correction the bias correction factor {@code 1/(1-β2^n)}
     * @param w          the current weights
     */
    List<INDArray> inverse(List<INDArray> moments, double correction, INDArray w) {
        INDArray deltaW = w.sub(OrbitAverage.firstOrder(kinds, w));
        Damping damping = options.damping();
        boolean perBlock = damping.scope() == Damping.Scope.PER_BLOCK;
        int count = active.length;
        Spectrum[] weight = new Spectrum[count];
        double maxWeight = 0;
        for (int k = 0; k < count; k++) {
            if (active[k]) {
                INDArray z = kinds.copyMatrix(k, deltaW).castTo(DataType.DOUBLE);
                INDArray sw = Nd4j.matmul(z, z, true, false, false).muli(1.0 / kinds.kinds().get(k).dimension());
                weight[k] = Spectrum.of(sw);
                maxWeight = Math.max(maxWeight, weight[k].max());
            }
        }
        INDArray[] roots = new INDArray[count];
        Spectrum[] middle = new Spectrum[count];
        double maxMiddle = 0;
        for (int k = 0; k < count; k++) {
            if (active[k]) {
                roots[k] = weight[k].power(0.5, damping.relative(), perBlock, damping.relative() * maxWeight);
                // castTo returns the array itself when it is float64 already: multiply out of place
                INDArray sg = moments.get(k).castTo(DataType.DOUBLE).mul(correction);
                middle[k] = Spectrum.of(sandwich(roots[k], sg));
                maxMiddle = Math.max(maxMiddle, middle[k].max());
            }
        }
        List<INDArray> out = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            if (!active[k]) {
                out.add(null);
                continue;
            }
            INDArray x = middle[k].power(-0.5, damping.relative(), perBlock, damping.relative() * maxMiddle);
            out.add(sandwich(roots[k], x).castTo(moments.get(k).dataType()));
        }
        return out;
    }

    /** {@code (A M A + (A M A)ᵀ)/2} for {@code [F, m, m]} stacks. */
    private static INDArray sandwich(INDArray a, INDArray middle) {
        INDArray out = Nd4j.matmul(Nd4j.matmul(a, middle), a);
        return out.add(out.permute(0, 2, 1).dup()).muli(0.5);
    }

    /** The eigenvalues (and vectors) of a stack of {@code F} symmetric {@code m × m} blocks. */
    private record Spectrum(long m, Eigensolver.Decomposition[] blocks, double[] scalars) {
        static Spectrum of(INDArray stack) {
            long f = stack.size(0);
            long m = stack.size(1);
            if (m == 1) {
                return new Spectrum(1, null, stack.reshape(f).toDoubleVector());
            }
            Eigensolver.Decomposition[] d = new Eigensolver.Decomposition[(int) f];
            for (int i = 0; i < f; i++) {
                d[i] = Eigensolver.of(stack.slice(i));
            }
            return new Spectrum(m, d, null);
        }

        double max() {
            double max = Double.NEGATIVE_INFINITY;
            if (scalars != null) {
                for (double s : scalars) {
                    max = Math.max(max, s);
                }
            } else {
                for (Eigensolver.Decomposition d : blocks) {
                    max = Math.max(max, d.max());
                }
            }
            return max;
        }

        /** The damped power, float64 {@code [F, m, m]}: shift {@code λ·max(s_max of the block, 0)} or {@code globalShift}. */
        INDArray power(double p, double relative, boolean perBlock, double globalShift) {
            if (scalars != null) {
                double[] out = new double[scalars.length];
                for (int i = 0; i < out.length; i++) {
                    double shift = perBlock ? relative * Math.max(scalars[i], 0) : globalShift;
                    out[i] = Eigensolver.dampedPower(scalars[i], p, shift);
                }
                return Nd4j.createFromArray(out).reshape(out.length, 1, 1);
            }
            INDArray out = Nd4j.create(DataType.DOUBLE, blocks.length, m, m);
            for (int i = 0; i < blocks.length; i++) {
                double shift = perBlock ? relative * Math.max(blocks[i].max(), 0) : globalShift;
                out.slice(i).assign(blocks[i].power(p, shift));
            }
            return out;
        }
    }

    @Override
    public StateTree encode(State state) {
        StateTree.Builder b = StateTree.builder().put("count", state.count()).put("statisticsCount", state.statisticsCount())
                .put("momentum", state.momentum()).putArrays("gradientMoment", state.gradientMoment())
                .put("invariantSecondMoment", state.invariantSecondMoment()).put("hasInverse", state.inverse() == null ? 0L : 1L);
        if (state.inverse() != null) {
            b.putArrays("inverse", state.inverse());
        }
        return b.build();
    }

    @Override
    public State decode(StateTree tree) {
        List<INDArray> moments = tree.arrays("gradientMoment");
        if (moments.size() != active.length) {
            throw new IllegalArgumentException("the saved symmetry state has " + moments.size() + " kinds but this spec has "
                    + active.length + ": resume with the network and symmetry spec that wrote it");
        }
        for (int k = 0; k < active.length; k++) {
            KindLayout layout = kinds.kinds().get(k);
            INDArray b = moments.get(k);
            if (active[k] != (b != null) || b != null && b.size(1) != layout.copies()) {
                throw new IllegalArgumentException("the saved symmetry state does not match kind " + kinds.describe(k)
                        + " of this spec (or its invariant policy): resume with the settings that wrote it");
            }
        }
        return new State(tree.longValue("count"), tree.longValue("statisticsCount"), tree.array("momentum"), moments,
                tree.arrayOrNull("invariantSecondMoment"), tree.longValue("hasInverse") == 1L ? tree.arrays("inverse") : null);
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "symmetry(β1=%s, β2=%s, damping %s %s, refresh every %d, statistics every %d, "
                        + "invariant part %s; %d kinds, largest block %d)", options.beta1(), options.beta2(),
                options.damping().relative(), options.damping().scope().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                options.refreshInterval(), options.statisticsInterval(),
                options.invariantPolicy().name().toLowerCase(Locale.ROOT).replace('_', '-'), active.length, largestActiveBlock());
    }

    /** The largest {@code m_κ} among the kinds the estimate preconditions (what an eigendecomposition costs, {@code O(m³)}). */
    public int largestActiveBlock() {
        int max = 0;
        for (int k = 0; k < active.length; k++) {
            if (active[k]) {
                max = Math.max(max, kinds.kinds().get(k).copies());
            }
        }
        return max;
    }
}
