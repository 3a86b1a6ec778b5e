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
import org.symcurv.core.operator.SymmetricEigen;
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
 * discard the result). Eigendecompositions are core's {@link SymmetricEigen}.
 */
public final class SymmetryPreconditioner implements Preconditioner<SymmetryPreconditioner.State> {

    /**
     * The symmetry link of a recipe: the {@link Options} with the invariant part's rate given as a learning rate, and
     * the groups.
     *
     * @param options               the settings ({@link Options#invariantScale()} is replaced at build time)
     * @param groupType             replaces the type of every inferred group, or null to infer it from the activations
     * @param invariantLearningRate the peak rate of the Adam-style invariant part (it follows the schedule's shape); 0: the
     *                              chain's own rate
     */
    public record Settings(Options options, org.symcurv.core.symmetry.GroupType groupType, double invariantLearningRate,
                           MatrixGroups matrixGroups) implements TransformSettings {
        /** {@link Options#DEFAULT} with groups inferred and the invariant part at 2e-3. */
        public static final Settings DEFAULT = new Settings(Options.DEFAULT, null, 2e-3, MatrixGroups.INFERRED);

        public Settings {
            Objects.requireNonNull(options, "options");
            Objects.requireNonNull(matrixGroups, "matrixGroups");
            if (!(invariantLearningRate >= 0) || Double.isInfinite(invariantLearningRate)) {
                throw new IllegalArgumentException("the invariant part's learning rate must be ≥ 0 (0: the main rate), got "
                        + invariantLearningRate);
            }
        }

        public Settings withOptions(Options o) {
            return new Settings(o, groupType, invariantLearningRate, matrixGroups);
        }

        public Settings withGroupType(org.symcurv.core.symmetry.GroupType type) {
            return new Settings(options, type, invariantLearningRate, matrixGroups);
        }

        public Settings withInvariantLearningRate(double rate) {
            return new Settings(options, groupType, rate, matrixGroups);
        }

        public Settings withMatrixGroups(MatrixGroups groups) {
            return new Settings(options, groupType, invariantLearningRate, groups);
        }

        /**
         * The spec this link preconditions over: the target's inferred groups, retyped when {@link #groupType} is set, with
         * the axes {@link #matrixGroups} frees.
         */
        public SymmetrySpec spec(Target target) {
            SymmetrySpec spec = target.groups().get();
            return matrixGroups.apply(groupType == null ? spec : spec.withGroupType(groupType));
        }

        @Override
        public SymmetryPreconditioner build(Target target) {
            double scale = invariantLearningRate == 0 ? 1.0 : invariantLearningRate / target.peakRate();
            return new SymmetryPreconditioner(spec(target), options.withInvariantScale(scale));
        }
    }

    /**
     * @param beta1              momentum of the gradient, {@code 0 ≤ β1 < 1}
     * @param beta2              EMA rate of {@code S_g} (and of Adam's {@code v} on {@code κ0}), {@code 0 ≤ β2 < 1}
     * @param damping            relative damping {@code λ} and where {@code s_max} is taken
     * @param refreshInterval    recompute {@code H⁻¹} every this many steps, ≥ 1
     * @param statisticsInterval update {@code S_g} every this many steps, ≥ 1
     * @param invariantPolicy    how {@code κ0} is preconditioned
     * @param adamEpsilon        the {@code ε} of the Adam-style invariant part, {@code > 0}
     * @param invariantScale     {@code c > 0}: the Adam-style invariant part enters the direction as
     *                           {@code c · R1(ḡ)/(√v̂+ε)}, so that it moves at {@code c} times the learning rate (the
     *                           prototype ran the estimate at 0.03 and the invariant part at 2e-3; one rate for both
     *                           moves every unit's weights together by {@code η} per input and kills ReLU layers)
     */
    public record Options(double beta1, double beta2, Damping damping, int refreshInterval, int statisticsInterval,
                          InvariantPolicy invariantPolicy, double adamEpsilon, double invariantScale, double dampingFloor,
                          WeightMoment weightMoment, Form form) {
        /**
         * β1 0.9, β2 0.99, damping 1e-2 per block with a floor of 1e-2 of the global shift, refresh every 10 steps,
         * statistics every step, Adam on {@code κ0}, {@code S_w} of the current weights, the eigen form (the numpy
         * prototype's settings, symmetry-curvature.md section 5.1, plus the floor that keeps zero blocks moving).
         */
        public static final Options DEFAULT = new Options(0.9, 0.99, Damping.perBlock(1e-2), 10, 1, InvariantPolicy.ADAM, 1e-8, 1.0,
                1e-2, WeightMoment.CURRENT, Form.EIGEN);

        public Options {
            Vectors.requireProbability(beta1, "β1");
            Vectors.requireProbability(beta2, "β2");
            Objects.requireNonNull(damping, "damping");
            Objects.requireNonNull(invariantPolicy, "invariantPolicy");
            Objects.requireNonNull(weightMoment, "weightMoment");
            Objects.requireNonNull(form, "form");
            Vectors.requirePositive(adamEpsilon, "Adam ε");
            Vectors.requirePositive(invariantScale, "invariant-part scale");
            if (!(dampingFloor >= 0 && dampingFloor <= 1)) {
                throw new IllegalArgumentException("the damping floor is a fraction of the global shift in [0, 1], got " + dampingFloor);
            }
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
            return new Options(b1, b2, damping, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon, invariantScale,
                    dampingFloor, weightMoment, form);
        }

        public Options withDamping(Damping d) {
            return new Options(beta1, beta2, d, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon, invariantScale,
                    dampingFloor, weightMoment, form);
        }

        public Options withRefreshInterval(int k) {
            return new Options(beta1, beta2, damping, k, statisticsInterval, invariantPolicy, adamEpsilon, invariantScale,
                    dampingFloor, weightMoment, form);
        }

        public Options withStatisticsInterval(int n) {
            return new Options(beta1, beta2, damping, refreshInterval, n, invariantPolicy, adamEpsilon, invariantScale,
                    dampingFloor, weightMoment, form);
        }

        public Options withInvariantScale(double c) {
            return new Options(beta1, beta2, damping, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon, c,
                    dampingFloor, weightMoment, form);
        }

        public Options withInvariantPolicy(InvariantPolicy policy) {
            return new Options(beta1, beta2, damping, refreshInterval, statisticsInterval, policy, adamEpsilon, invariantScale,
                    dampingFloor, weightMoment, form);
        }

        /** Per-block shifts at least {@code φ} times the global one ({@code 0}: none, the core estimator's per-block damping). */
        public Options withDampingFloor(double floor) {
            return new Options(beta1, beta2, damping, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon, invariantScale,
                    floor, weightMoment, form);
        }

        public Options withWeightMoment(WeightMoment moment) {
            return new Options(beta1, beta2, damping, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon, invariantScale,
                    dampingFloor, moment, form);
        }

        public Options withForm(Form f) {
            return new Options(beta1, beta2, damping, refreshInterval, statisticsInterval, invariantPolicy, adamEpsilon, invariantScale,
                    dampingFloor, weightMoment, f);
        }
    }

    /** Which {@code S_w} the estimate uses. */
    public enum WeightMoment {
        /** {@code S_w = R2(δ_w, δ_w)} of the current weights (the paper's estimate). */
        CURRENT,
        /** {@code S_w := I}: then {@code H⁻¹ = S_g^{-1/2~}} (one-sided Shampoo on each block; Muon when also β2 = 0). */
        IDENTITY,
        /** {@code S_w} an EMA (rate β2, bias-corrected) of {@code R2(δ_w, δ_w)}, updated with {@code S_g}. */
        AVERAGED
    }

    /** How {@code H⁻¹} is formed from {@code S_w + δI} (both exact; they differ in cost and round-off). */
    public enum Form {
        /** {@code R = (S_w + δI)^{1/2}} by eigendecomposition; {@code H⁻¹ = R (R S_g R)^{-1/2~} R}. */
        EIGEN,
        /** {@code L Lᵀ = S_w + δI} by Cholesky; {@code H⁻¹ = L (Lᵀ S_g L)^{-1/2~} Lᵀ} (no decomposition of {@code S_w}). */
        CHOLESKY
    }

    /**
     * @param count                 {@code t}, the number of updates taken
     * @param statisticsCount       the number of {@code S_g} updates (its bias correction is {@code 1-β2^n})
     * @param momentum              {@code m_t}, {@code [P]}
     * @param invariantMomentum     {@code R1(m_t)}, {@code [P]}, tracked by linearity so that each step needs one orbit
     *                              average ({@code R1(g_t)}) instead of two
     * @param gradientMoment        {@code S_g} without bias correction, one {@code [F, m, m]} block per kind (null for
     *                              kinds not preconditioned by the estimate)
     * @param invariantSecondMoment {@code v_t}, {@code [P]}, under {@link InvariantPolicy#ADAM}; otherwise null
     * @param inverse               the last {@code H⁻¹} blocks, per kind as {@code gradientMoment}; null before the first step
     * @param weightMoment          under {@link WeightMoment#AVERAGED}, the EMA of {@code R2(δ_w, δ_w)} without bias
     *                              correction, per kind as {@code gradientMoment}; otherwise null
     */
    public record State(long count, long statisticsCount, INDArray momentum, INDArray invariantMomentum, List<INDArray> gradientMoment,
                        INDArray invariantSecondMoment, List<INDArray> inverse, List<INDArray> weightMoment) {
        public State {
            gradientMoment = java.util.Collections.unmodifiableList(new ArrayList<>(gradientMoment));
            inverse = inverse == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(inverse));
            weightMoment = weightMoment == null ? null : java.util.Collections.unmodifiableList(new ArrayList<>(weightMoment));
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
        List<INDArray> weights = null;
        if (options.weightMoment() == WeightMoment.AVERAGED) {
            weights = new ArrayList<>();
            for (INDArray b : moments) {
                weights.add(b == null ? null : b.dup());
            }
        }
        return new State(0, 0, Nd4j.zeros(type, w.length()), Nd4j.zeros(type, w.length()), moments, v, null, weights);
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
        double c1 = 1 - Math.pow(b1, t);
        INDArray gBar = m.div(c1);
        // R1 is linear: R1(m_t) = β1 R1(m_{t-1}) + (1-β1) R1(g_t), one orbit average per step
        INDArray invariantGradient = OrbitAverage.firstOrder(kinds, g);
        INDArray invariantMomentum = state.invariantMomentum().mul(b1).addi(invariantGradient.mul(1 - b1));
        INDArray invariant = invariantMomentum.div(c1);
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
                // S ← β2 S + (1-β2) ZᵀZ/d, written into the fresh product (the old S stays untouched)
                INDArray next = gram(zs).muli((1 - b2) / kinds.kinds().get(k).dimension());
                INDArray old = moments.get(k);
                Nd4j.getBlasWrapper().level1().axpy(old.length(), b2, old.reshape(old.length()), next.reshape(next.length()));
                moments.set(k, next);
            }
        }

        List<INDArray> weightMoments = state.weightMoment();
        if (weightMoments != null && statistics) {
            // S_w ← β2 S_w + (1-β2) R2(δ_w, δ_w), on the statistics steps of S_g
            INDArray deltaW = w.sub(OrbitAverage.firstOrder(kinds, w));
            weightMoments = new ArrayList<>(weightMoments);
            for (int k = 0; k < active.length; k++) {
                if (active[k]) {
                    INDArray next = gram(kinds.copyMatrix(k, deltaW)).muli((1 - b2) / kinds.kinds().get(k).dimension());
                    INDArray old = weightMoments.get(k);
                    Nd4j.getBlasWrapper().level1().axpy(old.length(), b2, old.reshape(old.length()), next.reshape(next.length()));
                    weightMoments.set(k, next);
                }
            }
        }

        INDArray v = null;
        if (options.invariantPolicy() == InvariantPolicy.ADAM) {
            v = state.invariantSecondMoment().mul(b2).addi(invariantGradient.mul(invariantGradient).muli(1 - b2));
        }

        boolean refresh = state.inverse() == null || (t - 1) % options.refreshInterval() == 0;
        List<INDArray> inverse = refresh ? inverse(moments, 1.0 / (1 - Math.pow(b2, n)), w, weightMoments) : state.inverse();

        // scatter straight into a [1, P] row: KindDecomposition.scatterAdd would allocate and add a row per kind
        INDArray row = Nd4j.zeros(g.dataType(), 1, p);
        for (int k = 0; k < active.length; k++) {
            if (active[k]) {
                INDArray z = copies.get(k) != null ? copies.get(k) : kinds.copyMatrix(k, gBar);
                kinds.scatterAddRows(k, Nd4j.matmul(z, inverse.get(k).castTo(z.dataType())), row);
            }
        }
        INDArray out = row.reshape(p);
        if (options.invariantPolicy() == InvariantPolicy.ADAM) {
            INDArray vHat = v.div(1 - Math.pow(b2, t));
            INDArray adam = invariant.div(Transforms.sqrt(vHat, true).addi(options.adamEpsilon()));
            out.addi(options.invariantScale() == 1.0 ? adam : adam.muli(options.invariantScale()));
        }
        return new Update<>(out, new State(t, n, m, invariantMomentum, moments, v, inverse, weightMoments));
    }

    /**
     * {@code H⁻¹ = R (Rᵀ S_g R)^{-1/2~} Rᵀ} on the active kinds with {@code R Rᵀ = S_w + δI}: the symmetric root
     * {@code R = (S_w + δI)^{1/2}} ({@link Form#EIGEN}, as {@code TaylorEstimator.inverseHessian} computes it) or the
     * Cholesky factor ({@link Form#CHOLESKY}). Both are the geometric mean {@code (S_w + δI) # S_g⁻¹} (with the middle's
     * damping), since {@code R (Rᵀ S_g R)^{-1/2} Rᵀ} does not depend on which factor {@code R} is taken.
     *
     * @param moments       {@code S_g} blocks without bias correction
     * @param correction    the bias correction factor {@code 1/(1-β2^n)} (also that of an averaged {@code S_w})
     * @param w             the current weights
     * @param weightMoments the averaged {@code S_w} blocks without bias correction under {@link WeightMoment#AVERAGED}, else null
     */
    List<INDArray> inverse(List<INDArray> moments, double correction, INDArray w, List<INDArray> weightMoments) {
        // in the network's precision, as the core estimator works (float32 also sidesteps the faulty float64 kernels, see SymmetricEigen)
        DataType type = w.dataType() == DataType.FLOAT ? DataType.FLOAT : DataType.DOUBLE;
        Damping damping = options.damping();
        double lambda = damping.relative();
        boolean perBlock = damping.scope() == Damping.Scope.PER_BLOCK;
        int count = active.length;
        INDArray[] roots = rootsOf(w, weightMoments, correction, type, lambda, perBlock);
        boolean cholesky = options.form() == Form.CHOLESKY && options.weightMoment() != WeightMoment.IDENTITY;
        Spectrum[] middle = new Spectrum[count];
        double maxMiddle = 0;
        for (int k = 0; k < count; k++) {
            if (active[k]) {
                // castTo returns the array itself when the type already matches: multiply out of place
                INDArray sg = moments.get(k).castTo(type).mul(correction);
                // LAPACK reads one triangle, so M = Rᵀ S_g R needs no symmetrisation
                INDArray left = cholesky ? Nd4j.matmul(roots[k], sg, true, false, false) : Nd4j.matmul(roots[k], sg);
                middle[k] = Spectrum.of(Nd4j.matmul(left, roots[k]));
                maxMiddle = Math.max(maxMiddle, middle[k].max());
            }
        }
        List<INDArray> out = new ArrayList<>();
        for (int k = 0; k < count; k++) {
            out.add(active[k] ? middle[k].sandwichPower(roots[k], -0.5, lambda, perBlock, lambda * maxMiddle, options.dampingFloor()) : null);
        }
        return out;
    }

    /** The factors {@code R} of {@code S_w + δI} per active kind ({@code [F, m, m]}), by {@link Options#weightMoment} and {@link Options#form}. */
    private INDArray[] rootsOf(INDArray w, List<INDArray> weightMoments, double correction, DataType type, double lambda, boolean perBlock) {
        int count = active.length;
        INDArray[] roots = new INDArray[count];
        double floor = options.dampingFloor();
        if (options.weightMoment() == WeightMoment.IDENTITY) {
            // S_w = I: every block's largest eigenvalue is 1, so δ = λ per block and globally, R = √(1 + λ) I
            for (int k = 0; k < count; k++) {
                if (active[k]) {
                    KindLayout layout = kinds.kinds().get(k);
                    double r = SymmetricEigen.dampedPower(1.0, 0.5, shift(1.0, lambda, perBlock, lambda, floor));
                    INDArray eye = Nd4j.eye(layout.copies()).castTo(type).muli(r);
                    roots[k] = Nd4j.create(type, layout.familySize(), layout.copies(), layout.copies());
                    for (int i = 0; i < layout.familySize(); i++) {
                        roots[k].slice(i).assign(eye);
                    }
                }
            }
            return roots;
        }
        INDArray deltaW = options.weightMoment() == WeightMoment.CURRENT ? w.sub(OrbitAverage.firstOrder(kinds, w)) : null;
        if (options.form() == Form.EIGEN) {
            WeightSpectrum[] weight = new WeightSpectrum[count];
            double maxWeight = 0;
            for (int k = 0; k < count; k++) {
                if (active[k]) {
                    weight[k] = deltaW != null
                            ? WeightSpectrum.of(kinds.copyMatrix(k, deltaW).castTo(type), kinds.kinds().get(k).dimension())
                            : WeightSpectrum.ofMoment(weightMoments.get(k).castTo(type).mul(correction));
                    maxWeight = Math.max(maxWeight, weight[k].max());
                }
            }
            for (int k = 0; k < count; k++) {
                if (active[k]) {
                    roots[k] = weight[k].root(lambda, perBlock, lambda * maxWeight, floor);
                }
            }
            return roots;
        }
        // Cholesky: S_w's blocks themselves, their largest eigenvalues by power iteration (no decomposition)
        INDArray[] sw = new INDArray[count];
        double[][] blockMax = new double[count][];
        double maxWeight = 0;
        for (int k = 0; k < count; k++) {
            if (active[k]) {
                sw[k] = deltaW != null ? gram(kinds.copyMatrix(k, deltaW).castTo(type)).muli(1.0 / kinds.kinds().get(k).dimension())
                        : weightMoments.get(k).castTo(type).mul(correction);
                blockMax[k] = new double[(int) sw[k].size(0)];
                for (int i = 0; i < blockMax[k].length; i++) {
                    blockMax[k][i] = Factors.largestEigenvalue(sw[k].slice(i));
                    maxWeight = Math.max(maxWeight, blockMax[k][i]);
                }
            }
        }
        for (int k = 0; k < count; k++) {
            if (active[k]) {
                roots[k] = Nd4j.create(type, sw[k].size(0), sw[k].size(1), sw[k].size(2));
                for (int i = 0; i < blockMax[k].length; i++) {
                    double delta = shift(blockMax[k][i], lambda, perBlock, lambda * maxWeight, floor);
                    roots[k].slice(i).assign(Factors.cholesky(sw[k].slice(i), delta));
                }
            }
        }
        return roots;
    }

    /** {@code ZᵀZ} for a stack {@code [F, D, m]}: one BLAS call with the transpose flag when {@code F = 1} (no copy of {@code Zᵀ}). */
    static INDArray gram(INDArray z) {
        if (z.size(0) != 1) {
            return Nd4j.matmul(z, z, true, false, false);
        }
        INDArray z2 = z.reshape(z.size(1), z.size(2));
        return Nd4j.gemm(z2, z2, true, false).reshape(1, z.size(2), z.size(2));
    }

    /**
     * The shift of one block: per block {@code max(λ·max(s_max, 0), φ·δ_global)} (the floor {@code φ} keeps a block whose
     * {@code S_w} is zero, e.g. a zero-initialised bias alone in its kind, from being frozen for ever), or the global one.
     */
    private static double shift(double blockMax, double relative, boolean perBlock, double globalShift, double floor) {
        return perBlock ? Math.max(relative * Math.max(blockMax, 0), floor * globalShift) : globalShift;
    }

    /**
     * The spectrum of {@code S_w = ZᵀZ/d} for a stack of copy matrices {@code Z [F, D, m]}. When {@code D < m} (a wide
     * first layer: 256 units, 786 copies) {@code S_w} has rank at most {@code D}, and its nonzero eigenpairs come from the
     * {@code D×D} Gram matrix {@code Z Zᵀ = U Σ² Uᵀ}: eigenvalues {@code σ²/d}, eigenvectors {@code V = Zᵀ U Σ⁻¹}. Then
     * {@code S_w^{1/2~} = √δ I + V diag(√(δ + σ²/d) − √δ) Vᵀ} costs a {@code D×D} eigendecomposition, not an {@code m×m} one.
     */
    private record WeightSpectrum(long m, DataType type, INDArray[] lowRank, double[][] lowRankValues, Spectrum full) {
        static WeightSpectrum of(INDArray z, long d) {
            long f = z.size(0);
            long rows = z.size(1);
            long m = z.size(2);
            if (rows >= m || m == 1) {
                return new WeightSpectrum(m, z.dataType(), null, null, Spectrum.of(gram(z).muli(1.0 / d)));
            }
            INDArray[] vectors = new INDArray[(int) f];
            double[][] values = new double[(int) f][];
            double eps = z.dataType() == DataType.FLOAT ? 6e-8 : 1.1e-16;
            for (int i = 0; i < f; i++) {
                INDArray zi = z.slice(i);
                SymmetricEigen gram = SymmetricEigen.of(zi.mmul(zi.transpose()));
                double[] gramValues = gram.values().castTo(DataType.DOUBLE).toDoubleVector();
                double cutoff = Math.max(gram.max(), 0) * rows * eps;
                int r = 0;
                for (double s : gramValues) {
                    if (s > cutoff) {
                        r++;
                    }
                }
                int[] kept = new int[r];
                double[] inverseSigma = new double[r];
                values[i] = new double[r];
                int j = 0;
                for (int c = 0; c < gramValues.length; c++) {
                    if (gramValues[c] > cutoff) {
                        kept[j] = c;
                        inverseSigma[j] = 1 / Math.sqrt(gramValues[c]);
                        values[i][j] = gramValues[c] / d;
                        j++;
                    }
                }
                if (r == 0) {
                    // S_w is exactly zero (e.g. the invariant kind, where δ_w has no part): one zero direction keeps the shapes
                    vectors[i] = Nd4j.zeros(z.dataType(), m, 1);
                    values[i] = new double[] {0.0};
                    continue;
                }
                INDArray u = r == gramValues.length ? gram.vectors() : gram.vectors().getColumns(kept);
                vectors[i] = zi.transpose().mmul(u).muliRowVector(Nd4j.createFromArray(inverseSigma).castTo(z.dataType()));
            }
            return new WeightSpectrum(m, z.dataType(), vectors, values, null);
        }

        double max() {
            if (full != null) {
                return full.max();
            }
            double max = 0;
            for (double[] v : lowRankValues) {
                for (double s : v) {
                    max = Math.max(max, s);
                }
            }
            return max;
        }

        /** The spectrum of a given moment stack {@code [F, m, m]} (no low-rank route). */
        static WeightSpectrum ofMoment(INDArray stack) {
            return new WeightSpectrum(stack.size(1), stack.dataType(), null, null, Spectrum.of(stack));
        }

        /** {@code S_w^{1/2~}}, {@code [F, m, m]}. */
        INDArray root(double relative, boolean perBlock, double globalShift, double floor) {
            if (full != null) {
                return full.power(0.5, relative, perBlock, globalShift, floor);
            }
            INDArray out = Nd4j.create(type, lowRank.length, m, m);
            for (int i = 0; i < lowRank.length; i++) {
                double blockMax = 0;
                for (double s : lowRankValues[i]) {
                    blockMax = Math.max(blockMax, s);
                }
                double delta = shift(blockMax, relative, perBlock, globalShift, floor);
                double base = SymmetricEigen.dampedPower(0, 0.5, delta);
                double[] c = new double[lowRankValues[i].length];
                for (int j = 0; j < c.length; j++) {
                    c[j] = SymmetricEigen.dampedPower(lowRankValues[i][j], 0.5, delta) - base;
                }
                INDArray v = lowRank[i];
                INDArray block = v.mulRowVector(Nd4j.createFromArray(c).castTo(type)).mmul(v.transpose());
                if (base != 0) {
                    block.addi(Nd4j.eye(m).castTo(type).muli(base));
                }
                out.slice(i).assign(block);
            }
            return out;
        }
    }

    /** The eigenvalues (and vectors) of a stack of {@code F} symmetric {@code m × m} blocks. */
    private record Spectrum(long m, DataType type, SymmetricEigen[] blocks, double[][] values, double[] scalars) {
        static Spectrum of(INDArray stack) {
            long f = stack.size(0);
            long m = stack.size(1);
            if (m == 1) {
                return new Spectrum(1, stack.dataType(), null, null, stack.reshape(f).toDoubleVector());
            }
            SymmetricEigen[] d = new SymmetricEigen[(int) f];
            double[][] v = new double[(int) f][];
            for (int i = 0; i < f; i++) {
                d[i] = SymmetricEigen.of(stack.slice(i));
                v[i] = d[i].values().castTo(DataType.DOUBLE).toDoubleVector();
            }
            return new Spectrum(m, stack.dataType(), d, v, null);
        }

        double max() {
            double max = Double.NEGATIVE_INFINITY;
            if (scalars != null) {
                for (double s : scalars) {
                    max = Math.max(max, s);
                }
            } else {
                for (double[] v : values) {
                    max = Math.max(max, v[v.length - 1]);
                }
            }
            return max;
        }

        private double[] powers(int i, double p, double relative, boolean perBlock, double globalShift, double floor) {
            double[] s = values[i];
            double delta = shift(s[s.length - 1], relative, perBlock, globalShift, floor);
            double[] f = new double[s.length];
            for (int j = 0; j < f.length; j++) {
                f[j] = SymmetricEigen.dampedPower(s[j], p, delta);
            }
            return f;
        }

        /** The damped power {@code [F, m, m]}, in the decomposed precision. */
        INDArray power(double p, double relative, boolean perBlock, double globalShift, double floor) {
            if (scalars != null) {
                double[] out = new double[scalars.length];
                for (int i = 0; i < out.length; i++) {
                    out[i] = SymmetricEigen.dampedPower(scalars[i], p, shift(scalars[i], relative, perBlock, globalShift, floor));
                }
                return Nd4j.createFromArray(out).castTo(type).reshape(out.length, 1, 1);
            }
            INDArray out = Nd4j.create(type, blocks.length, m, m);
            for (int i = 0; i < blocks.length; i++) {
                INDArray u = blocks[i].vectors();
                out.slice(i).assign(u.mulRowVector(Nd4j.createFromArray(powers(i, p, relative, perBlock, globalShift, floor)).castTo(type))
                        .mmul(u.transpose()));
            }
            return out;
        }

        /** {@code A X^{p~} Aᵀ = (A U) diag(f) (A U)ᵀ} for {@code A [F, m, m]}: two products per block instead of three. */
        INDArray sandwichPower(INDArray a, double p, double relative, boolean perBlock, double globalShift, double floor) {
            if (scalars != null) {
                return power(p, relative, perBlock, globalShift, floor).muli(a).muli(a);
            }
            INDArray out = Nd4j.create(type, blocks.length, m, m);
            for (int i = 0; i < blocks.length; i++) {
                INDArray q = a.slice(i).mmul(blocks[i].vectors());
                out.slice(i).assign(q.mulRowVector(Nd4j.createFromArray(powers(i, p, relative, perBlock, globalShift, floor)).castTo(type))
                        .mmul(q.transpose()));
            }
            return out;
        }
    }

    @Override
    public StateTree encode(State state) {
        StateTree.Builder b = StateTree.builder().put("count", state.count()).put("statisticsCount", state.statisticsCount())
                .put("momentum", state.momentum()).put("invariantMomentum", state.invariantMomentum())
                .putArrays("gradientMoment", state.gradientMoment())
                .put("invariantSecondMoment", state.invariantSecondMoment()).put("hasInverse", state.inverse() == null ? 0L : 1L);
        if (state.inverse() != null) {
            b.putArrays("inverse", state.inverse());
        }
        if (state.weightMoment() != null) {
            b.putArrays("weightMoment", state.weightMoment());
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
        return new State(tree.longValue("count"), tree.longValue("statisticsCount"), tree.array("momentum"),
                tree.array("invariantMomentum"), moments,
                tree.arrayOrNull("invariantSecondMoment"), tree.longValue("hasInverse") == 1L ? tree.arrays("inverse") : null,
                options.weightMoment() == WeightMoment.AVERAGED ? tree.arrays("weightMoment") : null);
    }

    @Override
    public String describe() {
        String invariant = options.invariantPolicy() == InvariantPolicy.ADAM
                ? String.format(Locale.ROOT, "adam × %.4g", options.invariantScale()) : "damped scalar";
        String extras = (options.damping().scope() == Damping.Scope.PER_BLOCK && options.dampingFloor() > 0
                ? String.format(Locale.ROOT, " (floor %s of global)", options.dampingFloor()) : "")
                + (options.weightMoment() == WeightMoment.CURRENT ? "" : ", S_w " + options.weightMoment().name().toLowerCase(Locale.ROOT))
                + (options.form() == Form.EIGEN ? "" : ", cholesky form");
        return String.format(Locale.ROOT, "symmetry(β1=%s, β2=%s, damping %s %s%s, refresh every %d, statistics every %d, "
                        + "invariant part %s; %d kinds, largest block %d)", options.beta1(), options.beta2(),
                options.damping().relative(), options.damping().scope().name().toLowerCase(Locale.ROOT).replace('_', '-'), extras,
                options.refreshInterval(), options.statisticsInterval(), invariant, active.length, largestActiveBlock());
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
