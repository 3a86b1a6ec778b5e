package org.symcurv.continual;

import java.util.Locale;

/**
 * How earlier tasks are protected: EWC with the symmetry-averaged Fisher (symmetry-curvature.md 5.2), EWC with the usual
 * diagonal Fisher (Kirkpatrick et al., 2017), or nothing (plain fine-tuning, the lower baseline). All three run through the
 * same code path; fine-tuning simply never adds a penalty.
 */
public enum ContinualMethod {
    /** EWC on the symmetry-averaged Monte Carlo Fisher, groups inferred from the activations. */
    EWC_SYMMETRY("ewc-symmetry"),
    /** EWC on the diagonal Monte Carlo Fisher ({@code SIGN} on every axis: the orbit average keeps exactly the diagonal). */
    EWC_DIAGONAL("ewc-diagonal"),
    /** No penalty. */
    FINETUNE("finetune");

    private final String cliName;

    ContinualMethod(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** Whether the method consolidates a Fisher at task ends. */
    public boolean usesFisher() {
        return this != FINETUNE;
    }

    /**
     * @throws IllegalArgumentException listing the names for an unknown one
     */
    public static ContinualMethod parse(String name) {
        for (ContinualMethod m : values()) {
            if (m.cliName.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown method '" + name + "'; choose one of ewc-symmetry, ewc-diagonal, finetune");
    }
}
