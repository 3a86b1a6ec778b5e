package org.symcurv.optimizer;

import java.util.Objects;
import java.util.function.Supplier;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The settings of one link of a recipe's chain ({@link OptimizerSettings}): an immutable record that builds its
 * {@link Preconditioner}. Each transform has its own record ({@link Adam.Settings}, {@link ClipByGlobalNorm.Settings},
 * {@link SymmetryPreconditioner.Settings}, …) holding only what that transform uses.
 */
public interface TransformSettings {

    /**
     * What a link may need to know about the network it is built for.
     *
     * @param layout   the parameter leaves (labels ignored), {@code P} parameters in the network's {@code params()} order
     * @param groups   the symmetry spec inferred from the network's layers (computed on first use)
     * @param peakRate the chain's peak learning rate ({@code 1} when it has no schedule)
     */
    record Target(SymmetrySpec layout, Supplier<SymmetrySpec> groups, double peakRate) {
        public Target {
            Objects.requireNonNull(layout, "layout");
            Objects.requireNonNull(groups, "groups");
        }
    }

    /**
     * The transform for {@code target}.
     *
     * @throws IllegalArgumentException naming the setting when the settings do not fit the target
     */
    Preconditioner<?> build(Target target);
}
