package org.symcurv.uncertainty;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Accuracy, NLL, Brier, ECE, AUROC and the GLM links on cases computed by hand. */
class MetricsTest {
    private static final double[][] P = {
            {0.7, 0.2, 0.1},
            {0.2, 0.5, 0.3},
            {0.05, 0.05, 0.9},
            {0.4, 0.6, 0.0}};
    private static final int[] Y = {0, 2, 2, 0};

    @Test
    void handComputedClassificationMetrics() {
        ClassificationMetrics m = ClassificationMetrics.of(P, Y);
        assertEquals(0.5, m.accuracy(), 1e-15);
        assertEquals((-Math.log(0.7) - Math.log(0.3) - Math.log(0.9) - Math.log(0.4)) / 4, m.nll(), 1e-15);
        // (0.3² + 0.2² + 0.1²) + (0.2² + 0.5² + 0.7²) + (0.05² + 0.05² + 0.1²) + (0.6² + 0.6²) = 1.655
        assertEquals(1.655 / 4, m.brier(), 1e-15);
        // one example per bin: |1 − 0.7| + |0 − 0.5| + |1 − 0.9| + |0 − 0.6|
        assertEquals((0.3 + 0.5 + 0.1 + 0.6) / 4, m.ece(), 1e-15);
        assertEquals(15, m.bins().size());
        assertEquals(1, m.bins().get(10).count()); // 0.7 ∈ (10/15, 11/15]
        assertEquals(0.7, m.bins().get(10).meanConfidence(), 1e-15);
        assertEquals(1, m.bins().get(13).count()); // 0.9 ∈ (13/15, 14/15]
        assertEquals(0, m.bins().get(0).count());
    }

    @Test
    void eceAveragesWithinABin() {
        double[][] p = {{0.70, 0.30}, {0.28, 0.72}, {0.95, 0.05}};
        int[] y = {0, 0, 0};
        // bin (10/15, 11/15] holds 0.70 (right) and 0.72 (wrong): |0.5 − 0.71|; bin 14 holds 0.95 (right): |1 − 0.95|
        assertEquals(2.0 / 3 * 0.21 + 1.0 / 3 * 0.05, ClassificationMetrics.of(p, y).ece(), 1e-12);
        assertEquals(-Math.log(ClassificationMetrics.PROBABILITY_FLOOR), ClassificationMetrics.of(new double[][] {{1, 0}}, new int[] {1}).nll(), 1e-9);
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(p, new int[] {0, 0}));
        assertThrows(IllegalArgumentException.class, () -> ClassificationMetrics.of(p, new int[] {0, 2, 0}));
    }

    @Test
    void aurocCountsPairsAndHalfTies() {
        double[] in = {0.1, 0.4, 0.35, 0.8};
        double[] out = {0.9, 0.4, 0.5};
        // out 0.9 beats 4, out 0.4 beats 2 and ties 1, out 0.5 beats 3: (4 + 2.5 + 3) / 12
        assertEquals(9.5 / 12, Auroc.of(in, out), 1e-15);
        assertEquals(1.0, Auroc.of(new double[] {0, 1}, new double[] {2, 3}), 0);
        assertEquals(0.0, Auroc.of(new double[] {2, 3}, new double[] {0, 1}), 0);
        assertEquals(0.5, Auroc.of(new double[] {1, 1}, new double[] {1}), 0);
        assertThrows(IllegalArgumentException.class, () -> Auroc.of(new double[0], out));
    }

    @Test
    void oodScores() {
        assertEquals(Math.log(3), OodScore.ENTROPY.score(new double[] {1 / 3.0, 1 / 3.0, 1 / 3.0}), 1e-15);
        assertEquals(0.0, OodScore.ENTROPY.score(new double[] {1, 0, 0}), 0);
        assertEquals(0.3, OodScore.MAX_PROBABILITY.score(P[0]), 1e-15);
    }

    @Test
    void linksOnHandComputedCases() {
        double[] mu = {2.0, 0.0, -1.0};
        double[][] zero = new double[3][3];
        double[] softmax = GlmLink.softmax(mu);
        double e = Math.exp(2) + 1 + Math.exp(-1);
        assertArrayEquals(new double[] {Math.exp(2) / e, 1 / e, Math.exp(-1) / e}, softmax, 1e-15);
        for (GlmLink link : GlmLink.values()) {
            assertArrayEquals(softmax, link.probabilities(mu, zero, 10, new Random(1)), 1e-12, link + " with V = 0 is the softmax");
        }
        double[][] v = {{8 / Math.PI * 3, 0, 0}, {0, 0, 0}, {0, 0, 8 / Math.PI}};
        // κ = (1 + π V_cc / 8)^{-1/2} = (1/2, 1, 1/√2)
        assertArrayEquals(GlmLink.softmax(new double[] {1.0, 0.0, -1 / Math.sqrt(2)}), GlmLink.PROBIT.probabilities(mu, v, 0, null), 1e-15);
        // a random shift common to all logits (V = s·11ᵀ) leaves the softmax unchanged: the pairwise probit and MC see that
        double[][] common = {{5, 5, 5}, {5, 5, 5}, {5, 5, 5}};
        assertArrayEquals(softmax, GlmLink.PAIRWISE_PROBIT.probabilities(mu, common, 0, null), 1e-12);
        assertArrayEquals(softmax, GlmLink.MONTE_CARLO.probabilities(mu, common, 50, new Random(3)), 1e-12);
    }

    @Test
    void monteCarloLinkConvergesToTheExpectation() {
        // two classes: E[softmax(f)]_0 = E[σ(f_0 − f_1)], f_0 − f_1 ~ N(1, 2): a 1-D integral done by quadrature
        double[] mu = {0.5, -0.5};
        double[][] v = {{1.5, 0.5}, {0.5, 1.5}};
        double exact = 0;
        int steps = 200_000;
        for (int i = 0; i < steps; i++) {
            double t = -12 + 24 * (i + 0.5) / steps;
            double density = Math.exp(-t * t / 2) / Math.sqrt(2 * Math.PI);
            exact += density / (1 + Math.exp(-(1 + Math.sqrt(2) * t))) * 24.0 / steps;
        }
        double mc = GlmLink.MONTE_CARLO.probabilities(mu, v, 200_000, new Random(5))[0];
        // standard error ≤ 0.5/√200000 ≈ 1.1e-3; allow 4 of them
        assertEquals(exact, mc, 4.5e-3);
        // the probit is an approximation: close (within 0.02) but not equal
        double probit = GlmLink.PAIRWISE_PROBIT.probabilities(mu, v, 0, null)[0];
        assertEquals(exact, probit, 0.02);
    }
}
