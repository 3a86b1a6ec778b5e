package org.symcurv.uncertainty;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.operator.Factorization;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Prior precision by maximising the Laplace log evidence (MacKay 1992; Immer et al., ICML 2021)
 * <pre>
 *   log Z(Λ) = log p(D | θ*) − ½ θ*ᵀ Λ θ* + ½ log det Λ − ½ log det(N F + Λ)
 * </pre>
 * over {@code Λ} at fixed {@code θ*} and {@code F} ({@link LaplacePosterior#logMarginalLikelihood}).
 *
 * <ul>
 *   <li>Scalar {@code Λ = λ I}: with the eigenvalues {@code s_j} of {@code F} (each block decomposed once), in
 *       {@code u = log λ}, {@code log Z = c − ½ e^u ‖θ*‖² + (P/2) u − ½ Σ_j log(N s_j + e^u)} is concave and its
 *       derivative {@code ½ (P − e^u ‖θ*‖² − Σ_j e^u / (N s_j + e^u))} decreases in {@code u}: its root is found by
 *       bisection to machine precision.</li>
 *   <li>Per layer, {@code Λ = ⊕_l λ_l I_l}: {@code ∂ log Z / ∂ log λ_l = ½ (P_l − λ_l tr_l Σ − λ_l ‖θ*_l‖²)} with
 *       {@code Σ = (N F + Λ)⁻¹} and {@code tr_l} the trace over layer {@code l}'s parameters, which vanishes at MacKay's
 *       fixed point {@code λ_l = γ_l / ‖θ*_l‖²}, {@code γ_l = P_l − λ_l tr_l Σ} (the layer's effective number of
 *       parameters). Iterated from the scalar optimum; a step that lowers {@code log Z} is halved in {@code log λ}.</li>
 * </ul>
 */
public final class MarginalLikelihood {
    /** Bracket of the scalar search, {@code log λ ∈ [−40, 40]}. */
    static final double LOG_LAMBDA_MIN = -40;
    static final double LOG_LAMBDA_MAX = 40;

    private MarginalLikelihood() {
    }

    /**
     * The outcome of a search.
     *
     * @param prior                 the maximising prior
     * @param logMarginalLikelihood {@code log Z} there
     * @param iterations            fixed-point iterations (per-layer) or bisection steps (scalar)
     * @param converged             whether the stopping rule was met (scalar: always, unless the optimum is at the bracket's end)
     */
    public record Result(PriorPrecision prior, double logMarginalLikelihood, int iterations, boolean converged) {
    }

    /**
     * The scalar prior precision that maximises {@code log Z}.
     *
     * @param fisher        {@code F} on the posterior's leaves
     * @param dataSize      {@code N}
     * @param mean          {@code θ*} on those leaves, {@code [P]}
     * @param logLikelihood {@code log p(D | θ*)} (only shifts {@code log Z})
     */
    public static Result maximizeScalar(Curvature fisher, long dataSize, INDArray mean, double logLikelihood) {
        Objects.requireNonNull(fisher, "fisher");
        double q = PriorPrecision.squaredNorms(mean, fisher.spec()).values().stream().mapToDouble(Double::doubleValue).sum();
        List<double[]> spectrum = new java.util.ArrayList<>();
        List<Long> multiplicities = new java.util.ArrayList<>();
        for (Factorization.Eigenvalues g : fisher.factor(Damping.NONE).eigenvalues()) {
            spectrum.add(g.values());
            multiplicities.add(g.multiplicity());
        }
        double lo = LOG_LAMBDA_MIN;
        double hi = LOG_LAMBDA_MAX;
        int steps = 0;
        boolean converged = true;
        if (scalarSlope(lo, q, spectrum, multiplicities, dataSize) <= 0) {
            hi = lo;
            converged = false;
        } else if (scalarSlope(hi, q, spectrum, multiplicities, dataSize) >= 0) {
            lo = hi;
            converged = false;
        } else {
            while (hi - lo > 1e-12 && steps < 200) {
                double mid = 0.5 * (lo + hi);
                if (scalarSlope(mid, q, spectrum, multiplicities, dataSize) > 0) {
                    lo = mid;
                } else {
                    hi = mid;
                }
                steps++;
            }
        }
        double lambda = Math.exp(0.5 * (lo + hi));
        PriorPrecision prior = PriorPrecision.scalar(lambda, fisher.spec());
        double value = LaplacePosterior.of(fisher, dataSize, prior, mean).logMarginalLikelihood(logLikelihood);
        return new Result(prior, value, steps, converged);
    }

    /** {@code 2 d log Z / d u} at {@code u = log λ}: {@code P − e^u q − Σ_j d_j e^u / (N s_j + e^u)}. */
    private static double scalarSlope(double u, double q, List<double[]> spectrum, List<Long> multiplicities, long n) {
        double lambda = Math.exp(u);
        double s = -lambda * q;
        for (int i = 0; i < spectrum.size(); i++) {
            double part = 0;
            for (double v : spectrum.get(i)) {
                // P = Σ multiplicities, so P − Σ λ/(N s + λ) = Σ N s/(N s + λ): no cancellation for tiny λ
                double ns = n * Math.max(v, 0.0);
                part += ns / (ns + lambda);
            }
            s += multiplicities.get(i) * part;
        }
        return s;
    }

    /**
     * The per-layer prior precisions that maximise {@code log Z}, by MacKay's fixed point from the scalar optimum.
     *
     * @param maxIterations at most this many updates of all {@code λ_l}
     * @param tolerance     stop when every {@code |Δ log λ_l|} is below it
     */
    public static Result maximizePerLayer(Curvature fisher, long dataSize, INDArray mean, double logLikelihood,
                                          int maxIterations, double tolerance) {
        Result scalar = maximizeScalar(fisher, dataSize, mean, logLikelihood);
        SymmetrySpec spec = fisher.spec();
        Map<String, Double> norms = PriorPrecision.squaredNorms(mean, spec);
        Map<String, Long> sizes = new LinkedHashMap<>();
        Map<String, Double> squared = new LinkedHashMap<>();
        for (LeafSpec leaf : spec.leaves()) {
            String layer = PriorPrecision.layerOf(leaf.name());
            sizes.merge(layer, leaf.length(), Long::sum);
            squared.merge(layer, norms.get(leaf.name()), Double::sum);
        }
        Map<String, Double> lambda = new LinkedHashMap<>(scalar.prior().perLayer());
        LaplacePosterior current = LaplacePosterior.of(fisher, dataSize, PriorPrecision.perLayer(lambda, spec), mean);
        double value = current.logMarginalLikelihood(logLikelihood);
        int iteration = 0;
        boolean converged = false;
        while (iteration < maxIterations && !converged) {
            iteration++;
            Map<String, Double> traces = layerTraces(current.precision().power(-1.0, Damping.NONE), spec);
            Map<String, Double> target = new LinkedHashMap<>();
            for (String layer : lambda.keySet()) {
                double l = lambda.get(layer);
                double gamma = sizes.get(layer) - l * traces.get(layer);
                double next = squared.get(layer) > 0 ? Math.max(gamma, 1e-12) / squared.get(layer) : l * 1e3;
                target.put(layer, Math.min(Math.max(next, Math.exp(LOG_LAMBDA_MIN)), Math.exp(LOG_LAMBDA_MAX)));
            }
            double fraction = 1.0;
            LaplacePosterior candidate = null;
            double candidateValue = Double.NEGATIVE_INFINITY;
            Map<String, Double> step = null;
            for (int halving = 0; halving < 12; halving++) {
                step = new LinkedHashMap<>();
                for (String layer : lambda.keySet()) {
                    step.put(layer, Math.exp((1 - fraction) * Math.log(lambda.get(layer)) + fraction * Math.log(target.get(layer))));
                }
                candidate = LaplacePosterior.of(fisher, dataSize, PriorPrecision.perLayer(step, spec), mean);
                candidateValue = candidate.logMarginalLikelihood(logLikelihood);
                if (candidateValue >= value - 1e-9 * Math.abs(value)) {
                    break;
                }
                fraction *= 0.5;
            }
            double largestChange = 0;
            for (String layer : lambda.keySet()) {
                largestChange = Math.max(largestChange, Math.abs(Math.log(step.get(layer)) - Math.log(lambda.get(layer))));
            }
            if (candidateValue < value - 1e-9 * Math.abs(value)) {
                converged = true; // no ascent direction left at this resolution
                break;
            }
            lambda = step;
            current = candidate;
            value = candidateValue;
            converged = largestChange < tolerance;
        }
        return new Result(current.prior(), value, iteration, converged);
    }

    /** {@code tr_l Σ}: the sum of {@code diag Σ} over each layer's parameters. */
    static Map<String, Double> layerTraces(Curvature sigma, SymmetrySpec spec) {
        INDArray diagonal = sigma.diagonal().castTo(DataType.DOUBLE);
        Map<String, Double> out = new LinkedHashMap<>();
        for (LeafSpec leaf : spec.leaves()) {
            out.merge(PriorPrecision.layerOf(leaf.name()), KindDecomposition.leafTensor(diagonal, leaf).sumNumber().doubleValue(), Double::sum);
        }
        return out;
    }
}
