package org.symcurv.pruning;

import java.util.Arrays;

/** Picking the lowest-scoring candidates: ties go to the lower index, so the choice is reproducible. */
final class Selection {
    private Selection() {
    }

    /**
     * The {@code count} candidates with the smallest scores.
     *
     * @param scores     indexed by candidate value
     * @param candidates indices into {@code scores}
     * @return the chosen indices, in increasing order
     * @throws ArithmeticException if a candidate's score is NaN
     */
    static long[] smallest(double[] scores, long[] candidates, int count) {
        if (count <= 0) {
            return new long[0];
        }
        if (count > candidates.length) {
            throw new IllegalArgumentException("cannot choose " + count + " of " + candidates.length + " candidates");
        }
        Long[] order = new Long[candidates.length];
        for (int i = 0; i < candidates.length; i++) {
            double s = scores[(int) candidates[i]];
            if (Double.isNaN(s)) {
                throw new ArithmeticException("saliency of parameter " + candidates[i] + " is NaN: the curvature estimate is broken");
            }
            order[i] = candidates[i];
        }
        Arrays.sort(order, (a, b) -> {
            int c = Double.compare(scores[(int) (long) a], scores[(int) (long) b]);
            return c != 0 ? c : Long.compare(a, b);
        });
        long[] chosen = new long[count];
        for (int i = 0; i < count; i++) {
            chosen[i] = order[i];
        }
        Arrays.sort(chosen);
        return chosen;
    }

    /**
     * How many of {@code total} items remain after round {@code round} of {@code rounds} when a fraction
     * {@code target} is removed in the end: the kept fraction shrinks geometrically, {@code (1 − target)^{r/k}}, so
     * every round removes the same share of what remains; the last round lands exactly on
     * {@code total − round(target · total)}.
     */
    static long keptAfterRound(long total, double target, int round, int rounds) {
        long finalKept = total - Math.round(target * total);
        if (round >= rounds) {
            return finalKept;
        }
        long kept = Math.round(total * Math.pow(1.0 - target, (double) round / rounds));
        return Math.max(finalKept, Math.min(total, kept));
    }
}
