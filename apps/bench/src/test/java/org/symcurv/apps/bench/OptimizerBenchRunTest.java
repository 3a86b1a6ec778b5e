package org.symcurv.apps.bench;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.symcurv.optimizer.Recipe;

/** The benchmark's bookkeeping: interpolated steps and seconds to a target, values at a wall-clock, step-time statistics. */
class OptimizerBenchRunTest {

    static OptimizerBenchRun run(double... stepsSecondsLoss) {
        OptimizerBenchRun r = new OptimizerBenchRun("adam", Recipe.ADAM, 1e-3, "adam");
        for (int i = 0; i < stepsSecondsLoss.length; i += 3) {
            r.curve.add(new OptimizerBenchRun.Point((long) stepsSecondsLoss[i], stepsSecondsLoss[i + 1], Map.of("loss", stepsSecondsLoss[i + 2])));
        }
        return r;
    }

    @Test
    void stepsAndSecondsToATargetAreInterpolatedBetweenTheEvaluationsAroundTheCrossing() {
        OptimizerBenchRun r = run(0, 0, 2.0, 50, 10, 1.0, 100, 30, 0.5, 150, 40, 0.6);
        assertArrayEquals(new double[] {75, 20}, r.toTarget("loss", 0.75), 1e-12, "half-way between steps 50 and 100");
        assertArrayEquals(new double[] {100, 30}, r.toTarget("loss", 0.5), 1e-12, "exactly at an evaluation");
        assertNull(r.toTarget("loss", 0.4), "never reached");
        assertEquals(0.6, r.finalValue("loss"), 0, "the last evaluation, not the best");
        assertEquals(0.75, r.valueAtSeconds("loss", 20), 1e-12);
        assertEquals(0.6, r.valueAtSeconds("loss", 400), 0, "past the end of the run: its final value");
        r.diverged = "diverged";
        assertTrue(Double.isNaN(r.finalValue("loss")), "a diverged run has no final value");
    }

    @Test
    void stepTimesLeaveOutTheWarmUpAndSeparateRefreshSteps() {
        OptimizerBenchRun r = run(0, 0, 1);
        for (int t = 1; t <= 40; t++) {
            // warm-up steps are slow; refresh steps (t-1) mod 10 = 0 cost 1 s, others 0.1 s
            r.stepSeconds.add(t <= OptimizerBenchRun.WARMUP_STEPS ? 5.0 : (t - 1) % 10 == 0 ? 1.0 : 0.1);
        }
        assertEquals(100, r.medianPlainStepMillis(10), 1e-9);
        assertEquals(1000, r.meanRefreshStepMillis(10), 1e-9);
        assertEquals(1e3 * (3 * 1.0 + 27 * 0.1) / 30, r.meanStepMillis(), 1e-9, "amortized: refreshes included, warm-up not");
        assertEquals(100, r.medianStepMillis(), 1e-9);
        assertEquals("0.003", OptimizerBenchmark.format(3e-3));
        assertEquals("0.1", OptimizerBenchmark.format(0.1));
    }
}
