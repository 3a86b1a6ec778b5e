package org.symcurv.optimizer;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.optimizer.Checks.assertClose;
import static org.symcurv.optimizer.Checks.gaussian;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.estimate.TaylorEstimator;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;

/** Muon: the exact variant is the core's Muon preset of the Taylor estimator; Newton–Schulz approximates the polar factor. */
class MuonTest {

    /** A dense layer {@code W [nIn, nOut]} ('f') and {@code b [nOut]}, all axes free. */
    static SymmetrySpec denseLayer(int nIn, int nOut) {
        return new SymmetrySpec(List.of(), List.of(
                new LeafSpec("0_W", new long[] {nIn, nOut}, List.of(AxisLabel.FREE, AxisLabel.FREE), 0, 'f'),
                LeafSpec.of("0_b", (long) nIn * nOut, new long[] {nOut}, AxisLabel.FREE)));
    }

    @Test
    void exactMuonIsTheEstimatorsMuonPresetForWideAndTallWeights() {
        for (int[] shape : new int[][] {{4, 6}, {7, 3}}) {
            SymmetrySpec layout = denseLayer(shape[0], shape[1]);
            KindDecomposition kinds = KindDecomposition.of(Presets.muon(layout));
            TaylorEstimator preset = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT.withBetas(0.9, 0)
                    .withIdentityWeightMoment(true));
            Muon muon = new Muon(layout, 0.9, false, Muon.Polar.EXACT, 5, Adam.defaults());
            Random rng = new Random(31);
            INDArray w = gaussian(layout.parameterCount(), rng);
            Muon.State state = muon.init(w);
            for (int t = 1; t <= 3; t++) {
                INDArray g = gaussian(layout.parameterCount(), rng);
                preset.observe(w, g);
                Update<Muon.State> u = muon.update(g, state, w);
                state = u.state();
                LeafSpec weight = layout.leaf("0_W");
                INDArray expected = KindDecomposition.leafTensor(preset.direction(preset.inverseHessian(Damping.NONE)), weight);
                // tall W: the preset inverts the rank-deficient nIn×nIn Gram, whose round-off null space costs it ~1e-8
                assertClose(expected, KindDecomposition.leafTensor(u.step(), weight), shape[0] > shape[1] ? 1e-6 : Checks.FLOAT64,
                        "√nOut · polar(momentum) for W " + shape[0] + "×" + shape[1] + " at step " + t);
            }
        }
    }

    @Test
    void cubicNewtonSchulzConvergesToTheExactPolarFactor() {
        INDArray g = gaussian(30 * 12, new Random(2)).reshape(30, 12);
        INDArray exact = PolarFactor.exact(g);
        assertClose(Nd4j.eye(12), exact.transpose().mmul(exact), 1e-12, "the exact factor has orthonormal columns");
        assertClose(exact, PolarFactor.newtonSchulz(g, PolarFactor.Coefficients.CUBIC, 40), 1e-10, "cubic Newton–Schulz, 40 steps");
        assertClose(exact.transpose(), PolarFactor.newtonSchulz(g.transpose(), PolarFactor.Coefficients.CUBIC, 40), 1e-10,
                "wide orientation");
    }

    @Test
    void muonsQuinticPutsEverySingularValueNearOneInFiveSteps() {
        INDArray g = gaussian(40 * 16, new Random(3)).reshape(40, 16);
        INDArray x = PolarFactor.newtonSchulz(g, PolarFactor.Coefficients.MUON_QUINTIC, 5);
        INDArray gram = x.transpose().mmul(x);
        double[] s2 = Eigen.symmetricGeneralizedEigenvalues(gram.dup(), true).toDoubleVector();
        for (double v : s2) {
            double s = Math.sqrt(Math.max(v, 0));
            assertTrue(s > 0.6 && s < 1.25, "singular value " + s + " outside Muon's band [0.6, 1.25]");
        }
        assertTrue(Checks.relativeError(PolarFactor.exact(g), x) < 0.3, "close to the polar factor");
    }

    @Test
    void nesterovMuonUsesTheLookAheadMomentumAndAdamForTheBias() {
        SymmetrySpec layout = denseLayer(5, 3);
        Muon muon = new Muon(layout, 0.8, true, Muon.Polar.NEWTON_SCHULZ, 5, new Adam(0.9, 0.99, 1e-8));
        Adam adam = new Adam(0.9, 0.99, 1e-8);
        Random rng = new Random(5);
        INDArray w = gaussian(layout.parameterCount(), rng);
        Muon.State state = muon.init(w);
        Adam.State biasState = adam.init(Nd4j.zeros(DataType.DOUBLE, 3));
        INDArray m = Nd4j.zeros(DataType.DOUBLE, 15);
        for (int t = 1; t <= 3; t++) {
            INDArray g = gaussian(layout.parameterCount(), rng);
            Update<Muon.State> u = muon.update(g, state, w);
            state = u.state();
            INDArray gw = g.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 15));
            m = m.mul(0.8).add(gw.mul(0.2));
            INDArray look = gw.mul(0.2).add(m.mul(0.8)).reshape('f', 5, 3);
            INDArray expected = PolarFactor.newtonSchulz(look, PolarFactor.Coefficients.MUON_QUINTIC, 5).mul(Math.sqrt(3));
            assertClose(expected, KindDecomposition.leafTensor(u.step(), layout.leaf("0_W")), 1e-12, "W at step " + t);
            Update<Adam.State> b = adam.update(g.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(15, 18)), biasState, null);
            biasState = b.state();
            assertClose(b.step(), KindDecomposition.leafTensor(u.step(), layout.leaf("0_b")), 1e-14, "bias at step " + t);
        }
    }
}
