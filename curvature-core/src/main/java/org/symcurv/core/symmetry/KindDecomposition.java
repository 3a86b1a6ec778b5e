package org.symcurv.core.symmetry;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The decomposition of parameter space into kinds under a {@link SymmetrySpec} (symmetry-curvature.md
 * section 3), with the copy matrices that carry a parameter-shaped vector into each kind and back.
 *
 * <p>For a flat parameter vector {@code v}, {@link #copyMatrix} gives {@code Z_κ(v)}, a {@code [F, D, m]}
 * array: {@code F} family members (the units of the kind's {@code SIGN} groups; 1 otherwise), {@code D}
 * representation coordinates and {@code m_κ} copies. The coordinates are not an orthonormal basis of the
 * piece but an isometric embedding of it: a {@code PERM} standard piece is represented by the centred vector
 * in {@code R^n} ({@code D = n}, true dimension {@code d = n - 1}), a {@code PERM} trivial piece by
 * {@code Σ_i x_i / √n}. Inner products, and so every Gram matrix {@code Z_κ(u)ᵀ Z_κ(v)}, are exact.
 * {@link #scatterAdd} is the adjoint map, and {@code Σ_κ scatter_κ ∘ copyMatrix_κ} is the identity.
 *
 * <p>Copies are ordered leaf by leaf in spec order, and within a leaf row-major over its free axes.
 */
public final class KindDecomposition {

    /** How one leaf contributes copies to one kind. */
    public record Contribution(LeafSpec leaf, int copyOffset, int copies, int[] permutation, long[] permutedShape) {
        public Contribution {
            permutation = permutation.clone();
            permutedShape = permutedShape.clone();
        }

        @Override
        public int[] permutation() {
            return permutation.clone();
        }

        @Override
        public long[] permutedShape() {
            return permutedShape.clone();
        }
    }

    /**
     * One kind and its shape.
     *
     * @param kind               the pieces per group
     * @param familySize         {@code F}: number of kinds in this family (product of its {@code SIGN} group sizes)
     * @param dimension          {@code d_κ}: the multiplicity of {@code B_κ} in {@code I_{d_κ} ⊗ B_κ}
     * @param representationSize {@code D}: rows of the copy matrix ({@code ≥ d_κ})
     * @param copies             {@code m_κ}: the size of {@code B_κ}
     * @param contributions      which leaves give which copies
     */
    public record KindLayout(Kind kind, int familySize, long dimension, long representationSize, int copies,
                             List<Contribution> contributions) {
        public KindLayout {
            contributions = List.copyOf(contributions);
        }

        /** Leaf names that contribute copies, e.g. for error messages. */
        public List<String> leafNames() {
            List<String> names = new ArrayList<>();
            contributions.forEach(c -> names.add(c.leaf().name()));
            return names;
        }
    }

    private final SymmetrySpec spec;
    private final List<KindLayout> kinds;

    private KindDecomposition(SymmetrySpec spec, List<KindLayout> kinds) {
        this.spec = spec;
        this.kinds = List.copyOf(kinds);
    }

    /** Enumerates the kinds of {@code spec}: the invariant kind first (if any leaf has one), then in order of appearance. */
    public static KindDecomposition of(SymmetrySpec spec) {
        int groupCount = spec.groups().size();
        Map<Kind, List<LeafSpec>> leavesByKind = new LinkedHashMap<>();
        leavesByKind.put(new Kind(java.util.Collections.nCopies(groupCount, Piece.TRIVIAL)), new ArrayList<>());
        for (LeafSpec leaf : spec.leaves()) {
            List<Kind> kindsOfLeaf = new ArrayList<>();
            kindsOfLeaf.add(new Kind(java.util.Collections.nCopies(groupCount, Piece.TRIVIAL)));
            for (int a = 0; a < leaf.rank(); a++) {
                if (leaf.label(a).isFree()) {
                    continue;
                }
                int g = spec.groupIndex(leaf.label(a).group());
                List<Piece> choices = switch (spec.groups().get(g).type()) {
                    case PERM -> List.of(Piece.TRIVIAL, Piece.STANDARD);
                    case SIGN -> List.of(Piece.CHARACTER);
                    case SIGNED_PERM, ORTH -> List.of(Piece.STANDARD);
                };
                List<Kind> next = new ArrayList<>();
                for (Kind k : kindsOfLeaf) {
                    for (Piece p : choices) {
                        List<Piece> pieces = new ArrayList<>(k.pieces());
                        pieces.set(g, p);
                        next.add(new Kind(pieces));
                    }
                }
                kindsOfLeaf = next;
            }
            for (Kind k : kindsOfLeaf) {
                leavesByKind.computeIfAbsent(k, x -> new ArrayList<>()).add(leaf);
            }
        }
        List<KindLayout> layouts = new ArrayList<>();
        for (Map.Entry<Kind, List<LeafSpec>> e : leavesByKind.entrySet()) {
            if (!e.getValue().isEmpty()) {
                KindLayout layout = layout(spec, e.getKey(), e.getValue());
                // a PERM group of one unit has an empty standard piece (d = 0): nothing lives there
                if (layout.dimension() > 0) {
                    layouts.add(layout);
                }
            }
        }
        return new KindDecomposition(spec, layouts);
    }

    private static KindLayout layout(SymmetrySpec spec, Kind kind, List<LeafSpec> leaves) {
        long family = 1;
        long dimension = 1;
        long representation = 1;
        for (int g = 0; g < spec.groups().size(); g++) {
            Group group = spec.groups().get(g);
            switch (kind.piece(g)) {
                case CHARACTER -> family *= group.size();
                case STANDARD -> {
                    representation *= group.size();
                    dimension *= group.type() == GroupType.PERM ? group.size() - 1 : group.size();
                }
                case TRIVIAL -> { }
            }
        }
        List<Contribution> contributions = new ArrayList<>();
        long offset = 0;
        for (LeafSpec leaf : leaves) {
            int rank = leaf.rank();
            List<Integer> characterAxes = new ArrayList<>();
            List<Integer> groupAxes = new ArrayList<>();
            List<Integer> freeAxes = new ArrayList<>();
            for (int a = 0; a < rank; a++) {
                if (leaf.label(a).isFree()) {
                    freeAxes.add(a);
                } else if (kind.piece(spec.groupIndex(leaf.label(a).group())) == Piece.CHARACTER) {
                    characterAxes.add(a);
                } else {
                    groupAxes.add(a);
                }
            }
            java.util.Comparator<Integer> byGroup = java.util.Comparator.comparingInt(a -> spec.groupIndex(leaf.label(a).group()));
            characterAxes.sort(byGroup);
            groupAxes.sort(byGroup);
            int[] permutation = new int[rank];
            long[] permutedShape = new long[rank];
            int i = 0;
            for (List<Integer> axes : List.of(characterAxes, groupAxes, freeAxes)) {
                for (int a : axes) {
                    permutation[i] = a;
                    Piece p = leaf.label(a).isFree() ? null : kind.piece(spec.groupIndex(leaf.label(a).group()));
                    permutedShape[i] = p == Piece.TRIVIAL ? 1 : leaf.size(a);
                    i++;
                }
            }
            long copies = leaf.copies();
            if (offset + copies > Integer.MAX_VALUE) {
                throw new IllegalArgumentException("kind " + kind.describe(spec.groups()) + " would have more than "
                        + Integer.MAX_VALUE + " copies (leaf '" + leaf.name() + "'): too large to store as a block");
            }
            contributions.add(new Contribution(leaf, (int) offset, (int) copies, permutation, permutedShape));
            offset += copies;
        }
        return new KindLayout(kind, Math.toIntExact(family), dimension, representation, (int) offset, contributions);
    }

    public SymmetrySpec spec() {
        return spec;
    }

    public List<KindLayout> kinds() {
        return kinds;
    }

    /** {@code m_κ}: the size of kind {@code k}'s block {@code B_κ}. */
    public int copies(int k) {
        return kinds.get(k).copies();
    }

    /** {@code F}: the family size of kind {@code k} (the product of its {@code SIGN} group sizes; 1 otherwise). */
    public int familySize(int k) {
        return kinds.get(k).familySize();
    }

    /** {@code d_κ}: the multiplicity of kind {@code k}'s block in {@code I_{d_κ} ⊗ B_κ}. */
    public long dimension(int k) {
        return kinds.get(k).dimension();
    }

    /** {@code D}: the rows of kind {@code k}'s copy matrix ({@code ≥ d_κ}). */
    public long representationSize(int k) {
        return kinds.get(k).representationSize();
    }

    /** Whether kind {@code k} is the invariant (all-trivial) kind. */
    public boolean isInvariant(int k) {
        return kinds.get(k).kind().isInvariant();
    }

    /** The kind's readable name, e.g. {@code std@h0 ⊗ std@h1}. */
    public String describe(int kindIndex) {
        return kinds.get(kindIndex).kind().describe(spec.groups());
    }

    /** {@code Σ_κ F_κ m_κ²}: floats needed to store one dense block per kind. */
    public long denseBlockFloats() {
        long n = 0;
        for (KindLayout k : kinds) {
            n += (long) k.familySize() * k.copies() * k.copies();
        }
        return n;
    }

    /**
     * The leaf's elements as a tensor of its shape (a view where ND4J allows it).
     *
     * @param flat the flat parameter vector, length {@link SymmetrySpec#parameterCount()}; not modified
     */
    public static INDArray leafTensor(INDArray flat, LeafSpec leaf) {
        INDArray segment = flat.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()));
        return leaf.rank() == 1 ? segment : segment.reshape(leaf.order(), leaf.shape());
    }

    /** Adds a tensor of the leaf's shape into its place in {@code flatOut} (modified). */
    public static void addToLeaf(INDArray flatOut, LeafSpec leaf, INDArray tensor) {
        INDArray flattened = leaf.rank() == 1 ? tensor : Nd4j.toFlattened(leaf.order(), tensor).reshape(leaf.length());
        flatOut.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length())).addi(flattened);
    }

    /**
     * The copy matrix {@code Z_κ(v)}.
     *
     * @param flat the parameter-shaped vector {@code v}, length {@code P}; not modified
     * @return a new {@code [F, D, m]} array in {@code v}'s data type
     */
    public INDArray copyMatrix(int kindIndex, INDArray flat) {
        checkFlat(flat);
        return copyMatrices(kindIndex, flat.reshape(1, flat.length()));
    }

    /**
     * The copy matrices of {@code n} vectors at once, stacked along the representation axis: row
     * {@code i·D + r} of the result is row {@code r} of {@code Z_κ(v_i)}. Since a block acts on the copies
     * (the columns), {@code Z ↦ Z B_κ} treats all {@code n} vectors in one product.
     *
     * @param rows {@code [n, P]}, one vector per row; not modified
     * @return a new {@code [F, n·D, m]} array
     */
    public INDArray copyMatrices(int kindIndex, INDArray rows) {
        checkRows(rows);
        KindLayout k = kinds.get(kindIndex);
        if (k.contributions().size() == 1) {
            return leafCopies(k, k.contributions().get(0), rows);
        }
        long n = rows.size(0);
        INDArray z = Nd4j.create(rows.dataType(), k.familySize(), n * k.representationSize(), k.copies());
        for (Contribution c : k.contributions()) {
            z.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(c.copyOffset(), c.copyOffset() + c.copies()))
                    .assign(leafCopies(k, c, rows));
        }
        return z;
    }

    /**
     * The leaf's elements of each row as a tensor {@code [n, shape…]} (a view where ND4J allows it).
     *
     * @param rows {@code [n, P]}; not modified
     */
    public static INDArray leafTensors(INDArray rows, LeafSpec leaf) {
        long n = rows.size(0);
        INDArray segment = rows.get(NDArrayIndex.all(), NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()));
        int rank = leaf.rank();
        long[] shape = leaf.shape();
        if (leaf.order() == 'c' || rank <= 1) {
            long[] full = new long[rank + 1];
            full[0] = n;
            System.arraycopy(shape, 0, full, 1, rank);
            return segment.dup('c').reshape('c', full);
        }
        long[] reversed = new long[rank + 1];
        int[] back = new int[rank + 1];
        reversed[0] = n;
        for (int a = 0; a < rank; a++) {
            reversed[a + 1] = shape[rank - 1 - a];
            back[a + 1] = rank - a;
        }
        return segment.dup('c').reshape('c', reversed).permute(back);
    }

    /** Adds tensors {@code [n, shape…]} into the leaf's place in each row of {@code rowsOut} (modified). */
    public static void addToLeaves(INDArray rowsOut, LeafSpec leaf, INDArray tensors) {
        long n = rowsOut.size(0);
        int rank = leaf.rank();
        INDArray t = tensors;
        if (leaf.order() == 'f' && rank > 1) {
            int[] back = new int[rank + 1];
            for (int a = 0; a < rank; a++) {
                back[a + 1] = rank - a;
            }
            t = t.permute(back);
        }
        rowsOut.get(NDArrayIndex.all(), NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                .addi(t.dup('c').reshape('c', new long[] {n, leaf.length()}));
    }

    private INDArray leafCopies(KindLayout k, Contribution c, INDArray rows) {
        LeafSpec leaf = c.leaf();
        return arrangeCopies(k, c, projectPermAxes(k, leaf, 0, leafTensors(rows, leaf), false));
    }

    /** Projected leaf tensors {@code [n, permuted shape…]} (trivial axes of size 1) laid out as copy matrices {@code [F, n·D, c]}. */
    private INDArray arrangeCopies(KindLayout k, Contribution c, INDArray projected) {
        INDArray t = projected.permute(batchPermutation(k, c));
        return t.dup('c').reshape('c', new long[] {k.familySize(), projected.size(0) * k.representationSize(), c.copies()});
    }

    /**
     * One factor of a batch of per-example leaf gradients projected onto kind {@code kindIndex}'s pieces along each of its
     * axes: the factor covers the leaf's consecutive axes {@code firstAxis … firstAxis + r − 1} (a leaf gradient that is a
     * product of such factors, e.g. {@code a_i ⊗ δ_i} over a flattened dense weight {@code [H·W, C, nOut]}, is projected
     * factor by factor). Along a {@code PERM} axis the standard piece centres, {@code x − mean(x)}, and the trivial piece
     * sums, {@code Σ_j x_j / √n} (the axis kept with size 1); every other axis is unchanged (free axes are the copies,
     * {@code SIGN} axes the family, {@code SIGNED_PERM} and {@code ORTH} axes the representation). Multiplying the projected
     * factors out gives the projected leaf tensor that {@link #copyMatricesOfProjected} lays out as {@code Z_κ}.
     *
     * @param factor {@code [n, size(firstAxis), …]}; not modified
     * @return a new array of the same rank (a trivial axis of size 1)
     * @throws IllegalArgumentException if the factor's axes do not fit the leaf
     */
    public INDArray projectFactor(int kindIndex, LeafSpec leaf, int firstAxis, INDArray factor) {
        int r = factor.rank() - 1;
        if (firstAxis < 0 || r < 1 || firstAxis + r > leaf.rank()) {
            throw new IllegalArgumentException("a factor of rank " + factor.rank() + " from axis " + firstAxis + " does not fit leaf '" + leaf.name()
                    + "' of shape " + Arrays.toString(leaf.shape()));
        }
        for (int a = 0; a < r; a++) {
            if (factor.size(a + 1) != leaf.size(firstAxis + a)) {
                throw new IllegalArgumentException("factor axis " + (a + 1) + " of leaf '" + leaf.name() + "' has size " + factor.size(a + 1)
                        + " but leaf axis " + (firstAxis + a) + " has size " + leaf.size(firstAxis + a));
            }
        }
        INDArray t = projectPermAxes(kinds.get(kindIndex), leaf, firstAxis, factor, false);
        return t == factor ? factor.dup() : t;
    }

    /**
     * The copy matrices {@code Z_κ(g_i)} of one leaf's contribution to kind {@code kindIndex} from its already projected
     * per-example tensors ({@link #projectFactor} multiplied out): {@code [F, n·D, c]}, row {@code i·D + r}, the leaf's
     * columns of {@link #copyMatrices}.
     *
     * @param contribution index into the kind's {@link KindLayout#contributions()}
     * @param projected    {@code [n, shape…]} with the kind's trivial axes of size 1; not modified
     * @throws IllegalArgumentException if the shape does not fit
     */
    public INDArray copyMatricesOfProjected(int kindIndex, int contribution, INDArray projected) {
        KindLayout k = kinds.get(kindIndex);
        Contribution c = k.contributions().get(contribution);
        LeafSpec leaf = c.leaf();
        long[] expected = new long[leaf.rank() + 1];
        expected[0] = projected.size(0);
        for (int a = 0; a < leaf.rank(); a++) {
            expected[a + 1] = isTrivial(k, leaf, a) ? 1 : leaf.size(a);
        }
        if (!Arrays.equals(projected.shape(), expected)) {
            throw new IllegalArgumentException("projected tensors of leaf '" + leaf.name() + "' in kind " + describe(kindIndex) + " must have shape "
                    + Arrays.toString(expected) + ", got " + Arrays.toString(projected.shape()));
        }
        return arrangeCopies(k, c, projected);
    }

    /** Whether leaf axis {@code a} is summed away in kind {@code k} (the trivial piece of a {@code PERM} group). */
    private boolean isTrivial(KindLayout k, LeafSpec leaf, int a) {
        return !leaf.label(a).isFree() && k.kind().piece(spec.groupIndex(leaf.label(a).group())) == Piece.TRIVIAL;
    }

    /**
     * Along each {@code PERM} axis of a batch of tensors {@code [n, …]} over the leaf's axes {@code firstAxis, firstAxis + 1, …}
     * (all of them for whole leaf tensors {@code [n, shape…]}): the standard piece is the centring projection
     * {@code P_c x = x - mean(x)} both ways; the trivial piece maps {@code x ↦ Σ_i x_i / √n} (extracting) and its adjoint
     * {@code c ↦ c·1/√n} (scattering, from an axis of size 1 back to {@code n}).
     */
    private INDArray projectPermAxes(KindLayout k, LeafSpec leaf, int firstAxis, INDArray t, boolean scatter) {
        INDArray input = t;
        for (int a = firstAxis; a < firstAxis + t.rank() - 1; a++) {
            if (leaf.label(a).isFree()) {
                continue;
            }
            int g = spec.groupIndex(leaf.label(a).group());
            Group group = spec.groups().get(g);
            if (group.type() != GroupType.PERM) {
                continue;
            }
            int axis = a - firstAxis + 1;
            double scale = 1.0 / Math.sqrt(group.size());
            if (k.kind().piece(g) == Piece.STANDARD) {
                // in place once t is our own copy (never on the caller's array)
                t = t == input ? t.sub(t.mean(true, axis)) : t.subi(t.mean(true, axis));
            } else if (scatter) {
                long[] full = t.shape();
                full[axis] = group.size();
                t = Nd4j.zeros(t.dataType(), full).addi(t).muli(scale);
            } else {
                t = t.sum(true, axis).muli(scale);
            }
        }
        return t;
    }

    /** Axes of {@code [n, shape…]} in copy-matrix order: character axes, the batch axis, group axes, free axes. */
    private int[] batchPermutation(KindLayout k, Contribution c) {
        int[] perm = c.permutation();
        int characters = 0;
        for (int a : perm) {
            if (!c.leaf().label(a).isFree() && k.kind().piece(spec.groupIndex(c.leaf().label(a).group())) == Piece.CHARACTER) {
                characters++;
            }
        }
        int[] out = new int[perm.length + 1];
        int i = 0;
        for (int j = 0; j < perm.length; j++) {
            if (j == characters) {
                out[i++] = 0;
            }
            out[i++] = perm[j] + 1;
        }
        if (characters == perm.length) {
            out[i] = 0;
        }
        return out;
    }

    /**
     * Adds the adjoint of the copy map, {@code Z_κ*(Y)}, into {@code flatOut}: the inverse of
     * {@link #copyMatrix} on the kind's subspace (coordinates outside it are projected away).
     *
     * @param y       {@code [F, D, m]} copy coordinates; not modified
     * @param flatOut length-{@code P} vector, modified (added into)
     */
    public void scatterAdd(int kindIndex, INDArray y, INDArray flatOut) {
        checkFlat(flatOut);
        INDArray rows = Nd4j.zeros(flatOut.dataType(), 1, flatOut.length());
        scatterAddRows(kindIndex, y, rows);
        flatOut.addi(rows.reshape(flatOut.length()));
    }

    /**
     * The batched adjoint of {@link #copyMatrices}: adds {@code Z_κ*(Y_i)} into row {@code i} of {@code rowsOut}.
     *
     * @param y       {@code [F, n·D, m]}; not modified
     * @param rowsOut {@code [n, P]}, modified (added into)
     */
    public void scatterAddRows(int kindIndex, INDArray y, INDArray rowsOut) {
        checkRows(rowsOut);
        KindLayout k = kinds.get(kindIndex);
        long n = rowsOut.size(0);
        long[] expected = {k.familySize(), n * k.representationSize(), k.copies()};
        if (!Arrays.equals(y.shape(), expected)) {
            throw new IllegalArgumentException("copy coordinates for kind " + describe(kindIndex) + " must have shape "
                    + Arrays.toString(expected) + ", got " + Arrays.toString(y.shape()));
        }
        for (Contribution c : k.contributions()) {
            LeafSpec leaf = c.leaf();
            INDArray part = y.get(NDArrayIndex.all(), NDArrayIndex.all(),
                    NDArrayIndex.interval(c.copyOffset(), c.copyOffset() + c.copies())).dup('c');
            int[] perm = batchPermutation(k, c);
            long[] batchShape = new long[perm.length];
            for (int i = 0; i < perm.length; i++) {
                batchShape[i] = perm[i] == 0 ? n : c.permutedShape()[indexOf(c.permutation(), perm[i] - 1)];
            }
            INDArray t = part.reshape('c', batchShape).permute(inverse(perm)).dup('c');
            addToLeaves(rowsOut, leaf, projectPermAxes(k, leaf, 0, t, true));
        }
    }

    private static int indexOf(int[] values, int value) {
        for (int i = 0; i < values.length; i++) {
            if (values[i] == value) {
                return i;
            }
        }
        throw new IllegalStateException("axis " + value + " not in " + Arrays.toString(values));
    }

    /**
     * Adds {@code Σ_κ w_κ(q) B_κ[a(q), a(q)]} into {@code flatOut}: the parameter-space diagonal of
     * {@code I_{d_κ} ⊗ B_κ}, where {@code a(q)} is parameter {@code q}'s copy and {@code w_κ(q) = ‖Z_κ(e_q)‖²}
     * is the product over its {@code PERM} axes of {@code 1 - 1/n} (standard piece) or {@code 1/n} (trivial piece).
     *
     * @param blockDiagonal {@code [F, m]} diagonals of the kind's blocks; not modified
     * @param flatOut       length-{@code P} vector, modified (added into)
     */
    public void addDiagonal(int kindIndex, INDArray blockDiagonal, INDArray flatOut) {
        KindLayout k = kinds.get(kindIndex);
        for (Contribution c : k.contributions()) {
            LeafSpec leaf = c.leaf();
            INDArray part = blockDiagonal.get(NDArrayIndex.all(),
                    NDArrayIndex.interval(c.copyOffset(), c.copyOffset() + c.copies())).dup('c');
            long[] shape = c.permutedShape();
            double weight = 1.0;
            int[] perm = c.permutation();
            for (int i = 0; i < perm.length; i++) {
                int a = perm[i];
                if (leaf.label(a).isFree()) {
                    continue;
                }
                int g = spec.groupIndex(leaf.label(a).group());
                Piece p = k.kind().piece(g);
                if (p == Piece.CHARACTER) {
                    continue;
                }
                shape[i] = 1;
                Group group = spec.groups().get(g);
                if (group.type() == GroupType.PERM) {
                    weight *= p == Piece.STANDARD ? 1.0 - 1.0 / group.size() : 1.0 / group.size();
                }
            }
            INDArray t = part.reshape('c', shape);
            if (leaf.rank() > 1) {
                t = t.permute(inverse(perm)).dup('c');
            }
            if (!Arrays.equals(t.shape(), leaf.shape())) {
                t = Nd4j.zeros(t.dataType(), leaf.shape()).addi(t);
            }
            t = t.mul(weight);
            addToLeaf(flatOut, leaf, t);
        }
    }

    private void checkFlat(INDArray flat) {
        if (flat.rank() != 1 || flat.length() != spec.parameterCount()) {
            throw new IllegalArgumentException("expected a flat parameter vector of shape [" + spec.parameterCount()
                    + "], got shape " + Arrays.toString(flat.shape()));
        }
    }

    private void checkRows(INDArray rows) {
        if (rows.rank() != 2 || rows.size(1) != spec.parameterCount()) {
            throw new IllegalArgumentException("expected parameter vectors as rows, shape [n, " + spec.parameterCount()
                    + "], got shape " + Arrays.toString(rows.shape()));
        }
    }

    private static int[] inverse(int[] permutation) {
        int[] inv = new int[permutation.length];
        for (int i = 0; i < permutation.length; i++) {
            inv[permutation[i]] = i;
        }
        return inv;
    }
}
