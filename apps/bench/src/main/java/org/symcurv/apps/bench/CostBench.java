package org.symcurv.apps.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.estimate.TaylorEstimator;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.PerExampleFactors;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Part 2 of {@code symcurv bench curvature}: cost at a realistic size (symmetry-curvature.md section 7). On one
 * minibatch of a full-resolution MLP, every time is a median over repeated runs after warm-up and is also given as a
 * ratio to one DL4J forward+backward pass ({@code computeGradientAndScore}) of the same batch:
 * <ul>
 *   <li>one Monte Carlo Fisher estimate from the batch (labels drawn from the model, per-example gradient
 *       information, orbit-averaged accumulation, the estimate), by the {@link FisherSource.Route} chosen;</li>
 *   <li>one {@link TaylorEstimator#observe} and one {@link TaylorEstimator#inverseHessian} (given the gradient);</li>
 *   <li>{@code power(-1)} of the Fisher estimate, and applying the result to a vector;</li>
 * </ul>
 * with the peak memory seen while each runs, the floats each operator stores, and the floats K-FAC would store for
 * the same network.
 */
final class CostBench {

    /**
     * @param hidden          hidden widths, e.g. [256, 256]
     * @param activation      hidden activation
     * @param batchSize       the minibatch every operation works on
     * @param trainSteps      Adam steps before measuring (so activations look like a trained network's)
     * @param learningRate    Adam step size
     * @param groups          group types measured
     * @param relativeDamping damping of {@code power(-1)} and of the Taylor inverse, relative to the largest eigenvalue
     * @param plan            warm-up, repeats and time budget of every measurement
     * @param route           how the Fisher gets its per-example information
     * @param comparePerExampleRoute also time the per-example route for the first group, as a reference
     * @param seed            seeds initialisation, training, the batch and the labels
     */
    record Settings(List<Integer> hidden, HiddenActivation activation, int batchSize, int trainSteps, double learningRate,
                    List<GroupType> groups, double relativeDamping, Measurement.Plan plan, FisherSource.Route route,
                    boolean comparePerExampleRoute, long seed) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("hidden", hidden);
            m.put("activation", activation.cliName());
            m.put("batchSize", batchSize);
            m.put("trainSteps", trainSteps);
            m.put("learningRate", learningRate);
            m.put("groups", groups.stream().map(BenchNames::group).toList());
            m.put("relativeDamping", relativeDamping);
            m.put("dampingScope", "global (relative to the largest eigenvalue of the whole operator)");
            m.put("warmups", plan.warmups());
            m.put("repeats", plan.repeats());
            m.put("budgetSecondsPerMeasurement", plan.budgetSeconds());
            m.put("fisherRoute", route.name());
            m.put("fisherRouteDescription", describe(route));
            m.put("comparePerExampleRoute", comparePerExampleRoute);
            m.put("seed", seed);
            return m;
        }
    }

    /** Measurements of one group type, or the reason it could not be measured. */
    record GroupCost(String group, long storedFloats, List<String> blocks, Measurement fisher, Measurement power,
                     Measurement apply, Measurement taylorObserve, Measurement taylorInverse, String failure) {
        Map<String, Object> toJson(double baselineMillis) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("group", group);
            m.put("storedFloats", storedFloats);
            m.put("blocks", blocks);
            put(m, "fisherEstimate", fisher, baselineMillis);
            put(m, "powerMinusOne", power, baselineMillis);
            put(m, "applyInverse", apply, baselineMillis);
            put(m, "taylorObserve", taylorObserve, baselineMillis);
            put(m, "taylorInverseHessian", taylorInverse, baselineMillis);
            m.put("failure", failure);
            return m;
        }

        private static void put(Map<String, Object> m, String key, Measurement x, double baselineMillis) {
            if (x == null) {
                m.put(key, null);
                return;
            }
            Map<String, Object> j = x.toJson();
            j.put("ratioToForwardBackward", x.medianMillis() / baselineMillis);
            m.put(key, j);
        }
    }

    /** The whole cost part. */
    record Result(String architecture, long parameters, Measurement forwardBackward, Measurement factorsOnly,
                  Measurement perExampleRoute, String perExampleRouteGroup, long kfacFloats, long diagonalFloats, List<GroupCost> groups) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("architecture", architecture);
            m.put("parameters", parameters);
            m.put("forwardBackward", forwardBackward.toJson());
            m.put("fisherFactorsOnly", withRatio(factorsOnly, forwardBackward.medianMillis()));
            m.put("perExampleRouteGroup", perExampleRouteGroup);
            m.put("perExampleRouteFisherEstimate", withRatio(perExampleRoute, forwardBackward.medianMillis()));
            m.put("kfacFloats", kfacFloats);
            m.put("kfacConvention", "sum over dense layers of (nIn+1)^2 + nOut^2: full square factors, bias folded into the "
                    + "input factor; our blocks are also stored as full squares");
            m.put("diagonalFloats", diagonalFloats);
            m.put("denseFloats", (double) parameters * parameters);
            m.put("groups", groups.stream().map(g -> g.toJson(forwardBackward.medianMillis())).toList());
            return m;
        }
    }

    private static Map<String, Object> withRatio(Measurement x, double baselineMillis) {
        if (x == null) {
            return null;
        }
        Map<String, Object> j = x.toJson();
        j.put("ratioToForwardBackward", x.medianMillis() / baselineMillis);
        return j;
    }

    private final Settings settings;
    private final PrintWriter progress;

    CostBench(Settings settings, PrintWriter progress) {
        this.settings = settings;
        this.progress = progress;
    }

    Result run(ImageDataSet train) {
        MlpArchitecture architecture = new MlpArchitecture(train.featureCount(), settings.hidden(), settings.activation(), train.numClasses());
        MultiLayerNetwork net = architecture.newNetwork(settings.learningRate(), settings.seed());
        BenchTraining.train(net, train, settings.trainSteps(), settings.batchSize(), settings.seed());
        ImageDataSet batch = train.sample(settings.batchSize(), settings.seed() + 3);
        INDArray features = batch.features();
        INDArray labels = batch.labelsOneHot();
        progress.printf(Locale.ROOT, "[cost] %s: %,d parameters, batch %d, %d Adam steps first%n", architecture.describe(),
                architecture.parameterCount(), settings.batchSize(), settings.trainSteps());
        progress.flush();

        Measurement baseline = Measurement.of("DL4J forward+backward (computeGradientAndScore)", settings.plan(), () -> {
            net.setInput(features);
            net.setLabels(labels);
            net.computeGradientAndScore();
        });
        net.clear();
        progress.printf(Locale.ROOT, "[cost] forward+backward: %.2f ms (median of %d)%n", baseline.medianMillis(), baseline.runs());
        progress.flush();

        INDArray weights = net.params().dup();
        INDArray gradient = Gradients.meanGradient(net, new DataSet(features, labels));
        SymmetrySpec inferred = SpecInference.infer(net);
        Measurement factorsOnly = null;
        if (settings.route() == FisherSource.Route.FACTORED) {
            // the part of the factored route that does not depend on the group: activations, errors, label draws
            PerExampleFactors factors = PerExampleFactors.of(net);
            long[] labelSeed = {settings.seed() + 5};
            factorsOnly = Measurement.of("Fisher factors only (PerExampleFactors.withSampledLabels)", settings.plan(),
                    () -> factors.withSampledLabels(features, 1, new Random(labelSeed[0]++), inferred));
            report("all", factorsOnly, baseline);
        }
        Measurement perExampleRoute = null;
        String perExampleGroup = null;
        if (settings.comparePerExampleRoute() && settings.route() != FisherSource.Route.PER_EXAMPLE) {
            perExampleGroup = BenchNames.group(settings.groups().get(0));
            KindDecomposition kinds = KindDecomposition.of(inferred.withGroupType(settings.groups().get(0)));
            long[] labelSeed = {settings.seed() + 4};
            perExampleRoute = Measurement.of("Fisher estimate by the per-example route", settings.plan(),
                    () -> estimate(FisherSource.Route.PER_EXAMPLE, net, kinds, features, labelSeed[0]++));
            report(perExampleGroup, perExampleRoute, baseline);
        }
        List<GroupCost> groups = new ArrayList<>();
        for (GroupType type : settings.groups()) {
            groups.add(measureGroup(net, inferred.withGroupType(type), BenchNames.group(type), features, weights, gradient, baseline));
        }
        return new Result(architecture.describe(), architecture.parameterCount(), baseline, factorsOnly, perExampleRoute, perExampleGroup,
                kfacFloats(architecture), architecture.parameterCount(), groups);
    }

    private GroupCost measureGroup(MultiLayerNetwork net, SymmetrySpec spec, String name, INDArray features, INDArray weights,
                                   INDArray gradient, Measurement baseline) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        List<String> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            blocks.add(kinds.describe(k) + ": " + (kinds.familySize(k) > 1 ? kinds.familySize(k) + " x " : "") + kinds.copies(k) + "x"
                    + kinds.copies(k) + " (d=" + kinds.dimension(k) + ")");
        }
        long stored = kinds.denseBlockFloats();
        Measurement fisher = null;
        Measurement power = null;
        Measurement apply = null;
        Measurement observe = null;
        Measurement inverse = null;
        try {
            Curvature[] estimate = new Curvature[1];
            long[] labelSeed = {settings.seed() + 4};
            fisher = Measurement.of("Fisher estimate, " + name, settings.plan(),
                    () -> estimate[0] = estimate(settings.route(), net, kinds, features, labelSeed[0]++));
            report(name, fisher, baseline);
            Damping damping = Damping.global(settings.relativeDamping());
            Curvature[] inv = new Curvature[1];
            power = Measurement.of("power(-1), " + name, settings.plan(), () -> inv[0] = estimate[0].power(-1.0, damping));
            report(name, power, baseline);
            apply = Measurement.of("apply power(-1), " + name, settings.plan(), () -> inv[0].multiply(gradient));
            report(name, apply, baseline);
            estimate[0] = null;
            inv[0] = null;

            TaylorEstimator taylor = new TaylorEstimator(kinds, TaylorEstimator.Options.DEFAULT);
            observe = Measurement.of("Taylor observe, " + name, settings.plan(), () -> taylor.observe(weights, gradient));
            report(name, observe, baseline);
            inverse = Measurement.of("Taylor inverseHessian, " + name, settings.plan(), () -> taylor.inverseHessian(damping));
            report(name, inverse, baseline);
            return new GroupCost(name, stored, blocks, fisher, power, apply, observe, inverse, null);
        } catch (RuntimeException | OutOfMemoryError e) {
            String failure = e.getClass().getSimpleName() + ": " + e.getMessage();
            progress.printf(Locale.ROOT, "[cost] %s: failed: %s%n", name, failure);
            progress.flush();
            return new GroupCost(name, stored, blocks, fisher, power, apply, observe, inverse, failure);
        }
    }

    private void report(String group, Measurement m, Measurement baseline) {
        progress.printf(Locale.ROOT, "[cost] %-11s %-34s %10.1f ms = %7.2f x fwd+bwd (median of %d), peak +%s MiB%n", group,
                m.what().replace(", " + group, ""), m.medianMillis(), m.medianMillis() / baseline.medianMillis(), m.runs(),
                Table.mebibytes(m.peakExtraBytes()));
        progress.flush();
    }

    /** K-FAC's floats: {@code Σ_l (nIn_l + 1)² + nOut_l²} over the dense layers (bias folded into the input factor). */
    static long kfacFloats(MlpArchitecture architecture) {
        long total = 0;
        int nIn = architecture.inputs();
        List<Integer> widths = new ArrayList<>(architecture.hidden());
        widths.add(architecture.classes());
        for (int nOut : widths) {
            total += (long) (nIn + 1) * (nIn + 1) + (long) nOut * nOut;
            nIn = nOut;
        }
        return total;
    }

    /**
     * The Monte Carlo Fisher estimate {@code (1/n) Σ_i R2(g_i, g_i)} from one batch of {@code features} ({@code [n, nIn]}),
     * labels drawn with {@code labelSeed}, by the core {@link FisherSource} on the given route: every route includes the
     * forward pass that gives the model's probabilities and the seeded draw of one label per example; the factored route
     * accumulates in float32, the per-example route in float64.
     */
    static Curvature estimate(FisherSource.Route route, MultiLayerNetwork net, KindDecomposition kinds, INDArray features, long labelSeed) {
        return FisherSource.monteCarlo(features, labelSeed).withRoute(route).withBatchSize(Math.toIntExact(features.size(0)))
                .withAccumulatorType(route == FisherSource.Route.FACTORED ? org.nd4j.linalg.api.buffer.DataType.FLOAT
                        : org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .symmetric(net, kinds.spec());
    }

    /** What a route does, for the report. */
    static String describe(FisherSource.Route route) {
        return switch (route) {
            case FACTORED -> "FisherSource.symmetric on the factored route: one batched forward and backward pass giving each layer's input "
                    + "activations and errors, one label per example drawn from the model, then SymmetricFisherAccumulator (float32 accumulators)";
            case MATERIALISED -> "FisherSource.symmetric on the materialised route: on a CNN, every leaf's per-example gradients materialised "
                    + "from the walk's batched passes ([rows, P] chunks of at most " + FisherSource.MATERIALISED_ELEMENTS + " elements), then "
                    + "OrbitAverage.secondMoment (float32); on an MLP the factored route";
            case PER_EXAMPLE -> "FisherSource.symmetric on the per-example route: one DL4J backward pass per example ([64, P] chunks "
                    + "materialised), then OrbitAverage.secondMoment";
        };
    }
}
