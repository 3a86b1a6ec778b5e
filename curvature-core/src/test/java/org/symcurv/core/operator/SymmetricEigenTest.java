package org.symcurv.core.operator;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Large blocks (a 784-input layer gives ~800×800) in float64: the eigendecomposition must satisfy
 * {@code A U = U Λ} and {@code UᵀU = I}. This failed (residual ≈ 1) with OpenBLAS 0.3.19's AVX-512 kernels until the
 * build chose its Haswell kernels; SymmetricEigen's own check refuses to run on the faulty ones.
 */
class SymmetricEigenTest {
    /** float64 residual of a backward-stable eigensolver on a 400×400 matrix. */
    static final double FLOAT64_RESIDUAL = 1e-12;
    /** float32 residual on a 300×300 matrix: a few hundred float32 round-offs. */
    static final double FLOAT32_RESIDUAL = 1e-4;

    @Test
    void largeFloat64BlocksDecomposeCorrectly() {
        int m = 400;
        Random rng = new Random(4);
        double[][] x = new double[m][m];
        for (double[] row : x) {
            for (int j = 0; j < m; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        INDArray a = Nd4j.createFromArray(x);
        a = a.add(a.transpose());
        SymmetricEigen e = SymmetricEigen.of(a);
        INDArray u = e.vectors();
        double residual = a.mmul(u).sub(u.mulRowVector(e.values())).norm2Number().doubleValue() / a.norm2Number().doubleValue();
        double orthogonality = u.transpose().mmul(u).sub(Nd4j.eye(m).castTo(DataType.DOUBLE)).norm2Number().doubleValue();
        assertTrue(residual < FLOAT64_RESIDUAL, "‖AU − UΛ‖/‖A‖ = " + residual);
        assertTrue(orthogonality < FLOAT64_RESIDUAL * m, "‖UᵀU − I‖ = " + orthogonality);
    }

    @Test
    void largeFloat32BlocksDecomposeInFloat32ToFloat32RoundOff() {
        int m = 300;
        Random rng = new Random(5);
        double[][] x = new double[m][m];
        for (double[] row : x) {
            for (int j = 0; j < m; j++) {
                row[j] = rng.nextGaussian();
            }
        }
        INDArray a = Nd4j.createFromArray(x);
        a = a.add(a.transpose()).castTo(DataType.FLOAT);
        SymmetricEigen e = SymmetricEigen.of(a);
        assertEquals(DataType.FLOAT, e.vectors().dataType(), "float32 stays float32");
        INDArray u = e.vectors().castTo(DataType.DOUBLE);
        INDArray ad = a.castTo(DataType.DOUBLE);
        double residual = ad.mmul(u).sub(u.mulRowVector(e.values().castTo(DataType.DOUBLE))).norm2Number().doubleValue()
                / ad.norm2Number().doubleValue();
        assertTrue(residual < FLOAT32_RESIDUAL, "‖AU − UΛ‖/‖A‖ = " + residual);
    }

    @Test
    void bothPrecisionsHaveATrustedRouteOnTheTestBuild() {
        for (DataType type : new DataType[] {DataType.FLOAT, DataType.DOUBLE}) {
            String backend = SymmetricEigen.backend(type);
            assertFalse(backend.startsWith("none"), type + ": " + backend);
        }
    }

    @Test
    void nonSquareAndEmptyBlocks() {
        assertThrows(IllegalArgumentException.class, () -> SymmetricEigen.of(Nd4j.zeros(DataType.DOUBLE, 3, 2)));
        assertEquals(0, SymmetricEigen.of(Nd4j.zeros(DataType.DOUBLE, 0, 0)).values().length());
    }
}
