package org.symcurv.optimizer;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.optimizer.Checks.assertClose;
import static org.symcurv.optimizer.Checks.gaussian;

import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.estimate.TaylorEstimator;
import org.symcurv.core.estimate.TaylorEstimator.InvariantPolicy;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.TinyNetworks;

/**
 * The symmetry recipe's direction equals the core {@link TaylorEstimator}'s {@code direction(inverseHessian(damping))}
 * step by step, for each invariant policy, damping scope and group type, and reuses its last inverse between refreshes.
 */
class SymmetryPreconditionerTest {

    record Case(SymmetrySpec spec, Damping damping, InvariantPolicy policy) {
    }

    @Test
    void directionEqualsTheTaylorEstimatorsAtEveryStep() {
        Case[] cases = {
                new Case(SpecsForTests.mlp(new int[] {3, 5, 4, 2}, GroupType.PERM, GroupType.PERM), Damping.perBlock(1e-2), InvariantPolicy.ADAM),
                new Case(SpecsForTests.mlp(new int[] {3, 5, 4, 2}, GroupType.PERM, GroupType.PERM), Damping.global(1e-3), InvariantPolicy.ADAM),
                new Case(SpecsForTests.mlp(new int[] {3, 4, 3, 2}, GroupType.SIGN, GroupType.SIGNED_PERM), Damping.perBlock(1e-2), InvariantPolicy.ADAM),
                new Case(SpecsForTests.mlp(new int[] {3, 4, 3, 2}, GroupType.SIGNED_PERM, GroupType.PERM), Damping.global(1e-2),
                        InvariantPolicy.DAMPED_SCALAR),
                // fewer units than copies (D < m): S_w's root comes from the D×D Gram matrix
                new Case(SpecsForTests.mlp(new int[] {7, 3, 4, 2}, GroupType.PERM, GroupType.SIGNED_PERM), Damping.perBlock(1e-2), InvariantPolicy.ADAM),
                new Case(SpecsForTests.mlp(new int[] {7, 3, 2}, GroupType.SIGNED_PERM), Damping.global(1e-3), InvariantPolicy.ADAM),
        };
        for (Case c : cases) {
            KindDecomposition kinds = KindDecomposition.of(c.spec());
            TaylorEstimator taylor = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT.withBetas(0.8, 0.9)
                    .withInvariantPolicy(c.policy()));
            // no floor: the core estimator's per-block damping has none
            SymmetryPreconditioner ours = new SymmetryPreconditioner(c.spec(), SymmetryPreconditioner.Options.DEFAULT.withDampingFloor(0)
                    .withBetas(0.8, 0.9).withDamping(c.damping()).withInvariantPolicy(c.policy()).withRefreshInterval(1));
            Random rng = new Random(77);
            INDArray w = gaussian(c.spec().parameterCount(), rng);
            SymmetryPreconditioner.State state = ours.init(w);
            for (int t = 1; t <= 3; t++) {
                INDArray g = gaussian(c.spec().parameterCount(), rng);
                taylor.observe(w, g);
                INDArray expected = taylor.direction(taylor.inverseHessian(c.damping()));
                Update<SymmetryPreconditioner.State> u = ours.update(g, state, w);
                state = u.state();
                assertClose(expected, u.step(), Checks.FLOAT64, c + " step " + t);
                w = w.sub(u.step().mul(0.1));
            }
        }
    }

    @Test
    void betweenRefreshesTheLastInverseIsReused() {
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {3, 5, 4, 2}, GroupType.PERM, GroupType.PERM);
        KindDecomposition kinds = KindDecomposition.of(spec);
        Damping damping = Damping.perBlock(1e-2);
        TaylorEstimator taylor = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT);
        SymmetryPreconditioner ours = new SymmetryPreconditioner(spec, SymmetryPreconditioner.Options.DEFAULT.withDampingFloor(0)
                .withDamping(damping).withRefreshInterval(3));
        Random rng = new Random(78);
        INDArray w = gaussian(spec.parameterCount(), rng);
        SymmetryPreconditioner.State state = ours.init(w);
        Curvature inverse = null;
        for (int t = 1; t <= 7; t++) {
            INDArray g = gaussian(spec.parameterCount(), rng);
            taylor.observe(w, g);
            if ((t - 1) % 3 == 0) {
                inverse = taylor.inverseHessian(damping);
            }
            Update<SymmetryPreconditioner.State> u = ours.update(g, state, w);
            state = u.state();
            assertClose(taylor.direction(inverse), u.step(), Checks.FLOAT64, "step " + t + " with the inverse of step " + (1 + 3 * ((t - 1) / 3)));
            w = w.sub(u.step().mul(0.1));
        }
        assertTrue(Checks.relativeError(taylor.direction(taylor.inverseHessian(damping)),
                ours.update(gaussian(spec.parameterCount(), rng), state, w).step()) > 1e-6, "a stale inverse does differ");
    }

    @Test
    void statisticsEveryOtherStepSkipTheUpdateAndCorrectByTheirOwnCount() {
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {3, 5, 2}, GroupType.PERM);
        SymmetryPreconditioner ours = new SymmetryPreconditioner(spec, SymmetryPreconditioner.Options.DEFAULT.withStatisticsInterval(2));
        Random rng = new Random(79);
        INDArray w = gaussian(spec.parameterCount(), rng);
        SymmetryPreconditioner.State s1 = ours.update(gaussian(spec.parameterCount(), rng), ours.init(w), w).state();
        SymmetryPreconditioner.State s2 = ours.update(gaussian(spec.parameterCount(), rng), s1, w).state();
        SymmetryPreconditioner.State s3 = ours.update(gaussian(spec.parameterCount(), rng), s2, w).state();
        assertEquals(1, s1.statisticsCount());
        assertEquals(1, s2.statisticsCount());
        assertEquals(2, s3.statisticsCount());
        for (int k = 0; k < s1.gradientMoment().size(); k++) {
            if (s1.gradientMoment().get(k) != null) {
                Checks.assertBitwiseEqual(s1.gradientMoment().get(k), s2.gradientMoment().get(k), "S_g kept at step 2");
                assertTrue(Checks.relativeError(s2.gradientMoment().get(k), s3.gradientMoment().get(k)) > 1e-3, "S_g updated at step 3");
            } else {
                assertTrue(ours.decomposition().kinds().get(k).kind().isInvariant(), "only the invariant kind is skipped");
            }
        }
    }

    @Test
    void theDampedScalarPolicyRefusesPerBlockDampingWithAClearMessage() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SymmetryPreconditioner.Options.DEFAULT
                .withInvariantPolicy(InvariantPolicy.DAMPED_SCALAR));
        assertTrue(e.getMessage().contains("global damping") && e.getMessage().contains("never move"), e.getMessage());
    }

    @Test
    void theRecipeInfersTheSpecFromTheNetworksActivations() {
        MultiLayerNetwork net = TinyNetworks.mlp(3).inputs(4).dense(5, Activation.RELU).dense(3, Activation.TANH).softmaxCrossEntropy(2);
        Optimizer optimizer = OptimizerSettings.defaults(Recipe.SYMMETRY).build(net);
        SymmetryPreconditioner direction = optimizer.link(SymmetryPreconditioner.class).orElseThrow();
        SymmetrySpec spec = direction.decomposition().spec();
        assertEquals(GroupType.PERM, spec.group("h0").type());
        assertEquals(GroupType.SIGNED_PERM, spec.group("h1").type());
        assertEquals(4 + 1, direction.largestActiveBlock(), "std@h0: W0's 4 input columns and b0 (signed permutations on h1 leave W1 no mean)");
        Optimizer signs = OptimizerSettings.defaults(Recipe.SYMMETRY)
                .with(SymmetryPreconditioner.Settings.class, s -> s.withGroupType(GroupType.SIGN)).build(net);
        assertEquals(GroupType.SIGN, signs.link(SymmetryPreconditioner.class).orElseThrow().decomposition().spec().group("h0").type());
        assertNull(direction.init(org.symcurv.core.model.ParameterLayout.of(net).read(net)).inverse(), "no inverse before the first step");
    }

    @Test
    void largeFloat32BlocksAreDecomposedInFloat32AndReconstructed() {
        INDArray a = gaussian(300 * 200, new Random(81)).reshape(300, 200).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT);
        INDArray spd = a.transpose().mmul(a);
        org.symcurv.core.operator.SymmetricEigen d = org.symcurv.core.operator.SymmetricEigen.of(spd);
        assertEquals(org.nd4j.linalg.api.buffer.DataType.FLOAT, d.vectors().dataType());
        assertClose(spd, d.power(1.0, 0), 1e-5, "U S Uᵀ");
        assertClose(org.nd4j.linalg.factory.Nd4j.eye(200), d.power(0.5, 0).mmul(d.power(-0.5, 0)), 1e-3, "S^{1/2} S^{-1/2}");
    }

    /**
     * The damped powers against their definition on a matrix built from a known spectrum: {@code A = Q diag(s) Qᵀ} with
     * {@code Q} a product of Householder reflections, so {@code A^{p~} = Q diag((shift + max(s, 0))^p) Qᵀ} in closed form,
     * including a zero eigenvalue (inverse powers there with a shift) and a slightly negative one (clipped to 0).
     */
    @Test
    void dampedPowersMatchTheirDefinitionOnAKnownSpectrum() {
        int m = 9;
        double[] s = {4.0, 2.5, 1.0, 0.5, 0.25, 0.1, 0.01, 0.0, -1e-9};
        INDArray q = org.nd4j.linalg.factory.Nd4j.eye(m).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE);
        Random random = new Random(82);
        for (int r = 0; r < 3; r++) {
            INDArray v = gaussian(m, random).reshape(m, 1);
            v.divi(v.norm2Number());
            INDArray reflection = org.nd4j.linalg.factory.Nd4j.eye(m).castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                    .subi(v.mmul(v.transpose()).muli(2));
            q = q.mmul(reflection);
        }
        INDArray a = q.mulRowVector(org.nd4j.linalg.factory.Nd4j.createFromArray(s)).mmul(q.transpose());
        org.symcurv.core.operator.SymmetricEigen d = org.symcurv.core.operator.SymmetricEigen.of(a);
        assertEquals(4.0, d.max(), 1e-12);
        for (double p : new double[] {1.0, 0.5, -0.5, -1.0}) {
            double shift = 0.3;
            double[] f = new double[m];
            for (int i = 0; i < m; i++) {
                f[i] = Math.pow(shift + Math.max(s[i], 0), p);
            }
            INDArray expected = q.mulRowVector(org.nd4j.linalg.factory.Nd4j.createFromArray(f)).mmul(q.transpose());
            assertClose(expected, d.power(p, shift), 1e-11, "power " + p);
        }
    }
}
