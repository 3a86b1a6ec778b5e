package org.symcurv.core.operator;

/**
 * Relative damping of a matrix power, {@code X^{p~} = U diag((λ·s_max + s)^p) Uᵀ}
 * (symmetry-curvature.md section 4): {@code λ} is {@link #relative()}, and {@code s_max} the largest
 * eigenvalue of the whole operator ({@link Scope#GLOBAL}) or of each block ({@link Scope#PER_BLOCK}).
 *
 * @param relative {@code λ ≥ 0}
 * @param scope    where {@code s_max} is taken
 */
public record Damping(double relative, Scope scope) {
    /** Where the reference eigenvalue {@code s_max} is taken. */
    public enum Scope { GLOBAL, PER_BLOCK }

    /** No damping: {@code λ = 0}. */
    public static final Damping NONE = new Damping(0.0, Scope.GLOBAL);

    public Damping {
        if (!(relative >= 0.0) || Double.isInfinite(relative)) {
            throw new IllegalArgumentException("relative damping must be a finite number ≥ 0, got " + relative);
        }
        if (scope == null) {
            throw new IllegalArgumentException("damping scope must be GLOBAL or PER_BLOCK, got null");
        }
    }

    /** {@code λ} relative to the largest eigenvalue of the whole operator. */
    public static Damping global(double relative) {
        return new Damping(relative, Scope.GLOBAL);
    }

    /** {@code λ} relative to the largest eigenvalue of each block. */
    public static Damping perBlock(double relative) {
        return new Damping(relative, Scope.PER_BLOCK);
    }
}
