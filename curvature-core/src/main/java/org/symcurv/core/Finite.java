package org.symcurv.core;

import org.nd4j.linalg.api.ndarray.INDArray;

/** Whether arrays hold only finite numbers. */
public final class Finite {
    private Finite() {
    }

    /**
     * {@code ∀i: x_i ∉ {NaN, ±∞}}. One reduction, {@code Σ x_i}, decides it in the usual case: a NaN or an infinity makes
     * the sum NaN or infinite, and a finite sum proves every entry finite. Only when the sum is not finite are the entries
     * checked one by one, since finite entries can overflow their sum.
     */
    public static boolean all(INDArray x) {
        if (x.isEmpty()) {
            return true;
        }
        if (Double.isFinite(x.sumNumber().doubleValue())) {
            return true;
        }
        return !(x.isNaN().any() || x.isInfinite().any());
    }
}
