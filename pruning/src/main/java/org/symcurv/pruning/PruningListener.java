package org.symcurv.pruning;

/**
 * Progress of a pruning run, reported on the calling thread: each long stage (a Fisher estimate, a block inverse)
 * announces its size, then advances; each round reports what it did. Library code never prints; a command line
 * turns these calls into a progress bar. All methods do nothing by default.
 */
public interface PruningListener {
    /** A listener that ignores everything. */
    PruningListener NONE = new PruningListener() { };

    /**
     * A stage begins.
     *
     * @param description e.g. "round 3/10: Fisher"
     * @param total       units of work in the stage (examples, columns)
     */
    default void stageStarted(String description, long total) {
    }

    /** {@code done} of the stage's {@code total} units are finished. */
    default void stageProgress(long done) {
    }

    /** A round finished. */
    default void roundFinished(RoundReport report) {
    }
}
