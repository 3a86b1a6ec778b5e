package org.symcurv.optimizer;

import java.util.Locale;

/**
 * A learning rate {@code η_t} as a function of the number {@code t = 0, 1, …} of updates already taken.
 */
public sealed interface LearningRateSchedule permits LearningRateSchedule.Constant, LearningRateSchedule.Cosine {

    /** {@code η_t}. */
    double at(long step);

    /** A one-line description. */
    String describe();

    /** The largest rate the schedule reaches. */
    double peak();

    /** {@code η_t = η} for all {@code t}. */
    static LearningRateSchedule constant(double rate) {
        return new Constant(rate, 0);
    }

    /** A linear warm-up to {@code η} over {@code warmupSteps}, then constant. */
    static LearningRateSchedule warmupConstant(double rate, long warmupSteps) {
        return new Constant(rate, warmupSteps);
    }

    /** A linear warm-up, then a cosine decay from {@code peak} to {@code finalFraction·peak} at {@code totalSteps}. */
    static LearningRateSchedule warmupCosine(double peak, long warmupSteps, long totalSteps, double finalFraction) {
        return new Cosine(peak, warmupSteps, totalSteps, finalFraction);
    }

    /** {@code (t+1)/W} during a warm-up of {@code W} steps, 1 after. */
    private static double warmupFactor(long step, long warmupSteps) {
        return step < warmupSteps ? (step + 1.0) / warmupSteps : 1.0;
    }

    /**
     * {@code η_t = η · min(1, (t+1)/W)}.
     *
     * @param rate        {@code η > 0}
     * @param warmupSteps {@code W ≥ 0}
     */
    record Constant(double rate, long warmupSteps) implements LearningRateSchedule {
        public Constant {
            Vectors.requirePositive(rate, "learning rate");
            if (warmupSteps < 0) {
                throw new IllegalArgumentException("warm-up steps must be ≥ 0, got " + warmupSteps);
            }
        }

        @Override
        public double at(long step) {
            return rate * warmupFactor(step, warmupSteps);
        }

        @Override
        public double peak() {
            return rate;
        }

        @Override
        public String describe() {
            return String.format(Locale.ROOT, "constant %s%s", rate, warmupSteps > 0 ? " after " + warmupSteps + " warm-up steps" : "");
        }
    }

    /**
     * {@code η_t = η (t+1)/W} for {@code t < W}, then
     * {@code η_t = η (f + (1-f) (1 + cos(π min(1, (t-W)/(T-W))))/2)}: a cosine from {@code η} down to {@code f η} at
     * {@code t = T}, constant after.
     *
     * @param peak          {@code η > 0}
     * @param warmupSteps   {@code W ≥ 0}
     * @param totalSteps    {@code T > W}
     * @param finalFraction {@code f ∈ [0, 1]}
     */
    record Cosine(double peak, long warmupSteps, long totalSteps, double finalFraction) implements LearningRateSchedule {
        public Cosine {
            Vectors.requirePositive(peak, "learning rate");
            if (warmupSteps < 0 || totalSteps <= warmupSteps) {
                throw new IllegalArgumentException("a cosine schedule needs 0 ≤ warm-up < total steps, got warm-up " + warmupSteps
                        + " and total " + totalSteps);
            }
            if (!(finalFraction >= 0 && finalFraction <= 1)) {
                throw new IllegalArgumentException("the final fraction of the cosine schedule must be in [0, 1], got " + finalFraction);
            }
        }

        @Override
        public double at(long step) {
            if (step < warmupSteps) {
                return peak * warmupFactor(step, warmupSteps);
            }
            double progress = Math.min(1.0, (double) (step - warmupSteps) / (totalSteps - warmupSteps));
            return peak * (finalFraction + (1 - finalFraction) * 0.5 * (1 + Math.cos(Math.PI * progress)));
        }

        @Override
        public String describe() {
            return String.format(Locale.ROOT, "cosine %s → %s over %d steps%s", peak, peak * finalFraction, totalSteps,
                    warmupSteps > 0 ? " after " + warmupSteps + " warm-up steps" : "");
        }
    }
}
