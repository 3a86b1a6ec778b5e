package org.symcurv.optimizer;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import java.util.function.UnaryOperator;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * A recipe: a named chain of transform settings, each link its own record, applied first to last (Optax's
 * {@code chain}). The named recipes ({@link #defaults}) are
 * <pre>
 *   adam      = adam → schedule                         adamw    = adam → decoupled decay → schedule
 *   sgd       = momentum → schedule                     muon     = muon (Adam on non-matrices) → schedule
 *   shampoo   = shampoo (Adam on non-matrices) → schedule
 *   symmetry  = symmetry (Adam on the invariant kind) → schedule
 * </pre>
 * and {@link #withClipNorm} puts gradient clipping in front, {@link #withWeightDecay} decoupled decay before the
 * schedule. Immutable; the {@code with…} methods return modified copies.
 *
 * @param name  the recipe's name, e.g. {@code "adamw"} (what {@link Optimizer#describe} starts with)
 * @param links the transforms' settings, first applied first
 */
public record OptimizerSettings(String name, List<TransformSettings> links) {
    public OptimizerSettings {
        Objects.requireNonNull(name, "name");
        links = List.copyOf(links);
        if (links.isEmpty()) {
            throw new IllegalArgumentException("a recipe needs at least one transform");
        }
    }

    /**
     * The defaults of a recipe, at a constant learning rate: adam/adamw 1e-3 (β 0.9/0.999; adamw λ 1e-2), sgd 0.05 with
     * momentum 0.9, muon 2e-3 (μ 0.95, Nesterov, 5 Newton–Schulz steps), shampoo 1e-3 (β 0.9/0.99, damping 1e-4,
     * refresh 10), symmetry 0.03 (β 0.9/0.99, damping 1e-2 per block, refresh 10, Adam at 2e-3 on the invariant kind). The
     * symmetry step does not shrink with the gradient (section 5.1): pair it with a decaying schedule.
     */
    public static OptimizerSettings defaults(Recipe recipe) {
        Adam.Settings adam = Adam.Settings.DEFAULT;
        return switch (recipe) {
            case ADAM -> of(recipe, adam, 1e-3);
            case ADAMW -> of(recipe, List.of(adam, new DecoupledWeightDecay.Settings(1e-2)), 1e-3);
            case SGD -> of(recipe, new Momentum.Settings(0.9, false), 0.05);
            case MUON -> of(recipe, new Muon.Settings(0.95, true, Muon.Polar.NEWTON_SCHULZ, 5, adam), 2e-3);
            case SHAMPOO -> of(recipe, new Shampoo.Settings(0.9, 0.99, 1e-4, 10, adam.withBetas(0.9, 0.99)), 1e-3);
            case SYMMETRY -> of(recipe, SymmetryPreconditioner.Settings.DEFAULT, 0.03);
        };
    }

    private static OptimizerSettings of(Recipe recipe, TransformSettings direction, double rate) {
        return of(recipe, List.of(direction), rate);
    }

    private static OptimizerSettings of(Recipe recipe, List<TransformSettings> links, double rate) {
        List<TransformSettings> chain = new ArrayList<>(links);
        chain.add(new ScaleBySchedule.Settings(LearningRateSchedule.constant(rate)));
        return new OptimizerSettings(recipe.cliName(), chain);
    }

    /** The first link of this type, if any. */
    public <T extends TransformSettings> Optional<T> link(Class<T> type) {
        return links.stream().filter(type::isInstance).map(type::cast).findFirst();
    }

    /** Every link of this type changed by {@code change} (the others, and a recipe without such a link, unchanged). */
    public <T extends TransformSettings> OptimizerSettings with(Class<T> type, UnaryOperator<T> change) {
        List<TransformSettings> out = new ArrayList<>();
        for (TransformSettings t : links) {
            out.add(type.isInstance(t) ? change.apply(type.cast(t)) : t);
        }
        return new OptimizerSettings(name, out);
    }

    /** The schedule link's {@code η_t}. @throws IllegalStateException when the recipe has no schedule */
    public LearningRateSchedule schedule() {
        return link(ScaleBySchedule.Settings.class).map(ScaleBySchedule.Settings::schedule)
                .orElseThrow(() -> new IllegalStateException("the recipe " + name + " has no learning-rate schedule"));
    }

    /** The schedule replaced (or appended as the last link). */
    public OptimizerSettings withSchedule(LearningRateSchedule schedule) {
        ScaleBySchedule.Settings s = new ScaleBySchedule.Settings(schedule);
        if (link(ScaleBySchedule.Settings.class).isPresent()) {
            return with(ScaleBySchedule.Settings.class, old -> s);
        }
        List<TransformSettings> out = new ArrayList<>(links);
        out.add(s);
        return new OptimizerSettings(name, out);
    }

    /** Decoupled weight decay {@code λ} just before the schedule ({@code 0}: none; an existing decay is replaced). */
    public OptimizerSettings withWeightDecay(double rate) {
        Vectors.requireNonNegative(rate, "weight decay");
        List<TransformSettings> out = new ArrayList<>(links);
        out.removeIf(t -> t instanceof DecoupledWeightDecay.Settings);
        if (rate > 0) {
            int at = out.size();
            for (int i = 0; i < out.size(); i++) {
                if (out.get(i) instanceof ScaleBySchedule.Settings) {
                    at = i;
                }
            }
            out.add(at, new DecoupledWeightDecay.Settings(rate));
        }
        return new OptimizerSettings(name, out);
    }

    /** Gradient clipping to the global norm {@code c} as the first link ({@code 0}: none; existing clipping is replaced). */
    public OptimizerSettings withClipNorm(double maxNorm) {
        Vectors.requireNonNegative(maxNorm, "gradient clipping norm");
        List<TransformSettings> out = new ArrayList<>(links);
        out.removeIf(t -> t instanceof ClipByGlobalNorm.Settings);
        if (maxNorm > 0) {
            out.add(0, new ClipByGlobalNorm.Settings(maxNorm));
        }
        return new OptimizerSettings(name, out);
    }

    /**
     * The optimizer for {@code net}: the layout is its parameter leaves; a symmetry link takes the spec inferred from its
     * layers (unknown layers become {@code FREE}).
     */
    public Optimizer build(MultiLayerNetwork net) {
        SymmetrySpec layout = new SymmetrySpec(List.of(), ParameterLayout.ofAnyLayers(net).leafSpecs());
        return build(layout, () -> SpecInference.infer(net, SpecInference.Options.defaults().withTreatUnknownLayersAsFree(true)));
    }

    /** The optimizer over a given spec: its leaves are the layout, its groups those of a symmetry link. */
    public Optimizer build(SymmetrySpec spec) {
        return build(spec, () -> spec);
    }

    private Optimizer build(SymmetrySpec layout, Supplier<SymmetrySpec> groups) {
        double peak = link(ScaleBySchedule.Settings.class).map(s -> s.schedule().peak()).orElse(1.0);
        SymmetrySpec[] inferred = new SymmetrySpec[1];
        TransformSettings.Target target = new TransformSettings.Target(layout, () -> {
            if (inferred[0] == null) {
                inferred[0] = groups.get();
            }
            return inferred[0];
        }, peak);
        List<Preconditioner<?>> built = new ArrayList<>();
        for (TransformSettings t : links) {
            built.add(t.build(target));
        }
        return new Optimizer(name, layout, built);
    }

    /** A one-line summary: the name and the schedule. */
    public String describe() {
        return link(ScaleBySchedule.Settings.class).map(s -> name + ", lr " + s.schedule().describe()).orElse(name);
    }
}
