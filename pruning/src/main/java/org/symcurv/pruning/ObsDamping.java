package org.symcurv.pruning;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.operator.DiagonalCurvature;

/**
 * The damped Fisher {@code F̃ = F + c·I} whose inverse OBS uses, with {@code c = λ · reference}:
 *
 * <ul>
 *   <li>{@link Reference#MEAN_DIAGONAL}: {@code c = λ tr(F) / P}, one shift for the whole operator (the default);</li>
 *   <li>{@link Reference#BLOCK_MEAN_DIAGONAL}: per block {@code B_κ} (per family member), {@code c_κ = λ tr(B_κ) / m_κ},
 *       as the numpy prototype of symmetry-curvature.md section 9 did. For a diagonal Fisher every parameter is its own
 *       block, so this only rescales {@code F} by {@code 1 + λ};</li>
 *   <li>{@link Reference#MAX_EIGENVALUE}: {@code c = λ s_max}, the convention of {@link Damping}.</li>
 * </ul>
 *
 * A shift by a multiple of the identity (per block) keeps {@code F̃} in the commutant of the group, so {@code F̃⁻¹}
 * is again a structured {@link Curvature}.
 *
 * @param relative  {@code λ > 0}
 * @param reference what {@code λ} is relative to
 */
public record ObsDamping(double relative, Reference reference) {
    /** What the relative damping {@code λ} multiplies. */
    public enum Reference { MEAN_DIAGONAL, BLOCK_MEAN_DIAGONAL, MAX_EIGENVALUE }

    /** The default, {@code λ = 1e-3} relative to the mean diagonal. */
    public static final ObsDamping DEFAULT = new ObsDamping(1e-3, Reference.MEAN_DIAGONAL);

    /**
     * @throws IllegalArgumentException if {@code λ} is not a positive finite number or the reference is missing
     */
    public ObsDamping {
        if (!(relative > 0.0) || Double.isInfinite(relative)) {
            throw new IllegalArgumentException("OBS damping must be a positive finite number (the inverse of an estimated Fisher "
                    + "needs it), got " + relative);
        }
        if (reference == null) {
            throw new IllegalArgumentException("damping reference must be one of " + java.util.Arrays.toString(Reference.values()));
        }
    }

    /** {@code λ} relative to the mean of the Fisher's diagonal. */
    public static ObsDamping meanDiagonal(double relative) {
        return new ObsDamping(relative, Reference.MEAN_DIAGONAL);
    }

    /**
     * {@code F̃ = F + c I} (per block for {@link Reference#BLOCK_MEAN_DIAGONAL}).
     *
     * @param fisher the estimated Fisher; not modified
     * @throws IllegalArgumentException if the reference value is not positive (an all-zero Fisher)
     */
    public Curvature damp(Curvature fisher) {
        return switch (reference) {
            case MEAN_DIAGONAL -> fisher.plusIdentity(relative * positive(fisher.trace() / fisher.spec().parameterCount(), "mean diagonal"));
            case MAX_EIGENVALUE -> fisher.plusIdentity(relative * positive(maxEigenvalue(fisher), "largest eigenvalue"));
            case BLOCK_MEAN_DIAGONAL -> fisher.plus(blockShifts(fisher));
        };
    }

    /** {@code F̃⁻¹}, block by block. */
    public Curvature inverse(Curvature fisher) {
        return damp(fisher).inverse(Damping.NONE);
    }

    private static double maxEigenvalue(Curvature fisher) {
        // for a diagonal operator the eigenvalues are its entries; avoids one decomposition per parameter
        return DiagonalCurvature.isDiagonal(fisher) ? fisher.diagonal().maxNumber().doubleValue() : fisher.maxEigenvalue();
    }

    private static double positive(double reference, String what) {
        if (!(reference > 0.0) || Double.isInfinite(reference)) {
            throw new IllegalArgumentException("the Fisher's " + what + " is " + reference + ": cannot damp relative to it (is the network"
                    + " constant on the data?)");
        }
        return reference;
    }

    /** Diagonal-only blocks {@code [F, m]} holding {@code λ tr(B_κ,f) / m} for every copy. */
    private Curvature blockShifts(Curvature fisher) {
        List<INDArray> shifts = new ArrayList<>();
        for (int k = 0; k < fisher.decomposition().kinds().size(); k++) {
            INDArray b = fisher.block(k);
            INDArray diagonal;
            if (b.rank() == 2) {
                diagonal = b;
            } else {
                long f = b.size(0);
                long m = b.size(1);
                INDArray flat = b.dup('c').reshape(f, m * m);
                // the diagonal of each m×m slice sits at stride m+1 in its row-major storage
                diagonal = m == 1 ? flat : flat.get(NDArrayIndex.all(), NDArrayIndex.interval(0, m + 1, m * m));
            }
            INDArray mean = diagonal.mean(true, 1).muli(relative); // [F, 1]
            shifts.add(Nd4j.zeros(b.dataType(), b.size(0), b.size(1)).addiColumnVector(mean));
        }
        return Curvature.of(fisher.decomposition(), shifts);
    }

    @Override
    public String toString() {
        return relative + " × " + switch (reference) {
            case MEAN_DIAGONAL -> "mean diagonal";
            case BLOCK_MEAN_DIAGONAL -> "block mean diagonal";
            case MAX_EIGENVALUE -> "largest eigenvalue";
        };
    }
}
