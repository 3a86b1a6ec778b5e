package org.symcurv.apps.common;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.symcurv.continual.AccuracyMatrix;
import org.symcurv.continual.ContinualExperiment;
import org.symcurv.continual.ContinualLearner;
import org.symcurv.continual.Scenario;

/** Text, JSON and PNG forms of continual-learning results, shared by {@code symcurv continual} and {@code symcurv bench continual}. */
public final class ContinualReports {
    private ContinualReports() {
    }

    /** The matrix as aligned text: a row per "after task i", a column per "on task j", accuracies in percent. */
    public static String matrixText(String title, AccuracyMatrix m) {
        StringBuilder sb = new StringBuilder(title).append('\n');
        sb.append(String.format(Locale.ROOT, "%-12s", "after \\ on"));
        for (int j = 0; j < m.tasks(); j++) {
            sb.append(String.format(Locale.ROOT, "%8s", "task " + (j + 1)));
        }
        sb.append(String.format(Locale.ROOT, "%9s%n", "average"));
        for (int i = 0; i < m.tasks(); i++) {
            sb.append(String.format(Locale.ROOT, "%-12s", "task " + (i + 1)));
            for (int j = 0; j < m.tasks(); j++) {
                sb.append(j <= i ? String.format(Locale.ROOT, "%8.2f", 100 * m.get(i, j)) : String.format(Locale.ROOT, "%8s", "·"));
            }
            sb.append(String.format(Locale.ROOT, "%9.2f%n", 100 * m.averageAfter(i)));
        }
        return sb.toString();
    }

    /** The matrix and its summaries as JSON-ready maps. */
    public static Map<String, Object> matrixJson(AccuracyMatrix m) {
        Map<String, Object> out = new LinkedHashMap<>();
        List<List<Double>> rows = new ArrayList<>();
        for (double[] r : m.toArray()) {
            List<Double> row = new ArrayList<>();
            for (double v : r) {
                row.add(Double.isFinite(v) ? v : null);
            }
            rows.add(row);
        }
        out.put("accuracy", rows);
        out.put("averageAccuracy", m.averageAccuracy());
        List<Double> after = new ArrayList<>();
        for (int i = 0; i < m.tasks(); i++) {
            after.add(m.averageAfter(i));
        }
        out.put("averageAccuracyAfterTask", after);
        out.put("backwardTransfer", m.backwardTransfer());
        out.put("forgetting", m.forgetting());
        return out;
    }

    /** One run as JSON: settings, test and validation matrices per scenario, consolidations, times. */
    public static Map<String, Object> runJson(ContinualExperiment.Result r) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("method", r.settings().method().cliName());
        out.put("mode", r.settings().mode().cliName());
        out.put("lambda", r.settings().lambda());
        out.put("gamma", r.settings().gamma());
        Map<String, Object> test = new LinkedHashMap<>();
        Map<String, Object> validation = new LinkedHashMap<>();
        for (Scenario s : r.test().keySet()) {
            test.put(s.cliName(), matrixJson(r.test().get(s)));
            validation.put(s.cliName(), matrixJson(r.validation().get(s)));
        }
        out.put("test", test);
        out.put("validation", validation);
        List<Map<String, Object>> cons = new ArrayList<>();
        for (ContinualLearner.Consolidation c : r.consolidations()) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("tasks", c.tasks());
            m.put("examples", c.examples());
            m.put("seconds", c.seconds());
            m.put("fisherFloats", c.fisherFloats());
            m.put("stateFloats", c.stateFloats());
            cons.add(m);
        }
        out.put("consolidations", cons);
        out.put("trainSeconds", r.trainSeconds());
        return out;
    }

    /** A heat map of the accuracy matrix (rows: after task i; columns: on task j), values in percent. */
    public static HeatMapChart heatMap(String title, AccuracyMatrix m) {
        System.setProperty("java.awt.headless", "true");
        int t = m.tasks();
        HeatMapChart chart = new HeatMapChartBuilder().width(Math.max(560, 200 + 70 * t)).height(Math.max(420, 140 + 55 * t)).title(title)
                .xAxisTitle("evaluated on task").yAxisTitle("after training task").build();
        chart.getStyler().setShowValue(true);
        chart.getStyler().setMin(0);
        chart.getStyler().setMax(100);
        chart.getStyler().setHeatMapValueDecimalPattern("0");
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        List<Integer> xs = new ArrayList<>();
        List<Integer> ys = new ArrayList<>();
        for (int j = 0; j < t; j++) {
            xs.add(j + 1);
            ys.add(j + 1);
        }
        List<Number[]> heat = new ArrayList<>();
        for (int i = 0; i < t; i++) {
            for (int j = 0; j < t; j++) {
                heat.add(new Number[] {j, i, Math.round(1000 * m.get(i, j)) / 10.0});
            }
        }
        chart.addSeries("accuracy (%)", xs, ys, heat);
        return chart;
    }

    /** Average accuracy over the tasks seen against the number of tasks, one line per labelled matrix. */
    public static XYChart averageChart(String title, Map<String, AccuracyMatrix> lines) {
        System.setProperty("java.awt.headless", "true");
        XYChart chart = new XYChartBuilder().width(900).height(600).title(title).xAxisTitle("tasks trained")
                .yAxisTitle("average test accuracy on the tasks seen").build();
        chart.getStyler().setLegendPosition(Styler.LegendPosition.InsideSW);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(1.0);
        chart.getStyler().setMarkerSize(8);
        for (Map.Entry<String, AccuracyMatrix> e : lines.entrySet()) {
            List<Integer> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            for (int i = 0; i < e.getValue().tasks(); i++) {
                xs.add(i + 1);
                ys.add(e.getValue().averageAfter(i));
            }
            chart.addSeries(e.getKey(), xs, ys).setMarker(SeriesMarkers.CIRCLE);
        }
        return chart;
    }

    /** Writes text to a temporary sibling, then renames it into place. */
    public static void writeText(Path target, String text) throws IOException {
        Path tmp = org.symcurv.core.data.AtomicFiles.createSiblingTemp(target);
        try {
            Files.writeString(tmp, text, StandardCharsets.UTF_8);
            org.symcurv.core.data.AtomicFiles.moveIntoPlace(tmp, target, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    /** Writes a chart as PNG to a temporary sibling, then renames it into place. */
    public static void writePng(Chart<?, ?> chart, Path png) throws IOException {
        Path tmp = org.symcurv.core.data.AtomicFiles.createSiblingTemp(png);
        try {
            try (OutputStream o = Files.newOutputStream(tmp)) {
                BitmapEncoder.saveBitmap(chart, o, BitmapEncoder.BitmapFormat.PNG);
            }
            org.symcurv.core.data.AtomicFiles.moveIntoPlace(tmp, png, true);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
