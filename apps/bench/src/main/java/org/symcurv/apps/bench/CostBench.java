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
import org.symcurv.apps.common.CnnArchitecture;
import org.symcurv.apps.common.HiddenActivation;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.apps.common.NetworkArchitecture;
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
 * minibatch of a full-resolution MLP or LeNet-style CNN ({@link CnnArchitecture}, as {@code train --arch lenet} builds
 * it), every time is a median over repeated runs after warm-up and is also given as a ratio to one DL4J
 * forward+backward pass ({@code computeGradientAndScore}) of the same batch. First, in interleaved rounds (one run of
 * each per round, so the machine's load hits all alike; the ratio is the median of the per-round ratios): the
 * forward+backward pass, the diagonal Fisher, the symmetric Fisher of the first group type on the chosen route and, on
 * a CNN, on the {@link FisherSource.Route#MATERIALISED} route (every leaf's per-example gradients materialised, the route
 * before the factored CNN route), with the goal "symmetric Fisher ≤ {@value #GOAL_RATIO}× forward+backward". Then per
 * group type:
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
    /** Issue 15's goal: one Fisher estimate from a batch costs at most this many DL4J forward+backward passes of it. */
    static final double GOAL_RATIO = 3.0;
    /** The kernel side of the benchmarked CNNs (LeNet's 5×5, as {@code train --arch lenet}'s default). */
    static final int CNN_KERNEL = 5;

    /**
     * @param conv            output channels of the CNN's convolution stages ({@value #CNN_KERNEL}×{@value #CNN_KERNEL}
     *                        kernels, 2×2 max pooling), e.g. [6, 16] for LeNet-5; empty for an MLP
     * @param hidden          hidden (dense) widths, e.g. [256, 256]
     * @param activation      hidden activation
     * @param batchSize       the minibatch every operation works on
     * @param trainSteps      Adam steps before measuring (so activations look like a trained network's)
     * @param learningRate    Adam step size
     * @param groups          group types measured
     * @param relativeDamping damping of {@code power(-1)} and of the Taylor inverse, relative to the largest eigenvalue
     * @param plan            warm-up, repeats and time budget of every measurement
     * @param route           how the Fisher gets its per-example information
     * @param comparePerExampleRoute also time the per-example route for the first group, as a reference
     * @param compareMaterialisedRoute on a CNN, also time the materialised route for the first group, as a reference
     * @param seed            seeds initialisation, training, the batch and the labels
     */
    record Settings(List<Integer> conv, List<Integer> hidden, HiddenActivation activation, int batchSize, int trainSteps, double learningRate,
                    List<GroupType> groups, double relativeDamping, Measurement.Plan plan, FisherSource.Route route,
                    boolean comparePerExampleRoute, boolean compareMaterialisedRoute, long seed) {
        Settings {
            conv = List.copyOf(conv);
            hidden = List.copyOf(hidden);
        }

        /** Whether the benchmarked network is a CNN. */
        boolean cnn() {
            return !conv.isEmpty();
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("architecture", cnn() ? "lenet" : "mlp");
            m.put("conv", conv);
            if (cnn()) {
                m.put("kernel", CNN_KERNEL);
            }
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
            m.put("compareMaterialisedRoute", compareMaterialisedRoute);
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

    /**
     * The interleaved headline: forward+backward, the diagonal Fisher, the symmetric Fisher on the chosen route and (CNN)
     * on the materialised route, for the first group type.
     *
     * @param group        the group type of the symmetric estimates
     * @param measurements in that order (the materialised one only on a CNN when asked)
     * @param ratios       per measurement the median per-round ratio to forward+backward
     * @param symmetric    index of the symmetric Fisher on the chosen route
     */
    record Headline(String group, List<Measurement> measurements, double[] ratios, int symmetric) {
        /** Whether the symmetric Fisher on the chosen route met the goal. */
        boolean goalMet() {
            return ratios[symmetric] <= GOAL_RATIO;
        }

        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("group", group);
            m.put("method", "interleaved rounds, one run of each per round; ratioToForwardBackward is the median over rounds of the "
                    + "run's time over that round's forward+backward");
            List<Map<String, Object>> rows = new ArrayList<>();
            for (int i = 0; i < measurements.size(); i++) {
                Map<String, Object> j = measurements.get(i).toJson();
                j.put("medianSeconds", measurements.get(i).medianMillis() / 1000);
                j.put("ratioToForwardBackward", ratios[i]);
                j.put("ratioOfMedians", measurements.get(i).medianMillis() / measurements.get(0).medianMillis());
                rows.add(j);
            }
            m.put("rows", rows);
            m.put("goalRatio", GOAL_RATIO);
            m.put("symmetricFisherRatio", ratios[symmetric]);
            m.put("goalMet", goalMet());
            return m;
        }
    }

    /** The whole cost part. */
    record Result(String architecture, long parameters, Measurement forwardBackward, Headline headline, Measurement factorsOnly,
                  Measurement perExampleRoute, String perExampleRouteGroup, long kfacFloats, long diagonalFloats, List<GroupCost> groups) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("architecture", architecture);
            m.put("parameters", parameters);
            m.put("forwardBackward", forwardBackward.toJson());
            m.put("headline", headline.toJson());
            m.put("fisherFactorsOnly", withRatio(factorsOnly, forwardBackward.medianMillis()));
            m.put("perExampleRouteGroup", perExampleRouteGroup);
            m.put("perExampleRouteFisherEstimate", withRatio(perExampleRoute, forwardBackward.medianMillis()));
            m.put("kfacFloats", kfacFloats);
            m.put("kfacConvention", "sum over dense layers of (nIn+1)^2 + nOut^2 and over convolutions of (in*kH*kW+1)^2 + out^2 "
                    + "(KFC): full square factors, bias folded into the input factor; our blocks are also stored as full squares");
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
        NetworkArchitecture architecture = settings.cnn()
                ? new CnnArchitecture(train.height(), train.width(), settings.conv(), CNN_KERNEL, true, settings.hidden(), settings.activation(),
                        train.numClasses())
                : new MlpArchitecture(train.featureCount(), settings.hidden(), settings.activation(), train.numClasses());
        MultiLayerNetwork net = new MultiLayerNetwork(architecture.configuration(settings.learningRate(), settings.seed()));
        net.init();
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
        Headline headline = headline(net, inferred, features, labels);
        Measurement factorsOnly = null;
        if (settings.route() == FisherSource.Route.FACTORED) {
            // the part of the factored route that does not depend on the group: activations, errors, label draws (and a CNN's kernel gradients)
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
        return new Result(architecture.describe(), architecture.parameterCount(), baseline, headline, factorsOnly, perExampleRoute, perExampleGroup,
                kfacFloats(net), architecture.parameterCount(), groups);
    }

    /** The interleaved forward+backward, diagonal and symmetric Fisher (both routes on a CNN) of the first group type. */
    private Headline headline(MultiLayerNetwork net, SymmetrySpec inferred, INDArray features, INDArray labels) {
        GroupType type = settings.groups().get(0);
        String group = BenchNames.group(type);
        KindDecomposition kinds = KindDecomposition.of(inferred.withGroupType(type));
        String route = settings.route().name().toLowerCase(Locale.ROOT).replace('_', '-');
        long[] labelSeed = {settings.seed() + 6};
        List<String> names = new ArrayList<>(List.of("DL4J forward+backward (computeGradientAndScore)", "diagonal Fisher (" + route + " route)",
                "symmetric Fisher, " + group + " (" + route + " route)"));
        List<Runnable> bodies = new ArrayList<>(List.of(() -> {
            net.setInput(features);
            net.setLabels(labels);
            net.computeGradientAndScore();
        }, () -> FisherSource.monteCarlo(features, labelSeed[0]++).withRoute(settings.route()).withBatchSize(Math.toIntExact(features.size(0)))
                .diagonal(net, inferred), () -> estimate(settings.route(), net, kinds, features, labelSeed[0]++)));
        if (settings.compareMaterialisedRoute() && settings.route() == FisherSource.Route.FACTORED && !PerExampleFactors.of(net).factors(inferred)) {
            names.add("symmetric Fisher, " + group + " (materialised route: every leaf's per-example gradients)");
            bodies.add(() -> estimate(FisherSource.Route.MATERIALISED, net, kinds, features, labelSeed[0]++));
        }
        Measurement.Interleaved timed = Measurement.interleaved(settings.plan(), names, bodies);
        net.clear();
        for (int i = 0; i < names.size(); i++) {
            progress.printf(Locale.ROOT, "[cost] interleaved: %-90s %8.3f s = %6.2f x fwd+bwd (median per-round ratio, %d rounds)%n", names.get(i),
                    timed.measurements().get(i).medianMillis() / 1000, timed.ratios()[i], timed.measurements().get(i).runs());
        }
        progress.flush();
        return new Headline(group, timed.measurements(), timed.ratios(), 2);
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

    /**
     * K-FAC's floats: {@code Σ_l (nIn_l + 1)² + nOut_l²} over the dense layers and {@code (in·kH·kW + 1)² + out²} over the
     * convolutions (KFC's patch and error factors), bias folded into the input factor.
     */
    static long kfacFloats(MultiLayerNetwork net) {
        long total = 0;
        for (int i = 0; i < net.getnLayers(); i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            if (conf instanceof org.deeplearning4j.nn.conf.layers.ConvolutionLayer c) {
                long in = c.getNIn() * c.getKernelSize()[0] * c.getKernelSize()[1] + 1;
                total += in * in + c.getNOut() * c.getNOut();
            } else if (conf instanceof org.deeplearning4j.nn.conf.layers.FeedForwardLayer f && net.getLayer(i).numParams() > 0) {
                total += (f.getNIn() + 1) * (f.getNIn() + 1) + f.getNOut() * f.getNOut();
            }
        }
        return total;
    }

    /**
     * The Monte Carlo Fisher estimate {@code (1/n) Σ_i R2(g_i, g_i)} from one batch of {@code features} ({@code [n, nIn]}),
     * labels drawn with {@code labelSeed}, by the core {@link FisherSource} on the given route: every route includes the
     * forward pass that gives the model's probabilities and the seeded draw of one label per example; the factored and
     * materialised routes accumulate in float32, the per-example route in float64.
     */
    static Curvature estimate(FisherSource.Route route, MultiLayerNetwork net, KindDecomposition kinds, INDArray features, long labelSeed) {
        return FisherSource.monteCarlo(features, labelSeed).withRoute(route).withBatchSize(Math.toIntExact(features.size(0)))
                .withAccumulatorType(route != FisherSource.Route.PER_EXAMPLE ? org.nd4j.linalg.api.buffer.DataType.FLOAT
                        : org.nd4j.linalg.api.buffer.DataType.DOUBLE)
                .symmetric(net, kinds.spec());
    }

    /** What a route does, for the report. */
    static String describe(FisherSource.Route route) {
        return switch (route) {
            case FACTORED -> "FisherSource.symmetric on the factored route: one batched forward and backward pass giving each layer's input "
                    + "activations and errors (a CNN's kernels' per-example gradients from one batched product), one label per example drawn "
                    + "from the model, then SymmetricFisherAccumulator (float32 accumulators)";
            case MATERIALISED -> "FisherSource.symmetric on the materialised route: on a CNN, every leaf's per-example gradients materialised "
                    + "from the walk's batched passes ([rows, P] chunks of at most " + FisherSource.MATERIALISED_ELEMENTS + " elements), then "
                    + "OrbitAverage.secondMoment (float32); on an MLP the factored route";
            case PER_EXAMPLE -> "FisherSource.symmetric on the per-example route: one DL4J backward pass per example ([64, P] chunks "
                    + "materialised), then OrbitAverage.secondMoment";
        };
    }
}
