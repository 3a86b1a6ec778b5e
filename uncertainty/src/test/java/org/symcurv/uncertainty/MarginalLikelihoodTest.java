package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.TinyNetworks;

/**
 * The Laplace log evidence against a dense float64 computation, and the prior precision that maximises it against a
 * fine grid of that dense computation, on a 5-4-3 tanh network with the PERM Fisher of 60 examples.
 */
class MarginalLikelihoodTest {
    private static final int N = 60;

    private final MultiLayerNetwork net = TinyNetworks.mlp(3).inputs(5).dense(4, Activation.TANH).softmaxCrossEntropy(3);
    private final DataSet data = TinyNetworks.classificationData(8, N, 5, 3);
    private final SymmetrySpec spec = SpecInference.infer(net, SpecInference.Options.defaults().withGroupType(GroupType.PERM));
    private final Curvature fisher = FisherSource.monteCarlo(data.getFeatures(), 1).symmetric(net, spec);
    private final INDArray mean = LaplaceFit.mean(net, spec);
    private final double logLikelihood = LaplaceFit.logLikelihood(net, data.getFeatures(), labels());
    private final double[][] denseFisher = fisher.toDense().castTo(DataType.DOUBLE).toDoubleMatrix();
    private final double[] theta = mean.castTo(DataType.DOUBLE).toDoubleVector();

    private int[] labels() {
        double[][] y = data.getLabels().toDoubleMatrix();
        int[] out = new int[y.length];
        for (int i = 0; i < y.length; i++) {
            for (int k = 0; k < y[i].length; k++) {
                if (y[i][k] == 1) {
                    out[i] = k;
                }
            }
        }
        return out;
    }

    /** log Z with a per-parameter prior precision, by Cholesky of the dense N F + Λ. */
    private double denseLogEvidence(double[] lambda) {
        int p = theta.length;
        double[][] a = new double[p][p];
        double quadratic = 0;
        double logDetPrior = 0;
        for (int i = 0; i < p; i++) {
            for (int j = 0; j < p; j++) {
                a[i][j] = N * denseFisher[i][j];
            }
            a[i][i] += lambda[i];
            quadratic += lambda[i] * theta[i] * theta[i];
            logDetPrior += Math.log(lambda[i]);
        }
        double logDet = 0;
        for (int j = 0; j < p; j++) {
            double d = a[j][j];
            for (int k = 0; k < j; k++) {
                d -= a[j][k] * a[j][k];
            }
            double root = Math.sqrt(d);
            a[j][j] = root;
            logDet += 2 * Math.log(root);
            for (int i = j + 1; i < p; i++) {
                double s = a[i][j];
                for (int k = 0; k < j; k++) {
                    s -= a[i][k] * a[j][k];
                }
                a[i][j] = s / root;
            }
        }
        return logLikelihood - 0.5 * quadratic + 0.5 * logDetPrior - 0.5 * logDet;
    }

    private double[] perParameter(Map<String, Double> perLayer) {
        double[] lambda = new double[theta.length];
        for (LeafSpec leaf : spec.leaves()) {
            double l = perLayer.get(PriorPrecision.layerOf(leaf.name()));
            for (long q = leaf.offset(); q < leaf.offset() + leaf.length(); q++) {
                lambda[(int) q] = l;
            }
        }
        return lambda;
    }

    @Test
    void logEvidenceMatchesDenseComputation() {
        double softmaxCheck = 0;
        for (int i = 0; i < N; i++) {
            softmaxCheck += Math.log(net.output(data.getFeatures().getRow(i, true)).getDouble(0, labels()[i]));
        }
        assertEquals(softmaxCheck, logLikelihood, 1e-9 * Math.abs(softmaxCheck), "log p(D | θ*) against DL4J's softmax");
        for (double lambda : new double[] {0.01, 1, 300}) {
            LaplacePosterior posterior = LaplacePosterior.of(fisher, N, PriorPrecision.scalar(lambda, spec), mean);
            double expected = denseLogEvidence(perParameter(Map.of("0", lambda, "1", lambda)));
            assertEquals(expected, posterior.logMarginalLikelihood(logLikelihood), 1e-9 * Math.abs(expected), "λ = " + lambda);
        }
        Map<String, Double> layers = Map.of("0", 0.3, "1", 40.0);
        LaplacePosterior posterior = LaplacePosterior.of(fisher, N, PriorPrecision.perLayer(layers, spec), mean);
        double expected = denseLogEvidence(perParameter(layers));
        assertEquals(expected, posterior.logMarginalLikelihood(logLikelihood), 1e-9 * Math.abs(expected), "per layer");
    }

    @Test
    void scalarOptimumMatchesFineGrid() {
        MarginalLikelihood.Result found = MarginalLikelihood.maximizeScalar(fisher, N, mean, logLikelihood);
        assertTrue(found.converged());
        double bestU = 0;
        double best = Double.NEGATIVE_INFINITY;
        double step = 0.002;
        for (double u = Math.log(1e-4); u <= Math.log(1e4); u += step) {
            double lambda = Math.exp(u);
            double v = denseLogEvidence(perParameter(Map.of("0", lambda, "1", lambda)));
            if (v > best) {
                best = v;
                bestU = u;
            }
        }
        double lambda = found.prior().of("0_W");
        assertEquals(bestU, Math.log(lambda), step, "log λ of the bisection against the grid's best");
        assertTrue(found.logMarginalLikelihood() >= best - 1e-9 * Math.abs(best), "found " + found.logMarginalLikelihood() + " < grid " + best);
    }

    @Test
    void perLayerOptimumMatchesFineGrid() {
        MarginalLikelihood.Result found = MarginalLikelihood.maximizePerLayer(fisher, N, mean, logLikelihood, 200, 1e-6);
        assertTrue(found.converged(), "converged after " + found.iterations());
        double u0 = Math.log(found.prior().of("0_W"));
        double u1 = Math.log(found.prior().of("1_W"));
        // a 2-D grid ±1.5 in log λ around the found optimum, step 0.02
        double best = Double.NEGATIVE_INFINITY;
        double bestA = 0;
        double bestB = 0;
        double step = 0.02;
        for (double a = u0 - 1.5; a <= u0 + 1.5; a += step) {
            for (double b = u1 - 1.5; b <= u1 + 1.5; b += step) {
                double v = denseLogEvidence(perParameter(Map.of("0", Math.exp(a), "1", Math.exp(b))));
                if (v > best) {
                    best = v;
                    bestA = a;
                    bestB = b;
                }
            }
        }
        assertEquals(bestA, u0, 2 * step);
        assertEquals(bestB, u1, 2 * step);
        assertTrue(found.logMarginalLikelihood() >= best - 1e-9 * Math.abs(best));
        MarginalLikelihood.Result scalar = MarginalLikelihood.maximizeScalar(fisher, N, mean, logLikelihood);
        assertTrue(found.logMarginalLikelihood() >= scalar.logMarginalLikelihood(), "per layer can only improve on the scalar optimum");
    }

    @Test
    void posteriorFileRoundTrip(@TempDir Path dir) throws Exception {
        LaplacePosterior posterior = LaplacePosterior.of(fisher, N, PriorPrecision.perLayer(Map.of("0", 0.5, "1", 7.0), spec), mean);
        Path file = dir.resolve("posterior.scv");
        PosteriorFile.write(file, posterior, Map.of("model", "m.zip"), false);
        PosteriorFile.Contents back = PosteriorFile.read(file);
        assertEquals(N, back.dataSize());
        assertEquals(posterior.prior(), back.prior());
        assertEquals("m.zip", back.metadata().get("model"));
        LaplacePosterior restored = back.posterior(mean);
        assertEquals(posterior.logMarginalLikelihood(logLikelihood), restored.logMarginalLikelihood(logLikelihood), 0);
        assertTrue(Files.size(file) > 0);
        Path other = dir.resolve("fisher.scv");
        org.symcurv.core.io.CurvatureFile.write(other, fisher, Map.of(), false);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> PosteriorFile.read(other));
        assertTrue(e.getMessage().contains("not a Laplace posterior"), e.getMessage());
    }
}
