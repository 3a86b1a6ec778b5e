package org.symcurv.core.testing;

/**
 * Named tolerances for the project's tests. Each is a bound on a relative error
 * {@code ‖actual − expected‖ / ‖expected‖} (Frobenius or Euclidean norm) unless its name says otherwise;
 * {@link DenseMatrices#relativeError} computes it.
 */
public final class Tolerances {
    private Tolerances() {
    }

    /**
     * Two float64 computations of the same quantity by different but exact routes (e.g. our backprop and
     * DL4J's, or an analytic Hessian and a product of Jacobians): only round-off separates them.
     */
    public static final double FLOAT64_ROUNDOFF = 1e-12;

    /**
     * Agreement with the shared numpy oracle fixtures for quantities built from exact gradients
     * (mean gradient, empirical Fisher, GGN): the fixtures' README promises 1e-10.
     */
    public static final double FIXTURE_EXACT = 1e-10;

    /**
     * Agreement with the fixtures' Hessian, which was itself computed by central differences of exact
     * gradients: its own truncation error is about 1e-8, so compare at 1e-6 as the README says.
     */
    public static final double FIXTURE_FINITE_DIFFERENCE_HESSIAN = 1e-6;

    /**
     * A central difference {@code (f(x+h) − f(x−h)) / 2h} in float64 with {@code h ≈ 1e-5}: truncation
     * error {@code O(h²) ≈ 1e-10} times the third derivative plus round-off {@code ε/h ≈ 1e-11} times the
     * value; 1e-6 relative leaves a wide margin on tiny smooth networks while still catching any wrong
     * term (which shows up at order 1e-2 or larger).
     */
    public static final double CENTRAL_DIFFERENCE = 1e-6;

    /**
     * Two float64 computations of the same quantity where one goes through an eigendecomposition or a Cholesky
     * factorization and the other does not (or through different ones): round-off times the condition number of
     * the well-conditioned test matrices (about 1e2), with a margin.
     */
    public static final double FLOAT64_SPECTRAL = 1e-9;

    /**
     * A float32 computation against its float64 oracle: float32 round-off {@code ≈ 6e-8} per operation, grown by
     * sums over a few hundred terms and, for spectral answers, by the condition number.
     */
    public static final double FLOAT32 = 1e-4;

    /** Absolute bound on {@code |A − Aᵀ|} entries for a matrix that is symmetric by construction. */
    public static final double SYMMETRY_ABSOLUTE = 1e-14;
}
