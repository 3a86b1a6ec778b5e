package org.symcurv.core.data;

import java.util.Arrays;

/**
 * A vector of class labels as stored in an IDX1 file: {@code count} unsigned bytes, label {@code i} at
 * byte {@code i}. Immutable: the bytes are copied in and out.
 */
public final class IdxLabels {
    private final byte[] labels;

    /** @param labels one unsigned byte per example; copied, not modified */
    public IdxLabels(byte[] labels) {
        this.labels = labels.clone();
    }

    private IdxLabels(byte[] labels, boolean owned) {
        this.labels = labels;
    }

    static IdxLabels owning(byte[] labels) {
        return new IdxLabels(labels, true);
    }

    /** Labels from ints, each in {@code [0, 255]}. */
    public static IdxLabels of(int... labels) {
        byte[] bytes = new byte[labels.length];
        for (int i = 0; i < labels.length; i++) {
            if (labels[i] < 0 || labels[i] > 255) {
                throw new IllegalArgumentException("label " + i + " is " + labels[i] + "; an IDX1 label is one unsigned byte, 0..255");
            }
            bytes[i] = (byte) labels[i];
        }
        return new IdxLabels(bytes, true);
    }

    public int count() {
        return labels.length;
    }

    /** Label {@code i}, in {@code [0, 255]}. */
    public int label(int i) {
        return labels[i] & 0xFF;
    }

    /** All labels as ints in {@code [0, 255]}; a new array. */
    public int[] toIntArray() {
        int[] out = new int[labels.length];
        for (int i = 0; i < labels.length; i++) {
            out[i] = labels[i] & 0xFF;
        }
        return out;
    }

    /** A copy of the raw label bytes. */
    public byte[] bytes() {
        return labels.clone();
    }

    /** Labels {@code [from, to)}. */
    public IdxLabels slice(int from, int to) {
        if (from < 0 || to > labels.length || from > to) {
            throw new IndexOutOfBoundsException("slice [" + from + ", " + to + ") is outside [0, " + labels.length + ")");
        }
        return new IdxLabels(Arrays.copyOfRange(labels, from, to), true);
    }
}
