package org.symcurv.core.symmetry;

import java.util.ArrayList;
import java.util.List;

/**
 * A kind {@code κ}: one irreducible piece for every group of a spec, in the spec's group order
 * (symmetry-curvature.md section 3). A matrix commuting with the group acts on kind {@code κ} as
 * {@code I_{d_κ} ⊗ B_κ}. Kinds with {@link Piece#CHARACTER} pieces stand for a family of kinds, one per
 * combination of units of those {@code SIGN} groups.
 *
 * @param pieces one piece per group of the spec
 */
public record Kind(List<Piece> pieces) {
    public Kind {
        pieces = List.copyOf(pieces);
    }

    /** The invariant kind {@code κ0}: trivial on every group. */
    public boolean isInvariant() {
        return pieces.stream().allMatch(p -> p == Piece.TRIVIAL);
    }

    public Piece piece(int groupIndex) {
        return pieces.get(groupIndex);
    }

    /** A readable name such as {@code std@h0 ⊗ std@h1}, {@code char@h0} or {@code invariant}. */
    public String describe(List<Group> groups) {
        List<String> parts = new ArrayList<>();
        for (int g = 0; g < pieces.size(); g++) {
            if (pieces.get(g) != Piece.TRIVIAL) {
                parts.add(pieces.get(g).shortName() + "@" + groups.get(g).name());
            }
        }
        return parts.isEmpty() ? "invariant" : String.join(" ⊗ ", parts);
    }
}
