package org.symcurv.continual;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.model.FisherSource;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.train.ArrayTrainingData;
import org.symcurv.optimizer.train.Evaluator;
import org.symcurv.optimizer.train.TrainingConfig;
import org.symcurv.optimizer.train.TrainingListener;

/**
 * One pass over a task stream with one method: for each task {@code t}, train {@code epochs} epochs on its training images
 * ({@link ContinualLearner#trainTask}), evaluate on every task's validation and test images under each scenario (one row of
 * each accuracy matrix), then consolidate the Fisher over {@code fisherExamples} of its training images (Monte Carlo labels
 * seeded by {@code seed + t}). Every random choice is a function of {@code seed}: the same seed gives every method the same
 * initial network, data order and label draws.
 *
 * @param epochsPerTask  epochs per task, ≥ 1
 * @param batchSize      minibatch size, ≥ 1
 * @param fisherExamples images per consolidation (at most the task's training images), ≥ 1
 * @param seed           the run's seed
 */
public record ContinualExperiment(int epochsPerTask, int batchSize, int fisherExamples, long seed) {
    public ContinualExperiment {
        if (epochsPerTask < 1 || batchSize < 1 || fisherExamples < 1) {
            throw new IllegalArgumentException("epochs per task, batch size and Fisher examples must be at least 1, got " + epochsPerTask
                    + ", " + batchSize + ", " + fisherExamples);
        }
    }

    /** What a run reports while it works (library code never prints). Every method has an empty default. */
    public interface Listener {
        /** Task {@code task} starts training for {@code steps} minibatches. */
        default void taskStarted(ContinualTask task, long steps) {
        }

        /** One minibatch of the current task. */
        default void step(TrainingListener.Step step) {
        }

        /** Task {@code task} was trained and evaluated: its test accuracy row per scenario. */
        default void taskEvaluated(ContinualTask task, Map<Scenario, double[]> testRow, double trainSeconds) {
        }

        /** The Fisher of task {@code task} was consolidated. */
        default void consolidated(ContinualTask task, ContinualLearner.Consolidation consolidation) {
        }

        /** Fisher progress. */
        default void fisherProgress(long done, long total) {
        }

        Listener NONE = new Listener() {
        };
    }

    /**
     * A finished run.
     *
     * @param settings       the method and its settings
     * @param test           per scenario, the test accuracy matrix
     * @param validation     per scenario, the validation accuracy matrix (NaN entries when no validation images)
     * @param consolidations one per task but the last (the last task's Fisher is not needed by the stream; it is estimated
     *                       when {@code consolidateLast} is set)
     * @param trainSeconds   training wall-clock over all tasks
     * @param learner        the learner at the end (its network and state), or null once dropped
     */
    public record Result(EwcSettings settings, Map<Scenario, AccuracyMatrix> test, Map<Scenario, AccuracyMatrix> validation,
                         List<ContinualLearner.Consolidation> consolidations, double trainSeconds, ContinualLearner learner) {
        /** The same numbers without the learner, so that its network and Fishers can be freed (a benchmark keeps many runs). */
        public Result withoutLearner() {
            return new Result(settings, test, validation, consolidations, trainSeconds, null);
        }
    }

    /**
     * Runs the stream.
     *
     * @param network         a fresh network (the same for every method: build it from the same seed)
     * @param scenarios       the scenarios to evaluate each row under (e.g. task- and class-incremental for split)
     * @param consolidateLast also consolidate after the last task (so a saved learner can continue)
     */
    public Result run(Supplier<MultiLayerNetwork> network, List<ContinualTask> tasks, List<Scenario> scenarios, EwcSettings settings,
                      OptimizerSettings optimizer, boolean consolidateLast, Listener listener) {
        Objects.requireNonNull(listener, "listener");
        if (tasks.isEmpty() || scenarios.isEmpty()) {
            throw new IllegalArgumentException("a run needs at least one task and one scenario");
        }
        ContinualLearner learner = ContinualLearner.create(network.get(), settings, optimizer);
        int t = tasks.size();
        Map<Scenario, double[][]> test = new EnumMap<>(Scenario.class);
        Map<Scenario, double[][]> validation = new EnumMap<>(Scenario.class);
        for (Scenario s : scenarios) {
            test.put(s, new double[t][t]);
            validation.put(s, new double[t][t]);
        }
        List<ContinualLearner.Consolidation> consolidations = new ArrayList<>();
        double trainSeconds = 0;
        TrainingListener steps = new TrainingListener() {
            @Override
            public void onStep(Step step) {
                listener.step(step);
            }
        };
        for (ContinualTask task : tasks) {
            ArrayTrainingData data = ArrayTrainingData.classification(task.train());
            TrainingConfig config = TrainingConfig.of(batchSize, 1, seed + 7919L * task.index());
            config = config.withTotalIterations((long) epochsPerTask * config.batchesPerEpoch(data.size()));
            listener.taskStarted(task, config.totalIterations());
            double seconds = learner.trainTask(data, config, Evaluator.none(), steps).trainSeconds();
            trainSeconds += seconds;
            Map<Scenario, double[]> row = new EnumMap<>(Scenario.class);
            for (Scenario s : scenarios) {
                for (ContinualTask other : tasks) {
                    test.get(s)[task.index()][other.index()] = TaskEvaluation.accuracy(learner.network(), other.test(), other, s);
                    validation.get(s)[task.index()][other.index()] = TaskEvaluation.accuracy(learner.network(), other.validation(), other, s);
                }
                row.put(s, test.get(s)[task.index()].clone());
            }
            listener.taskEvaluated(task, row, seconds);
            if (task.index() < t - 1 || consolidateLast) {
                int n = Math.min(fisherExamples, task.train().size());
                FisherSource.Progress progress = listener::fisherProgress;
                ContinualLearner.Consolidation c = learner.consolidate(task.train().subset(0, n).features(), seed + 104729L * (task.index() + 1), progress);
                consolidations.add(c);
                listener.consolidated(task, c);
            }
        }
        Map<Scenario, AccuracyMatrix> testMatrices = new EnumMap<>(Scenario.class);
        Map<Scenario, AccuracyMatrix> validationMatrices = new EnumMap<>(Scenario.class);
        for (Scenario s : scenarios) {
            testMatrices.put(s, new AccuracyMatrix(test.get(s)));
            validationMatrices.put(s, new AccuracyMatrix(validation.get(s)));
        }
        return new Result(settings, testMatrices, validationMatrices, consolidations, trainSeconds, learner);
    }

    /**
     * The λ of {@code results} (runs of one method over a grid of λ, same stream and seed) with the highest final average
     * accuracy on the validation images under {@code scenario}; ties go to the smaller λ. The test images play no part.
     *
     * @throws IllegalArgumentException if there is no result or a result lacks the scenario
     */
    public static Result selectByValidation(List<Result> results, Scenario scenario) {
        Result best = null;
        for (Result r : results) {
            AccuracyMatrix v = r.validation().get(scenario);
            if (v == null) {
                throw new IllegalArgumentException("the run at λ " + r.settings().lambda() + " was not evaluated under " + scenario.cliName());
            }
            if (best == null || v.averageAccuracy() > best.validation().get(scenario).averageAccuracy()
                    || v.averageAccuracy() == best.validation().get(scenario).averageAccuracy() && r.settings().lambda() < best.settings().lambda()) {
                best = r;
            }
        }
        if (best == null) {
            throw new IllegalArgumentException("no runs to choose λ from");
        }
        return best;
    }
}
