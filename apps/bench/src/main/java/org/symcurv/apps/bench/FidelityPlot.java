package org.symcurv.apps.bench;

import java.awt.Color;
import java.awt.Font;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.knowm.xchart.AnnotationText;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * The paper's trade-off as a picture: relative Frobenius error against stored floats, both axes logarithmic, one
 * series per architecture for the Monte Carlo Fisher estimate (filled circles, labelled by method) and one for the
 * exact projection, the best the structure allows (diamonds).
 */
final class FidelityPlot {
    private FidelityPlot() {
    }

    /** Which exact matrix the errors are measured against. */
    enum Target { GGN, HESSIAN }

    /**
     * Writes a PNG of the total error of {@code F̂} at {@code examples} and the structure error, against memory.
     *
     * @param png the file to write (replaced if present)
     */
    static void write(List<FidelityBench.ArchitectureResult> results, int examples, Target target, Path png) throws IOException {
        System.setProperty("java.awt.headless", "true");
        String what = target == Target.GGN ? "GGN G" : "Hessian H";
        XYChart chart = new XYChartBuilder().width(1100).height(750)
                .title("Fidelity vs memory: error to the exact " + what + " (Monte Carlo Fisher from N = " + examples + ")")
                .xAxisTitle("stored floats (log)").yAxisTitle("relative Frobenius error (log)").build();
        chart.getStyler().setXAxisLogarithmic(true);
        chart.getStyler().setYAxisLogarithmic(true);
        chart.getStyler().setDefaultSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.Scatter);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(Styler.LegendLayout.Horizontal);
        chart.getStyler().setMarkerSize(9);
        chart.getStyler().setAnnotationTextFont(new Font(Font.SANS_SERIF, Font.PLAIN, 10));
        chart.getStyler().setAnnotationTextFontColor(Color.DARK_GRAY);
        // axis ranges: whole decades, so the logarithmic axes carry labels even when the errors span less than one
        double minX = Double.POSITIVE_INFINITY;
        double maxX = 0;
        double minY = Double.POSITIVE_INFINITY;
        double maxY = 0;
        for (FidelityBench.ArchitectureResult a : results) {
            for (FidelityBench.MethodResult m : a.methods()) {
                FidelityBench.FisherResult f = m.fisherAt(examples);
                double structure = target == Target.GGN ? m.structureErrorGgn() : m.structureErrorHessian();
                double total = target == Target.GGN ? f.totalErrorGgn() : f.totalErrorHessian();
                minX = Math.min(minX, m.storedFloats());
                maxX = Math.max(maxX, m.storedFloats());
                for (double y : new double[] {structure, total}) {
                    if (y > 0) {
                        minY = Math.min(minY, y);
                        maxY = Math.max(maxY, y);
                    }
                }
            }
        }
        double xLow = Math.pow(10, Math.floor(Math.log10(minX)));
        double xHigh = Math.pow(10, Math.ceil(Math.log10(maxX * 1.5)));
        chart.getStyler().setXAxisMin(xLow);
        chart.getStyler().setXAxisMax(xHigh);
        chart.getStyler().setYAxisMin(Math.pow(10, Math.floor(Math.log10(minY))));
        chart.getStyler().setYAxisMax(Math.pow(10, Math.ceil(Math.log10(maxY))));
        chart.getStyler().setYAxisLogarithmicDecadeOnly(false);
        double decades = Math.log10(xHigh / xLow);
        for (FidelityBench.ArchitectureResult a : results) {
            List<Double> xs = new ArrayList<>();
            List<Double> ys = new ArrayList<>();
            List<Double> px = new ArrayList<>();
            List<Double> py = new ArrayList<>();
            Map<String, String> labels = new LinkedHashMap<>();
            for (FidelityBench.MethodResult m : a.methods()) {
                FidelityBench.FisherResult f = m.fisherAt(examples);
                double x = m.storedFloats();
                double y = target == Target.GGN ? f.totalErrorGgn() : f.totalErrorHessian();
                xs.add(x);
                ys.add(y);
                // identical points (SIGNED_PERM and ORTH share their structure) get one joint label
                labels.merge(x + ":" + y, m.method(), (old, add) -> old + "/" + add);
                double structure = target == Target.GGN ? m.structureErrorGgn() : m.structureErrorHessian();
                if (structure > 0) {
                    px.add(x);
                    py.add(structure);
                }
            }
            // projections first, so the estimates' circles are drawn on top where the two nearly coincide
            XYSeries projection = chart.addSeries(a.name() + ": exact projection", px, py);
            projection.setMarker(SeriesMarkers.DIAMOND);
            XYSeries fisher = chart.addSeries(a.name() + ": Fisher estimate", xs, ys);
            fisher.setMarker(SeriesMarkers.CIRCLE);
            for (Map.Entry<String, String> e : labels.entrySet()) {
                String[] xy = e.getKey().split(":");
                double x = Double.parseDouble(xy[0]);
                double y = Double.parseDouble(xy[1]);
                // the text is centred on its anchor: move it right by half its width plus a gap (about 6 px a character
                // on a plot about 950 px wide)
                double offsetPixels = 3.0 * e.getValue().length() + 9;
                chart.addAnnotation(new AnnotationText(e.getValue(), x * Math.pow(10, offsetPixels / 950 * decades), y, false));
            }
        }
        try (java.io.OutputStream out = java.nio.file.Files.newOutputStream(png)) {
            BitmapEncoder.saveBitmap(chart, out, BitmapEncoder.BitmapFormat.PNG);
        }
    }
}
