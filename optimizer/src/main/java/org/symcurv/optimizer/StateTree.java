package org.symcurv.optimizer;

import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.io.ArrayCodec;

/**
 * An optimizer state as a tree of named entries (Optax's pytree, for checkpoints): arrays, exact integers,
 * doubles and nested trees. Arrays come back bit for bit with their data type and shape: float32 and float64 ones in
 * bulk ({@link ArrayCodec}), any other type in ND4J's binary format (format version 2; version 1, ND4J's format for
 * every array, is still read). Immutable; arrays are copied in and out.
 */
public final class StateTree {
    /** Format version written by {@link #write}; {@link #read} also reads version 1 and refuses any other. */
    public static final int FORMAT_VERSION = 2;
    private static final int ND4J_ARRAY = 0;
    private static final int BULK_ARRAY = 1;
    private static final int MAGIC = 0x53435354; // "SCST"

    private final Map<String, INDArray> arrays;
    private final Map<String, Long> longs;
    private final Map<String, Double> doubles;
    private final Map<String, StateTree> children;

    private StateTree(Builder b) {
        this.arrays = Collections.unmodifiableMap(new LinkedHashMap<>(b.arrays));
        this.longs = Collections.unmodifiableMap(new LinkedHashMap<>(b.longs));
        this.doubles = Collections.unmodifiableMap(new LinkedHashMap<>(b.doubles));
        this.children = Collections.unmodifiableMap(new LinkedHashMap<>(b.children));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** An empty tree (the state of a stateless transformation). */
    public static StateTree empty() {
        return builder().build();
    }

    /** A copy of the named array. @throws IllegalArgumentException naming the entry and the ones present */
    public INDArray array(String name) {
        INDArray a = arrays.get(name);
        if (a == null) {
            throw missing("array", name, arrays.keySet());
        }
        return a.dup();
    }

    /** A copy of the named array, or null when the tree has none of that name. */
    public INDArray arrayOrNull(String name) {
        INDArray a = arrays.get(name);
        return a == null ? null : a.dup();
    }

    public long longValue(String name) {
        Long v = longs.get(name);
        if (v == null) {
            throw missing("integer", name, longs.keySet());
        }
        return v;
    }

    public double doubleValue(String name) {
        Double v = doubles.get(name);
        if (v == null) {
            throw missing("number", name, doubles.keySet());
        }
        return v;
    }

    public StateTree child(String name) {
        StateTree c = children.get(name);
        if (c == null) {
            throw missing("sub-state", name, children.keySet());
        }
        return c;
    }

    /**
     * A list written by {@link Builder#putArrays}: entries {@code name.0}, {@code name.1}, …; absent entries
     * (null when written) come back as null.
     */
    public List<INDArray> arrays(String name) {
        int n = Math.toIntExact(longValue(name + ".size"));
        List<INDArray> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            out.add(arrayOrNull(name + "." + i));
        }
        return out;
    }

    public java.util.Set<String> arrayNames() {
        return arrays.keySet();
    }

    /**
     * Whether {@code other} has this tree's layout: the same names at every level, arrays of the same shapes and data
     * types (values may differ). A state saved for another optimizer or network fails this.
     */
    public boolean sameLayout(StateTree other) {
        if (!arrays.keySet().equals(other.arrays.keySet()) || !longs.keySet().equals(other.longs.keySet())
                || !doubles.keySet().equals(other.doubles.keySet()) || !children.keySet().equals(other.children.keySet())) {
            return false;
        }
        for (Map.Entry<String, INDArray> a : arrays.entrySet()) {
            INDArray b = other.arrays.get(a.getKey());
            if (!java.util.Arrays.equals(a.getValue().shape(), b.shape()) || a.getValue().dataType() != b.dataType()) {
                return false;
            }
        }
        for (Map.Entry<String, StateTree> c : children.entrySet()) {
            if (!c.getValue().sameLayout(other.children.get(c.getKey()))) {
                return false;
            }
        }
        return true;
    }

    private static IllegalArgumentException missing(String what, String name, java.util.Set<String> present) {
        return new IllegalArgumentException("optimizer state has no " + what + " '" + name + "' (present: " + present
                + "): the checkpoint was written by another optimizer or version; resume with the optimizer that wrote it");
    }

    /** Writes the tree (format {@value #FORMAT_VERSION}). */
    public void write(DataOutputStream out) throws IOException {
        out.writeInt(MAGIC);
        out.writeInt(FORMAT_VERSION);
        writeBody(out);
    }

    private void writeBody(DataOutputStream out) throws IOException {
        out.writeInt(arrays.size());
        for (Map.Entry<String, INDArray> e : arrays.entrySet()) {
            out.writeUTF(e.getKey());
            INDArray a = e.getValue();
            if (a.dataType() == org.nd4j.linalg.api.buffer.DataType.FLOAT || a.dataType() == org.nd4j.linalg.api.buffer.DataType.DOUBLE) {
                out.writeByte(BULK_ARRAY);
                ArrayCodec.write(out, a);
            } else {
                out.writeByte(ND4J_ARRAY);
                Nd4j.write(a, out);
            }
        }
        out.writeInt(longs.size());
        for (Map.Entry<String, Long> e : longs.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(e.getValue());
        }
        out.writeInt(doubles.size());
        for (Map.Entry<String, Double> e : doubles.entrySet()) {
            out.writeUTF(e.getKey());
            out.writeLong(Double.doubleToRawLongBits(e.getValue()));
        }
        out.writeInt(children.size());
        for (Map.Entry<String, StateTree> e : children.entrySet()) {
            out.writeUTF(e.getKey());
            e.getValue().writeBody(out);
        }
    }

    /**
     * Reads a tree written by {@link #write}.
     *
     * @throws IOException naming the problem for a stream that is not a state tree or of another format version
     */
    public static StateTree read(DataInputStream in) throws IOException {
        int magic = in.readInt();
        if (magic != MAGIC) {
            throw new IOException("not an optimizer state (bad magic number " + Integer.toHexString(magic) + ")");
        }
        int version = in.readInt();
        if (version != FORMAT_VERSION && version != 1) {
            throw new IOException("optimizer state format version " + version + " is not supported (this build reads versions 1 to "
                    + FORMAT_VERSION + ")");
        }
        return readBody(in, version);
    }

    private static StateTree readBody(DataInputStream in, int version) throws IOException {
        Builder b = builder();
        int n = in.readInt();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            int form = version == 1 ? ND4J_ARRAY : in.readUnsignedByte();
            if (form != ND4J_ARRAY && form != BULK_ARRAY) {
                throw new IOException("not an optimizer state: array '" + name + "' has encoding " + form);
            }
            b.arrays.put(name, form == BULK_ARRAY ? ArrayCodec.read(in) : Nd4j.read(in));
        }
        n = in.readInt();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            b.longs.put(name, in.readLong());
        }
        n = in.readInt();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            b.doubles.put(name, Double.longBitsToDouble(in.readLong()));
        }
        n = in.readInt();
        for (int i = 0; i < n; i++) {
            String name = in.readUTF();
            b.children.put(name, readBody(in, version));
        }
        return b.build();
    }

    /**
     * Whether both trees hold the same names, the same numbers (bit for bit) and arrays of the same type, shape
     * and values (bit for bit).
     */
    @Override
    public boolean equals(Object o) {
        if (!(o instanceof StateTree t)) {
            return false;
        }
        if (!arrays.keySet().equals(t.arrays.keySet()) || !longs.equals(t.longs) || !children.equals(t.children)
                || !doubles.keySet().equals(t.doubles.keySet())) {
            return false;
        }
        for (String k : doubles.keySet()) {
            if (Double.doubleToRawLongBits(doubles.get(k)) != Double.doubleToRawLongBits(t.doubles.get(k))) {
                return false;
            }
        }
        for (String k : arrays.keySet()) {
            if (!bitwiseEqual(arrays.get(k), t.arrays.get(k))) {
                return false;
            }
        }
        return true;
    }

    static boolean bitwiseEqual(INDArray a, INDArray b) {
        if (a.dataType() != b.dataType() || !Arrays.equals(a.shape(), b.shape())) {
            return false;
        }
        INDArray x = a.dup('c');
        INDArray y = b.dup('c');
        return switch (a.dataType()) {
            case DOUBLE -> Arrays.equals(x.data().asDouble(), y.data().asDouble());
            case FLOAT -> Arrays.equals(x.data().asFloat(), y.data().asFloat());
            default -> Arrays.equals(x.data().asLong(), y.data().asLong());
        };
    }

    @Override
    public int hashCode() {
        return Objects.hash(arrays.keySet(), longs, doubles.keySet(), children);
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("StateTree{");
        arrays.forEach((k, v) -> sb.append(k).append(':').append(v.dataType()).append(Arrays.toString(v.shape())).append(' '));
        longs.forEach((k, v) -> sb.append(k).append('=').append(v).append(' '));
        doubles.forEach((k, v) -> sb.append(k).append('=').append(v).append(' '));
        children.forEach((k, v) -> sb.append(k).append('=').append(v).append(' '));
        return sb.append('}').toString();
    }

    /** Collects entries; names must be unique within each kind of entry. */
    public static final class Builder {
        private final Map<String, INDArray> arrays = new LinkedHashMap<>();
        private final Map<String, Long> longs = new LinkedHashMap<>();
        private final Map<String, Double> doubles = new LinkedHashMap<>();
        private final Map<String, StateTree> children = new LinkedHashMap<>();

        private Builder() {
        }

        /** Adds a copy of {@code value}; a null value is not stored. */
        public Builder put(String name, INDArray value) {
            if (value != null) {
                unique(arrays, name).put(name, value.dup());
            }
            return this;
        }

        public Builder put(String name, long value) {
            unique(longs, name).put(name, value);
            return this;
        }

        public Builder put(String name, double value) {
            unique(doubles, name).put(name, value);
            return this;
        }

        public Builder put(String name, StateTree child) {
            unique(children, name).put(name, Objects.requireNonNull(child, name));
            return this;
        }

        /** A list of arrays, some possibly null; read back with {@link StateTree#arrays(String)}. */
        public Builder putArrays(String name, List<INDArray> values) {
            put(name + ".size", (long) values.size());
            for (int i = 0; i < values.size(); i++) {
                put(name + "." + i, values.get(i));
            }
            return this;
        }

        private static <V> Map<String, V> unique(Map<String, V> map, String name) {
            if (map.containsKey(name)) {
                throw new IllegalArgumentException("state entry '" + name + "' is written twice");
            }
            return map;
        }

        public StateTree build() {
            return new StateTree(this);
        }
    }
}
