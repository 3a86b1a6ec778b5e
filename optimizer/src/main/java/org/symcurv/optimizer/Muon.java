package org.symcurv.optimizer;

import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Muon's direction (Jordan et al., 2024) as the {@code ORTH}-on-outputs special case of the symmetry estimate
 * (symmetry-curvature.md section 6): for every matrix leaf {@code W [nIn, nOut]} with momentum
 * {@code m_t = μ m_{t-1} + (1-μ) g_t} (or Nesterov's {@code (1-μ) g_t + μ m_t}),
 * <pre>
 *   u = √nOut · polar(m) = √nOut · U Vᵀ,
 * </pre>
 * the estimate {@code H⁻¹ḡ} with {@code S_w := I}, {@code β2 = 0}. The polar factor is exact ({@link Polar#EXACT},
 * {@link PolarFactor#exact}) or Muon's Newton–Schulz quintic ({@link Polar#NEWTON_SCHULZ}). The other leaves (biases)
 * take Adam's direction, as the estimator's invariant-part policy does.
 */
public final class Muon implements Preconditioner<Muon.State> {
    /** How the polar factor is computed. */
    public enum Polar { EXACT, NEWTON_SCHULZ }

    /**
     * @param momentum          {@code μ}, in {@code [0, 1)}
     * @param nesterov          Nesterov's momentum
     * @param polar             exact or Newton–Schulz
     * @param newtonSchulzSteps iterations of the quintic, ≥ 1
     * @param rest              Adam on the non-matrix leaves
     */
    public record Settings(double momentum, boolean nesterov, Polar polar, int newtonSchulzSteps, Adam.Settings rest)
            implements TransformSettings {
        public Settings {
            java.util.Objects.requireNonNull(rest, "rest");
            java.util.Objects.requireNonNull(polar, "polar");
            Vectors.requireProbability(momentum, "Muon momentum μ");
            if (newtonSchulzSteps < 1) {
                throw new IllegalArgumentException("Muon needs at least one Newton–Schulz step, got " + newtonSchulzSteps);
            }
        }

        public Settings withMomentum(double mu, boolean useNesterov) {
            return new Settings(mu, useNesterov, polar, newtonSchulzSteps, rest);
        }

        public Settings withPolar(Polar p, int steps) {
            return new Settings(momentum, nesterov, p, steps, rest);
        }

        public Settings withRest(Adam.Settings r) {
            return new Settings(momentum, nesterov, polar, newtonSchulzSteps, r);
        }

        @Override
        public Muon build(Target target) {
            return new Muon(target.layout(), momentum, nesterov, polar, newtonSchulzSteps, rest.adam());
        }
    }

    /**
     * @param momentum {@code m_t}, {@code [P]} (only the matrix leaves are used)
     * @param rest     Adam's state on the non-matrix leaves
     */
    public record State(INDArray momentum, Adam.State rest) {
    }

    private final LeafPartition leaves;
    private final double momentum;
    private final boolean nesterov;
    private final Polar polar;
    private final int newtonSchulzSteps;
    private final Adam restAdam;

    /**
     * @param layout            the parameter leaves (labels are ignored)
     * @param momentum          {@code μ}, in {@code [0, 1)}
     * @param nesterov          use Nesterov's momentum
     * @param polar             exact or Newton–Schulz
     * @param newtonSchulzSteps iterations of the quintic (Muon uses 5)
     * @param restAdam          the direction for non-matrix leaves
     */
    public Muon(SymmetrySpec layout, double momentum, boolean nesterov, Polar polar, int newtonSchulzSteps, Adam restAdam) {
        Vectors.requireProbability(momentum, "Muon momentum μ");
        if (newtonSchulzSteps < 1) {
            throw new IllegalArgumentException("Muon needs at least one Newton–Schulz step, got " + newtonSchulzSteps);
        }
        this.leaves = new LeafPartition(layout);
        this.momentum = momentum;
        this.nesterov = nesterov;
        this.polar = java.util.Objects.requireNonNull(polar, "polar");
        this.newtonSchulzSteps = newtonSchulzSteps;
        this.restAdam = java.util.Objects.requireNonNull(restAdam, "restAdam");
    }

    @Override
    public State init(INDArray params) {
        INDArray p = Vectors.flat(params, leaves.parameterCount(), "params");
        return new State(Nd4j.zeros(p.dataType(), p.length()), restAdam.init(leaves.gatherRest(p)));
    }

    @Override
    public Update<State> update(INDArray gradient, State state, INDArray params) {
        INDArray g = Vectors.flat(gradient, leaves.parameterCount(), "gradient");
        INDArray m = state.momentum().mul(momentum).addi(g.mul(1 - momentum));
        INDArray effective = nesterov ? g.mul(1 - momentum).addi(m.mul(momentum)) : m;
        INDArray out = Nd4j.zeros(g.dataType(), g.length());
        for (LeafSpec leaf : leaves.matrices()) {
            INDArray w = LeafPartition.matrix(effective, leaf);
            INDArray o = polar == Polar.EXACT ? PolarFactor.exact(w)
                    : PolarFactor.newtonSchulz(w, PolarFactor.Coefficients.MUON_QUINTIC, newtonSchulzSteps);
            LeafPartition.put(out, leaf, o.muli(Math.sqrt(LeafPartition.columns(leaf))));
        }
        Adam.State restState = state.rest();
        if (leaves.restLength() > 0) {
            Update<Adam.State> rest = restAdam.update(leaves.gatherRest(g), restState, null);
            leaves.scatterRest(rest.step(), out);
            restState = rest.state();
        }
        return new Update<>(out, new State(m, restState));
    }

    @Override
    public StateTree encode(State state) {
        return StateTree.builder().put("momentum", state.momentum()).put("rest", restAdam.encode(state.rest())).build();
    }

    @Override
    public State decode(StateTree tree) {
        return new State(tree.array("momentum"), restAdam.decode(tree.child("rest")));
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "muon(μ=%s%s, polar=%s%s; others %s)", momentum, nesterov ? ", nesterov" : "",
                polar.name().toLowerCase(Locale.ROOT).replace('_', '-'),
                polar == Polar.NEWTON_SCHULZ ? " " + newtonSchulzSteps + " steps" : "", restAdam.describe());
    }
}
