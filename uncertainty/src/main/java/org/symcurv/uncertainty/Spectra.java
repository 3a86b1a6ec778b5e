package org.symcurv.uncertainty;

import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.NotPositiveDefiniteException;
import org.symcurv.core.operator.SymmetricEigen;

/**
 * The eigenvalues of a structured operator {@code S = ⊕_κ I_{d_κ} ⊗ B_κ}: each eigenvalue of each {@code B_κ,f} with
 * multiplicity {@code d_κ}. Diagonal-only blocks and {@code 1 × 1} blocks (millions of them for a diagonal Fisher) are
 * read as one vector instead of one decomposition per family member.
 */
final class Spectra {
    /** Eigenvalues {@code values} (float64) each of multiplicity {@code multiplicity}. */
    record Group(double[] values, double multiplicity) {
    }

    private Spectra() {
    }

    static List<Group> of(Curvature s) {
        List<Group> out = new ArrayList<>();
        for (int k = 0; k < s.decomposition().kinds().size(); k++) {
            double d = s.decomposition().kinds().get(k).dimension();
            INDArray b = s.block(k);
            if (b.rank() == 2 || b.size(1) == 1) {
                out.add(new Group(b.castTo(DataType.DOUBLE).dup('c').reshape(b.length()).toDoubleVector(), d));
            } else {
                for (long f = 0; f < b.size(0); f++) {
                    out.add(new Group(SymmetricEigen.of(b.slice(f).castTo(DataType.DOUBLE)).values().toDoubleVector(), d));
                }
            }
        }
        return out;
    }

    /**
     * {@code log det S = Σ_κ d_κ Σ_f log det B_κ,f}.
     *
     * @param what names the operation for the exception
     * @throws NotPositiveDefiniteException naming the kind if an eigenvalue is ≤ 0
     */
    static double logDet(Curvature s, String what) {
        double total = 0;
        for (int k = 0; k < s.decomposition().kinds().size(); k++) {
            double d = s.decomposition().kinds().get(k).dimension();
            INDArray b = s.block(k);
            List<double[]> values = new ArrayList<>();
            if (b.rank() == 2 || b.size(1) == 1) {
                values.add(b.castTo(DataType.DOUBLE).dup('c').reshape(b.length()).toDoubleVector());
            } else {
                for (long f = 0; f < b.size(0); f++) {
                    values.add(SymmetricEigen.of(b.slice(f).castTo(DataType.DOUBLE)).values().toDoubleVector());
                }
            }
            for (double[] v : values) {
                for (double x : v) {
                    if (!(x > 0)) {
                        throw new NotPositiveDefiniteException(s.decomposition().describe(k), x, what);
                    }
                    total += d * Math.log(x);
                }
            }
        }
        return total;
    }
}
