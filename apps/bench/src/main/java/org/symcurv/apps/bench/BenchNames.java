package org.symcurv.apps.bench;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Set;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;

/** Names of the compared methods, and which group types are exact symmetries of a network. */
final class BenchNames {
    private BenchNames() {
    }

    /** The command-line name of a group type: {@code perm}, {@code sign}, {@code signed-perm}, {@code orth}. */
    static String group(GroupType type) {
        return type.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The group types that are exact symmetries of every hidden layer of a network whose inferred spec is
     * {@code inferred} (symmetry-curvature.md section 2): a subgroup of an exact symmetry group is exact too, so an
     * elementwise activation ({@code PERM}) allows {@code PERM} only, an odd one ({@code SIGNED_PERM}) also
     * {@code SIGN} and {@code SIGNED_PERM}, the identity ({@code ORTH}) all four. Empty for a spec without groups.
     */
    static Set<GroupType> exactSubgroups(SymmetrySpec inferred) {
        if (inferred.groups().isEmpty()) {
            return EnumSet.noneOf(GroupType.class);
        }
        Set<GroupType> exact = EnumSet.allOf(GroupType.class);
        for (Group g : inferred.groups()) {
            exact.retainAll(switch (g.type()) {
                case PERM -> EnumSet.of(GroupType.PERM);
                case SIGN -> EnumSet.of(GroupType.SIGN);
                case SIGNED_PERM -> EnumSet.of(GroupType.PERM, GroupType.SIGN, GroupType.SIGNED_PERM);
                case ORTH -> EnumSet.allOf(GroupType.class);
            });
        }
        return exact;
    }
}
