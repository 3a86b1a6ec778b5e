package org.symcurv.optimizer;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Which axes of each weight matrix keep their group (issue 17's per-layer group choice). Spec inference labels both
 * axes of a hidden→hidden matrix {@code W [nIn, nOut]} (its input units {@code h_{l-1}}, its output units {@code h_l}),
 * so almost all of it is preconditioned by one scalar; keeping one axis grouped and the other {@code FREE} gives a full
 * block over the copies of the free axis — one-sided Shampoo with {@code S_w := I}, Muon when also {@code β2 = 0}.
 * A matrix whose axis is freed is no longer transformed with that group (the average is then a structure choice,
 * not a symmetry of the loss). Biases and other leaves keep their labels.
 *
 * <p>Text form ({@code symcurv train --groups}): comma-separated entries, each {@code both}, {@code out}, {@code in} or
 * {@code none} for every matrix, or {@code LEAF=…} for one matrix by its leaf name ({@code 1_W}); later entries win.
 * E.g. {@code out,0_W=both}.
 *
 * @param all    what every matrix keeps unless named
 * @param byLeaf per leaf name
 */
public record MatrixGroups(Axes all, Map<String, Axes> byLeaf) {
    /** Which axes keep their group. */
    public enum Axes {
        /** both axes (spec inference's labels) */
        BOTH,
        /** the output (unit) axis only: the input axis becomes {@code FREE} */
        OUT,
        /** the input axis only */
        IN,
        /** neither */
        NONE
    }

    /** Every matrix as inferred. */
    public static final MatrixGroups INFERRED = new MatrixGroups(Axes.BOTH, Map.of());

    public MatrixGroups {
        Objects.requireNonNull(all, "all");
        byLeaf = Map.copyOf(byLeaf);
    }

    /**
     * Reads the text form.
     *
     * @throws IllegalArgumentException naming the entry and the accepted words
     */
    public static MatrixGroups parse(String text) {
        Axes all = Axes.BOTH;
        Map<String, Axes> byLeaf = new LinkedHashMap<>();
        for (String raw : text.split(",")) {
            String entry = raw.trim();
            if (entry.isEmpty()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq < 0) {
                all = axes(entry, text);
                byLeaf.clear();
            } else {
                byLeaf.put(entry.substring(0, eq).trim(), axes(entry.substring(eq + 1), text));
            }
        }
        return new MatrixGroups(all, byLeaf);
    }

    private static Axes axes(String word, String text) {
        try {
            return Axes.valueOf(word.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("groups '" + text + "': '" + word.trim() + "' is not one of both, out, in, none "
                    + "(for every matrix, or LEAF=… for one, e.g. out,0_W=both)");
        }
    }

    /**
     * The spec with the chosen axes freed.
     *
     * @throws IllegalArgumentException naming the leaf when a named leaf is not a matrix of the spec
     */
    public SymmetrySpec apply(SymmetrySpec spec) {
        for (String name : byLeaf.keySet()) {
            LeafSpec leaf = spec.leaves().stream().filter(l -> l.name().equals(name)).findFirst().orElse(null);
            if (leaf == null || leaf.rank() != 2) {
                throw new IllegalArgumentException("groups: '" + name + "' is not a weight matrix of this network; its matrices are "
                        + spec.leaves().stream().filter(l -> l.rank() == 2).map(LeafSpec::name).toList());
            }
        }
        if (all == Axes.BOTH && byLeaf.values().stream().allMatch(a -> a == Axes.BOTH)) {
            return spec;
        }
        List<LeafSpec> leaves = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            if (leaf.rank() != 2) {
                leaves.add(leaf);
                continue;
            }
            Axes a = byLeaf.getOrDefault(leaf.name(), all);
            AxisLabel in = a == Axes.BOTH || a == Axes.IN ? leaf.label(0) : AxisLabel.FREE;
            AxisLabel out = a == Axes.BOTH || a == Axes.OUT ? leaf.label(1) : AxisLabel.FREE;
            leaves.add(leaf.withLabels(List.of(in, out)));
        }
        return new SymmetrySpec(spec.groups(), leaves);
    }

    /** The text form (what {@link #parse} reads back). */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder(all.name().toLowerCase(Locale.ROOT));
        byLeaf.forEach((k, v) -> sb.append(',').append(k).append('=').append(v.name().toLowerCase(Locale.ROOT)));
        return sb.toString();
    }
}
