package org.symcurv.apps.common;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.data.IdxFormat;
import org.symcurv.core.data.IdxImages;
import org.symcurv.core.data.ImageDataSet;
import org.symcurv.uncertainty.ClassificationMetrics;
import org.symcurv.uncertainty.PredictiveEvaluation;
import org.symcurv.uncertainty.SyntheticShift;

/** What {@code symcurv evaluate} and {@code symcurv bench uncertainty} share: the OOD sets, the reliability diagram, the JSON rows. */
public final class EvaluationReports {
    private EvaluationReports() {
    }

    /**
     * An out-of-distribution image file and the name its column gets: {@code NAME=FILE}, or {@code FILE} alone, named by
     * its file name in full.
     */
    public record OodFile(String name, Path file) {
        public OodFile {
            if (name.isBlank()) {
                throw new IllegalArgumentException("an OOD set needs a name: give --ood NAME=FILE or a plain FILE");
            }
        }

        /** {@code NAME=FILE} when there is an {@code =} and the whole text is not an existing file; otherwise a {@code FILE}. */
        public static OodFile parse(String text) {
            int equals = text.indexOf('=');
            if (equals > 0 && !Files.exists(Path.of(text))) {
                return new OodFile(text.substring(0, equals), Path.of(text.substring(equals + 1)));
            }
            Path file = Path.of(text);
            return new OodFile(file.getFileName() == null ? text : file.getFileName().toString(), file);
        }
    }

    /**
     * The OOD sets: each built-in shift applied to a seeded subset of {@code count} images of {@code test}, then each IDX
     * file (its first {@code count} images), named by shift or by the file's name.
     */
    public static Map<String, ImageDataSet> oodSets(ImageDataSet test, List<SyntheticShift> shifts, List<OodFile> files, int count, long seed) {
        Map<String, ImageDataSet> out = new LinkedHashMap<>();
        ImageDataSet base = count >= test.size() ? test : test.sample(count, seed);
        for (SyntheticShift shift : shifts) {
            out.put(shift.cliName(), shift.apply(base, seed));
        }
        for (OodFile named : files) {
            Path file = named.file();
            IdxImages images;
            try {
                images = IdxFormat.readImages(file);
            } catch (IOException e) {
                throw new CommandFailure("cannot read the OOD images " + file + ": " + CommandFailure.describe(e)
                        + "; --ood needs an IDX3 unsigned-byte image file such as t10k-images-idx3-ubyte.gz", e);
            } catch (RuntimeException e) {
                throw new CommandFailure("cannot read the OOD images " + file + ": " + e.getMessage(), e);
            }
            if (images.rows() * images.cols() != test.featureCount()) {
                throw new CommandFailure(file + " holds " + images.rows() + "×" + images.cols() + " images but the model reads "
                        + test.height() + "×" + test.width() + " = " + test.featureCount() + " pixels");
            }
            int n = Math.min(count, images.count());
            if (n == 0) {
                throw new CommandFailure(file + " holds no images");
            }
            float[] values = new float[n * images.pixelsPerImage()];
            byte[] pixels = images.pixels();
            for (int i = 0; i < values.length; i++) {
                values[i] = (pixels[i] & 0xFF) / 255f;
            }
            INDArray features = Nd4j.createFromArray(values).reshape('c', new long[] {n, images.pixelsPerImage()});
            String name = named.name();
            out.put(out.containsKey(name) ? name + "-" + out.size() : name, ImageDataSet.of(features, new int[n], images.rows(), images.cols(), test.numClasses()));
        }
        return out;
    }

    /** A reliability diagram: per method, accuracy against mean confidence over the non-empty bins, and the diagonal. */
    public static void writeReliabilityDiagram(List<PredictiveEvaluation.Row> rows, Path target, boolean replace, String title) throws IOException {
        XYChart chart = new XYChartBuilder().width(800).height(640).title(title).xAxisTitle("confidence (max probability)")
                .yAxisTitle("accuracy").build();
        chart.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNW);
        XYSeries diagonal = chart.addSeries("perfect calibration", new double[] {0, 1}, new double[] {0, 1});
        diagonal.setMarker(SeriesMarkers.NONE);
        diagonal.setLineColor(java.awt.Color.GRAY);
        for (PredictiveEvaluation.Row r : rows) {
            List<Double> x = new ArrayList<>();
            List<Double> y = new ArrayList<>();
            for (ClassificationMetrics.Bin b : r.metrics().bins()) {
                if (b.count() > 0) {
                    x.add(b.meanConfidence());
                    y.add(b.accuracy());
                }
            }
            if (!x.isEmpty()) {
                chart.addSeries(String.format(Locale.ROOT, "%s (ECE %.3f)", r.method(), r.metrics().ece()), x, y);
            }
        }
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            Path png = tmp.resolveSibling(tmp.getFileName() + ".png");
            BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
            AtomicFiles.moveIntoPlace(png, target, replace);
        } finally {
            Files.deleteIfExists(tmp);
            Files.deleteIfExists(tmp.resolveSibling(tmp.getFileName() + ".png"));
        }
    }

    /** The rows as a JSON object {@code {"context": {...}, "rows": [...]}} (numbers as JSON numbers; NaN as null). */
    public static String toJson(List<PredictiveEvaluation.Row> rows, Map<String, String> context) {
        StringBuilder sb = new StringBuilder("{\n  \"context\": {");
        int i = 0;
        for (Map.Entry<String, String> e : context.entrySet()) {
            sb.append(i++ == 0 ? "" : ", ").append(quote(e.getKey())).append(": ").append(quote(e.getValue()));
        }
        sb.append("},\n  \"rows\": [");
        for (int r = 0; r < rows.size(); r++) {
            PredictiveEvaluation.Row row = rows.get(r);
            ClassificationMetrics m = row.metrics();
            sb.append(r == 0 ? "\n" : ",\n").append("    {\"method\": ").append(quote(row.method())).append(", \"predictive\": ")
                    .append(quote(row.kind().cliName())).append(", \"accuracy\": ").append(number(m.accuracy())).append(", \"nll\": ")
                    .append(number(m.nll())).append(", \"brier\": ").append(number(m.brier())).append(", \"ece\": ").append(number(m.ece()))
                    .append(", \"count\": ").append(m.count()).append(", \"seconds\": ").append(number(row.seconds())).append(", \"auroc\": {");
            int k = 0;
            for (Map.Entry<String, Double> e : row.auroc().entrySet()) {
                sb.append(k++ == 0 ? "" : ", ").append(quote(e.getKey())).append(": ").append(number(e.getValue()));
            }
            sb.append("}, \"bins\": [");
            for (int b = 0; b < m.bins().size(); b++) {
                ClassificationMetrics.Bin bin = m.bins().get(b);
                sb.append(b == 0 ? "" : ", ").append("{\"count\": ").append(bin.count()).append(", \"confidence\": ")
                        .append(number(bin.meanConfidence())).append(", \"accuracy\": ").append(number(bin.accuracy())).append('}');
            }
            sb.append("]}");
        }
        return sb.append("\n  ]\n}\n").toString();
    }

    private static String quote(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            switch (c) {
                case '"' -> sb.append("\\\"");
                case '\\' -> sb.append("\\\\");
                case '\n' -> sb.append("\\n");
                default -> {
                    if (c < 0x20) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.append('"').toString();
    }

    private static String number(double v) {
        return Double.isFinite(v) ? Double.toString(v) : "null";
    }
}
