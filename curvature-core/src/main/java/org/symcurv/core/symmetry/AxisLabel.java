package org.symcurv.core.symmetry;

import java.util.Objects;

/**
 * The label of one axis of a parameter leaf: {@link #FREE} (no symmetry acts; the axis indexes copies)
 * or the name of the {@link Group} whose units the axis indexes.
 *
 * @param group the group name, or {@code null} for a free axis
 */
public record AxisLabel(String group) {
    /** No symmetry acts on this axis (network inputs, outputs, class logits). */
    public static final AxisLabel FREE = new AxisLabel(null);

    /** The axis indexes the units of the named group. */
    public static AxisLabel of(String group) {
        Objects.requireNonNull(group, "group");
        return new AxisLabel(group);
    }

    public boolean isFree() {
        return group == null;
    }

    @Override
    public String toString() {
        return isFree() ? "FREE" : group;
    }
}
