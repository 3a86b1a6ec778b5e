package org.symcurv.apps.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** A table of strings printed either as aligned plain text (the console) or as a Markdown table (the docs). */
final class Table {
    private final String title;
    private final List<String> headers;
    private final List<List<String>> rows = new ArrayList<>();

    Table(String title, String... headers) {
        this.title = title;
        this.headers = List.of(headers);
    }

    Table row(Object... cells) {
        if (cells.length != headers.size()) {
            throw new IllegalArgumentException("row has " + cells.length + " cells but the table has " + headers.size() + " columns");
        }
        List<String> row = new ArrayList<>();
        for (Object c : cells) {
            row.add(c == null ? "—" : c.toString());
        }
        rows.add(row);
        return this;
    }

    String title() {
        return title;
    }

    boolean isEmpty() {
        return rows.isEmpty();
    }

    /** Aligned columns: text left, numbers right. */
    String plain() {
        int[] width = new int[headers.size()];
        for (int c = 0; c < width.length; c++) {
            width[c] = headers.get(c).length();
            for (List<String> r : rows) {
                width[c] = Math.max(width[c], r.get(c).length());
            }
        }
        StringBuilder sb = new StringBuilder(title).append('\n');
        appendPlain(sb, headers, width);
        StringBuilder rule = new StringBuilder();
        for (int c = 0; c < width.length; c++) {
            rule.append(c == 0 ? "" : "  ").append("-".repeat(width[c]));
        }
        sb.append(rule).append('\n');
        for (List<String> r : rows) {
            appendPlain(sb, r, width);
        }
        return sb.toString();
    }

    private static void appendPlain(StringBuilder sb, List<String> cells, int[] width) {
        for (int c = 0; c < width.length; c++) {
            String cell = cells.get(c);
            String pad = " ".repeat(width[c] - cell.length());
            sb.append(c == 0 ? "" : "  ").append(numeric(cell) ? pad + cell : cell + pad);
        }
        sb.append('\n');
    }

    private static boolean numeric(String cell) {
        return !cell.isEmpty() && (Character.isDigit(cell.charAt(0)) || cell.charAt(0) == '-' && cell.length() > 1
                && Character.isDigit(cell.charAt(1)));
    }

    /** A GitHub-flavoured Markdown table preceded by its title in bold. */
    String markdown() {
        StringBuilder sb = new StringBuilder("**").append(title).append("**\n\n| ");
        sb.append(String.join(" | ", headers)).append(" |\n|");
        for (String h : headers) {
            sb.append("---|");
        }
        sb.append('\n');
        for (List<String> r : rows) {
            sb.append("| ").append(String.join(" | ", r).replace("\n", " ")).append(" |\n");
        }
        return sb.toString();
    }

    /** Three significant digits, e.g. {@code 0.734}, {@code 1.23e-05}. */
    static String sig(double x) {
        if (!Double.isFinite(x)) {
            return Double.toString(x);
        }
        if (x == 0) {
            return "0";
        }
        double a = Math.abs(x);
        if (a >= 1e-3 && a < 1e5) {
            return String.format(Locale.ROOT, "%.3g", x);
        }
        return String.format(Locale.ROOT, "%.2e", x);
    }

    /** An integer with thousands separators. */
    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    /** Milliseconds with adaptive precision. */
    static String millis(double ms) {
        if (ms >= 100) {
            return String.format(Locale.ROOT, "%,.0f", ms);
        }
        return String.format(Locale.ROOT, "%.3g", ms);
    }

    /** Bytes as MiB with one decimal. */
    static String mebibytes(long bytes) {
        return String.format(Locale.ROOT, "%,.1f", bytes / (1024.0 * 1024.0));
    }
}
