package org.symcurv.core.symmetry;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * Which groups act on which axes of which parameter leaves (symmetry-curvature.md section 2), together
 * with the flat parameter layout: the leaves tile the flat vector {@code [0, parameterCount)}.
 *
 * <p>Validity (version 1): every label names a declared group; an axis labelled {@code γ} has size
 * {@code n_γ}; a group labels at most one axis of any one leaf; leaves do not overlap and cover the flat
 * vector. Immutable.
 */
public final class SymmetrySpec {
    private final List<Group> groups;
    private final List<LeafSpec> leaves;
    private final Map<String, Group> groupsByName;
    private final long parameterCount;

    /**
     * @throws IllegalArgumentException naming the leaf and axis when the spec is not valid
     */
    public SymmetrySpec(List<Group> groups, List<LeafSpec> leaves) {
        this.groups = List.copyOf(groups);
        this.leaves = List.copyOf(leaves);
        Map<String, Group> byName = new LinkedHashMap<>();
        for (Group g : this.groups) {
            if (byName.put(g.name(), g) != null) {
                throw new IllegalArgumentException("group '" + g.name() + "' is declared twice");
            }
        }
        this.groupsByName = Collections.unmodifiableMap(byName);
        Map<String, LeafSpec> leafNames = new LinkedHashMap<>();
        for (LeafSpec leaf : this.leaves) {
            if (leafNames.put(leaf.name(), leaf) != null) {
                throw new IllegalArgumentException("leaf '" + leaf.name() + "' appears twice");
            }
            List<String> seen = new ArrayList<>();
            for (int a = 0; a < leaf.rank(); a++) {
                AxisLabel label = leaf.label(a);
                if (label.isFree()) {
                    continue;
                }
                Group g = byName.get(label.group());
                if (g == null) {
                    throw new IllegalArgumentException("leaf '" + leaf.name() + "' axis " + a + " is labelled with unknown group '"
                            + label.group() + "'; declared groups: " + byName.keySet());
                }
                if (g.size() != leaf.size(a)) {
                    throw new IllegalArgumentException("leaf '" + leaf.name() + "' axis " + a + " has size " + leaf.size(a)
                            + " but group '" + g.name() + "' acts on " + g.size() + " units: a group must label axes of one size");
                }
                if (seen.contains(g.name())) {
                    throw new IllegalArgumentException("leaf '" + leaf.name() + "' carries group '" + g.name()
                            + "' on two axes; version 1 allows a group on at most one axis of a leaf (use two groups)");
                }
                seen.add(g.name());
            }
        }
        List<LeafSpec> byOffset = new ArrayList<>(this.leaves);
        byOffset.sort((x, y) -> Long.compare(x.offset(), y.offset()));
        long end = 0;
        for (LeafSpec leaf : byOffset) {
            if (leaf.offset() != end) {
                throw new IllegalArgumentException("leaf '" + leaf.name() + "' starts at flat index " + leaf.offset()
                        + " but the leaves before it end at " + end + ": leaves must tile the parameter vector without gaps or overlap");
            }
            end += leaf.length();
        }
        this.parameterCount = end;
    }

    public List<Group> groups() {
        return groups;
    }

    public List<LeafSpec> leaves() {
        return leaves;
    }

    /** Total number of parameters, the length of the flat vector. */
    public long parameterCount() {
        return parameterCount;
    }

    /** @throws IllegalArgumentException if no group has this name */
    public Group group(String name) {
        Group g = groupsByName.get(name);
        if (g == null) {
            throw new IllegalArgumentException("unknown group '" + name + "'; declared groups: " + groupsByName.keySet());
        }
        return g;
    }

    /** Position of the group in {@link #groups()}: the global order that fixes coordinate layouts. */
    public int groupIndex(String name) {
        for (int i = 0; i < groups.size(); i++) {
            if (groups.get(i).name().equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("unknown group '" + name + "'; declared groups: " + groupsByName.keySet());
    }

    /** @throws IllegalArgumentException if no leaf has this name */
    public LeafSpec leaf(String name) {
        for (LeafSpec l : leaves) {
            if (l.name().equals(name)) {
                return l;
            }
        }
        List<String> names = new ArrayList<>();
        leaves.forEach(l -> names.add(l.name()));
        throw new IllegalArgumentException("unknown leaf '" + name + "'; leaves: " + names);
    }

    /** The same layout with every group's type replaced by {@code type} (e.g. the CLI's {@code --group}). */
    public SymmetrySpec withGroupType(GroupType type) {
        List<Group> retyped = new ArrayList<>();
        for (Group g : groups) {
            retyped.add(new Group(g.name(), type, g.size()));
        }
        return new SymmetrySpec(retyped, leaves);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof SymmetrySpec s && groups.equals(s.groups) && leaves.equals(s.leaves);
    }

    @Override
    public int hashCode() {
        return Objects.hash(groups, leaves);
    }

    /** A readable listing: the groups, then one line per leaf with each axis's size and label. */
    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("SymmetrySpec (").append(parameterCount).append(" parameters)\n  groups:");
        if (groups.isEmpty()) {
            sb.append(" none");
        }
        for (Group g : groups) {
            sb.append(' ').append(g);
        }
        for (LeafSpec l : leaves) {
            sb.append("\n  ").append(l);
        }
        return sb.toString();
    }
}
