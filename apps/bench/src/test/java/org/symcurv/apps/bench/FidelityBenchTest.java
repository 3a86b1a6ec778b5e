package org.symcurv.apps.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;

/** The fidelity bench's shortcuts against the general machinery, on a 3-2-2-2 MLP (20 parameters). */
class FidelityBenchTest {
    private static final double ROUND_OFF = 1e-12;

    private static SymmetrySpec spec() {
        return SpecInference.infer(new MlpArchitecture(3, List.of(2, 2), HiddenActivation.TANH, 2).newNetwork(1e-3, 5));
    }

    private static INDArray random(long seed, int rows, int columns) {
        java.util.Random random = new java.util.Random(seed);
        double[][] a = new double[rows][columns];
        for (double[] row : a) {
            for (int j = 0; j < columns; j++) {
                row[j] = random.nextGaussian();
            }
        }
        return Nd4j.createFromArray(a);
    }

    private static INDArray randomSymmetric(int p, long seed) {
        INDArray a = random(seed, p, p);
        return a.add(a.transpose());
    }

    @Test
    void diagonalShortcutEqualsTheOrbitAverageOfTheDiagonalPreset() {
        KindDecomposition kinds = KindDecomposition.of(Presets.diagonal(spec()));
        INDArray x = randomSymmetric(20, 11);
        Curvature shortcut = FidelityBench.project(kinds, x, true);
        Curvature general = OrbitAverage.project(kinds, x);
        assertTrue(FidelityBench.distanceSquared(shortcut, general) < ROUND_OFF * ROUND_OFF * FidelityBench.frobeniusSquared(general));
        assertEquals(0.0, shortcut.toDense().sub(Nd4j.diag(Nd4j.diag(x))).norm2Number().doubleValue(), ROUND_OFF);
        assertEquals(0.0, FidelityBench.dense(shortcut, true).sub(shortcut.toDense()).norm2Number().doubleValue(), ROUND_OFF);
    }

    @Test
    void blockwiseNormsEqualDenseFrobeniusNormsAndTheErrorSplitsByPythagoras() {
        KindDecomposition kinds = KindDecomposition.of(spec().withGroupType(GroupType.PERM));
        INDArray x = randomSymmetric(20, 12);
        INDArray y = randomSymmetric(20, 13);
        Curvature px = OrbitAverage.project(kinds, x);
        Curvature py = OrbitAverage.project(kinds, y);
        INDArray pxd = px.toDense();
        assertEquals(Math.pow(pxd.norm2Number().doubleValue(), 2), FidelityBench.frobeniusSquared(px), 1e-10);
        assertEquals(Math.pow(pxd.sub(py.toDense()).norm2Number().doubleValue(), 2), FidelityBench.distanceSquared(px, py), 1e-10);
        // ‖X − P_Y‖² = ‖X − P_X‖² + ‖P_X − P_Y‖² because X − P_X is orthogonal to the structure
        double total = Math.pow(x.sub(py.toDense()).norm2Number().doubleValue(), 2);
        double structure = Math.pow(x.norm2Number().doubleValue(), 2) - FidelityBench.frobeniusSquared(px);
        assertEquals(total, structure + FidelityBench.distanceSquared(px, py), 1e-10);
        assertTrue(structure > 0.1, "a random matrix is far from the structure");
    }

    @Test
    void dampedSolveInvertsAPositiveDefiniteMatrix() {
        INDArray a = randomSymmetric(6, 14);
        a = a.mmul(a).addi(Nd4j.eye(6).castTo(DataType.DOUBLE));
        INDArray g = random(15, 1, 6).reshape(6);
        double lambda = 0.3;
        INDArray step = FidelityBench.dampedSolve(org.symcurv.core.operator.SymmetricEigen.of(a), g, lambda);
        INDArray back = a.add(Nd4j.eye(6).castTo(DataType.DOUBLE).muli(lambda)).mmul(step.reshape(6, 1)).reshape(6);
        assertEquals(0.0, back.sub(g).norm2Number().doubleValue(), 1e-10);
        assertEquals(1.0, FidelityBench.cosine(step, step), 1e-12);
        assertEquals(-1.0, FidelityBench.cosine(step, step.neg()), 1e-12);
    }
}
