package org.symcurv.core.io;

import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.FileOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.zip.CRC32;
import java.util.zip.CheckedInputStream;
import java.util.zip.CheckedOutputStream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.AtomicFiles;
import org.symcurv.core.io.CurvatureFileException.Reason;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.Kind;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Piece;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The on-disk form of a structured curvature {@code S = ⊕_κ I_{d_κ} ⊗ B_κ} ({@link Curvature};
 * symmetry-curvature.md section 4): the symmetry spec that fixes the kinds, every block {@code B_κ} bit for bit,
 * and a small metadata map saying how it was made. Conventional extension {@code .scv}.
 *
 * <p>Format version {@value #VERSION}, all integers and floats big-endian, strings as an {@code int32} byte count
 * followed by UTF-8:
 * <pre>
 *   magic        8 bytes  89 53 43 56 0D 0A 1A 0A  ("\x89SCV\r\n\x1a\n": binary, and breaks visibly under text-mode copies)
 *   version      int32    1
 *   metadata     int32 n, then n × (string key, string value), in insertion order
 *   groups       int32 n, then n × (string name, string type ∈ {PERM, SIGN, SIGNED_PERM, ORTH}, int32 size)
 *   leaves       int32 n, then n × (string name, uint8 order 'c'|'f', int64 offset, int32 rank,
 *                                   rank × (int64 size, string label: a group name, or "" for FREE))
 *   data type    string   FLOAT | DOUBLE
 *   kinds        int32 n, then n × (int32 groups, groups × uint8 piece (0 TRIVIAL, 1 STANDARD, 2 CHARACTER),
 *                                   int32 family size F, int32 copies m, uint8 storage (0 dense, 1 diagonal only),
 *                                   F·m·m (dense, row-major [F, m, m]) or F·m (diagonal, [F, m]) values)
 *   end marker   int32    0x454E4421 ("END!")
 *   checksum     int32    CRC-32 of every byte from the version to the end marker
 * </pre>
 * Copies within a kind are ordered as {@link KindDecomposition} orders them: leaf by leaf in spec order, row-major
 * over each leaf's free axes. The reader recomputes the decomposition from the stored spec and requires every
 * stored kind to match one of its kinds (pieces, family size, copies); kinds may appear in any order.
 *
 * <p>Files are written to a temporary sibling, synced and renamed into place, so a reader never sees half a file
 * and an existing file survives a failed write.
 */
public final class CurvatureFile {
    /** The format version this build writes. */
    public static final int VERSION = 1;
    /** The format versions this build reads. */
    public static final List<Integer> READABLE_VERSIONS = List.of(1);

    /** Metadata key: how the operator was estimated, e.g. {@code fisher} or {@code empirical-fisher}. */
    public static final String ESTIMATOR = "estimator";
    /** Metadata key: the symmetry group type, e.g. {@code perm}, or {@code inferred}. */
    public static final String GROUP_TYPE = "group";
    /** Metadata key: the model file the operator belongs to. */
    public static final String MODEL = "model";
    /** Metadata key: the data the operator was estimated on. */
    public static final String DATA = "data";
    /** Metadata key: the number of examples averaged over. */
    public static final String EXAMPLES = "examples";
    /** Metadata key: the seed of any random choice. */
    public static final String SEED = "seed";

    static final byte[] MAGIC = {(byte) 0x89, 'S', 'C', 'V', '\r', '\n', 0x1A, '\n'};
    static final int END_MARKER = 0x454E4421;
    /** Longest string accepted (a sanity bound that turns corrupt lengths into a clear error, not an allocation). */
    static final int MAX_STRING_BYTES = 1 << 20;
    /** Most metadata entries, groups, leaves, kinds or axes accepted. */
    static final int MAX_COUNT = 1 << 20;

    private CurvatureFile() {
    }

    /**
     * A curvature operator with its metadata.
     *
     * @param curvature the operator
     * @param metadata  free-form key/value pairs, in insertion order (unmodifiable)
     */
    public record Contents(Curvature curvature, Map<String, String> metadata) {
        public Contents {
            Objects.requireNonNull(curvature, "curvature");
            metadata = Collections.unmodifiableMap(new LinkedHashMap<>(metadata));
        }
    }

    /**
     * Writes {@code curvature} and {@code metadata} to {@code target}, atomically.
     *
     * @param metadata        non-empty keys and values without nulls, each under 1 MiB of UTF-8
     * @param replaceExisting whether an existing {@code target} may be replaced
     * @throws FileAlreadyExistsException if {@code target} exists and {@code replaceExisting} is false (nothing is written)
     * @throws IllegalArgumentException   if the operator's data type is not FLOAT or DOUBLE, or the metadata is invalid
     * @throws IOException                if the directory cannot be written; {@code target} is then unchanged
     */
    public static void write(Path target, Curvature curvature, Map<String, String> metadata, boolean replaceExisting) throws IOException {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(curvature, "curvature");
        requireValid(metadata);
        DataType type = curvature.dataType();
        if (type != DataType.FLOAT && type != DataType.DOUBLE) {
            throw new IllegalArgumentException("curvature files store FLOAT or DOUBLE blocks, not " + type + "; cast the blocks first");
        }
        if (!replaceExisting && Files.exists(target)) {
            throw new FileAlreadyExistsException(target.toString(), null, "it already exists and replacing it was not asked for");
        }
        Path tmp = AtomicFiles.createSiblingTemp(target);
        boolean moved = false;
        try {
            try (FileOutputStream file = new FileOutputStream(tmp.toFile())) {
                BufferedOutputStream buffered = new BufferedOutputStream(file, 1 << 16);
                buffered.write(MAGIC);
                CheckedOutputStream checked = new CheckedOutputStream(buffered, new CRC32());
                DataOutputStream out = new DataOutputStream(checked);
                writeBody(out, curvature, metadata);
                out.writeInt(END_MARKER);
                out.flush();
                new DataOutputStream(buffered).writeInt((int) checked.getChecksum().getValue());
                buffered.flush();
                file.getFD().sync();
            }
            AtomicFiles.moveIntoPlace(tmp, target, replaceExisting);
            moved = true;
        } finally {
            if (!moved) {
                Files.deleteIfExists(tmp);
            }
        }
    }

    private static void requireValid(Map<String, String> metadata) {
        Objects.requireNonNull(metadata, "metadata");
        if (metadata.size() > MAX_COUNT) {
            throw new IllegalArgumentException("metadata has " + metadata.size() + " entries; at most " + MAX_COUNT + " are stored");
        }
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            if (e.getKey() == null || e.getKey().isEmpty() || e.getValue() == null) {
                throw new IllegalArgumentException("metadata keys must be non-empty and values non-null; got " + e.getKey() + " = " + e.getValue());
            }
            if (utf8(e.getKey()).length > MAX_STRING_BYTES || utf8(e.getValue()).length > MAX_STRING_BYTES) {
                throw new IllegalArgumentException("metadata entry '" + abbreviate(e.getKey()) + "' is over " + MAX_STRING_BYTES
                        + " bytes: metadata is for short descriptions, not data");
            }
        }
    }

    private static void writeBody(DataOutputStream out, Curvature curvature, Map<String, String> metadata) throws IOException {
        out.writeInt(VERSION);
        out.writeInt(metadata.size());
        for (Map.Entry<String, String> e : metadata.entrySet()) {
            writeString(out, e.getKey());
            writeString(out, e.getValue());
        }
        SymmetrySpec spec = curvature.spec();
        out.writeInt(spec.groups().size());
        for (Group g : spec.groups()) {
            writeString(out, g.name());
            writeString(out, g.type().name());
            out.writeInt(g.size());
        }
        out.writeInt(spec.leaves().size());
        for (LeafSpec leaf : spec.leaves()) {
            writeString(out, leaf.name());
            out.writeByte(leaf.order());
            out.writeLong(leaf.offset());
            out.writeInt(leaf.rank());
            for (int a = 0; a < leaf.rank(); a++) {
                out.writeLong(leaf.size(a));
                writeString(out, leaf.label(a).isFree() ? "" : leaf.label(a).group());
            }
        }
        DataType type = curvature.dataType();
        writeString(out, type.name());
        KindDecomposition kinds = curvature.decomposition();
        out.writeInt(kinds.kinds().size());
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindLayout layout = kinds.kinds().get(k);
            List<Piece> pieces = layout.kind().pieces();
            out.writeInt(pieces.size());
            for (Piece p : pieces) {
                out.writeByte(p.ordinal());
            }
            out.writeInt(layout.familySize());
            out.writeInt(layout.copies());
            INDArray block = curvature.block(k);
            boolean diagonal = curvature.isDiagonalBlock(k);
            out.writeByte(diagonal ? 1 : 0);
            for (long f = 0; f < layout.familySize(); f++) {
                INDArray member = diagonal ? block.getRow(f) : block.slice(f);
                ArrayCodec.writeValues(out, member);
            }
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        byte[] bytes = utf8(s);
        out.writeInt(bytes.length);
        out.write(bytes);
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /**
     * Reads a curvature file.
     *
     * @throws CurvatureFileException naming the file and its {@link Reason} if it is not a curvature file, of a version
     *                                this build does not read, truncated, or corrupt
     * @throws IOException            if the file cannot be opened (e.g. {@link java.nio.file.NoSuchFileException})
     */
    public static Contents read(Path file) throws IOException {
        Objects.requireNonNull(file, "file");
        long size = Files.size(file);
        try (InputStream raw = new BufferedInputStream(Files.newInputStream(file), 1 << 16)) {
            byte[] magic = raw.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                if (magic.length < MAGIC.length && Arrays.equals(magic, Arrays.copyOf(MAGIC, magic.length))) {
                    throw new CurvatureFileException(file, Reason.TRUNCATED, file + " is truncated: it ends inside the "
                            + MAGIC.length + "-byte header (" + size + " bytes); write it again");
                }
                throw new CurvatureFileException(file, Reason.NOT_A_CURVATURE_FILE, file + " is not a symcurv curvature file: it does not start with"
                        + " the curvature magic bytes (is it a model zip or another file? curvature files are written by 'symcurv curvature')");
            }
            CheckedInputStream checked = new CheckedInputStream(raw, new CRC32());
            DataInputStream in = new DataInputStream(checked);
            Reader reader = new Reader(file, size, in);
            int version = in.readInt();
            if (!READABLE_VERSIONS.contains(version)) {
                throw new CurvatureFileException(file, Reason.UNSUPPORTED_VERSION, file + " is a curvature file of format version " + version
                        + ", but this build of symcurv reads only format version" + (READABLE_VERSIONS.size() > 1 ? "s " : " ")
                        + READABLE_VERSIONS + ": read it with the symcurv build that wrote it, or write it again with this one");
            }
            Contents contents = reader.body();
            if (in.readInt() != END_MARKER) {
                throw reader.corrupt("the end marker is missing after the last block");
            }
            int computed = (int) checked.getChecksum().getValue();
            int stored = new DataInputStream(raw).readInt();
            if (computed != stored) {
                throw reader.corrupt("its CRC-32 checksum does not match its contents (stored " + Integer.toHexString(stored)
                        + ", computed " + Integer.toHexString(computed) + ")");
            }
            if (raw.read() != -1) {
                throw reader.corrupt("it has bytes after its checksum");
            }
            return contents;
        } catch (EOFException e) {
            throw new CurvatureFileException(file, Reason.TRUNCATED, file + " is truncated: it ends before its contents do ("
                    + size + " bytes); it was probably cut off while copying; write it again", e);
        }
    }

    /** Parses the body after the version. */
    private static final class Reader {
        private final Path file;
        private final long size;
        private final DataInputStream in;

        Reader(Path file, long size, DataInputStream in) {
            this.file = file;
            this.size = size;
            this.in = in;
        }

        CurvatureFileException corrupt(String problem) {
            return new CurvatureFileException(file, Reason.CORRUPT, file + " is corrupt: " + problem + "; write it again");
        }

        CurvatureFileException corrupt(String problem, Throwable cause) {
            return new CurvatureFileException(file, Reason.CORRUPT, file + " is corrupt: " + problem + "; write it again", cause);
        }

        Contents body() throws IOException {
            int entries = count("metadata entries");
            Map<String, String> metadata = new LinkedHashMap<>();
            for (int i = 0; i < entries; i++) {
                String key = string("metadata key");
                metadata.put(key, string("metadata value"));
            }
            SymmetrySpec spec = spec();
            String typeName = string("data type");
            DataType type = switch (typeName) {
                case "FLOAT" -> DataType.FLOAT;
                case "DOUBLE" -> DataType.DOUBLE;
                default -> throw corrupt("unknown data type '" + abbreviate(typeName) + "' (expected FLOAT or DOUBLE)");
            };
            KindDecomposition kinds;
            try {
                kinds = KindDecomposition.of(spec);
            } catch (IllegalArgumentException e) {
                throw corrupt("its symmetry spec has no valid decomposition: " + e.getMessage(), e);
            }
            Map<Kind, Integer> index = new HashMap<>();
            for (int k = 0; k < kinds.kinds().size(); k++) {
                index.put(kinds.kinds().get(k).kind(), k);
            }
            int stored = count("kinds");
            if (stored != kinds.kinds().size()) {
                throw corrupt("it stores " + stored + " blocks but its spec has " + kinds.kinds().size() + " kinds");
            }
            INDArray[] blocks = new INDArray[stored];
            for (int s = 0; s < stored; s++) {
                int groups = count("pieces");
                if (groups != spec.groups().size()) {
                    throw corrupt("block " + s + " names pieces of " + groups + " groups but the spec has " + spec.groups().size());
                }
                List<Piece> pieces = new ArrayList<>();
                for (int g = 0; g < groups; g++) {
                    int p = in.readUnsignedByte();
                    if (p >= Piece.values().length) {
                        throw corrupt("block " + s + " has unknown piece code " + p);
                    }
                    pieces.add(Piece.values()[p]);
                }
                Integer k = index.get(new Kind(pieces));
                if (k == null || blocks[k] != null) {
                    throw corrupt("block " + s + " is of kind " + new Kind(pieces).describe(spec.groups())
                            + (k == null ? ", which its spec does not have" : ", which appears twice"));
                }
                KindLayout layout = kinds.kinds().get(k);
                int family = in.readInt();
                int copies = in.readInt();
                if (family != layout.familySize() || copies != layout.copies()) {
                    throw corrupt("block of kind " + kinds.describe(k) + " is stored as " + family + " × " + copies + " copies but its spec gives "
                            + layout.familySize() + " × " + layout.copies());
                }
                int storage = in.readUnsignedByte();
                if (storage > 1) {
                    throw corrupt("block of kind " + kinds.describe(k) + " has unknown storage code " + storage);
                }
                blocks[k] = values(storage == 1, family, copies, type, kinds.describe(k));
            }
            try {
                return new Contents(Curvature.of(kinds, Arrays.asList(blocks)), metadata);
            } catch (IllegalArgumentException e) {
                throw corrupt("its blocks do not form an operator: " + e.getMessage(), e);
            }
        }

        private SymmetrySpec spec() throws IOException {
            int groupCount = count("groups");
            List<Group> groups = new ArrayList<>();
            try {
                for (int g = 0; g < groupCount; g++) {
                    String name = string("group name");
                    String type = string("group type");
                    GroupType groupType;
                    try {
                        groupType = GroupType.valueOf(type);
                    } catch (IllegalArgumentException e) {
                        throw corrupt("group '" + abbreviate(name) + "' has unknown type '" + abbreviate(type) + "'");
                    }
                    groups.add(new Group(name, groupType, in.readInt()));
                }
                int leafCount = count("leaves");
                List<LeafSpec> leaves = new ArrayList<>();
                for (int l = 0; l < leafCount; l++) {
                    String name = string("leaf name");
                    char order = (char) in.readUnsignedByte();
                    long offset = in.readLong();
                    int rank = count("axes");
                    long[] shape = new long[rank];
                    List<AxisLabel> labels = new ArrayList<>();
                    for (int a = 0; a < rank; a++) {
                        shape[a] = in.readLong();
                        String label = string("axis label");
                        labels.add(label.isEmpty() ? AxisLabel.FREE : AxisLabel.of(label));
                    }
                    leaves.add(new LeafSpec(name, shape, labels, offset, order));
                }
                return new SymmetrySpec(groups, leaves);
            } catch (IllegalArgumentException e) {
                throw corrupt("its symmetry spec is invalid: " + e.getMessage(), e);
            }
        }

        /** One block, {@code [F, m, m]} or {@code [F, m]}, read family member by family member. */
        private INDArray values(boolean diagonal, int family, int copies, DataType type, String kind) throws IOException {
            long perMember = diagonal ? copies : (long) copies * copies;
            long bytes = family * perMember * (type == DataType.DOUBLE ? Double.BYTES : Float.BYTES);
            if (perMember > Integer.MAX_VALUE / Double.BYTES || bytes > size) {
                throw new EOFException("block of kind " + kind + " needs " + bytes + " bytes");
            }
            INDArray block = diagonal ? Nd4j.create(type, family, copies) : Nd4j.create(type, family, copies, copies);
            byte[] buffer = new byte[Math.toIntExact(perMember * (type == DataType.DOUBLE ? Double.BYTES : Float.BYTES))];
            for (long f = 0; f < family; f++) {
                in.readFully(buffer);
                INDArray member;
                if (type == DataType.DOUBLE) {
                    double[] v = new double[(int) perMember];
                    ByteBuffer.wrap(buffer).asDoubleBuffer().get(v);
                    member = Nd4j.createFromArray(v);
                } else {
                    float[] v = new float[(int) perMember];
                    ByteBuffer.wrap(buffer).asFloatBuffer().get(v);
                    member = Nd4j.createFromArray(v);
                }
                if (diagonal) {
                    block.getRow(f).assign(member);
                } else {
                    block.slice(f).assign(member.reshape('c', new long[] {copies, copies}));
                }
            }
            return block;
        }

        private int count(String what) throws IOException {
            int n = in.readInt();
            if (n < 0 || n > MAX_COUNT) {
                throw corrupt("it claims " + n + " " + what);
            }
            return n;
        }

        private String string(String what) throws IOException {
            int length = in.readInt();
            if (length < 0 || length > MAX_STRING_BYTES || length > size) {
                throw corrupt("a " + what + " claims " + length + " bytes");
            }
            byte[] bytes = new byte[length];
            in.readFully(bytes);
            return new String(bytes, StandardCharsets.UTF_8);
        }
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "…";
    }
}
