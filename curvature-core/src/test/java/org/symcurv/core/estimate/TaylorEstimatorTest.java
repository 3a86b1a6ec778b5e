package org.symcurv.core.estimate;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.DynamicCustomOp;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The Taylor estimator's exact cases (symmetry-curvature.md sections 5.1 and 6): an invariant quadratic is recovered
 * from one gradient and its Newton step lands on the minimum; Muon, Shampoo and the Adam-like diagonal equal direct,
 * independent implementations of those updates.
 */
class TaylorEstimatorTest {
    /** float64 results that differ by summation order, eigen- and singular-value round-off. */
    static final double FLOAT64 = 1e-9;

    static INDArray gaussian(long n, Random rng) {
        double[] v = new double[(int) n];
        for (int i = 0; i < v.length; i++) {
            v[i] = rng.nextGaussian();
        }
        return Nd4j.createFromArray(v);
    }

    /** A single dense layer W [nIn, nOut] ('f') and b [nOut], all axes FREE: the layout presets start from. */
    static SymmetrySpec denseLayer(int nIn, int nOut) {
        return new SymmetrySpec(List.of(), List.of(
                new LeafSpec("0_W", new long[] {nIn, nOut}, List.of(AxisLabel.FREE, AxisLabel.FREE), 0, 'f'),
                LeafSpec.of("0_b", (long) nIn * nOut, new long[] {nOut}, AxisLabel.FREE)));
    }

    @Test
    void invariantQuadraticIsRecoveredFromOneGradientAndNewtonLandsOnTheMinimum() {
        // every non-invariant kind has m ≤ D, so S_w = R2(δ_w) is full rank there
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {2, 4, 4, 2}, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM);
        KindDecomposition kinds = KindDecomposition.of(spec);
        Random rng = new Random(17);
        long p = spec.parameterCount();
        INDArray rows = Nd4j.vstack(gaussian(p, rng).reshape(1, p), gaussian(p, rng).reshape(1, p), gaussian(p, rng).reshape(1, p));
        Curvature h = OrbitAverage.secondMoment(kinds, rows, BlockBudget.DEFAULT).plusIdentity(0.5);
        INDArray wStar = OrbitAverage.firstOrder(kinds, gaussian(p, rng));
        INDArray v = gaussian(p, rng);
        INDArray w = wStar.add(v.sub(OrbitAverage.firstOrder(kinds, v)));
        INDArray g = h.multiply(w.sub(wStar));

        TaylorEstimator taylor = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT.withBetas(0, 0)
                .withInvariantPolicy(TaylorEstimator.InvariantPolicy.DAMPED_SCALAR));
        taylor.observe(w, g);
        Curvature estimate = taylor.hessian(Damping.NONE);
        for (int k = 0; k < kinds.kinds().size(); k++) {
            if (!kinds.kinds().get(k).kind().isInvariant()) {
                assertClose(h.block(k), estimate.block(k), "H on " + kinds.describe(k));
            }
        }
        INDArray newton = w.sub(taylor.direction(taylor.inverseHessian(Damping.NONE)));
        assertClose(wStar, newton, "Newton step from w");
    }

    @Test
    void muonPresetIsTheScaledPolarFactorOfTheMomentum() {
        int nIn = 4;
        int nOut = 6;
        SymmetrySpec spec = Presets.muon(denseLayer(nIn, nOut));
        KindDecomposition kinds = KindDecomposition.of(spec);
        Random rng = new Random(3);
        TaylorEstimator muon = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT.withBetas(0.9, 0)
                .withIdentityWeightMoment(true));
        INDArray w = gaussian(spec.parameterCount(), rng);
        INDArray momentum = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        for (int t = 1; t <= 3; t++) {
            INDArray g = gaussian(spec.parameterCount(), rng);
            muon.observe(w, g);
            momentum = momentum.mul(0.9).add(g.mul(0.1));
        }
        INDArray gBar = momentum.div(1 - Math.pow(0.9, 3));
        INDArray direction = muon.direction(muon.inverseHessian(Damping.NONE));
        LeafSpec weight = spec.leaf("0_W");
        INDArray g = KindDecomposition.leafTensor(gBar, weight).dup(); // [nIn, nOut], DL4J orientation
        INDArray expected = polarFactorBySvd(g).mul(Math.sqrt(nOut));
        assertClose(expected, KindDecomposition.leafTensor(direction, weight), "√m · U Vᵀ");
    }

    @Test
    void shampooPresetsComposeToLeftAndRightInverseFourthRoots() {
        int nIn = 5;
        int nOut = 3;
        SymmetrySpec layout = denseLayer(nIn, nOut);
        TaylorEstimator.Options options = TaylorEstimator.Options.DEFAULT.withBetas(0, 0.9).withIdentityWeightMoment(true);
        TaylorEstimator right = new TaylorEstimator(KindDecomposition.of(Presets.shampooOutput(layout)), options);
        TaylorEstimator left = new TaylorEstimator(KindDecomposition.of(Presets.shampooInput(layout)), options);
        Random rng = new Random(5);
        INDArray w = gaussian(layout.parameterCount(), rng);
        INDArray rSum = Nd4j.zeros(DataType.DOUBLE, nIn, nIn); // Σ G Gᵀ in DL4J orientation
        INDArray lSum = Nd4j.zeros(DataType.DOUBLE, nOut, nOut); // Σ Gᵀ G
        INDArray g = null;
        int steps = 3;
        for (int t = 1; t <= steps; t++) {
            g = gaussian(layout.parameterCount(), rng);
            right.observe(w, g);
            left.observe(w, g);
            INDArray gw = KindDecomposition.leafTensor(g, layout.leaf("0_W")).dup();
            rSum = rSum.mul(0.9).add(gw.mmul(gw.transpose()).mul(0.1));
            lSum = lSum.mul(0.9).add(gw.transpose().mmul(gw).mul(0.1));
        }
        double correction = 1 - Math.pow(0.9, steps);
        INDArray gw = KindDecomposition.leafTensor(g, layout.leaf("0_W")).dup();
        // math orientation L^{-1/4} ḡ R^{-1/4} is R^{-1/4} G L^{-1/4} for DL4J's G = ḡᵀ; S_g carries 1/n_out and 1/n_in
        INDArray expected = symmetricPower(rSum.div(correction), -0.25).mmul(gw).mmul(symmetricPower(lSum.div(correction), -0.25))
                .mul(Math.pow((double) nIn * nOut, 0.25));
        INDArray step = left.gradientMoment().power(-0.25, Damping.NONE)
                .multiply(right.gradientMoment().power(-0.25, Damping.NONE).multiply(g));
        assertClose(expected, KindDecomposition.leafTensor(step, layout.leaf("0_W")), "(n m)^{1/4} L^{-1/4} ḡ R^{-1/4}");
    }

    @Test
    void diagonalPresetIsMomentumOverRootOfItsSecondMoment() {
        SymmetrySpec spec = Presets.diagonal(SpecsForTests.mlp(new int[] {3, 4, 2}, GroupType.PERM));
        KindDecomposition kinds = KindDecomposition.of(spec);
        TaylorEstimator diagonal = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT.withIdentityWeightMoment(true));
        Random rng = new Random(9);
        INDArray w = gaussian(spec.parameterCount(), rng);
        double[] m = new double[(int) spec.parameterCount()];
        double[] v = new double[m.length];
        double[] expected = new double[m.length];
        for (int t = 1; t <= 5; t++) {
            double[] g = gaussian(m.length, rng).toDoubleVector();
            diagonal.observe(w, Nd4j.createFromArray(g));
            for (int i = 0; i < m.length; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                double gBar = m[i] / (1 - Math.pow(0.9, t));
                v[i] = 0.99 * v[i] + 0.01 * gBar * gBar;
                expected[i] = gBar / Math.sqrt(v[i] / (1 - Math.pow(0.99, t)));
            }
        }
        assertClose(Nd4j.createFromArray(expected), diagonal.direction(diagonal.inverseHessian(Damping.NONE)), "ḡ / √v");
    }

    @Test
    void nanGradientLeavesTheStateUntouched() {
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {3, 4, 2}, GroupType.PERM);
        TaylorEstimator taylor = new TaylorEstimator(KindDecomposition.of(spec), TaylorEstimator.Options.DEFAULT);
        Random rng = new Random(1);
        INDArray w = gaussian(spec.parameterCount(), rng);
        taylor.observe(w, gaussian(spec.parameterCount(), rng));
        INDArray before = taylor.momentumEstimate();
        INDArray bad = gaussian(spec.parameterCount(), rng);
        bad.putScalar(2, Double.NaN);
        assertThrows(ArithmeticException.class, () -> taylor.observe(w, bad));
        assertTrue(taylor.step() == 1);
        assertClose(before, taylor.momentumEstimate(), "momentum after a refused gradient");
    }

    /** U Vᵀ from the thin SVD (ND4J's "svd" custom op, full_matrices=0, compute_uv=1, switch 16). */
    static INDArray polarFactorBySvd(INDArray a) {
        DynamicCustomOp svd = DynamicCustomOp.builder("svd").addInputs(a).addIntegerArguments(0, 1, 16).build();
        INDArray[] usv = Nd4j.exec(svd);
        INDArray u = usv[1];
        INDArray v = usv[2];
        return u.mmul(v.transpose());
    }

    static INDArray symmetricPower(INDArray symmetric, double p) {
        INDArray vectors = symmetric.dup();
        INDArray values = Eigen.symmetricGeneralizedEigenvalues(vectors, true);
        double[] s = values.toDoubleVector();
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.pow(s[i], p);
        }
        return vectors.mulRowVector(Nd4j.createFromArray(s)).mmul(vectors.transpose());
    }

    static void assertClose(INDArray expected, INDArray actual, String what) {
        INDArray e = expected.dup('c').reshape(expected.length());
        INDArray a = actual.dup('c').reshape(actual.length());
        double diff = e.sub(a).norm2Number().doubleValue();
        double norm = e.norm2Number().doubleValue();
        assertTrue(diff <= FLOAT64 * Math.max(norm, 1e-300), what + ": relative error " + diff / norm);
    }
}
