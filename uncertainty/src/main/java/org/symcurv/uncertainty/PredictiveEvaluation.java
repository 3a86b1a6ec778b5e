package org.symcurv.uncertainty;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.symcurv.core.data.ImageDataSet;

/**
 * Evaluates predictives of one model (the MAP, or a posterior's GLM and sampled-network predictives) on one labelled
 * in-distribution set and any number of out-of-distribution sets: {@link ClassificationMetrics} in distribution, and
 * per OOD set the {@link Auroc} of an {@link OodScore} (OOD as positives). The linearised outputs of each set are
 * computed once and shared by every GLM link.
 */
public final class PredictiveEvaluation {
    private PredictiveEvaluation() {
    }

    /**
     * One evaluated predictive.
     *
     * @param method    a label such as {@code "symmetry, last layer / glm-probit"}
     * @param kind      which predictive
     * @param metrics   in-distribution metrics
     * @param auroc     OOD set name → AUROC, in the order given
     * @param seconds   wall-clock time of this predictive's predictions (for GLM links, the shared linearisation is
     *                  charged to the first GLM link evaluated)
     */
    public record Row(String method, PredictiveKind kind, ClassificationMetrics metrics, Map<String, Double> auroc, double seconds) {
        public Row {
            auroc = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(auroc));
        }

        /** The mean AUROC over the OOD sets (NaN without any). */
        public double meanAuroc() {
            return auroc.values().stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
        }
    }

    /**
     * Evaluates {@code kinds} of {@code predictive} ({@link PredictiveKind#MAP} needs no posterior; the others do).
     *
     * @param label    prefix of each row's method name
     * @param samples  Monte Carlo samples for {@code glm-mc} and {@code nn-mc}
     * @param seed     seeds those samples
     * @throws IllegalArgumentException if a posterior predictive is asked of a predictive without posterior
     */
    public static List<Row> evaluate(String label, LaplacePredictive predictive, List<PredictiveKind> kinds, ImageDataSet test,
                                     Map<String, ImageDataSet> ood, OodScore score, int samples, long seed) {
        List<Row> rows = new ArrayList<>();
        for (List<Row> perScore : evaluate(label, predictive, kinds, test, ood, List.of(score), samples, seed).values()) {
            rows.addAll(perScore);
        }
        return rows;
    }

    /**
     * Evaluates {@code kinds} of {@code predictive} once and scores the OOD sets with each of {@code scores} (the
     * predictions, and the linearisation the GLM links share, are computed once for all of them).
     *
     * @return per score (in the order given), the rows in the order of {@code kinds}
     * @throws IllegalArgumentException if a posterior predictive is asked of a predictive without posterior
     */
    public static Map<OodScore, List<Row>> evaluate(String label, LaplacePredictive predictive, List<PredictiveKind> kinds, ImageDataSet test,
                                                    Map<String, ImageDataSet> ood, List<OodScore> scores, int samples, long seed) {
        Map<OodScore, List<Row>> rows = new LinkedHashMap<>();
        scores.forEach(s -> rows.put(s, new ArrayList<>()));
        Map<String, LinearizedOutputs> linearized = null;
        double linearizeSeconds = 0;
        for (PredictiveKind kind : kinds) {
            if (kind != PredictiveKind.MAP && predictive.posterior() == null) {
                throw new IllegalArgumentException("predictive " + kind.cliName() + " needs a posterior");
            }
            long started = System.nanoTime();
            Map<String, double[][]> probabilities = new LinkedHashMap<>();
            if (kind == PredictiveKind.SAMPLED_NETWORKS) {
                probabilities.put("", predictive.sampledNetworks(test.features(), samples, seed));
                for (Map.Entry<String, ImageDataSet> e : ood.entrySet()) {
                    probabilities.put(e.getKey(), predictive.sampledNetworks(e.getValue().features(), samples, seed));
                }
            } else if (kind == PredictiveKind.MAP) {
                LaplacePredictive map = LaplacePredictive.map(predictive.network());
                probabilities.put("", map.linearize(test.features()).mapProbabilities());
                for (Map.Entry<String, ImageDataSet> e : ood.entrySet()) {
                    probabilities.put(e.getKey(), map.linearize(e.getValue().features()).mapProbabilities());
                }
            } else {
                if (linearized == null) {
                    linearized = new LinkedHashMap<>();
                    linearized.put("", predictive.linearize(test.features()));
                    for (Map.Entry<String, ImageDataSet> e : ood.entrySet()) {
                        linearized.put(e.getKey(), predictive.linearize(e.getValue().features()));
                    }
                    linearizeSeconds = (System.nanoTime() - started) / 1e9;
                    started = System.nanoTime();
                } else {
                    linearizeSeconds = 0;
                }
                for (Map.Entry<String, LinearizedOutputs> e : linearized.entrySet()) {
                    probabilities.put(e.getKey(), e.getValue().probabilities(kind.link(), samples, seed));
                }
            }
            double seconds = (System.nanoTime() - started) / 1e9 + (kind.link() != null ? linearizeSeconds : 0);
            for (OodScore score : scores) {
                rows.get(score).add(row(label, kind, probabilities, kind.link() != null ? linearized : null, test.labels(), score, seconds));
            }
        }
        return rows;
    }

    /** A row from precomputed probabilities: {@code ""} → the in-distribution set, other keys → OOD sets. */
    public static Row row(String label, PredictiveKind kind, Map<String, double[][]> probabilities, int[] labels, OodScore score, double seconds) {
        return row(label, kind, probabilities, null, labels, score, seconds);
    }

    /**
     * A row from precomputed probabilities and, for a GLM predictive, the linearised outputs of the same sets (keyed
     * alike; {@code null} otherwise), which {@link OodScore#VARIANCE} scores.
     */
    public static Row row(String label, PredictiveKind kind, Map<String, double[][]> probabilities, Map<String, LinearizedOutputs> linearized,
                          int[] labels, OodScore score, double seconds) {
        double[][] in = probabilities.get("");
        ClassificationMetrics metrics = ClassificationMetrics.of(in, labels);
        double[] inScores = score.scores(in, linearized == null ? null : linearized.get(""));
        Map<String, Double> auroc = new LinkedHashMap<>();
        for (Map.Entry<String, double[][]> e : probabilities.entrySet()) {
            if (!e.getKey().isEmpty()) {
                auroc.put(e.getKey(), Auroc.of(inScores, score.scores(e.getValue(), linearized == null ? null : linearized.get(e.getKey()))));
            }
        }
        return new Row(label.isEmpty() ? kind.cliName() : label + " / " + kind.cliName(), kind, metrics, auroc, seconds);
    }

    /** An AUROC column is as wide as its OOD set's name (never cut), and at least 9. */
    private static int aurocWidth(String oodName) {
        return Math.max(9, oodName.length());
    }

    /** A plain-text table: method, accuracy, NLL, Brier, ECE, one AUROC column per OOD set (headed by its full name), their mean, seconds. */
    public static String table(List<Row> rows) {
        List<String> oodNames = rows.isEmpty() ? List.of() : new ArrayList<>(rows.get(0).auroc().keySet());
        int width = Math.max(6, rows.stream().mapToInt(r -> r.method().length()).max().orElse(6));
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "%-" + width + "s  %8s  %7s  %7s  %7s", "method", "accuracy", "NLL", "Brier", "ECE"));
        for (String name : oodNames) {
            sb.append(String.format(Locale.ROOT, "  %" + aurocWidth(name) + "s", name));
        }
        if (oodNames.size() > 1) {
            sb.append(String.format(Locale.ROOT, "  %9s", "AUROC avg"));
        }
        sb.append(String.format(Locale.ROOT, "  %8s%n", "time s"));
        for (Row r : rows) {
            ClassificationMetrics m = r.metrics();
            sb.append(String.format(Locale.ROOT, "%-" + width + "s  %8.4f  %7.4f  %7.4f  %7.4f", r.method(), m.accuracy(), m.nll(), m.brier(), m.ece()));
            for (String name : oodNames) {
                sb.append(String.format(Locale.ROOT, "  %" + aurocWidth(name) + ".4f", r.auroc().get(name)));
            }
            if (oodNames.size() > 1) {
                sb.append(String.format(Locale.ROOT, "  %9.4f", r.meanAuroc()));
            }
            sb.append(String.format(Locale.ROOT, "  %8.1f%n", r.seconds()));
        }
        return sb.toString();
    }
}
