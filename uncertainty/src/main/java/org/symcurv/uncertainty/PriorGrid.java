package org.symcurv.uncertainty;

import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.JacobianFactors;

/**
 * Prior precision by validation: the scalar {@code λ} of a log-spaced grid that minimises the negative log likelihood of
 * a validation set under the linearised predictive ({@link LaplacePredictive#linearize} with a {@link GlmLink}), as
 * Laplace Redux (Daxberger et al. 2021) offers beside the marginal likelihood. The Jacobian factors of the validation
 * set are computed once; each grid point costs one inversion of {@code N F + λ I} and one pass of
 * {@link LinearizedCovariance}.
 */
public final class PriorGrid {
    private PriorGrid() {
    }

    /**
     * The result of a grid search.
     *
     * @param best    the prior of the grid point with the lowest NLL (the first one on ties)
     * @param lambdas the grid
     * @param nll     the validation NLL at each grid point
     */
    public record Result(PriorPrecision best, double[] lambdas, double[] nll) {
    }

    /**
     * {@code 10^from … 10^to} with {@code perDecade} points per decade, both ends included.
     *
     * @throws IllegalArgumentException unless {@code from < to} and {@code perDecade ≥ 1}
     */
    public static double[] logSpaced(double fromExponent, double toExponent, int perDecade) {
        if (!(fromExponent < toExponent) || perDecade < 1) {
            throw new IllegalArgumentException("a log grid needs from < to and at least one point per decade, got 10^" + fromExponent
                    + " … 10^" + toExponent + ", " + perDecade + " per decade");
        }
        int count = (int) Math.round((toExponent - fromExponent) * perDecade) + 1;
        double[] out = new double[count];
        for (int i = 0; i < count; i++) {
            out[i] = Math.pow(10, fromExponent + (toExponent - fromExponent) * i / (count - 1));
        }
        return out;
    }

    /**
     * Searches the grid.
     *
     * @param predictive a predictive under the posterior whose prior is replaced at each grid point
     * @param features   validation inputs {@code [n, nIn]}
     * @param labels     validation labels
     * @param link       how the predictive is evaluated; {@code samples} and {@code seed} for {@link GlmLink#MONTE_CARLO}
     */
    public static Result byValidationNll(LaplacePredictive predictive, INDArray features, int[] labels, double[] lambdas,
                                         GlmLink link, int samples, long seed) {
        LaplacePosterior posterior = predictive.posterior();
        if (posterior == null) {
            throw new IllegalArgumentException("a prior grid needs a posterior, not the MAP");
        }
        if (lambdas.length == 0) {
            throw new IllegalArgumentException("the prior grid is empty");
        }
        List<JacobianFactors> factors = predictive.jacobianFactors(features);
        double[] nll = new double[lambdas.length];
        int best = 0;
        for (int i = 0; i < lambdas.length; i++) {
            LaplacePosterior candidate = posterior.withPrior(PriorPrecision.scalar(lambdas[i], posterior.spec()));
            LinearizedOutputs f = LaplacePredictive.of(predictive.network(), candidate).linearize(factors);
            nll[i] = ClassificationMetrics.of(f.probabilities(link, samples, seed), labels).nll();
            if (nll[i] < nll[best]) {
                best = i;
            }
        }
        return new Result(PriorPrecision.scalar(lambdas[best], posterior.spec()), lambdas.clone(), nll);
    }
}
