package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.stream.Stream;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.BatchNormalization;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.activations.impl.ActivationLReLU;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.ExactCurvature.Batch;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.Fixtures;
import org.symcurv.core.testing.SeededRandom;
import org.symcurv.core.testing.TinyMlpFixture;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

class ExactCurvatureTest {
    /** Step of the central differences these tests take of the loss and of gradients. */
    private static final double STEP = 1e-5;

    /** A network and a data set that fits it. */
    record Case(String name, MultiLayerNetwork net, DataSet data) {
        @Override
        public String toString() {
            return name;
        }
    }

    /** Every hidden activation and output loss the oracle supports, on small random networks. */
    static Stream<Case> cases() {
        return Stream.of(
                new Case("tanh-relu softmax", TinyNetworks.mlp(1).inputs(4).dense(5, Activation.TANH).dense(3, Activation.RELU).softmaxCrossEntropy(3),
                        TinyNetworks.classificationData(101, 12, 4, 3)),
                new Case("sigmoid-softplus mse", TinyNetworks.mlp(2).inputs(3).dense(4, Activation.SIGMOID).dense(4, Activation.SOFTPLUS).identityMeanSquaredError(2),
                        TinyNetworks.regressionData(102, 10, 3, 2)),
                new Case("identity-elu mse", TinyNetworks.mlp(3).inputs(3).dense(3, Activation.IDENTITY).dense(4, Activation.ELU).identityMeanSquaredError(3),
                        TinyNetworks.regressionData(103, 9, 3, 3)),
                // DL4J's leaky-ReLU backprop rounds α to float32 even in a float64 network (a relative error of ~4e-11
                // in the gradient for α = 0.01); α = 0.25 is exact in both, so the round-off tolerance applies.
                new Case("leakyrelu-softsign xent", TinyNetworks.mlp(4).inputs(4).dense(4, new ActivationLReLU(0.25)).dense(3, Activation.SOFTSIGN)
                        .output(2, Activation.SIGMOID, LossFunction.XENT), TinyNetworks.binaryData(104, 11, 4, 2)),
                new Case("linear softmax", TinyNetworks.mlp(5).inputs(4).softmaxCrossEntropy(3), TinyNetworks.classificationData(105, 8, 4, 3)));
    }

    static Stream<Arguments> fixtureCases() {
        return Fixtures.tinyMlp().caseNames().stream().map(Arguments::of);
    }

    // ------------------------------------------------------------------ against the shared numpy fixtures

    @ParameterizedTest(name = "{0}")
    @MethodSource("fixtureCases")
    void reproducesTheNumpyFixtures(String activation) {
        TinyMlpFixture fixture = Fixtures.tinyMlp();
        TinyMlpFixture.Case expected = fixture.forActivation(activation);
        MultiLayerNetwork net = TinyNetworks.fixtureMlp(Activation.valueOf(expected.activation().toUpperCase(java.util.Locale.ROOT)));
        ExactCurvature oracle = ExactCurvature.of(net);
        double[] theta = expected.theta();
        Batch batch = new Batch(fixture.inputs(), DenseMatrices.toMatrix(TinyNetworks.oneHot(fixture.labels(), fixture.classes())));

        assertClose(expected.meanGradient(), oracle.meanGradient(theta, batch), Tolerances.FIXTURE_EXACT, activation + " mean gradient");
        assertClose(expected.empiricalFisher(), oracle.empiricalFisher(theta, batch), Tolerances.FIXTURE_EXACT, activation + " empirical Fisher");
        assertClose(expected.ggn(), oracle.ggn(theta, batch), Tolerances.FIXTURE_EXACT, activation + " GGN");
        assertClose(expected.hessian(), oracle.hessian(theta, batch), Tolerances.FIXTURE_FINITE_DIFFERENCE_HESSIAN, activation + " exact Hessian");
        assertClose(expected.hessian(), oracle.hessianByCentralDifferences(theta, batch, ExactCurvature.DEFAULT_DIFFERENCE_STEP),
                Tolerances.FIXTURE_FINITE_DIFFERENCE_HESSIAN, activation + " central-difference Hessian");
    }

    // ------------------------------------------------------------------ against DL4J

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void lossAndGradientAgreeWithDl4jInFloat64(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        Gradients.LossAndGradient dl4j = Gradients.meanLossAndGradient(c.net(), c.data());
        assertClose(dl4j.meanLoss(), oracle.meanLoss(theta, batch), Tolerances.FLOAT64_ROUNDOFF, c.name() + " mean loss");
        assertClose(DenseMatrices.toVector(dl4j.meanGradient()), oracle.meanGradient(theta, batch), Tolerances.FLOAT64_ROUNDOFF, c.name() + " mean gradient");
        assertClose(DenseMatrices.toMatrix(Gradients.perExample(c.net(), c.data())), oracle.perExampleGradients(theta, batch), Tolerances.FLOAT64_ROUNDOFF,
                c.name() + " per-example gradients");
    }

    // ------------------------------------------------------------------ internal consistency

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void gradientIsTheDerivativeOfTheLoss(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        double[] differences = new double[theta.length];
        double[] shifted = theta.clone();
        for (int k = 0; k < theta.length; k++) {
            shifted[k] = theta[k] + STEP;
            double plus = oracle.meanLoss(shifted, batch);
            shifted[k] = theta[k] - STEP;
            double minus = oracle.meanLoss(shifted, batch);
            shifted[k] = theta[k];
            differences[k] = (plus - minus) / (2 * STEP);
        }
        assertClose(differences, oracle.meanGradient(theta, batch), Tolerances.CENTRAL_DIFFERENCE, c.name() + " gradient vs differences of the loss");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hessianVectorProductIsTheDerivativeOfTheGradient(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        SeededRandom random = new SeededRandom(31);
        for (int trial = 0; trial < 3; trial++) {
            double[] v = random.gaussianVector(theta.length, 1.0);
            double[] plus = oracle.meanGradient(axpy(STEP, v, theta), batch);
            double[] minus = oracle.meanGradient(axpy(-STEP, v, theta), batch);
            double[] differences = new double[theta.length];
            for (int p = 0; p < theta.length; p++) {
                differences[p] = (plus[p] - minus[p]) / (2 * STEP);
            }
            assertClose(differences, oracle.hessianVectorProduct(theta, batch, v), Tolerances.CENTRAL_DIFFERENCE,
                    c.name() + " Hessian-vector product vs differences of gradients");
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void hessianIsSymmetricAndMatchesCentralDifferences(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        // Symmetry of the products themselves (the matrix is symmetrised, the R-operator is not): uᵀ H v = vᵀ H u.
        SeededRandom random = new SeededRandom(32);
        double[] u = random.gaussianVector(theta.length, 1.0);
        double[] v = random.gaussianVector(theta.length, 1.0);
        double uHv = dot(u, oracle.hessianVectorProduct(theta, batch, v));
        double vHu = dot(v, oracle.hessianVectorProduct(theta, batch, u));
        assertClose(uHv, vHu, Tolerances.FLOAT64_ROUNDOFF, c.name() + " uᵀHv vs vᵀHu");

        double[][] exact = oracle.hessian(theta, batch);
        assertTrue(DenseMatrices.maxAsymmetry(exact) <= Tolerances.SYMMETRY_ABSOLUTE);
        assertClose(oracle.hessianByCentralDifferences(theta, batch, ExactCurvature.DEFAULT_DIFFERENCE_STEP), exact, Tolerances.CENTRAL_DIFFERENCE,
                c.name() + " exact Hessian vs central differences");
        assertClose(DenseMatrices.multiply(exact, v), oracle.hessianVectorProduct(theta, batch, v), Tolerances.FLOAT64_ROUNDOFF,
                c.name() + " Hessian matrix times v vs product");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void ggnMatrixAndProductAgreeAndArePositiveSemidefinite(Case c) {
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        double[][] ggn = oracle.ggn(theta, batch);
        SeededRandom random = new SeededRandom(33);
        for (int trial = 0; trial < 3; trial++) {
            double[] v = random.gaussianVector(theta.length, 1.0);
            double[] product = oracle.ggnVectorProduct(theta, batch, v);
            assertClose(DenseMatrices.multiply(ggn, v), product, Tolerances.FLOAT64_ROUNDOFF, c.name() + " GGN matrix times v vs product");
            assertTrue(dot(v, product) >= -Tolerances.FLOAT64_ROUNDOFF * DenseMatrices.frobeniusNorm(ggn) * dot(v, v),
                    c.name() + ": vᵀGv = " + dot(v, product) + " < 0");
        }
    }

    @Test
    void hessianEqualsGgnForALinearModel() {
        // With no hidden layer, z is linear in θ, so ∇²L = (1/n) Σ Jᵀ ∇²ℓ J exactly.
        for (Case c : cases().filter(x -> x.name().startsWith("linear")).toList()) {
            ExactCurvature oracle = ExactCurvature.of(c.net());
            double[] theta = oracle.parameters(c.net());
            Batch batch = Batch.of(c.data());
            assertClose(oracle.ggn(theta, batch), oracle.hessian(theta, batch), Tolerances.FLOAT64_ROUNDOFF, "linear model Hessian vs GGN");
        }
    }

    @Test
    void hessianDiffersFromGgnWithHiddenLayers() {
        // The residual term Σ_k ∂ℓ/∂z_k ∇²z_k is nonzero for a tanh hidden layer: a check that the two routes are not the same code.
        Case c = cases().findFirst().orElseThrow();
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        double error = DenseMatrices.relativeError(oracle.ggn(theta, batch), oracle.hessian(theta, batch));
        assertTrue(error > 1e-3, "GGN and Hessian should differ, relative difference " + error);
    }

    @Test
    void empiricalFisherIsTheMeanOuterProductOfPerExampleGradients() {
        Case c = cases().findFirst().orElseThrow();
        ExactCurvature oracle = ExactCurvature.of(c.net());
        double[] theta = oracle.parameters(c.net());
        Batch batch = Batch.of(c.data());
        double[][] g = oracle.perExampleGradients(theta, batch);
        double[][] expected = new double[theta.length][theta.length];
        for (double[] gi : g) {
            for (int p = 0; p < theta.length; p++) {
                for (int q = 0; q < theta.length; q++) {
                    expected[p][q] += gi[p] * gi[q] / g.length;
                }
            }
        }
        assertClose(expected, oracle.empiricalFisher(theta, batch), Tolerances.FLOAT64_ROUNDOFF, "empirical Fisher");
        double[] mean = new double[theta.length];
        for (double[] gi : g) {
            for (int p = 0; p < theta.length; p++) {
                mean[p] += gi[p] / g.length;
            }
        }
        assertClose(oracle.meanGradient(theta, batch), mean, Tolerances.FLOAT64_ROUNDOFF, "mean of per-example gradients");
    }

    // ------------------------------------------------------------------ what it refuses

    @Test
    void refusesLayersItCannotDifferentiate() {
        MultiLayerConfiguration withBatchNorm = new NeuralNetConfiguration.Builder().dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new DenseLayer.Builder().nIn(3).nOut(4).activation(Activation.TANH).build())
                .layer(new BatchNormalization.Builder().nIn(4).nOut(4).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(4).nOut(2).activation(Activation.SOFTMAX).build())
                .build();
        UnsupportedLayerException batchNorm = assertThrows(UnsupportedLayerException.class,
                () -> ExactCurvature.of(TinyNetworks.initialise(withBatchNorm, 1)));
        assertEquals(1, batchNorm.layerIndex());
        assertTrue(batchNorm.getMessage().contains("layer 1 (BatchNormalization)"), batchNorm.getMessage());

        UnsupportedLayerException gelu = assertThrows(UnsupportedLayerException.class,
                () -> ExactCurvature.of(TinyNetworks.mlp(1).inputs(3).dense(4, Activation.GELU).softmaxCrossEntropy(2)));
        assertTrue(gelu.getMessage().contains("layer 0 (DenseLayer)") && gelu.getMessage().contains("activation"), gelu.getMessage());

        UnsupportedLayerException mismatchedLoss = assertThrows(UnsupportedLayerException.class,
                () -> ExactCurvature.of(TinyNetworks.mlp(1).inputs(3).output(2, Activation.TANH, LossFunction.MSE)));
        assertTrue(mismatchedLoss.getMessage().contains("layer 0 (OutputLayer)"), mismatchedLoss.getMessage());
    }

    @ParameterizedTest
    @ValueSource(ints = {3, 60})
    void refusesWrongLengths(int length) {
        Case c = cases().findFirst().orElseThrow();
        ExactCurvature oracle = ExactCurvature.of(c.net());
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> oracle.meanGradient(new double[length], Batch.of(c.data())));
        assertTrue(e.getMessage().contains("has length " + length), e.getMessage());
    }

    private static double[] axpy(double a, double[] x, double[] y) {
        double[] out = y.clone();
        for (int i = 0; i < x.length; i++) {
            out[i] += a * x[i];
        }
        return out;
    }

    private static double dot(double[] a, double[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += a[i] * b[i];
        }
        return s;
    }
}
