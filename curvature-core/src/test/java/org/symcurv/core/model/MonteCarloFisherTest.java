package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Fixtures;
import org.symcurv.core.testing.TinyMlpFixture;
import org.symcurv.core.testing.TinyNetworks;

/**
 * The Monte Carlo Fisher (labels drawn from the model's predictive) converges to the orbit average of the exact
 * GGN, for each supported output loss; and the label draws themselves have the predictive's mean and variance.
 *
 * <p>Tolerances come from the sampling error itself: {@value #REPLICATES} independent estimates (seeds) give the
 * standard error of their mean, {@code se² = Σ_r ‖F_r − F̄‖² / (R (R − 1))}, an unbiased estimate of
 * {@code E‖F̄ − E F‖²}. The mean must lie within {@value #STANDARD_ERRORS} standard errors of the projected GGN,
 * and that distance must also be small relative to the GGN, so the test fails both on a biased estimator (wrong
 * predictive, wrong MSE scale) and on a uselessly noisy one.
 */
@Tag("monte-carlo")
class MonteCarloFisherTest {
    static final int REPLICATES = 8;
    static final int SAMPLES_PER_EXAMPLE = 250;
    /** ‖F̄ − G‖ is a root of a sum of squares of near-Gaussian errors with mean se²: 4 se is far in its tail. */
    static final double STANDARD_ERRORS = 4.0;
    /** With {@code N k R = 32,000-64,000} label draws the relative error of the mean is a few percent at most. */
    static final double RELATIVE_ERROR = 0.05;
    /** z-score bound for the per-entry moment checks of the label draws (about a hundred entries checked per test). */
    static final double Z_BOUND = 5.0;

    record Case(String name, MultiLayerNetwork net, DataSet data) {
        @Override
        public String toString() {
            return name;
        }
    }

    static Stream<Case> cases() {
        TinyMlpFixture fixture = Fixtures.tinyMlp();
        MultiLayerNetwork tanhFixture = PerExampleFactorsTest.fixtureNetwork(fixture.forActivation("tanh"));
        return Stream.of(
                new Case("softmax (fixture, tanh)", tanhFixture, new DataSet(PerExampleFactorsTest.fixtureFeatures(), PerExampleFactorsTest.fixtureTargets())),
                new Case("identity mse (sigmoid)", TinyNetworks.mlp(31).inputs(3).dense(4, Activation.SIGMOID).identityMeanSquaredError(3),
                        TinyNetworks.regressionData(131, 16, 3, 3)),
                new Case("sigmoid xent (tanh, elu)", TinyNetworks.mlp(32).inputs(3).dense(4, Activation.TANH).dense(3, Activation.ELU)
                        .output(2, Activation.SIGMOID, LossFunction.XENT), TinyNetworks.binaryData(132, 16, 3, 2)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void monteCarloFisherApproachesTheProjectedGgn(Case c) {
        SymmetrySpec spec = SpecInference.infer(c.net());
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[][] ggn = oracle.ggn(oracle.parameters(c.net()), ExactCurvature.Batch.of(c.data()));
        Curvature expected = OrbitAverage.project(KindDecomposition.of(spec), DenseMatrices.toArray(ggn));

        INDArray x = c.data().getFeatures();
        List<Curvature> replicates = new ArrayList<>();
        for (int r = 0; r < REPLICATES; r++) {
            replicates.add(FisherSource.monteCarlo(x, 1000 + r).withSamplesPerExample(SAMPLES_PER_EXAMPLE)
                    .withBatchSize((int) x.size(0)).symmetric(c.net(), spec));
        }
        Curvature mean = replicates.get(0);
        for (int r = 1; r < REPLICATES; r++) {
            mean = mean.plus(replicates.get(r));
        }
        mean = mean.scale(1.0 / REPLICATES);
        double spread = 0;
        for (Curvature f : replicates) {
            spread += Math.pow(PerExampleFactorsTest.frobeniusDistance(f, mean), 2);
        }
        double standardError = Math.sqrt(spread / (REPLICATES * (REPLICATES - 1.0)));
        double distance = PerExampleFactorsTest.frobeniusDistance(mean, expected);
        double relative = distance / PerExampleFactorsTest.frobeniusNorm(expected);
        assertTrue(distance <= STANDARD_ERRORS * standardError,
                c.name() + ": ‖F̄ − R2(GGN)‖ = " + distance + " is " + distance / standardError + " standard errors (se " + standardError + ")");
        assertTrue(relative <= RELATIVE_ERROR, c.name() + ": relative error " + relative);

        // the empirical Fisher (true labels) is a different matrix: the test can tell them apart
        Curvature empirical = FisherSource.empirical(x, c.data().getLabels()).symmetric(c.net(), spec);
        double empiricalRelative = PerExampleFactorsTest.frobeniusDistance(empirical, expected) / PerExampleFactorsTest.frobeniusNorm(expected);
        assertTrue(empiricalRelative > 5 * relative, c.name() + ": empirical Fisher is at " + empiricalRelative + " from the GGN, MC at " + relative);
    }

    @Test
    void categoricalDrawsHaveTheSoftmaxProbabilitiesAsMeans() {
        Case c = cases().findFirst().orElseThrow();
        int k = 4000;
        INDArray x = c.data().getFeatures();
        INDArray p = c.net().output(x, false).castTo(DataType.DOUBLE);
        INDArray draws = PerExampleFactors.of(c.net()).sampleLabels(x, k, new Random(9)).castTo(DataType.DOUBLE);
        long n = x.size(0);
        INDArray frequencies = draws.reshape('c', new long[] {n, k, p.size(1)}).mean(1);
        double worst = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < p.size(1); j++) {
                double pij = p.getDouble(i, j);
                double z = (frequencies.getDouble(i, j) - pij) / Math.sqrt(Math.max(pij * (1 - pij), 1e-12) / k);
                worst = Math.max(worst, Math.abs(z));
            }
        }
        assertTrue(worst <= Z_BOUND, "largest z-score of a class frequency against DL4J's softmax output: " + worst);
    }

    @Test
    void gaussianDrawsHaveTheLossImpliedVariance() {
        Case c = cases().skip(1).findFirst().orElseThrow();
        int k = 4000;
        INDArray x = c.data().getFeatures();
        INDArray mean = c.net().output(x, false).castTo(DataType.DOUBLE);
        long n = x.size(0);
        long o = mean.size(1);
        INDArray draws = PerExampleFactors.of(c.net()).sampleLabels(x, k, new Random(10)).castTo(DataType.DOUBLE).reshape('c', new long[] {n, k, o});
        // y − ŷ should be N(0, (o/2) I): MSE = (1/o)‖ŷ − y‖² is the negative log likelihood of that Gaussian
        double variance = o / 2.0;
        INDArray residual = draws.sub(mean.reshape('c', new long[] {n, 1, o}).repeat(1, k));
        double worst = 0;
        INDArray residualMean = residual.mean(1);
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < o; j++) {
                worst = Math.max(worst, Math.abs(residualMean.getDouble(i, j)) / Math.sqrt(variance / k));
            }
        }
        assertTrue(worst <= Z_BOUND, "largest z-score of a sample mean against DL4J's output: " + worst);
        long count = n * k * o;
        double sampleVariance = residual.mul(residual).sumNumber().doubleValue() / count;
        double z = (sampleVariance - variance) / (variance * Math.sqrt(2.0 / count));
        assertTrue(Math.abs(z) <= Z_BOUND, "sample variance " + sampleVariance + " against o/2 = " + variance + " (z " + z + ")");
    }
}
