package org.symcurv.optimizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.SymmetricEigen;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Shampoo's direction (Gupta, Koren and Singer, 2018) as two one-sided {@code ORTH} estimates (symmetry-curvature.md
 * section 6): for every matrix leaf {@code G [nIn, nOut]} (DL4J orientation),
 * <pre>
 *   L_t = β2 L_{t-1} + (1-β2) G Gᵀ / nOut,   R_t = β2 R_{t-1} + (1-β2) GᵀG / nIn,
 *   u_t = L̂^{-1/4~} Ḡ R̂^{-1/4~},
 * </pre>
 * with {@code L̂, R̂} bias-corrected, {@code Ḡ} the bias-corrected momentum ({@code β1}) of the leaf, and damped powers
 * {@code X^{p~} = U (λ s_max + s)^p Uᵀ} ({@code s_max} of each factor). The roots are recomputed every
 * {@code refreshInterval} steps and reused in between (the "preconditioning frequency" of Shampoo implementations).
 * The {@code 1/n} normalisation makes {@code u} Adam-sized: with i.i.d. gradient entries it is {@code ≈ Ḡ/σ}.
 * Statistics are of the raw gradient, as in Shampoo; the symmetry estimator takes them of the momentum, so the two
 * agree for {@code β1 = 0}. Non-matrix leaves take Adam's direction.
 */
public final class Shampoo implements Preconditioner<Shampoo.State> {
    /**
     * @param beta1           momentum of the gradient
     * @param beta2           EMA rate of the factors
     * @param damping         relative damping {@code λ ≥ 0} of each factor
     * @param refreshInterval recompute the inverse roots every this many steps, ≥ 1
     * @param rest            Adam on the non-matrix leaves
     */
    public record Settings(double beta1, double beta2, double damping, int refreshInterval, Adam.Settings rest)
            implements TransformSettings {
        public Settings {
            java.util.Objects.requireNonNull(rest, "rest");
            Vectors.requireProbability(beta1, "Shampoo β1");
            Vectors.requireProbability(beta2, "Shampoo β2");
            Vectors.requireNonNegative(damping, "Shampoo relative damping");
            if (refreshInterval < 1) {
                throw new IllegalArgumentException("the refresh interval must be at least 1 step, got " + refreshInterval);
            }
        }

        public Settings withBetas(double b1, double b2) {
            return new Settings(b1, b2, damping, refreshInterval, rest);
        }

        public Settings withDamping(double d) {
            return new Settings(beta1, beta2, d, refreshInterval, rest);
        }

        public Settings withRefreshInterval(int k) {
            return new Settings(beta1, beta2, damping, k, rest);
        }

        public Settings withRest(Adam.Settings r) {
            return new Settings(beta1, beta2, damping, refreshInterval, r);
        }

        @Override
        public Shampoo build(Target target) {
            return new Shampoo(target.layout(), beta1, beta2, damping, refreshInterval, rest.adam());
        }
    }

    /**
     * @param count     {@code t}
     * @param momentum  {@code [P]} (the matrix leaves are used)
     * @param left      {@code L_t} per matrix leaf, {@code [nIn, nIn]}, without bias correction
     * @param right     {@code R_t} per matrix leaf, {@code [nOut, nOut]}
     * @param leftRoot  the last {@code L̂^{-1/4~}}, or null before the first step
     * @param rightRoot the last {@code R̂^{-1/4~}}
     * @param rest      Adam's state on the non-matrix leaves
     */
    public record State(long count, INDArray momentum, List<INDArray> left, List<INDArray> right, List<INDArray> leftRoot,
                        List<INDArray> rightRoot, Adam.State rest) {
        public State {
            left = List.copyOf(left);
            right = List.copyOf(right);
            leftRoot = leftRoot == null ? null : List.copyOf(leftRoot);
            rightRoot = rightRoot == null ? null : List.copyOf(rightRoot);
        }
    }

    private final LeafPartition leaves;
    private final double beta1;
    private final double beta2;
    private final double damping;
    private final int refreshInterval;
    private final Adam restAdam;

    /**
     * @param layout          the parameter leaves (labels are ignored)
     * @param beta1           momentum of the gradient
     * @param beta2           EMA rate of the factors
     * @param damping         relative damping {@code λ ≥ 0}
     * @param refreshInterval recompute the inverse roots every this many steps (≥ 1)
     * @param restAdam        the direction for non-matrix leaves
     */
    public Shampoo(SymmetrySpec layout, double beta1, double beta2, double damping, int refreshInterval, Adam restAdam) {
        Vectors.requireProbability(beta1, "Shampoo β1");
        Vectors.requireProbability(beta2, "Shampoo β2");
        Vectors.requireNonNegative(damping, "Shampoo relative damping");
        if (refreshInterval < 1) {
            throw new IllegalArgumentException("the refresh interval must be at least 1 step, got " + refreshInterval);
        }
        this.leaves = new LeafPartition(layout);
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.damping = damping;
        this.refreshInterval = refreshInterval;
        this.restAdam = java.util.Objects.requireNonNull(restAdam, "restAdam");
    }

    @Override
    public State init(INDArray params) {
        INDArray p = Vectors.flat(params, leaves.parameterCount(), "params");
        List<INDArray> left = new ArrayList<>();
        List<INDArray> right = new ArrayList<>();
        for (LeafSpec leaf : leaves.matrices()) {
            left.add(Nd4j.zeros(p.dataType(), LeafPartition.rows(leaf), LeafPartition.rows(leaf)));
            right.add(Nd4j.zeros(p.dataType(), LeafPartition.columns(leaf), LeafPartition.columns(leaf)));
        }
        return new State(0, Nd4j.zeros(p.dataType(), p.length()), left, right, null, null, restAdam.init(leaves.gatherRest(p)));
    }

    @Override
    public Update<State> update(INDArray gradient, State state, INDArray params) {
        INDArray g = Vectors.flat(gradient, leaves.parameterCount(), "gradient");
        long t = state.count() + 1;
        INDArray m = state.momentum().mul(beta1).addi(g.mul(1 - beta1));
        INDArray gBar = m.div(1 - Math.pow(beta1, t));
        boolean refresh = state.leftRoot() == null || (t - 1) % refreshInterval == 0;
        double correction = 1 - Math.pow(beta2, t);
        List<INDArray> left = new ArrayList<>();
        List<INDArray> right = new ArrayList<>();
        List<INDArray> leftRoot = new ArrayList<>();
        List<INDArray> rightRoot = new ArrayList<>();
        INDArray out = Nd4j.zeros(g.dataType(), g.length());
        for (int i = 0; i < leaves.matrices().size(); i++) {
            LeafSpec leaf = leaves.matrices().get(i);
            INDArray gw = LeafPartition.matrix(g, leaf);
            INDArray l = state.left().get(i).mul(beta2).addi(gw.mmul(gw.transpose()).muli((1 - beta2) / LeafPartition.columns(leaf)));
            INDArray r = state.right().get(i).mul(beta2).addi(gw.transpose().mmul(gw).muli((1 - beta2) / LeafPartition.rows(leaf)));
            left.add(l);
            right.add(r);
            if (refresh) {
                leftRoot.add(inverseFourthRoot(l.div(correction)));
                rightRoot.add(inverseFourthRoot(r.div(correction)));
            } else {
                leftRoot.add(state.leftRoot().get(i));
                rightRoot.add(state.rightRoot().get(i));
            }
            INDArray direction = leftRoot.get(i).mmul(LeafPartition.matrix(gBar, leaf)).mmul(rightRoot.get(i));
            LeafPartition.put(out, leaf, direction);
        }
        Adam.State restState = state.rest();
        if (leaves.restLength() > 0) {
            Update<Adam.State> rest = restAdam.update(leaves.gatherRest(g), restState, null);
            leaves.scatterRest(rest.step(), out);
            restState = rest.state();
        }
        return new Update<>(out, new State(t, m, left, right, leftRoot, rightRoot, restState));
    }

    /** {@code X^{-1/4~} = U (λ s_max + max(s, 0))^{-1/4} Uᵀ}, in {@code x}'s data type. */
    private INDArray inverseFourthRoot(INDArray x) {
        SymmetricEigen e = SymmetricEigen.of(x);
        return e.power(-0.25, damping * Math.max(e.max(), 0)).castTo(x.dataType());
    }

    @Override
    public StateTree encode(State state) {
        StateTree.Builder b = StateTree.builder().put("count", state.count()).put("momentum", state.momentum())
                .putArrays("left", state.left()).putArrays("right", state.right())
                .put("rest", restAdam.encode(state.rest())).put("hasRoots", state.leftRoot() == null ? 0L : 1L);
        if (state.leftRoot() != null) {
            b.putArrays("leftRoot", state.leftRoot()).putArrays("rightRoot", state.rightRoot());
        }
        return b.build();
    }

    @Override
    public State decode(StateTree tree) {
        boolean started = tree.longValue("hasRoots") == 1L;
        return new State(tree.longValue("count"), tree.array("momentum"), tree.arrays("left"), tree.arrays("right"),
                started ? tree.arrays("leftRoot") : null, started ? tree.arrays("rightRoot") : null, restAdam.decode(tree.child("rest")));
    }

    @Override
    public String describe() {
        return String.format(Locale.ROOT, "shampoo(β1=%s, β2=%s, damping=%s, refresh every %d; others %s)", beta1, beta2,
                damping, refreshInterval, restAdam.describe());
    }
}
