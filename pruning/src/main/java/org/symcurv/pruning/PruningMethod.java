package org.symcurv.pruning;

import java.util.Locale;

/**
 * How a weight {@code q} is scored for removal, and whether the remaining weights are moved to compensate
 * (LeCun et al. 1990, Hassibi and Stork 1993; symmetry-curvature.md section 9):
 *
 * <ul>
 *   <li>{@link #MAGNITUDE}: saliency {@code w_q²}, no update (the baseline);</li>
 *   <li>{@link #OBD}: saliency {@code w_q² F_qq / 2} with {@code F_qq} the diagonal of the symmetry-averaged
 *       Fisher ({@code Curvature.diagonal()}), no update;</li>
 *   <li>{@link #OBS_DIAGONAL}: saliency {@code w_q² / (2 [F̃⁻¹]_qq)} and update {@code −w_q F̃⁻¹ e_q / [F̃⁻¹]_qq} on a
 *       diagonal Fisher {@code F = diag(E[g_q²])}; with a diagonal {@code F} the update only zeroes {@code w_q}, so
 *       this is classical OBD on the true Fisher diagonal (with damping);</li>
 *   <li>{@link #OBS_SYMMETRY}: the same formulas on the symmetry-averaged Fisher {@code F = (1/N) Σ_i R2(g_i, g_i)},
 *       whose inverse couples weights within and across layers, so the update moves the weights that remain.</li>
 * </ul>
 *
 * {@code F̃ = F + c·I} is the damped Fisher ({@link ObsDamping}).
 */
public enum PruningMethod {
    MAGNITUDE(FisherKind.NONE, false),
    OBD(FisherKind.SYMMETRY, false),
    OBS_DIAGONAL(FisherKind.DIAGONAL, true),
    OBS_SYMMETRY(FisherKind.SYMMETRY, true);

    /** Which Fisher a method needs. */
    public enum FisherKind {
        /** No curvature at all. */
        NONE,
        /** The symmetry-averaged Fisher in the network's inferred structure. */
        SYMMETRY,
        /** The diagonal of the Fisher. */
        DIAGONAL
    }

    private final FisherKind fisher;
    private final boolean inverse;

    PruningMethod(FisherKind fisher, boolean inverse) {
        this.fisher = fisher;
        this.inverse = inverse;
    }

    /** The Fisher this method scores with. */
    public FisherKind fisher() {
        return fisher;
    }

    /** Whether the method uses the damped inverse {@code F̃⁻¹} (OBS), which also gives it a compensating update. */
    public boolean isObs() {
        return inverse;
    }

    /** The command-line name: {@code magnitude}, {@code obd}, {@code obs-diagonal}, {@code obs} (OBS on the symmetry Fisher). */
    public String cliName() {
        return switch (this) {
            case MAGNITUDE -> "magnitude";
            case OBD -> "obd";
            case OBS_DIAGONAL -> "obs-diagonal";
            case OBS_SYMMETRY -> "obs";
        };
    }

    /** A label for tables: {@code magnitude}, {@code OBD}, {@code OBS-diagonal}, {@code OBS-symmetry}. */
    public String label() {
        return switch (this) {
            case MAGNITUDE -> "magnitude";
            case OBD -> "OBD";
            case OBS_DIAGONAL -> "OBS-diagonal";
            case OBS_SYMMETRY -> "OBS-symmetry";
        };
    }

    /**
     * Reads a command-line name (case-insensitive; {@code obs-symmetry} is accepted for {@code obs}).
     *
     * @throws IllegalArgumentException listing the known names
     */
    public static PruningMethod fromCliName(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT).replace('_', '-');
        if (n.equals("obs-symmetry")) {
            return OBS_SYMMETRY;
        }
        for (PruningMethod m : values()) {
            if (m.cliName().equals(n)) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown pruning method '" + name + "'; choose one of magnitude, obd, obs-diagonal, obs");
    }
}
