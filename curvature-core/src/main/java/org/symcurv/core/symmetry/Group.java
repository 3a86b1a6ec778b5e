package org.symcurv.core.symmetry;

import java.util.Objects;

/**
 * A symmetry group {@code γ} acting on {@code n_γ} units, e.g. the hidden units of one layer. Every axis
 * labelled with this group has size {@code n_γ} and is transformed by the same group element.
 *
 * @param name unique name, e.g. {@code "h1"}
 * @param type the group type
 * @param size {@code n_γ ≥ 1}
 */
public record Group(String name, GroupType type, int size) {
    public Group {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(type, "type");
        if (name.isBlank()) {
            throw new IllegalArgumentException("group name must not be blank");
        }
        if (size < 1) {
            throw new IllegalArgumentException("group '" + name + "' must act on at least one unit, got size " + size);
        }
    }

    @Override
    public String toString() {
        return name + ":" + type.name().toLowerCase(java.util.Locale.ROOT) + "(" + size + ")";
    }
}
