package org.symcurv.optimizer;

import static org.symcurv.optimizer.Checks.assertClose;
import static org.symcurv.optimizer.Checks.gaussian;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.eigen.Eigen;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.estimate.TaylorEstimator;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;

/** Shampoo against a direct dense implementation and against the core's two one-sided ORTH presets. */
class ShampooTest {

    /** {@code U (λ s_max + s)^p Uᵀ} by ND4J's own eigensolver (not the optimizer's). */
    static INDArray dampedPower(INDArray symmetric, double p, double relative) {
        INDArray vectors = symmetric.dup();
        double[] s = Eigen.symmetricGeneralizedEigenvalues(vectors, true).toDoubleVector();
        double shift = relative * s[s.length - 1];
        for (int i = 0; i < s.length; i++) {
            s[i] = Math.pow(shift + Math.max(s[i], 0), p);
        }
        return vectors.mulRowVector(Nd4j.createFromArray(s)).mmul(vectors.transpose());
    }

    @Test
    void equalsADirectImplementationWithAndWithoutStaleRoots() {
        SymmetrySpec layout = SpecsForTests.mlp(new int[] {5, 4, 3}, GroupType.PERM);
        for (int refresh : new int[] {1, 2}) {
            double b1 = 0.8;
            double b2 = 0.9;
            double damping = 1e-3;
            Shampoo shampoo = new Shampoo(layout, b1, b2, damping, refresh, Adam.defaults());
            Random rng = new Random(40 + refresh);
            INDArray w = gaussian(layout.parameterCount(), rng);
            Shampoo.State state = shampoo.init(w);
            List<LeafSpec> matrices = List.of(layout.leaf("0_W"), layout.leaf("1_W"));
            INDArray[] l = new INDArray[2];
            INDArray[] r = new INDArray[2];
            INDArray[] lRoot = new INDArray[2];
            INDArray[] rRoot = new INDArray[2];
            INDArray[] m = new INDArray[2];
            for (int t = 1; t <= 5; t++) {
                INDArray g = gaussian(layout.parameterCount(), rng);
                Update<Shampoo.State> u = shampoo.update(g, state, w);
                state = u.state();
                for (int i = 0; i < 2; i++) {
                    LeafSpec leaf = matrices.get(i);
                    INDArray gw = KindDecomposition.leafTensor(g, leaf).dup();
                    long nIn = leaf.size(0);
                    long nOut = leaf.size(1);
                    l[i] = (t == 1 ? Nd4j.zeros(gw.dataType(), nIn, nIn) : l[i].mul(b2))
                            .add(gw.mmul(gw.transpose()).mul((1 - b2) / nOut));
                    r[i] = (t == 1 ? Nd4j.zeros(gw.dataType(), nOut, nOut) : r[i].mul(b2)).add(gw.transpose().mmul(gw).mul((1 - b2) / nIn));
                    m[i] = (t == 1 ? Nd4j.zeros(gw.dataType(), nIn, nOut) : m[i].mul(b1)).add(gw.mul(1 - b1));
                    if ((t - 1) % refresh == 0) {
                        double c = 1 - Math.pow(b2, t);
                        lRoot[i] = dampedPower(l[i].div(c), -0.25, damping);
                        rRoot[i] = dampedPower(r[i].div(c), -0.25, damping);
                    }
                    INDArray expected = lRoot[i].mmul(m[i].div(1 - Math.pow(b1, t))).mmul(rRoot[i]);
                    assertClose(expected, KindDecomposition.leafTensor(u.step(), leaf), Checks.FLOAT64,
                            "refresh " + refresh + ", " + leaf.name() + " at step " + t);
                }
            }
        }
    }

    @Test
    void equalsTheCoresTwoOneSidedOrthEstimatesComposed() {
        SymmetrySpec layout = MuonTest.denseLayer(5, 3);
        TaylorEstimator.Options options = TaylorEstimator.Options.DEFAULT.withBetas(0, 0.9).withIdentityWeightMoment(true);
        TaylorEstimator right = new TaylorEstimator(KindDecomposition.of(Presets.shampooOutput(layout)), options);
        TaylorEstimator left = new TaylorEstimator(KindDecomposition.of(Presets.shampooInput(layout)), options);
        Shampoo shampoo = new Shampoo(layout, 0, 0.9, 0, 1, Adam.defaults());
        Random rng = new Random(6);
        INDArray w = gaussian(layout.parameterCount(), rng);
        Shampoo.State state = shampoo.init(w);
        for (int t = 1; t <= 3; t++) {
            INDArray g = gaussian(layout.parameterCount(), rng);
            right.observe(w, g);
            left.observe(w, g);
            Update<Shampoo.State> u = shampoo.update(g, state, w);
            state = u.state();
            INDArray expected = left.gradientMoment().power(-0.25, Damping.NONE)
                    .multiply(right.gradientMoment().power(-0.25, Damping.NONE).multiply(g));
            LeafSpec weight = layout.leaf("0_W");
            assertClose(KindDecomposition.leafTensor(expected, weight), KindDecomposition.leafTensor(u.step(), weight), Checks.FLOAT64,
                    "L^{-1/4} G R^{-1/4} at step " + t);
        }
    }
}
