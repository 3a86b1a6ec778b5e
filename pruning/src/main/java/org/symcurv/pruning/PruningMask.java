package org.symcurv.pruning;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;

/**
 * Which of the {@code P} parameters have been pruned: the mask {@code m ∈ {0,1}^P} with {@code m_q = 0} for a pruned
 * weight, applied as {@code θ ↦ m ∘ θ} so pruned weights stay exactly zero. Immutable.
 */
public final class PruningMask {
    private final long parameterCount;
    private final BitSet pruned;

    private PruningMask(long parameterCount, BitSet pruned) {
        this.parameterCount = parameterCount;
        this.pruned = pruned;
    }

    /** Nothing pruned among {@code parameterCount} parameters. */
    public static PruningMask none(long parameterCount) {
        if (parameterCount < 0 || parameterCount > Integer.MAX_VALUE) {
            throw new IllegalArgumentException("a mask covers 0 to " + Integer.MAX_VALUE + " parameters, got " + parameterCount);
        }
        return new PruningMask(parameterCount, new BitSet());
    }

    /** {@code P}. */
    public long parameterCount() {
        return parameterCount;
    }

    /** Whether parameter {@code q} is pruned. */
    public boolean isPruned(long q) {
        check(q);
        return pruned.get((int) q);
    }

    /** Number of pruned parameters. */
    public long prunedCount() {
        return pruned.cardinality();
    }

    /** Number of pruned parameters in {@code [from, to)}. */
    public long prunedCount(long from, long to) {
        return pruned.get((int) from, (int) to).cardinality();
    }

    /** Pruned parameters of one leaf. */
    public long prunedCount(ParameterLeaf leaf) {
        return prunedCount(leaf.offset(), leaf.offset() + leaf.length());
    }

    /** The fraction of the given leaves' parameters that is pruned. */
    public double sparsity(List<ParameterLeaf> leaves) {
        long total = 0;
        long count = 0;
        for (ParameterLeaf leaf : leaves) {
            total += leaf.length();
            count += prunedCount(leaf);
        }
        return total == 0 ? 0.0 : (double) count / total;
    }

    /**
     * This mask with {@code indices} pruned as well.
     *
     * @throws IndexOutOfBoundsException for an index outside {@code [0, P)}
     */
    public PruningMask withPruned(long... indices) {
        BitSet next = (BitSet) pruned.clone();
        for (long q : indices) {
            check(q);
            next.set((int) q);
        }
        return new PruningMask(parameterCount, next);
    }

    /** The pruned indices as a set (a copy). */
    public BitSet prunedSet() {
        return (BitSet) pruned.clone();
    }

    /** The pruned indices in increasing order. */
    public long[] prunedIndices() {
        return pruned.stream().asLongStream().toArray();
    }

    /** {@code m}, {@code [P]} with 1 for kept and 0 for pruned parameters. */
    public INDArray keepVector(DataType type) {
        double[] keep = new double[(int) parameterCount];
        java.util.Arrays.fill(keep, 1.0);
        for (int q = pruned.nextSetBit(0); q >= 0; q = pruned.nextSetBit(q + 1)) {
            keep[q] = 0.0;
        }
        return Nd4j.createFromArray(keep).castTo(type);
    }

    /**
     * {@code m ∘ θ}: a new vector with the pruned entries set to zero.
     *
     * @param theta {@code [P]}; not modified
     */
    public INDArray apply(INDArray theta) {
        if (theta.length() != parameterCount) {
            throw new IllegalArgumentException("the mask covers " + parameterCount + " parameters but the vector has " + theta.length());
        }
        return theta.reshape(parameterCount).mul(keepVector(theta.dataType()));
    }

    /** The mask of the leaves of {@code layout} as per-leaf pruned counts, for reports. */
    public List<String> describe(ParameterLayout layout) {
        List<String> out = new ArrayList<>();
        for (ParameterLeaf leaf : layout.leaves()) {
            out.add(leaf.name() + ": " + prunedCount(leaf) + "/" + leaf.length() + " pruned");
        }
        return out;
    }

    private void check(long q) {
        if (q < 0 || q >= parameterCount) {
            throw new IndexOutOfBoundsException("parameter index " + q + " outside [0, " + parameterCount + ")");
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PruningMask m && m.parameterCount == parameterCount && m.pruned.equals(pruned);
    }

    @Override
    public int hashCode() {
        return Long.hashCode(parameterCount) * 31 + pruned.hashCode();
    }

    @Override
    public String toString() {
        return "PruningMask[" + prunedCount() + " of " + parameterCount + " pruned]";
    }
}
