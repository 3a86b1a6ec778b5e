package org.symcurv.core.symmetry;

import java.util.ArrayList;
import java.util.List;

/** Hand-built specs in DL4J's params() layout: per layer {@code W [nIn, nOut]} flattened 'f', then {@code b [nOut]}. */
public final class SpecsForTests {
    private SpecsForTests() {
    }

    /**
     * An MLP {@code sizes[0] → … → sizes[last]}: hidden layer {@code l} has group {@code "h"+l} of type {@code types[l]}.
     */
    public static SymmetrySpec mlp(int[] sizes, GroupType... types) {
        List<Group> groups = new ArrayList<>();
        for (int l = 0; l < types.length; l++) {
            groups.add(new Group("h" + l, types[l], sizes[l + 1]));
        }
        List<LeafSpec> leaves = new ArrayList<>();
        long offset = 0;
        for (int l = 0; l + 1 < sizes.length; l++) {
            AxisLabel in = l == 0 ? AxisLabel.FREE : AxisLabel.of("h" + (l - 1));
            AxisLabel out = l + 1 == sizes.length - 1 ? AxisLabel.FREE : AxisLabel.of("h" + l);
            LeafSpec w = new LeafSpec(l + "_W", new long[] {sizes[l], sizes[l + 1]}, List.of(in, out), offset, 'f');
            offset += w.length();
            LeafSpec b = new LeafSpec(l + "_b", new long[] {sizes[l + 1]}, List.of(out), offset, 'c');
            offset += b.length();
            leaves.add(w);
            leaves.add(b);
        }
        return new SymmetrySpec(groups, leaves);
    }
}
