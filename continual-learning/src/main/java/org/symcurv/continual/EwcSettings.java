package org.symcurv.continual;

import java.util.Locale;
import java.util.Objects;

/**
 * The continual-learning settings of a learner.
 *
 * @param method          the Fisher used (or none)
 * @param mode            separate anchors or one online Fisher
 * @param lambda          {@code λ ≥ 0}, the penalty's strength
 * @param gamma           {@code γ ∈ [0, 1]}, the online mode's decay of older Fishers (ignored by separate mode)
 * @param fisherBatchSize examples per forward/backward pass of a consolidation (memory only; the result does not depend on it
 *                        beyond round-off)
 */
public record EwcSettings(ContinualMethod method, EwcMode mode, double lambda, double gamma, int fisherBatchSize) {
    public EwcSettings {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(mode, "mode");
        if (!(lambda >= 0) || Double.isInfinite(lambda)) {
            throw new IllegalArgumentException("the EWC strength λ must be a finite number ≥ 0, got " + lambda);
        }
        if (!(gamma >= 0 && gamma <= 1)) {
            throw new IllegalArgumentException("the online decay γ must lie in [0, 1], got " + gamma);
        }
        if (fisherBatchSize < 1) {
            throw new IllegalArgumentException("the Fisher batch size must be at least 1, got " + fisherBatchSize);
        }
    }

    /** {@code method} in separate mode at strength {@code λ}, {@code γ = 1}, Fisher batches of 256. */
    public static EwcSettings of(ContinualMethod method, double lambda) {
        return new EwcSettings(method, EwcMode.SEPARATE, lambda, 1.0, 256);
    }

    public EwcSettings withMode(EwcMode m, double g) {
        return new EwcSettings(method, m, lambda, g, fisherBatchSize);
    }

    public EwcSettings withLambda(double l) {
        return new EwcSettings(method, mode, l, gamma, fisherBatchSize);
    }

    public String describe() {
        if (!method.usesFisher()) {
            return method.cliName();
        }
        return String.format(Locale.ROOT, "%s, %s, λ %s%s", method.cliName(), mode.cliName(), lambda,
                mode == EwcMode.ONLINE ? ", γ " + gamma : "");
    }
}
