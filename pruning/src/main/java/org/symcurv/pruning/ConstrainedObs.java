package org.symcurv.pruning;

import java.util.BitSet;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.Curvature;

/**
 * The joint OBS update for removing a whole set at once: with {@code C} the removed parameters (this round's and
 * every earlier one's, which must stay at zero) and {@code K} the rest,
 *
 * <pre>    δθ = argmin ½ δᵀ F̃ δ  subject to  δ_C = −θ_C,   i.e.   F̃_KK δ_K = −F̃_KC δ_C,</pre>
 *
 * the exact OBS solution for a set of weights in the quadratic model (Hassibi and Stork 1993, eq. 7 for a set), of
 * which the summed single updates are the first-order approximation. {@code F̃_KK} is not structured, so the system is
 * solved by conjugate gradients with two structured products per iteration: {@code F̃ x} as the operator (masked to
 * {@code K}) and {@code F̃⁻¹ r} as the preconditioner (masked), which is exact when nothing is removed. Each iteration
 * lowers {@code ½ δᵀ F̃ δ}, so stopping early still gives an update that zeroes {@code C} and is better than none.
 */
public final class ConstrainedObs {
    private ConstrainedObs() {
    }

    /**
     * The update and its predicted cost.
     *
     * @param update    {@code δθ}, {@code [P]} float64, with {@code δ_C = −θ_C}
     * @param cost      {@code ½ δᵀ F̃ δ}
     * @param iterations conjugate-gradient iterations used
     * @param residual  final relative residual {@code ‖r‖ / ‖b‖}
     */
    public record Solution(INDArray update, double cost, int iterations, double residual) {
    }

    /**
     * Solves for the constrained update.
     *
     * @param damped        {@code F̃}
     * @param inverse       {@code F̃⁻¹}
     * @param theta         {@code θ}, {@code [P]}; not modified
     * @param removed       {@code C} as a set of flat indices
     * @param maxIterations bound on the conjugate-gradient iterations
     * @param tolerance     stop when {@code ‖r‖ ≤ tolerance ‖b‖}
     */
    public static Solution solve(Curvature damped, Curvature inverse, INDArray theta, BitSet removed, int maxIterations, double tolerance) {
        int p = (int) damped.spec().parameterCount();
        DataType type = damped.dataType();
        double[] t = theta.reshape(theta.length()).castTo(DataType.DOUBLE).toDoubleVector();
        double[] keep = new double[p];
        double[] d0 = new double[p];
        for (int q = 0; q < p; q++) {
            if (removed.get(q)) {
                d0[q] = -t[q];
            } else {
                keep[q] = 1.0;
            }
        }
        INDArray mask = Nd4j.createFromArray(keep).castTo(type);
        INDArray base = Nd4j.createFromArray(d0).castTo(type);
        INDArray b = damped.multiply(base).muli(mask).negi();
        double bNorm = b.norm2Number().doubleValue();
        INDArray x = Nd4j.zeros(type, p);
        int iterations = 0;
        double residual = 0.0;
        if (bNorm > 0.0) {
            INDArray r = b.dup();
            INDArray z = inverse.multiply(r).muli(mask);
            INDArray dir = z.dup();
            double rz = r.mul(z).sumNumber().doubleValue();
            residual = 1.0;
            while (iterations < maxIterations && residual > tolerance) {
                INDArray ad = damped.multiply(dir).muli(mask);
                double curvature = dir.mul(ad).sumNumber().doubleValue();
                if (!(curvature > 0.0)) {
                    break; // converged to round-off, or F̃ lost definiteness numerically: keep the best iterate
                }
                double alpha = rz / curvature;
                x.addi(dir.mul(alpha));
                r.subi(ad.muli(alpha));
                iterations++;
                residual = r.norm2Number().doubleValue() / bNorm;
                z = inverse.multiply(r).muli(mask);
                double rzNext = r.mul(z).sumNumber().doubleValue();
                dir = z.addi(dir.muli(rzNext / rz));
                rz = rzNext;
            }
        }
        INDArray delta = base.add(x).castTo(DataType.DOUBLE);
        double cost = 0.5 * damped.quadraticForm(delta.castTo(type));
        return new Solution(delta, cost, iterations, residual);
    }
}
