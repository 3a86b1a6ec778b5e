package org.symcurv.pruning;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.model.FisherSource;

/** OBD/OBS saliencies and updates on the symmetry-averaged Fisher of a tiny network against a dense float64 oracle. */
class ObsFormulasTest {
    /** Blockwise eigendecompositions vs Gauss-Jordan on the dense matrix: both float64, different routes. */
    private static final double INVERSE_AGREEMENT = 1e-9;
    private static final double LAMBDA = 1e-2;

    static MultiLayerNetwork net;
    static Curvature fisher;
    static ObsDamping damping;
    static Curvature inverse;
    static DenseObs dense;
    static double[] w;

    @BeforeAll
    static void estimate() {
        net = PruningTestNetworks.tanh(3);
        fisher = FisherSource.empirical(PruningTestNetworks.data(5, 40)).withRoute(FisherSource.Route.PER_EXAMPLE).symmetric(net, SpecInference.infer(net), FisherSource.Progress.NONE);
        damping = ObsDamping.meanDiagonal(LAMBDA);
        inverse = damping.inverse(fisher);
        dense = new DenseObs(fisher, LAMBDA * fisher.trace() / fisher.spec().parameterCount());
        w = ParameterLayout.of(net).read(net).castTo(DataType.DOUBLE).toDoubleVector();
    }

    @Test
    void dampedInverseIsTheDenseInverseOfFisherPlusShift() {
        DenseMatrices.assertClose(dense.inverse, DenseMatrices.toMatrix(inverse.toDense()), INVERSE_AGREEMENT, "F̃⁻¹");
    }

    @Test
    void meanDiagonalShiftIsLambdaTimesTraceOverP() {
        double[][] f = DenseMatrices.toMatrix(fisher.toDense());
        double trace = 0;
        for (int i = 0; i < f.length; i++) {
            trace += f[i][i];
        }
        DenseMatrices.assertClose(dense.dampedFisher, DenseMatrices.toMatrix(damping.damp(fisher).toDense()), 1e-12, "F + c I");
        assertEquals(trace, fisher.trace(), 1e-12 * Math.abs(trace), "trace");
    }

    @Test
    void obsSaliencyIsWSquaredOverTwiceTheInverseDiagonal() {
        double[] s = Saliencies.obs(Nd4j.createFromArray(w), inverse.diagonal()).toDoubleVector();
        for (int q = 0; q < w.length; q++) {
            assertEquals(dense.saliency(w, q), s[q], INVERSE_AGREEMENT * Math.abs(dense.saliency(w, q)) + 1e-15, "s_" + q);
        }
    }

    @Test
    void obsUpdateMatchesTheDenseFormulaAndZeroesTheWeight() {
        for (int q : new int[] {0, 7, 23, 40}) {
            double[] u = Saliencies.obsUpdate(inverse, Nd4j.createFromArray(w), q).toDoubleVector();
            DenseMatrices.assertClose(dense.update(w, q), u, INVERSE_AGREEMENT, "update for " + q);
            assertEquals(-w[q], u[q], 1e-12 * Math.abs(w[q]), "w_q + δ_q = 0");
        }
    }

    @Test
    void obsUpdateIsTheCheapestWayToZeroAWeightAndCostsTheSaliency() {
        SeededRandom random = new SeededRandom(17);
        for (int q : new int[] {2, 30}) {
            double[] u = dense.update(w, q);
            double cost = dense.quadratic(u);
            assertEquals(dense.saliency(w, q), cost, 1e-9 * cost, "½ δᵀF̃δ = s_q");
            for (int trial = 0; trial < 5; trial++) {
                double[] other = u.clone();
                for (int i = 0; i < other.length; i++) {
                    if (i != q) {
                        other[i] += 1e-2 * random.gaussian() * (Math.abs(u[i]) + 1e-3);
                    }
                }
                assertTrue(dense.quadratic(other) > cost, "any other update that zeroes w_q costs more");
            }
        }
    }

    @Test
    void summedUpdateIsTheSumOfTheSingleUpdates() {
        long[] removed = {1, 4, 9, 22, 33};
        double[] u = Saliencies.summedObsUpdate(inverse, inverse.diagonal(), Nd4j.createFromArray(w), removed).toDoubleVector();
        DenseMatrices.assertClose(dense.summedUpdate(w, removed), u, INVERSE_AGREEMENT, "summed update");
    }

    @Test
    void obdSaliencyIsHalfWSquaredTimesTheFisherDiagonal() {
        double[][] f = DenseMatrices.toMatrix(fisher.toDense());
        double[] s = Saliencies.obd(Nd4j.createFromArray(w), fisher.diagonal()).toDoubleVector();
        for (int q = 0; q < w.length; q++) {
            assertEquals(0.5 * w[q] * w[q] * f[q][q], s[q], 1e-12 * Math.abs(s[q]) + 1e-18, "OBD s_" + q);
        }
    }

    @Test
    void magnitudeSaliencyIsWSquared() {
        double[] s = Saliencies.magnitude(Nd4j.createFromArray(w)).toDoubleVector();
        for (int q = 0; q < w.length; q++) {
            assertEquals(w[q] * w[q], s[q], 0.0);
        }
    }

    @Test
    void blockMeanDiagonalDampingAddsLambdaTimesEachBlocksMeanDiagonal() {
        Curvature damped = new ObsDamping(LAMBDA, ObsDamping.Reference.BLOCK_MEAN_DIAGONAL).damp(fisher);
        KindDecomposition kinds = fisher.decomposition();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            double[][] b = DenseMatrices.toMatrix(fisher.block(k).slice(0));
            double mean = 0;
            for (int i = 0; i < b.length; i++) {
                mean += b[i][i] / b.length;
            }
            double[][] expected = b.clone();
            for (int i = 0; i < b.length; i++) {
                expected[i] = b[i].clone();
                expected[i][i] += LAMBDA * mean;
            }
            DenseMatrices.assertClose(expected, DenseMatrices.toMatrix(damped.block(k).slice(0)), 1e-12, "block " + kinds.describe(k));
        }
    }

    @Test
    void saliencyRefusesANonPositiveInverseDiagonal() {
        INDArray bad = Nd4j.createFromArray(1.0, 0.0, 2.0);
        assertThrows(ArithmeticException.class, () -> Saliencies.obs(Nd4j.createFromArray(1.0, 1.0, 1.0), bad));
    }

    @Test
    void dampingMustBePositive() {
        assertThrows(IllegalArgumentException.class, () -> ObsDamping.meanDiagonal(0.0));
        assertThrows(IllegalArgumentException.class, () -> ObsDamping.meanDiagonal(Double.NaN));
    }
}
