package org.symcurv.apps.bench;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.symcurv.optimizer.Recipe;

/**
 * One training run of the optimizer benchmark: the recipe and rate, its held-out curve, and its step times.
 */
final class OptimizerBenchRun {
    /** Steps left out of the step-time statistics (JIT and allocator warm-up). */
    static final int WARMUP_STEPS = 10;

    /** One evaluation: steps, training seconds and metrics. */
    record Point(long step, double seconds, Map<String, Double> metrics) {
    }

    final String method;
    final Recipe recipe;
    final double learningRate;
    final String optimizer;
    final List<Point> curve = new ArrayList<>();
    final List<Double> stepSeconds = new ArrayList<>();
    String diverged;
    double loadBefore;
    double loadAfter;
    long skipped;

    OptimizerBenchRun(String method, Recipe recipe, double learningRate, String optimizer) {
        this.method = method;
        this.recipe = recipe;
        this.learningRate = learningRate;
        this.optimizer = optimizer;
    }

    /** The last evaluation's value of {@code metric}, NaN for a diverged run or one without evaluations. */
    double finalValue(String metric) {
        if (diverged != null || curve.isEmpty()) {
            return Double.NaN;
        }
        Double v = curve.get(curve.size() - 1).metrics().get(metric);
        return v == null ? Double.NaN : v;
    }

    double trainSeconds() {
        return curve.isEmpty() ? Double.NaN : curve.get(curve.size() - 1).seconds();
    }

    /**
     * Steps and seconds at which {@code metric} first reaches {@code target}, linearly interpolated between the two
     * evaluations around the crossing; {@code null} if it never does.
     */
    double[] toTarget(String metric, double target) {
        for (int i = 0; i < curve.size(); i++) {
            double v = curve.get(i).metrics().get(metric);
            if (v <= target) {
                if (i == 0) {
                    return new double[] {curve.get(0).step(), curve.get(0).seconds()};
                }
                Point a = curve.get(i - 1);
                Point b = curve.get(i);
                double va = a.metrics().get(metric);
                double f = va == v ? 1 : (va - target) / (va - v);
                return new double[] {a.step() + f * (b.step() - a.step()), a.seconds() + f * (b.seconds() - a.seconds())};
            }
        }
        return null;
    }

    /** {@code metric} at training time {@code seconds}, interpolated; the last value when the run was shorter. */
    double valueAtSeconds(String metric, double seconds) {
        for (int i = 1; i < curve.size(); i++) {
            Point a = curve.get(i - 1);
            Point b = curve.get(i);
            if (b.seconds() >= seconds) {
                double f = b.seconds() == a.seconds() ? 1 : (seconds - a.seconds()) / (b.seconds() - a.seconds());
                return a.metrics().get(metric) + f * (b.metrics().get(metric) - a.metrics().get(metric));
            }
        }
        return finalValue(metric);
    }

    private double[] measuredSteps(java.util.function.IntPredicate keep) {
        double[] out = new double[stepSeconds.size()];
        int n = 0;
        for (int i = WARMUP_STEPS; i < stepSeconds.size(); i++) {
            if (keep.test(i + 1)) {
                out[n++] = stepSeconds.get(i);
            }
        }
        return Arrays.copyOf(out, n);
    }

    /** Mean step time in milliseconds, every step after the warm-up: the amortized cost including refreshes. */
    double meanStepMillis() {
        return 1e3 * Arrays.stream(measuredSteps(t -> true)).average().orElse(Double.NaN);
    }

    /** Median step time in milliseconds after the warm-up. */
    double medianStepMillis() {
        return 1e3 * median(measuredSteps(t -> true));
    }

    /** Median over steps that do not refresh an inverse ({@code (t-1) mod k ≠ 0}), or all steps for {@code k = 0}. */
    double medianPlainStepMillis(int refreshInterval) {
        return 1e3 * median(measuredSteps(t -> refreshInterval <= 1 || (t - 1) % refreshInterval != 0));
    }

    /** Mean over refreshing steps, NaN when none or {@code k ≤ 1}. */
    double meanRefreshStepMillis(int refreshInterval) {
        if (refreshInterval <= 1) {
            return Double.NaN;
        }
        return 1e3 * Arrays.stream(measuredSteps(t -> (t - 1) % refreshInterval == 0)).average().orElse(Double.NaN);
    }

    static double median(double[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        double[] v = values.clone();
        Arrays.sort(v);
        return v.length % 2 == 1 ? v[v.length / 2] : 0.5 * (v[v.length / 2 - 1] + v[v.length / 2]);
    }
}
