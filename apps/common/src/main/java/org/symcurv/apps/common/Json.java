package org.symcurv.apps.common;

import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A minimal JSON serialiser for benchmark records: {@link Map} (keys in iteration order, so use a
 * {@link java.util.LinkedHashMap}), {@link List}, {@link Number}, {@link String}, {@link Boolean} and {@code null}.
 * A non-finite double (NaN, ±∞) has no JSON form and is written as {@code null}; the benchmarks avoid them.
 */
public final class Json {
    private Json() {
    }

    /** The value as indented JSON text, ending with a newline. */
    public static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(value, out, 0);
        return out.append('\n').toString();
    }

    private static void write(Object value, StringBuilder out, int indent) {
        if (value == null) {
            out.append("null");
        } else if (value instanceof Map<?, ?> map) {
            if (map.isEmpty()) {
                out.append("{}");
                return;
            }
            out.append('{');
            Iterator<? extends Map.Entry<?, ?>> entries = map.entrySet().iterator();
            while (entries.hasNext()) {
                Map.Entry<?, ?> e = entries.next();
                newline(out, indent + 1);
                string(String.valueOf(e.getKey()), out);
                out.append(": ");
                write(e.getValue(), out, indent + 1);
                if (entries.hasNext()) {
                    out.append(',');
                }
            }
            newline(out, indent);
            out.append('}');
        } else if (value instanceof List<?> list) {
            if (list.isEmpty()) {
                out.append("[]");
                return;
            }
            boolean flat = list.stream().allMatch(v -> v == null || v instanceof Number || v instanceof Boolean);
            out.append('[');
            for (int i = 0; i < list.size(); i++) {
                if (flat) {
                    if (i > 0) {
                        out.append(", ");
                    }
                } else {
                    newline(out, indent + 1);
                }
                write(list.get(i), out, indent + 1);
                if (!flat && i + 1 < list.size()) {
                    out.append(',');
                }
            }
            if (!flat) {
                newline(out, indent);
            }
            out.append(']');
        } else if (value instanceof Double || value instanceof Float) {
            double d = ((Number) value).doubleValue();
            out.append(Double.isFinite(d) ? Double.toString(d) : "null");
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else {
            string(value.toString(), out);
        }
    }

    private static void newline(StringBuilder out, int indent) {
        out.append('\n');
        out.append("  ".repeat(indent));
    }

    private static void string(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
