package org.symcurv.optimizer;

import java.util.Locale;

/** The named optimizers ({@code symcurv train --optimizer NAME}); {@link OptimizerSettings#defaults} gives each one's settings. */
public enum Recipe {
    /** The symmetry-preconditioned Taylor estimate, {@link SymmetryPreconditioner}. */
    SYMMETRY,
    /** {@link Shampoo}. */
    SHAMPOO,
    /** {@link Muon}. */
    MUON,
    /** {@link Adam}. */
    ADAM,
    /** Adam with decoupled weight decay. */
    ADAMW,
    /** SGD with (optionally Nesterov) momentum, {@link Momentum}. */
    SGD;

    /** The lower-case command-line name. */
    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * Reads a command-line name, ignoring case.
     *
     * @throws IllegalArgumentException listing the names for an unknown one
     */
    public static Recipe parse(String name) {
        for (Recipe r : values()) {
            if (r.cliName().equalsIgnoreCase(name.trim())) {
                return r;
            }
        }
        throw new IllegalArgumentException("unknown optimizer '" + name + "'; choose one of symmetry, shampoo, muon, adam, adamw, sgd");
    }
}
