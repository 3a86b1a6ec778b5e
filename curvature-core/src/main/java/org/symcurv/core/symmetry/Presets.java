package org.symcurv.core.symmetry;

import java.util.ArrayList;
import java.util.List;

/**
 * Known methods as group choices (symmetry-curvature.md section 6). Each preset keeps the leaves of a layout and
 * gives every matrix leaf groups of its own (not shared across layers, so no cross-leaf coupling):
 * <ul>
 *   <li>{@link #muon}: {@code ORTH} on the output axis; with {@code S_w := I}, {@code β2 = 0} the step is
 *       {@code √m · U Vᵀ}, the polar factor of the momentum;</li>
 *   <li>{@link #shampooOutput} and {@link #shampooInput}: the two one-sided {@code ORTH} estimates whose geometric
 *       mean is {@code L^{1/4} ⊗ R^{1/4}}, the Shampoo step {@code L^{-1/4} ḡ R^{-1/4}};</li>
 *   <li>{@link #diagonal}: {@code SIGN} on every axis of every leaf: each parameter its own kind, and with
 *       {@code S_w := I} the Adam-like {@code ḡ / √v}.</li>
 * </ul>
 * Matrix leaves follow DL4J's orientation {@code [nIn, nOut]}: the output axis is axis 1. Vector leaves (biases) are
 * left {@code FREE} by the {@code ORTH} presets — they land in the invariant kind, which the estimator's
 * invariant policy preconditions (Adam by default) — and get {@code SIGN} in the diagonal preset.
 */
public final class Presets {
    /** The output axis of a DL4J dense weight {@code [nIn, nOut]}. */
    public static final int OUTPUT_AXIS = 1;
    /** The input axis of a DL4J dense weight {@code [nIn, nOut]}. */
    public static final int INPUT_AXIS = 0;

    private Presets() {
    }

    /** Muon: {@code ORTH} on each matrix leaf's output axis. */
    public static SymmetrySpec muon(SymmetrySpec layout) {
        return orthOn(layout, OUTPUT_AXIS, "out");
    }

    /** Shampoo's right factor {@code R = ḡᵀḡ}: {@code ORTH} on the output axis (the same spec as Muon). */
    public static SymmetrySpec shampooOutput(SymmetrySpec layout) {
        return orthOn(layout, OUTPUT_AXIS, "out");
    }

    /** Shampoo's left factor {@code L = ḡḡᵀ}: {@code ORTH} on each matrix leaf's input axis. */
    public static SymmetrySpec shampooInput(SymmetrySpec layout) {
        return orthOn(layout, INPUT_AXIS, "in");
    }

    /** The Adam-like diagonal: {@code SIGN} on every axis of every leaf. */
    public static SymmetrySpec diagonal(SymmetrySpec layout) {
        List<Group> groups = new ArrayList<>();
        List<LeafSpec> leaves = new ArrayList<>();
        for (LeafSpec leaf : layout.leaves()) {
            List<AxisLabel> labels = new ArrayList<>();
            for (int a = 0; a < leaf.rank(); a++) {
                String name = leaf.name() + "#" + a;
                groups.add(new Group(name, GroupType.SIGN, (int) leaf.size(a)));
                labels.add(AxisLabel.of(name));
            }
            leaves.add(leaf.withLabels(labels));
        }
        return new SymmetrySpec(groups, leaves);
    }

    /** A preset by name: {@code muon}, {@code shampoo-output}, {@code shampoo-input}, {@code diagonal}. */
    public static SymmetrySpec byName(String name, SymmetrySpec layout) {
        return switch (name.toLowerCase(java.util.Locale.ROOT)) {
            case "muon" -> muon(layout);
            case "shampoo-output" -> shampooOutput(layout);
            case "shampoo-input" -> shampooInput(layout);
            case "diagonal" -> diagonal(layout);
            default -> throw new IllegalArgumentException("unknown preset '" + name
                    + "': expected muon, shampoo-output, shampoo-input or diagonal");
        };
    }

    private static SymmetrySpec orthOn(SymmetrySpec layout, int axis, String suffix) {
        List<Group> groups = new ArrayList<>();
        List<LeafSpec> leaves = new ArrayList<>();
        for (LeafSpec leaf : layout.leaves()) {
            List<AxisLabel> labels = new ArrayList<>();
            for (int a = 0; a < leaf.rank(); a++) {
                labels.add(AxisLabel.FREE);
            }
            if (leaf.rank() == 2) {
                String name = leaf.name() + "#" + suffix;
                groups.add(new Group(name, GroupType.ORTH, (int) leaf.size(axis)));
                labels.set(axis, AxisLabel.of(name));
            }
            leaves.add(leaf.withLabels(labels));
        }
        return new SymmetrySpec(groups, leaves);
    }
}
