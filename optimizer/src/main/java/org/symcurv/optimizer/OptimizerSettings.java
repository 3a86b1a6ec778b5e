package org.symcurv.optimizer;

import java.util.Locale;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.estimate.TaylorEstimator.InvariantPolicy;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Everything that defines one optimizer run: the recipe and its hyperparameters. Settings a recipe does not use are
 * ignored by it (e.g. {@code damping} by Adam). Immutable; {@code with…} methods return modified copies.
 *
 * @param recipe             the named optimizer
 * @param schedule           the learning rate {@code η_t}
 * @param weightDecay        decoupled weight decay {@code λ} on matrix leaves ({@code 0}: none)
 * @param clipNorm           global gradient-norm clipping ({@code 0}: none)
 * @param beta1              momentum rate (Adam, Shampoo, symmetry)
 * @param beta2              second-moment EMA rate (Adam, Shampoo, symmetry)
 * @param epsilon            Adam's {@code ε} (also for the Adam parts of the other recipes)
 * @param momentum           SGD's and Muon's {@code μ}
 * @param nesterov           Nesterov momentum (SGD, Muon)
 * @param refreshInterval    inverse recomputed every this many steps (Shampoo, symmetry)
 * @param statisticsInterval {@code S_g} updated every this many steps (symmetry)
 * @param damping            relative damping (Shampoo uses its {@code λ} per factor, symmetry its scope too)
 * @param invariantPolicy    the symmetry recipe's treatment of the invariant kind
 * @param groupType          replaces every inferred group's type (symmetry), or null to infer from the activations
 * @param polar              Muon's polar factor
 * @param newtonSchulzSteps  Muon's Newton–Schulz iterations
 * @param invariantLearningRate the symmetry recipe's peak rate for its Adam-style invariant part (it follows the same
 *                           schedule shape); {@code 0} means the main rate
 */
public record OptimizerSettings(Recipe recipe, LearningRateSchedule schedule, double weightDecay, double clipNorm,
                                double beta1, double beta2, double epsilon, double momentum, boolean nesterov,
                                int refreshInterval, int statisticsInterval, Damping damping, InvariantPolicy invariantPolicy,
                                GroupType groupType, Muon.Polar polar, int newtonSchulzSteps, double invariantLearningRate) {
    public OptimizerSettings {
        Objects.requireNonNull(recipe, "recipe");
        Objects.requireNonNull(schedule, "schedule");
        Objects.requireNonNull(damping, "damping");
        Objects.requireNonNull(invariantPolicy, "invariantPolicy");
        Objects.requireNonNull(polar, "polar");
        if (!(invariantLearningRate >= 0) || Double.isInfinite(invariantLearningRate)) {
            throw new IllegalArgumentException("the invariant part's learning rate must be ≥ 0 (0: the main rate), got " + invariantLearningRate);
        }
    }

    /**
     * The defaults of a recipe, at a constant learning rate: adam/adamw 1e-3 (β 0.9/0.999; adamw λ 1e-2), sgd 0.05 with
     * momentum 0.9, muon 2e-3 (μ 0.95, Nesterov, 5 Newton–Schulz steps), shampoo 1e-3 (β 0.9/0.99, damping 1e-4,
     * refresh 10), symmetry 0.03 (β 0.9/0.99, damping 1e-2 per block, refresh 10, Adam at 2e-3 on the invariant kind). The
     * symmetry step does not shrink with the gradient (section 5.1): pair it with a decaying schedule.
     */
    public static OptimizerSettings defaults(Recipe recipe) {
        double lr = switch (recipe) {
            case ADAM, ADAMW, SHAMPOO -> 1e-3;
            case SGD -> 0.05;
            case MUON -> 2e-3;
            case SYMMETRY -> 0.03;
        };
        double beta2 = recipe == Recipe.SHAMPOO || recipe == Recipe.SYMMETRY ? 0.99 : 0.999;
        double damping = recipe == Recipe.SHAMPOO ? 1e-4 : 1e-2;
        return new OptimizerSettings(recipe, LearningRateSchedule.constant(lr), recipe == Recipe.ADAMW ? 1e-2 : 0.0, 0.0,
                0.9, beta2, 1e-8, recipe == Recipe.MUON ? 0.95 : 0.9, recipe == Recipe.MUON, 10, 1,
                recipe == Recipe.SHAMPOO ? Damping.global(damping) : Damping.perBlock(damping), InvariantPolicy.ADAM, null,
                Muon.Polar.NEWTON_SCHULZ, 5, recipe == Recipe.SYMMETRY ? 2e-3 : 0.0);
    }

    public OptimizerSettings withSchedule(LearningRateSchedule s) {
        return new OptimizerSettings(recipe, s, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withWeightDecay(double wd) {
        return new OptimizerSettings(recipe, schedule, wd, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withClipNorm(double c) {
        return new OptimizerSettings(recipe, schedule, weightDecay, c, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withBetas(double b1, double b2) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, b1, b2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withEpsilon(double e) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, e, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withMomentum(double mu, boolean useNesterov) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, mu, useNesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withRefreshInterval(int k) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, k,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withStatisticsInterval(int s) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                s, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withDamping(Damping d) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, d, invariantPolicy, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withInvariantPolicy(InvariantPolicy p) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, p, groupType, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withGroupType(GroupType t) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, t, polar, newtonSchulzSteps, invariantLearningRate);
    }

    public OptimizerSettings withInvariantLearningRate(double rate) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, polar, newtonSchulzSteps, rate);
    }

    public OptimizerSettings withPolar(Muon.Polar p, int steps) {
        return new OptimizerSettings(recipe, schedule, weightDecay, clipNorm, beta1, beta2, epsilon, momentum, nesterov, refreshInterval,
                statisticsInterval, damping, invariantPolicy, groupType, p, steps, invariantLearningRate);
    }

    /**
     * The optimizer for {@code net}: the symmetry recipe infers the spec from its layers (unknown layers become
     * {@code FREE}), the others take its parameter layout.
     */
    public Optimizer<?> build(MultiLayerNetwork net) {
        SymmetrySpec layout = new SymmetrySpec(java.util.List.of(), ParameterLayout.ofAnyLayers(net).leafSpecs());
        if (recipe != Recipe.SYMMETRY) {
            return build(layout);
        }
        SpecInference.Options inference = SpecInference.Options.defaults().withTreatUnknownLayersAsFree(true);
        if (groupType != null) {
            inference = inference.withGroupType(groupType);
        }
        return build(SpecInference.infer(net, inference));
    }

    /**
     * The optimizer over a given spec: its leaves are the layout; the symmetry recipe uses its groups as given
     * ({@link #groupType()} still replaces their types when set).
     */
    public Optimizer<?> build(SymmetrySpec spec) {
        Adam adam = new Adam(beta1, beta2, epsilon);
        return switch (recipe) {
            case ADAM, ADAMW -> new Optimizer<>(recipe.cliName(), adam, schedule, weightDecay, clipNorm, spec);
            case SGD -> new Optimizer<>("sgd", new Momentum(momentum, nesterov), schedule, weightDecay, clipNorm, spec);
            case MUON -> new Optimizer<>("muon", new Muon(spec, momentum, nesterov, polar, newtonSchulzSteps, adam), schedule,
                    weightDecay, clipNorm, spec);
            case SHAMPOO -> new Optimizer<>("shampoo", new Shampoo(spec, beta1, beta2, damping.relative(), refreshInterval, adam),
                    schedule, weightDecay, clipNorm, spec);
            case SYMMETRY -> new Optimizer<>("symmetry", new SymmetryPreconditioner(groupType == null ? spec : spec.withGroupType(groupType),
                    new SymmetryPreconditioner.Options(beta1, beta2, damping, refreshInterval, statisticsInterval, invariantPolicy, epsilon,
                            invariantLearningRate == 0 ? 1.0 : invariantLearningRate / schedule.peak())),
                    schedule, weightDecay, clipNorm, spec);
        };
    }

    /** A one-line summary of the settings the recipe uses. */
    public String describe() {
        return String.format(Locale.ROOT, "%s, lr %s", recipe.cliName(), schedule.describe());
    }
}
