package org.symcurv.core.operator;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A diagonal matrix {@code D = diag(d)} as a {@link Curvature}: in the spec {@link Presets#diagonal} every axis of
 * every leaf carries its own {@code SIGN} group, so every parameter is its own kind with a {@code 1 × 1} block
 * {@code B = d_q}, stored diagonal-only ({@code [F, 1]}). Then {@code D⁻¹ e_q = e_q / d_q}, and every operation of
 * {@code Curvature} applies unchanged.
 */
public final class DiagonalCurvature {
    private DiagonalCurvature() {
    }

    /**
     * {@code diag(d)} on the leaves of {@code layout}.
     *
     * @param layout   the parameter leaves (their labels are ignored)
     * @param diagonal {@code [P]}, the entries {@code d_q} in flat parameter order; not modified
     * @throws IllegalArgumentException if the length is not {@code P}
     */
    public static Curvature of(SymmetrySpec layout, INDArray diagonal) {
        long p = layout.parameterCount();
        if (diagonal.length() != p) {
            throw new IllegalArgumentException("a diagonal for " + p + " parameters needs " + p + " entries, got " + diagonal.length());
        }
        KindDecomposition kinds = KindDecomposition.of(Presets.diagonal(layout));
        INDArray flat = diagonal.reshape(p).castTo(DataType.DOUBLE);
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            // the copy matrix of a vector under per-parameter SIGN groups is [F, 1, 1]: the vector's entries
            INDArray z = kinds.copyMatrix(k, flat);
            blocks.add(z.reshape(z.size(0), 1).dup());
        }
        return Curvature.of(kinds, blocks);
    }

    /** Whether every block of {@code c} is a diagonal (stored diagonal-only, or {@code 1 × 1}). */
    public static boolean isDiagonal(Curvature c) {
        for (int k = 0; k < c.decomposition().kinds().size(); k++) {
            if (!c.isDiagonalBlock(k) && c.block(k).size(1) != 1) {
                return false;
            }
        }
        return true;
    }
}
