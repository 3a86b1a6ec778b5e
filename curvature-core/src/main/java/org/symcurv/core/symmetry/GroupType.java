package org.symcurv.core.symmetry;

/**
 * The compact groups that act on one axis {@code R^n} of the parameters, and how each splits it into
 * irreducible pieces (Artemev et al., ICML 2026, arXiv:2606.00442; symmetry-curvature.md section 2).
 *
 * <table>
 *   <caption>pieces of R^n</caption>
 *   <tr><th>type</th><th>group</th><th>pieces</th><th>exact symmetry of</th></tr>
 *   <tr><td>PERM</td><td>S_n</td><td>mean span(1) (dim 1) + centred 1⊥ (dim n-1)</td><td>any elementwise activation</td></tr>
 *   <tr><td>SIGN</td><td>Z_2^n</td><td>one character per unit (n pieces of dim 1)</td><td>odd activations</td></tr>
 *   <tr><td>SIGNED_PERM</td><td>signed permutations</td><td>the whole space (dim n)</td><td>odd activations</td></tr>
 *   <tr><td>ORTH</td><td>O(n)</td><td>the whole space (dim n)</td><td>identity activation</td></tr>
 * </table>
 */
public enum GroupType {
    /** Permutations of the units: {@code R^n = span(1) ⊕ 1⊥}. */
    PERM,
    /** Independent sign flips of the units: {@code R^n = ⊕_i span(e_i)}, each a distinct character. */
    SIGN,
    /** Signed permutations: {@code R^n} is irreducible. */
    SIGNED_PERM,
    /** Orthogonal group {@code O(n)}: {@code R^n} is irreducible. */
    ORTH;

    /** Whether the group has a nonzero fixed vector on its axis (only {@code PERM}: the constant vector). */
    public boolean hasTrivialPiece() {
        return this == PERM;
    }

    /**
     * Whether every element of this group is an element of {@code other} (as orthogonal matrices on {@code R^n}):
     * {@code PERM ⊂ SIGNED_PERM ⊂ ORTH} and {@code SIGN ⊂ SIGNED_PERM}. A subgroup of an exact symmetry group is
     * an exact symmetry too.
     */
    public boolean isSubgroupOf(GroupType other) {
        return this == other || other == ORTH || (other == SIGNED_PERM && (this == PERM || this == SIGN));
    }

    /** The user-facing name: {@code perm}, {@code sign}, {@code signed-perm}, {@code orth}. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
    }

    /** Parses a user-facing name such as {@code perm}, {@code signed-perm} or {@code SIGNED_PERM}. */
    public static GroupType parse(String name) {
        String key = name.trim().toUpperCase(java.util.Locale.ROOT).replace('-', '_');
        for (GroupType t : values()) {
            if (t.name().equals(key)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown group type '" + name
                + "': expected one of perm, sign, signed-perm, orth");
    }
}
