package org.symcurv.uncertainty;

import java.util.List;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.operator.Factorization;
import org.symcurv.core.operator.NotPositiveDefiniteException;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The Laplace approximation {@code p(θ | D) ≈ N(θ*, Σ)}, {@code Σ = (N F + Λ)⁻¹}, around trained weights {@code θ*}
 * (MacKay 1992; Daxberger et al., "Laplace Redux", NeurIPS 2021), with {@code F} the symmetry-averaged Fisher per
 * example (symmetry-curvature.md section 5.2, or any structured curvature such as the diagonal Fisher of
 * {@code Presets.diagonal}), {@code N} the number of training examples the log-likelihood sums over, and {@code Λ} a
 * {@link PriorPrecision}. The posterior may cover all weights or a subset of leaves (the last layer: {@code F}
 * restricted with {@link Curvature#restrictTo}); the other weights stay at {@code θ*}.
 *
 * <p>N-scaling: the network was trained on the mean loss {@code (1/N) Σ_i ℓ_i}, {@code ℓ_i = −log p(y_i | x_i, θ)},
 * and {@code F} is a mean over examples, so the Hessian of the negative log joint {@code −log p(D | θ) − log p(θ)} is
 * {@code N F + Λ}.
 *
 * <p>Immutable; the derived operators {@code Σ} and {@code Σ^{1/2}} are computed once, on first use (thread-safe).
 */
public final class LaplacePosterior {
    private final Curvature fisher;
    private final long dataSize;
    private final PriorPrecision prior;
    private final INDArray mean;
    private final Curvature precision;
    /** The precision's eigendecomposition, once: {@code Σ}, {@code Σ^{1/2}}, {@code log det} and the samples come from it. */
    private Factorization factorization;

    private LaplacePosterior(Curvature fisher, long dataSize, PriorPrecision prior, INDArray mean) {
        this.fisher = fisher;
        this.dataSize = dataSize;
        this.prior = prior;
        this.mean = mean;
        this.precision = prior.addTo(fisher.scale(dataSize));
    }

    /**
     * The posterior {@code N(θ*, (N F + Λ)⁻¹)}.
     *
     * @param fisher   {@code F}, the per-example mean curvature on the posterior's leaves (its spec decides them)
     * @param dataSize {@code N ≥ 1}
     * @param prior    {@code Λ} on the same leaves
     * @param mean     {@code θ*} on the same leaves, {@code [P]} in the spec's layout; copied to float64
     * @throws IllegalArgumentException if sizes or leaves do not match
     */
    public static LaplacePosterior of(Curvature fisher, long dataSize, PriorPrecision prior, INDArray mean) {
        Objects.requireNonNull(fisher, "fisher");
        Objects.requireNonNull(prior, "prior");
        if (dataSize < 1) {
            throw new IllegalArgumentException("the data size N must be at least 1, got " + dataSize);
        }
        long p = fisher.spec().parameterCount();
        if (mean == null || mean.length() != p) {
            throw new IllegalArgumentException("the mean θ* must have the posterior's " + p + " parameters, got "
                    + (mean == null ? "null" : mean.length()));
        }
        return new LaplacePosterior(fisher, dataSize, prior, mean.reshape(p).castTo(DataType.DOUBLE).dup());
    }

    /** The same Fisher, data size and mean under another prior. */
    public LaplacePosterior withPrior(PriorPrecision newPrior) {
        return new LaplacePosterior(fisher, dataSize, newPrior, mean);
    }

    /** The posterior's leaves and their symmetry. */
    public SymmetrySpec spec() {
        return fisher.spec();
    }

    public List<String> leafNames() {
        return fisher.spec().leaves().stream().map(LeafSpec::name).toList();
    }

    public long parameterCount() {
        return fisher.spec().parameterCount();
    }

    /** {@code F}, per example. */
    public Curvature fisher() {
        return fisher;
    }

    /** {@code N}. */
    public long dataSize() {
        return dataSize;
    }

    public PriorPrecision prior() {
        return prior;
    }

    /** {@code θ*}, {@code [P]} float64 (a copy). */
    public INDArray mean() {
        return mean.dup();
    }

    /** {@code N F + Λ}. */
    public Curvature precision() {
        return precision;
    }

    /**
     * {@code Σ = (N F + Λ)⁻¹}, block by block.
     *
     * @throws NotPositiveDefiniteException if {@code N F + Λ} is not positive definite (a Fisher with negative
     *                                      eigenvalues beyond {@code λ}; it cannot happen for a Fisher and {@code Λ > 0})
     */
    public Curvature covariance() {
        Factorization f = factorization();
        f.requirePositiveDefinite("sampling N(0, S⁻¹)");
        return f.inverse();
    }

    /** {@code Σ^{1/2}} (symmetric), after checking that the precision is positive definite. */
    public Curvature covarianceSqrt() {
        return factorization().inverseSqrt();
    }

    /** The eigendecomposition of {@code N F + Λ}, computed on first use and kept. */
    public synchronized Factorization factorization() {
        if (factorization == null) {
            factorization = precision.factor(Damping.NONE);
        }
        return factorization;
    }

    /**
     * {@code count} draws {@code ε_s ~ N(0, Σ)}, one per row: add {@link #mean()} for parameter samples.
     *
     * @return {@code [count, P]}
     */
    public INDArray sampleDeviations(int count, long seed) {
        if (count < 1) {
            throw new IllegalArgumentException("the number of posterior samples must be at least 1, got " + count);
        }
        return factorization().samples(count, seed);
    }

    /**
     * The Laplace approximation of the log evidence,
     * {@code log p(D | Λ) ≈ log p(D | θ*) − ½ θ*ᵀ Λ θ* + ½ log det Λ − ½ log det(N F + Λ)}
     * (the {@code (2π)^{P/2}} of the prior and of the Gaussian integral cancel).
     *
     * @param logLikelihood {@code log p(D | θ*) = Σ_{i ≤ N} log p(y_i | x_i, θ*)} over the {@code N} training examples
     * @throws NotPositiveDefiniteException if {@code N F + Λ} is not positive definite
     */
    public double logMarginalLikelihood(double logLikelihood) {
        return logLikelihood - 0.5 * prior.quadraticForm(mean, spec()) + 0.5 * prior.logDet(spec()) - 0.5 * logDetPrecision();
    }

    /** {@code log det(N F + Λ)} from the posterior's {@link #factorization()}. */
    public double logDetPrecision() {
        return factorization().logDet("log det of the posterior precision");
    }

    /** Numbers stored for {@code F} (the posterior's own memory; {@code Σ} and {@code Σ^{1/2}} have the same structure). */
    public long storedFloats() {
        return fisher.storedFloats();
    }

    @Override
    public String toString() {
        return "LaplacePosterior[" + parameterCount() + " parameters on " + leafNames() + ", N = " + dataSize + ", " + prior + "]";
    }
}
