package org.symcurv.apps.bench;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.apps.common.MlpArchitecture;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.ExactCurvature;
import org.symcurv.core.operator.KroneckerCurvature;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.Damping;
import org.symcurv.core.operator.SymmetricEigen;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * Part 1 of {@code symcurv bench curvature}: fidelity against memory on small MLPs (symmetry-curvature.md section
 * 5.3). For a trained network, the exact Hessian {@code H} and GGN {@code G} of the mean loss over a fixed evaluation
 * sample (float64, {@link ExactCurvature}), and for each structure — no structure ("dense"), each group type on the
 * hidden units, and the diagonal ({@link Presets#diagonal}) —
 * <ul>
 *   <li>structure error {@code ‖X − proj(X)‖_F / ‖X‖_F}, {@code proj} the exact orbit average
 *       ({@link OrbitAverage#project}), the best approximation inside the structure;</li>
 *   <li>estimation error {@code ‖proj(X) − F̂‖_F / ‖X‖_F} and total error {@code ‖X − F̂‖_F / ‖X‖_F}, where
 *       {@code F̂ = (1/N) Σ_i R2(g_i, g_i)} is the symmetry-averaged Monte Carlo Fisher of {@code N} training examples
 *       (labels drawn from the model's softmax with a seeded generator, gradients in float64);</li>
 *   <li>stored floats, and what a consumer feels: the cosine between the damped step {@code (S + λI)⁻¹ g} and the
 *       exact {@code (G + λI)⁻¹ g} for the evaluation mean gradient {@code g}, {@code λ} relative to the largest
 *       eigenvalue of {@code G}, and the loss decrease {@code L(θ) − L(θ − α (S + λI)⁻¹ g)} on the evaluation
 *       sample for a fixed step scale {@code α} (no line search).</li>
 * </ul>
 * Since the orbit average is linear, {@code F̂ = proj(F_dense)} with {@code F_dense = (1/N) Σ_i g_i g_iᵀ}: the bench
 * computes it that way (one projection instead of {@code N} accumulations) and checks it against
 * {@link OrbitAverage#secondMoment}, the estimator's own accumulation, at the smallest {@code N}. Errors are computed
 * blockwise: the orbit average is the orthogonal projection onto the commutant, so
 * {@code ‖X − F̂‖² = ‖X − proj(X)‖² + ‖proj(X) − F̂‖²} and {@code ‖X − proj(X)‖² = ‖X‖² − ‖proj(X)‖²};
 * {@code --dense-check} recomputes those to {@code G} from dense matrices and records the idempotence
 * {@code ‖proj(proj(G)) − proj(G)‖ / ‖proj(G)‖}.
 */
final class FidelityBench {
    /** Which structures are compared, besides "dense" and "diagonal". */
    static final String DENSE = "dense";
    static final String DIAGONAL = "diagonal";
    static final String KFAC = "kfac";

    /**
     * @param side            downsampled image side (7 → 49 inputs)
     * @param hidden          hidden widths of each architecture, e.g. [[12, 12], [16, 16]]
     * @param activations     hidden activations; every width list is run with each
     * @param trainSteps      Adam steps before measuring
     * @param learningRate    Adam step size
     * @param batchSize       training minibatch size
     * @param evalExamples    examples of the evaluation sample (exact H, G, g, loss)
     * @param fisherExamples  the N of each Fisher estimate, ascending; nested (the smaller uses a prefix)
     * @param groups          group types compared
     * @param relativeDampings λ / λ_max(G) of the damped steps
     * @param stepScale       α of the loss-decrease step
     * @param denseCheck      also compute the errors to {@code G} from {@code toDense()} matrices, and the idempotence (slow)
     * @param seed            seeds initialisation, minibatch order, the evaluation/Fisher split and the labels
     */
    record Settings(int side, List<List<Integer>> hidden, List<org.symcurv.apps.common.HiddenActivation> activations, int trainSteps,
                    double learningRate, int batchSize, int evalExamples, List<Integer> fisherExamples, List<GroupType> groups,
                    List<Double> relativeDampings, double stepScale, boolean denseCheck, long seed) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("imageSide", side);
            m.put("inputs", side * side);
            m.put("hidden", hidden);
            m.put("activations", activations.stream().map(org.symcurv.apps.common.HiddenActivation::cliName).toList());
            m.put("trainSteps", trainSteps);
            m.put("optimizer", "Adam");
            m.put("learningRate", learningRate);
            m.put("batchSize", batchSize);
            m.put("evalExamples", evalExamples);
            m.put("evalSource", "training set, seeded sample disjoint from the Fisher examples");
            m.put("fisherExamples", fisherExamples);
            m.put("fisherLabels", "Monte Carlo: one label per example drawn from the model's softmax (seeded)");
            m.put("groups", groups.stream().map(BenchNames::group).toList());
            m.put("relativeDampings", relativeDampings);
            m.put("dampingReference", "lambda = relativeDamping * largest eigenvalue of the exact GGN G");
            m.put("stepScale", stepScale);
            m.put("denseCheck", denseCheck);
            m.put("seed", seed);
            return m;
        }
    }

    /** A damped step's agreement with the exact GGN step and the loss it buys. */
    record Step(double relativeDamping, double cosine, double lossDecrease) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("relativeDamping", relativeDamping);
            m.put("cosineToExactGgnStep", cosine);
            m.put("lossDecrease", lossDecrease);
            return m;
        }
    }

    /** Errors of the Fisher estimate from {@code examples} training examples. */
    record FisherResult(int examples, double estimationErrorHessian, double estimationErrorGgn, double totalErrorHessian,
                        double totalErrorGgn, List<Step> steps) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("examples", examples);
            m.put("estimationErrorHessian", estimationErrorHessian);
            m.put("estimationErrorGgn", estimationErrorGgn);
            m.put("totalErrorHessian", totalErrorHessian);
            m.put("totalErrorGgn", totalErrorGgn);
            m.put("steps", steps.stream().map(Step::toJson).toList());
            return m;
        }
    }

    /**
     * Checks of the bench's own arithmetic, each round-off sized when all is well.
     *
     * @param examples             the N of the first check
     * @param secondMomentVsProjection {@code ‖secondMoment(g_1..g_N) − proj(F_dense,N)‖ / ‖proj(F_dense,N)‖}: the
     *                             estimator's accumulation equals the projection of the dense Monte Carlo Fisher; for
     *                             the diagonal, {@code ‖(1/N) Σ g_i² − diag(F̂)‖ / ‖(1/N) Σ g_i²‖} with
     *                             {@code Curvature.diagonal()}
     * @param idempotence          {@code ‖proj(proj(G)) − proj(G)‖ / ‖proj(G)‖} (with {@code --dense-check} only)
     * @param denseDiscrepancy     largest absolute difference between the blockwise errors to {@code G} (Pythagoras) and
     *                             the same errors from {@code toDense()} matrices, at the largest N (with
     *                             {@code --dense-check} only)
     */
    record SelfChecks(int examples, double secondMomentVsProjection, Double idempotence, Double denseDiscrepancy) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("examples", examples);
            m.put("secondMomentVsProjectedDenseFisher", secondMomentVsProjection);
            m.put("idempotenceOfProjection", idempotence);
            m.put("blockwiseVsDenseErrors", denseDiscrepancy);
            return m;
        }
    }

    /**
     * One structure on one architecture.
     *
     * @param exactSymmetry   whether the group is an exact symmetry of the network (null for "dense")
     * @param projectionSteps the damped steps of {@code proj(G)} (the best the structure can do); empty for dense
     * @param checks          self-checks (null for dense)
     */
    record MethodResult(String method, Boolean exactSymmetry, long storedFloats, double structureErrorHessian,
                        double structureErrorGgn, List<Step> projectionSteps, List<FisherResult> fisher, SelfChecks checks,
                        double seconds) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("method", method);
            m.put("exactSymmetry", exactSymmetry);
            m.put("storedFloats", storedFloats);
            m.put("structureErrorHessian", structureErrorHessian);
            m.put("structureErrorGgn", structureErrorGgn);
            m.put("projectionSteps", projectionSteps.stream().map(Step::toJson).toList());
            m.put("fisher", fisher.stream().map(FisherResult::toJson).toList());
            m.put("selfChecks", checks == null ? null : checks.toJson());
            m.put("seconds", seconds);
            return m;
        }

        FisherResult fisherAt(int examples) {
            return fisher.stream().filter(f -> f.examples() == examples).findFirst().orElseThrow();
        }
    }

    /** The exact reference step at one damping. */
    record ExactStep(double relativeDamping, double lambda, double stepNorm, double lossDecrease) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("relativeDamping", relativeDamping);
            m.put("lambda", lambda);
            m.put("stepNorm", stepNorm);
            m.put("lossDecrease", lossDecrease);
            return m;
        }
    }

    /** Everything measured on one trained architecture. */
    record ArchitectureResult(String name, String activation, List<Integer> hidden, long parameters, double trainLoss,
                              double evalLoss, double evalAccuracy, double gradientNorm, double ggnMaxEigenvalue,
                              double hessianMaxEigenvalue, double hessianMinEigenvalue, List<ExactStep> exactSteps,
                              List<MethodResult> methods, Map<String, Double> seconds) {
        Map<String, Object> toJson() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", name);
            m.put("activation", activation);
            m.put("hidden", hidden);
            m.put("parameters", parameters);
            m.put("trainLossLastSteps", trainLoss);
            m.put("evalLoss", evalLoss);
            m.put("evalAccuracy", evalAccuracy);
            m.put("evalGradientNorm", gradientNorm);
            m.put("ggnMaxEigenvalue", ggnMaxEigenvalue);
            m.put("hessianMaxEigenvalue", hessianMaxEigenvalue);
            m.put("hessianMinEigenvalue", hessianMinEigenvalue);
            m.put("exactGgnSteps", exactSteps.stream().map(ExactStep::toJson).toList());
            m.put("methods", methods.stream().map(MethodResult::toJson).toList());
            m.put("seconds", seconds);
            return m;
        }

        MethodResult method(String name) {
            return methods.stream().filter(x -> x.method().equals(name)).findFirst().orElseThrow();
        }
    }

    private final Settings settings;
    private final PrintWriter progress;

    FidelityBench(Settings settings, PrintWriter progress) {
        this.settings = settings;
        this.progress = progress;
    }

    /** Runs every architecture on the same data split and seeds. */
    List<ArchitectureResult> run(ImageDataSet fullTrain) {
        ImageDataSet train = fullTrain.downsample(settings.side());
        int maxFisher = settings.fisherExamples().get(settings.fisherExamples().size() - 1);
        if (settings.evalExamples() + maxFisher > train.size()) {
            throw new IllegalArgumentException("the evaluation sample (" + settings.evalExamples() + ") and the largest Fisher sample ("
                    + maxFisher + ") need " + (settings.evalExamples() + maxFisher) + " distinct training images, but there are "
                    + train.size());
        }
        ImageDataSet pool = train.sample(settings.evalExamples() + maxFisher, settings.seed() + 1);
        ImageDataSet eval = pool.subset(0, settings.evalExamples());
        ImageDataSet fisherInputs = pool.subset(settings.evalExamples(), pool.size());
        List<ArchitectureResult> results = new ArrayList<>();
        for (List<Integer> hidden : settings.hidden()) {
            for (org.symcurv.apps.common.HiddenActivation activation : settings.activations()) {
                results.add(runOne(new MlpArchitecture(train.featureCount(), hidden, activation, train.numClasses()), train, eval, fisherInputs));
            }
        }
        return results;
    }

    private ArchitectureResult runOne(MlpArchitecture architecture, ImageDataSet train, ImageDataSet eval, ImageDataSet fisherInputs) {
        Map<String, Double> seconds = new LinkedHashMap<>();
        String name = architecture.describe();
        long t0 = System.nanoTime();
        MultiLayerNetwork net = architecture.newNetwork(settings.learningRate(), settings.seed());
        double trainLoss = BenchTraining.train(net, train, settings.trainSteps(), settings.batchSize(), settings.seed());
        seconds.put("train", elapsed(t0));
        progress.printf(Locale.ROOT, "[fidelity] %s: %d parameters, %d Adam steps, recent train loss %.4f (%.1f s)%n", name,
                architecture.parameterCount(), settings.trainSteps(), trainLoss, seconds.get("train"));
        progress.flush();

        ExactCurvature exact = ExactCurvature.of(net);
        double[] theta = exact.parameters(net);
        ExactCurvature.Batch evalBatch = ExactCurvature.Batch.of(eval.toDataSet());
        double evalLoss = exact.meanLoss(theta, evalBatch);
        double evalAccuracy = accuracy(net, eval);
        INDArray g = Nd4j.createFromArray(exact.meanGradient(theta, evalBatch));

        t0 = System.nanoTime();
        INDArray hessian = Nd4j.createFromArray(exact.hessian(theta, evalBatch));
        seconds.put("exactHessian", elapsed(t0));
        t0 = System.nanoTime();
        INDArray ggn = Nd4j.createFromArray(exact.ggn(theta, evalBatch));
        seconds.put("exactGgn", elapsed(t0));
        progress.printf(Locale.ROOT, "[fidelity] %s: exact Hessian %.1f s, GGN %.1f s on %d examples%n", name,
                seconds.get("exactHessian"), seconds.get("exactGgn"), eval.size());
        progress.flush();

        t0 = System.nanoTime();
        int maxFisher = settings.fisherExamples().get(settings.fisherExamples().size() - 1);
        INDArray monteCarloLabels = monteCarloLabels(net, fisherInputs.subset(0, maxFisher), settings.seed() + 2);
        INDArray perExample = perExampleGradients(exact, theta, fisherInputs.subset(0, maxFisher), monteCarloLabels);
        seconds.put("perExampleGradients", elapsed(t0));

        SymmetricEigen ggnEigen = SymmetricEigen.of(ggn);
        SymmetricEigen hessianEigen = SymmetricEigen.of(hessian);
        double ggnMax = ggnEigen.max();
        double hNorm = hessian.norm2Number().doubleValue();
        double gNorm = ggn.norm2Number().doubleValue();

        // the exact reference steps
        List<ExactStep> exactSteps = new ArrayList<>();
        List<INDArray> exactStepVectors = new ArrayList<>();
        for (double rel : settings.relativeDampings()) {
            double lambda = rel * ggnMax;
            INDArray step = dampedSolve(ggnEigen, g, lambda);
            exactStepVectors.add(step);
            exactSteps.add(new ExactStep(rel, lambda, step.norm2Number().doubleValue(), lossDecrease(exact, theta, evalBatch, evalLoss, step)));
        }

        List<MethodResult> methods = new ArrayList<>();
        // dense: no structure; the Monte Carlo Fisher as it is
        // (for dense, proj(X) = X: no structure error, and the estimation error is the total error)
        t0 = System.nanoTime();
        List<FisherResult> denseRows = new ArrayList<>();
        List<INDArray> denseFishers = new ArrayList<>();
        for (int n : settings.fisherExamples()) {
            INDArray f = denseFisher(perExample, n);
            denseFishers.add(f);
            List<Step> steps = new ArrayList<>();
            SymmetricEigen fe = SymmetricEigen.of(f);
            for (int d = 0; d < settings.relativeDampings().size(); d++) {
                INDArray step = dampedSolve(fe, g, settings.relativeDampings().get(d) * ggnMax);
                steps.add(step(settings.relativeDampings().get(d), step, exactStepVectors.get(d), exact, theta, evalBatch, evalLoss));
            }
            double totalH = relative(hessian, f, hNorm);
            double totalG = relative(ggn, f, gNorm);
            denseRows.add(new FisherResult(n, totalH, totalG, totalH, totalG, steps));
        }
        long p = architecture.parameterCount();
        methods.add(new MethodResult(DENSE, null, p * p, 0, 0, List.of(), denseRows, null, elapsed(t0)));

        SymmetrySpec inferred = SpecInference.infer(net);
        Set<GroupType> exactTypes = BenchNames.exactSubgroups(inferred);
        List<String> names = new ArrayList<>();
        List<SymmetrySpec> specs = new ArrayList<>();
        for (GroupType type : settings.groups()) {
            names.add(BenchNames.group(type));
            specs.add(inferred.withGroupType(type));
        }
        names.add(DIAGONAL);
        specs.add(Presets.diagonal(inferred));
        for (int s = 0; s < specs.size(); s++) {
            t0 = System.nanoTime();
            KindDecomposition kinds = KindDecomposition.of(specs.get(s));
            boolean diagonal = names.get(s).equals(DIAGONAL);
            Curvature projH = project(kinds, hessian, diagonal);
            Curvature projG = project(kinds, ggn, diagonal);
            // X − proj(X) is orthogonal to the commutant, so ‖X − proj(X)‖² = ‖X‖² − ‖proj(X)‖² and, for any F̂ inside
            // the structure, ‖X − F̂‖² = ‖X − proj(X)‖² + ‖proj(X) − F̂‖² (math page 5.3: structure + estimation)
            double structureH2 = Math.max(0.0, hNorm * hNorm - frobeniusSquared(projH));
            double structureG2 = Math.max(0.0, gNorm * gNorm - frobeniusSquared(projG));
            List<Step> projectionSteps = new ArrayList<>();
            for (int d = 0; d < settings.relativeDampings().size(); d++) {
                INDArray step = structuredSolve(projG, g, settings.relativeDampings().get(d) * ggnMax);
                projectionSteps.add(step(settings.relativeDampings().get(d), step, exactStepVectors.get(d), exact, theta, evalBatch, evalLoss));
            }
            List<FisherResult> fisher = new ArrayList<>();
            List<Curvature> estimates = new ArrayList<>();
            for (int i = 0; i < settings.fisherExamples().size(); i++) {
                // (1/N) Σ R2(g_i, g_i) = proj((1/N) Σ g_i g_iᵀ) by linearity; the self-check below compares with secondMoment
                Curvature estimate = project(kinds, denseFishers.get(i), diagonal);
                estimates.add(estimate);
                List<Step> steps = new ArrayList<>();
                for (int d = 0; d < settings.relativeDampings().size(); d++) {
                    INDArray step = structuredSolve(estimate, g, settings.relativeDampings().get(d) * ggnMax);
                    steps.add(step(settings.relativeDampings().get(d), step, exactStepVectors.get(d), exact, theta, evalBatch, evalLoss));
                }
                double estimationH2 = distanceSquared(projH, estimate);
                double estimationG2 = distanceSquared(projG, estimate);
                fisher.add(new FisherResult(settings.fisherExamples().get(i), Math.sqrt(estimationH2) / hNorm, Math.sqrt(estimationG2) / gNorm,
                        Math.sqrt(structureH2 + estimationH2) / hNorm, Math.sqrt(structureG2 + estimationG2) / gNorm, steps));
            }
            int smallest = settings.fisherExamples().get(0);
            double selfCheck;
            if (diagonal) {
                // the mean squared gradient, against the core's own parameter-space diagonal of the estimate
                INDArray rows = perExample.get(NDArrayIndex.interval(0, smallest), NDArrayIndex.all());
                INDArray meanSquare = rows.mul(rows).mean(0);
                selfCheck = relative(meanSquare, estimates.get(0).diagonal(), meanSquare.norm2Number().doubleValue());
            } else {
                Curvature accumulated = OrbitAverage.secondMoment(kinds, perExample.get(NDArrayIndex.interval(0, smallest), NDArrayIndex.all()),
                        BlockBudget.DEFAULT);
                selfCheck = Math.sqrt(distanceSquared(accumulated, estimates.get(0)) / frobeniusSquared(estimates.get(0)));
            }
            Double idempotence = null;
            Double denseDiscrepancy = null;
            if (settings.denseCheck()) {
                // against the GGN only: the Hessian's errors come from the same blockwise formulas
                INDArray projGd = dense(projG, diagonal);
                idempotence = Math.sqrt(distanceSquared(project(kinds, projGd, diagonal), projG) / frobeniusSquared(projG));
                INDArray fd = dense(estimates.get(estimates.size() - 1), diagonal);
                FisherResult last = fisher.get(fisher.size() - 1);
                double[][] pairs = {
                        {Math.sqrt(structureG2) / gNorm, relative(ggn, projGd, gNorm)},
                        {last.estimationErrorGgn(), relative(projGd, fd, gNorm)},
                        {last.totalErrorGgn(), relative(ggn, fd, gNorm)}};
                double worst = 0;
                for (double[] pair : pairs) {
                    worst = Math.max(worst, Math.abs(pair[0] - pair[1]));
                }
                denseDiscrepancy = worst;
            }
            Boolean exactSymmetry = s < settings.groups().size() ? exactTypes.contains(settings.groups().get(s)) : Boolean.FALSE;
            double structureH = Math.sqrt(structureH2) / hNorm;
            double structureG = Math.sqrt(structureG2) / gNorm;
            methods.add(new MethodResult(names.get(s), exactSymmetry, projG.storedFloats(), structureH, structureG, projectionSteps,
                    fisher, new SelfChecks(smallest, selfCheck, idempotence, denseDiscrepancy), elapsed(t0)));
            progress.printf(Locale.ROOT, "[fidelity] %s: %-11s structure error H %.3f G %.3f, %,d floats (%.1f s)%n", name, names.get(s),
                    structureH, structureG, projG.storedFloats(), elapsed(t0));
            progress.flush();
        }
        methods.add(kfac(net, fisherInputs, monteCarloLabels, hessian, ggn, hNorm, gNorm, g, ggnMax, exactStepVectors, exact, theta, evalBatch, evalLoss));
        progress.printf(Locale.ROOT, "[fidelity] %s: %-11s %,d floats%n", name, KFAC, methods.get(methods.size() - 1).storedFloats());
        progress.flush();
        return new ArchitectureResult(name, architecture.activation().cliName(), architecture.hidden(), p, trainLoss, evalLoss,
                evalAccuracy, g.norm2Number().doubleValue(), ggnMax, hessianEigen.max(), hessianEigen.min(), exactSteps, methods, seconds);
    }

    /** One label per example drawn from the model's own predictive, {@code [n, C]} one-hot: the Monte Carlo Fisher's labels. */
    static INDArray monteCarloLabels(MultiLayerNetwork net, ImageDataSet inputs, long seed) {
        return BenchTraining.sampleLabels(net.output(inputs.features(), false), seed);
    }

    /** Per-example gradients {@code [n, P]} (float64, exact oracle) at the given labels. */
    static INDArray perExampleGradients(ExactCurvature exact, double[] theta, ImageDataSet inputs, INDArray labels) {
        double[][] targets = labels.castTo(DataType.DOUBLE).toDoubleMatrix();
        double[][] x = inputs.features().castTo(DataType.DOUBLE).toDoubleMatrix();
        return Nd4j.createFromArray(exact.perExampleGradients(theta, new ExactCurvature.Batch(x, targets)));
    }

    /**
     * K-FAC, the standard baseline structure {@code ⊕_l A_l ⊗ G_l} ({@link FisherSource#kfac}), from the same training
     * examples and Monte Carlo labels as the other rows (the labels handed over as targets), for each {@code N}. It is not
     * a projection onto a fixed subspace, so it has no structure/estimation split: its errors are totals.
     */
    private MethodResult kfac(MultiLayerNetwork net, ImageDataSet fisherInputs, INDArray labels, INDArray hessian, INDArray ggn, double hNorm,
                              double gNorm, INDArray g, double ggnMax, List<INDArray> exactStepVectors, ExactCurvature exact, double[] theta,
                              ExactCurvature.Batch evalBatch, double evalLoss) {
        long t0 = System.nanoTime();
        SymmetrySpec layout = new SymmetrySpec(List.of(), ParameterLayout.of(net).leafSpecs());
        List<FisherResult> rows = new ArrayList<>();
        long floats = 0;
        for (int n : settings.fisherExamples()) {
            KroneckerCurvature k = FisherSource.empirical(fisherInputs.subset(0, n).features(), labels.get(NDArrayIndex.interval(0, n), NDArrayIndex.all()))
                    .kfac(net, layout);
            floats = k.storedFloats();
            INDArray f = k.toDense();
            SymmetricEigen fe = SymmetricEigen.of(f);
            List<Step> steps = new ArrayList<>();
            for (int d = 0; d < settings.relativeDampings().size(); d++) {
                INDArray step = dampedSolve(fe, g, settings.relativeDampings().get(d) * ggnMax);
                steps.add(step(settings.relativeDampings().get(d), step, exactStepVectors.get(d), exact, theta, evalBatch, evalLoss));
            }
            double totalH = relative(hessian, f, hNorm);
            double totalG = relative(ggn, f, gNorm);
            rows.add(new FisherResult(n, Double.NaN, Double.NaN, totalH, totalG, steps));
        }
        return new MethodResult(KFAC, null, floats, Double.NaN, Double.NaN, List.of(), rows, null, elapsed(t0));
    }

    /**
     * The orbit average of a dense symmetric matrix: {@link OrbitAverage#project}, or for the diagonal preset (every
     * parameter its own kind, {@code d = 1}, one copy) the diagonal itself, read into the blocks through the copy map:
     * {@code B_κ,f = X_qq} for the parameter {@code q} of kind {@code κ}, family member {@code f}, which is what
     * {@code copyMatrix} of {@code diag(X)} gives. (The generic projection batches {@code F} products of 1×1 matrices per
     * eigenvector, tens of minutes at 886 parameters.)
     */
    static Curvature project(KindDecomposition kinds, INDArray denseSymmetric, boolean diagonalPreset) {
        if (!diagonalPreset) {
            return OrbitAverage.project(kinds, denseSymmetric);
        }
        INDArray diagonal = Nd4j.diag(denseSymmetric).reshape(denseSymmetric.size(0));
        List<INDArray> blocks = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            if (kinds.copies(k) != 1 || kinds.dimension(k) != 1) {
                throw new IllegalArgumentException("kind " + kinds.describe(k) + " is not a single parameter: not the diagonal preset");
            }
            blocks.add(kinds.copyMatrix(k, diagonal).reshape(kinds.familySize(k), 1, 1));
        }
        return Curvature.of(kinds, blocks);
    }

    /** The dense matrix of {@code s}: {@code toDense()}, or for the diagonal preset {@code diag(s.diagonal())}. */
    static INDArray dense(Curvature s, boolean diagonalPreset) {
        return diagonalPreset ? Nd4j.diag(s.diagonal()) : s.toDense();
    }

    /**
     * {@code ‖S‖_F² = Σ_κ d_κ Σ_f ‖B_κ,f‖_F²}: each block acts as {@code I_{d_κ} ⊗ B_κ} in orthonormal coordinates of
     * its kind, and kinds are orthogonal (a diagonal-only block counts its entries).
     */
    static double frobeniusSquared(Curvature s) {
        double total = 0;
        for (int k = 0; k < s.decomposition().kinds().size(); k++) {
            INDArray b = s.block(k);
            total += s.decomposition().kinds().get(k).dimension() * b.mul(b).sumNumber().doubleValue();
        }
        return total;
    }

    /** {@code ‖S − T‖_F²} for two operators on the same decomposition with blocks stored alike. */
    static double distanceSquared(Curvature s, Curvature t) {
        double total = 0;
        for (int k = 0; k < s.decomposition().kinds().size(); k++) {
            INDArray a = s.block(k);
            INDArray b = t.block(k);
            if (!java.util.Arrays.equals(a.shape(), b.shape())) {
                throw new IllegalStateException("blocks of kind " + s.decomposition().describe(k) + " are stored differently: "
                        + java.util.Arrays.toString(a.shape()) + " vs " + java.util.Arrays.toString(b.shape()));
            }
            INDArray d = a.sub(b.castTo(a.dataType()));
            total += s.decomposition().kinds().get(k).dimension() * d.mul(d).sumNumber().doubleValue();
        }
        return total;
    }

    /** {@code (1/n) Σ_{i<n} g_i g_iᵀ} from the first {@code n} rows. */
    static INDArray denseFisher(INDArray perExample, int n) {
        INDArray rows = perExample.get(NDArrayIndex.interval(0, n), NDArrayIndex.all());
        return rows.transpose().mmul(rows).divi(n);
    }

    /** {@code (A + λI)⁻¹ g} from the eigendecomposition of a symmetric PSD {@code A} (negative round-off clamped to 0). */
    static INDArray dampedSolve(SymmetricEigen eig, INDArray g, double lambda) {
        INDArray u = eig.vectors();
        INDArray coefficients = u.transpose().mmul(g.reshape(g.length(), 1));
        double[] s = eig.values().toDoubleVector();
        for (int i = 0; i < s.length; i++) {
            coefficients.putScalar(i, 0, coefficients.getDouble(i, 0) / (Math.max(s[i], 0.0) + lambda));
        }
        return u.mmul(coefficients).reshape(g.length());
    }

    /** {@code (S + λI)⁻¹ g} through the structured operator. */
    static INDArray structuredSolve(Curvature s, INDArray g, double lambda) {
        return s.plusIdentity(lambda).power(-1.0, Damping.NONE).multiply(g);
    }

    private Step step(double relativeDamping, INDArray step, INDArray exactStep, ExactCurvature exact, double[] theta,
                      ExactCurvature.Batch batch, double loss) {
        return new Step(relativeDamping, cosine(step, exactStep), lossDecrease(exact, theta, batch, loss, step));
    }

    private double lossDecrease(ExactCurvature exact, double[] theta, ExactCurvature.Batch batch, double loss, INDArray step) {
        double[] d = step.toDoubleVector();
        double[] moved = theta.clone();
        for (int i = 0; i < moved.length; i++) {
            moved[i] -= settings.stepScale() * d[i];
        }
        return loss - exact.meanLoss(moved, batch);
    }

    static double cosine(INDArray a, INDArray b) {
        double na = a.norm2Number().doubleValue();
        double nb = b.norm2Number().doubleValue();
        return na == 0 || nb == 0 ? 0.0 : a.mul(b).sumNumber().doubleValue() / (na * nb);
    }

    /** {@code ‖a − b‖_F / reference}. */
    static double relative(INDArray a, INDArray b, double reference) {
        return a.sub(b).norm2Number().doubleValue() / reference;
    }

    private static double accuracy(MultiLayerNetwork net, ImageDataSet data) {
        INDArray predicted = net.output(data.features(), false).argMax(1);
        int[] labels = data.labels();
        long correct = 0;
        for (int i = 0; i < labels.length; i++) {
            if (predicted.getInt(i) == labels[i]) {
                correct++;
            }
        }
        return (double) correct / labels.length;
    }

    private static double elapsed(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }
}
