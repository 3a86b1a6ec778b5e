package org.symcurv.continual;

import java.util.Locale;

/**
 * How consolidations combine (Schwarz et al., 2018, for the online form).
 * <ul>
 *   <li>{@link #SEPARATE}: one anchor and Fisher per finished task, {@code Σ_t ½λ (θ − θ*_t)ᵀ F_t (θ − θ*_t)};</li>
 *   <li>{@link #ONLINE}: one running Fisher {@code F̃_t = γ F̃_{t−1} + F_t} anchored at the latest {@code θ*_t},
 *       {@code ½λ (θ − θ*_t)ᵀ F̃_t (θ − θ*_t)}.</li>
 * </ul>
 */
public enum EwcMode {
    SEPARATE, ONLINE;

    public String cliName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /**
     * @throws IllegalArgumentException naming the choices for an unknown one
     */
    public static EwcMode parse(String name) {
        for (EwcMode m : values()) {
            if (m.cliName().equals(name.trim().toLowerCase(Locale.ROOT))) {
                return m;
            }
        }
        throw new IllegalArgumentException("unknown EWC mode '" + name + "'; choose separate or online");
    }
}
