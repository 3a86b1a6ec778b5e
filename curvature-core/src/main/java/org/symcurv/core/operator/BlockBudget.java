package org.symcurv.core.operator;

/**
 * The largest dense block an estimator may build, {@code m_κ ≤ maxCopies} (memory {@code F m_κ²} floats),
 * and what happens above it: fail with a message naming the leaves, kind and size, or keep only the block's
 * diagonal when {@link #diagonalFallback()} is set.
 *
 * @param maxCopies        largest {@code m_κ} stored densely
 * @param diagonalFallback keep the diagonal of a larger block instead of failing
 */
public record BlockBudget(int maxCopies, boolean diagonalFallback) {
    /** Default: blocks up to 4,096 copies (64 MiB in float32), fail above. */
    public static final BlockBudget DEFAULT = new BlockBudget(4096, false);

    public BlockBudget {
        if (maxCopies < 1) {
            throw new IllegalArgumentException("block budget must allow at least 1 copy, got " + maxCopies);
        }
    }

    /** Whether a block of {@code m} copies is stored dense; throws when it is over budget without fallback. */
    public boolean dense(int m, String kind, java.util.List<String> leaves) {
        if (m <= maxCopies) {
            return true;
        }
        if (diagonalFallback) {
            return false;
        }
        throw new IllegalArgumentException("block for kind " + kind + " (leaves " + leaves + ") has " + m + " copies, "
                + "over the budget of " + maxCopies + " (" + ((long) m * m) + " floats per block); raise the budget, "
                + "choose a larger symmetry group, or allow the diagonal fallback for such blocks");
    }
}
