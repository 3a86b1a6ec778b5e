package org.symcurv.core.symmetry;

/**
 * Which irreducible piece of one group's axis a {@link Kind} takes (symmetry-curvature.md section 3).
 */
public enum Piece {
    /**
     * The trivial piece: for {@code PERM} the constant vector {@code span(1)} (dimension 1), and the label a
     * kind carries for every group that does not act on a contributing leaf.
     */
    TRIVIAL,
    /**
     * The nontrivial piece of dimension above one: {@code 1⊥} (dimension {@code n-1}) for {@code PERM}, the
     * whole {@code R^n} for {@code SIGNED_PERM} and {@code ORTH}.
     */
    STANDARD,
    /**
     * The {@code SIGN} characters {@code χ_i}, one per unit: a family of {@code n} distinct kinds of dimension 1
     * that share their shape, stored together as one batched block.
     */
    CHARACTER;

    String shortName() {
        return switch (this) {
            case TRIVIAL -> "triv";
            case STANDARD -> "std";
            case CHARACTER -> "char";
        };
    }
}
