package org.symcurv.pruning;

import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;

/**
 * Saliencies {@code s_q}, the estimated increase of the loss when weight {@code q} is set to zero, and the OBS
 * compensating update (LeCun et al. 1990; Hassibi and Stork 1993). With the local quadratic model
 * {@code δL ≈ ½ δθᵀ F̃ δθ} (at a minimum, the gradient term vanishes):
 *
 * <ul>
 *   <li>magnitude: {@code s_q = w_q²} (a baseline, not a loss estimate);</li>
 *   <li>OBD, removing {@code q} alone with nothing else moving: {@code s_q = w_q² F_qq / 2};</li>
 *   <li>OBS, removing {@code q} while the other weights move optimally:
 *       {@code s_q = w_q² / (2 [F̃⁻¹]_qq)} with the update {@code δθ = −w_q F̃⁻¹ e_q / [F̃⁻¹]_qq}.</li>
 * </ul>
 *
 * All vectors are flat {@code [P]} in the curvature's parameter order; results are new float64 arrays.
 */
public final class Saliencies {
    private Saliencies() {
    }

    /** {@code s_q = w_q²}. */
    public static INDArray magnitude(INDArray theta) {
        INDArray w = flat(theta);
        return w.mul(w);
    }

    /**
     * {@code s_q = w_q² F_qq / 2}.
     *
     * @param fisherDiagonal {@code diag(F)}, {@code [P]}
     */
    public static INDArray obd(INDArray theta, INDArray fisherDiagonal) {
        INDArray w = flat(theta);
        return w.mul(w).muli(flat(fisherDiagonal)).muli(0.5);
    }

    /**
     * {@code s_q = w_q² / (2 [F̃⁻¹]_qq)}.
     *
     * @param inverseDiagonal {@code diag(F̃⁻¹)}, {@code [P]}, all entries {@code > 0}
     * @throws ArithmeticException if an entry of the inverse diagonal is not positive (the damped Fisher is not
     *                             positive definite)
     */
    public static INDArray obs(INDArray theta, INDArray inverseDiagonal) {
        INDArray d = flat(inverseDiagonal);
        double min = d.minNumber().doubleValue();
        if (!(min > 0.0)) {
            throw new ArithmeticException("the diagonal of the damped inverse Fisher has an entry " + min
                    + " ≤ 0: the damped Fisher is not positive definite; raise the damping");
        }
        INDArray w = flat(theta);
        return w.mul(w).divi(d).muli(0.5);
    }

    /**
     * The OBS update for removing weight {@code q} alone: {@code δθ = −w_q F̃⁻¹ e_q / [F̃⁻¹]_qq}. Its {@code q}-th entry
     * is {@code −w_q}, so the weight lands exactly on zero.
     *
     * @param inverse {@code F̃⁻¹}
     */
    public static INDArray obsUpdate(Curvature inverse, INDArray theta, long q) {
        INDArray column = inverse.column(q).castTo(DataType.DOUBLE);
        double w = flat(theta).getDouble(q);
        return column.muli(-w / column.getDouble(q));
    }

    /**
     * The independent OBS updates of a set {@code Q} summed, {@code δθ = −F̃⁻¹ Σ_{q∈Q} (w_q / [F̃⁻¹]_qq) e_q}: one
     * application of {@code F̃⁻¹} however many weights are removed (symmetry-curvature.md section 9). Exact for a
     * single weight; for several it ignores the interactions between them, and the caller zeroes {@code Q} after.
     *
     * @param inverse         {@code F̃⁻¹}
     * @param inverseDiagonal {@code diag(F̃⁻¹)}, {@code [P]}
     * @param removed         the indices {@code Q}
     */
    public static INDArray summedObsUpdate(Curvature inverse, INDArray inverseDiagonal, INDArray theta, long[] removed) {
        double[] w = flat(theta).toDoubleVector();
        double[] d = flat(inverseDiagonal).toDoubleVector();
        double[] v = new double[w.length];
        for (long q : removed) {
            v[(int) q] = w[(int) q] / d[(int) q];
        }
        return inverse.multiply(org.nd4j.linalg.factory.Nd4j.createFromArray(v).castTo(inverse.dataType())).castTo(DataType.DOUBLE).negi();
    }

    private static INDArray flat(INDArray v) {
        return v.reshape(v.length()).castTo(DataType.DOUBLE);
    }
}
