package org.symcurv.core.operator;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.KindDecomposition.Contribution;
import org.symcurv.core.symmetry.KindDecomposition.KindLayout;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Piece;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The product {@code S x = Σ_κ Z_κ*(Z_κ(x) B_κ)} of a structured operator {@code S = ⊕_κ I_{d_κ} ⊗ B_κ}
 * (symmetry-curvature.md section 3, "applying an operator") with few array operations: per kind one gather of the
 * raw copy matrix {@code X_κ} from the leaves ({@code [F, n·D, m]}: trivial {@code PERM} axes summed, nothing
 * centred), one block product {@code Y = X_κ B̃_κ}, one centring of {@code Y} along the kind's standard {@code PERM}
 * axes, and one scatter back. Two identities make this the same operator as the copy-matrix definition:
 * <ul>
 *   <li>the centring {@code C} acts on the rows and {@code B} on the columns, so {@code (C X) B = C (X B)}, and the
 *       adjoint's centring is {@code C} again, which leaves the already centred {@code C Y} unchanged;</li>
 *   <li>a trivial piece's {@code 1/√n} per copy is folded into the stored block once,
 *       {@code B̃ = diag(s) B diag(s)}.</li>
 * </ul>
 * The gather and scatter run as plain loops over precomputed element tables (one {@code int} per parameter and kind
 * it belongs to) and sum in float64; the block product is one ND4J (batched) matrix product in the vector's data
 * type, or an elementwise product for {@code 1 × 1} and diagonal-only blocks. Immutable; built once per operator.
 */
final class BlockProduct {
    /**
     * One leaf's share of one kind: its elements in gather order — family member, representation row, copy, then the
     * summed trivial coordinates — as absolute parameter indices.
     */
    private record Part(int copyOffset, int copies, int summed, int[] elements) {
    }

    /**
     * One kind's plan.
     *
     * @param rows     {@code D}, representation rows per vector
     * @param centred  sizes of the standard {@code PERM} row axes in row-major row order (inner last); the other row
     *                 axes are listed with size {@code -n} (not centred) so the strides can be computed
     * @param block    {@code B̃}, {@code [F, m, m]} dense or {@code [F, m]} elementwise, in the operator's data type
     */
    private record KindPlan(int family, int rows, int copies, long[] centred, List<Part> parts, INDArray block,
                            double[] elementwise) {
    }

    private final long parameterCount;
    private final DataType type;
    private final List<KindPlan> plans;

    private BlockProduct(long parameterCount, DataType type, List<KindPlan> plans) {
        this.parameterCount = parameterCount;
        this.type = type;
        this.plans = plans;
    }

    /**
     * The plan for {@code blocks} on {@code kinds}, or null when this route does not apply (a leaf that carries one
     * group on two axes, more than {@code 2³¹} parameters, or blocks neither float32 nor float64).
     */
    static BlockProduct compile(KindDecomposition kinds, List<INDArray> blocks, DataType type) {
        SymmetrySpec spec = kinds.spec();
        if (type != DataType.FLOAT && type != DataType.DOUBLE || spec.parameterCount() > Integer.MAX_VALUE) {
            return null;
        }
        List<KindPlan> plans = new ArrayList<>();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            KindPlan plan = plan(spec, kinds.kinds().get(k), blocks.get(k));
            if (plan == null) {
                return null;
            }
            plans.add(plan);
        }
        return new BlockProduct(spec.parameterCount(), type, plans);
    }

    private static KindPlan plan(SymmetrySpec spec, KindLayout layout, INDArray block) {
        // the representation rows: the groups in the kind's standard piece, in group order
        List<Integer> rowGroups = new ArrayList<>();
        for (int g = 0; g < spec.groups().size(); g++) {
            if (layout.kind().piece(g) == Piece.STANDARD) {
                rowGroups.add(g);
            }
        }
        long rows = 1;
        long[] centred = new long[rowGroups.size()];
        for (int i = 0; i < rowGroups.size(); i++) {
            Group group = spec.groups().get(rowGroups.get(i));
            rows *= group.size();
            centred[i] = group.type() == GroupType.PERM ? group.size() : -group.size();
        }
        if (rows != layout.representationSize()) {
            return null;
        }
        List<Part> parts = new ArrayList<>();
        double[] scale = new double[layout.copies()];
        for (Contribution c : layout.contributions()) {
            Part part = part(spec, layout, c);
            if (part == null) {
                return null;
            }
            parts.add(part);
            Arrays.fill(scale, c.copyOffset(), c.copyOffset() + c.copies(), 1.0 / Math.sqrt(part.summed()));
        }
        int m = layout.copies();
        boolean unit = Arrays.stream(scale).allMatch(x -> x == 1.0);
        double[] values = block.castTo(DataType.DOUBLE).dup('c').reshape(block.length()).toDoubleVector();
        if (block.rank() == 2 || m == 1) {
            // 1×1 and diagonal-only blocks act elementwise: value i belongs to copy i mod m
            if (!unit) {
                for (int i = 0; i < values.length; i++) {
                    values[i] *= scale[i % m] * scale[i % m];
                }
            }
            return new KindPlan(layout.familySize(), (int) rows, m, centred, parts, null, values);
        }
        if (!unit) {
            for (int i = 0; i < values.length; i++) {
                values[i] *= scale[(i / m) % m] * scale[i % m];
            }
        }
        INDArray folded = Nd4j.createFromArray(values).reshape('c', new long[] {layout.familySize(), m, m}).castTo(block.dataType());
        return new KindPlan(layout.familySize(), (int) rows, m, centred, parts, folded, null);
    }

    /** The element table of one contribution, or null if its leaf carries a group on two axes. */
    private static Part part(SymmetrySpec spec, KindLayout layout, Contribution c) {
        LeafSpec leaf = c.leaf();
        int rank = leaf.rank();
        List<Integer> character = new ArrayList<>();
        List<Integer> standard = new ArrayList<>();
        List<Integer> free = new ArrayList<>();
        List<Integer> trivial = new ArrayList<>();
        boolean[] seen = new boolean[spec.groups().size()];
        for (int a = 0; a < rank; a++) {
            if (leaf.label(a).isFree()) {
                free.add(a);
                continue;
            }
            int g = spec.groupIndex(leaf.label(a).group());
            if (seen[g]) {
                return null;
            }
            seen[g] = true;
            switch (layout.kind().piece(g)) {
                case CHARACTER -> character.add(a);
                case STANDARD -> standard.add(a);
                case TRIVIAL -> trivial.add(a);
            }
        }
        java.util.Comparator<Integer> byGroup = java.util.Comparator.comparingInt(a -> spec.groupIndex(leaf.label(a).group()));
        character.sort(byGroup);
        standard.sort(byGroup);
        List<Integer> order = new ArrayList<>(character);
        order.addAll(standard);
        order.addAll(free);
        order.addAll(trivial);
        // stride of each axis in the flat parameter vector
        long[] stride = new long[rank];
        long s = 1;
        if (leaf.order() == 'f') {
            for (int a = 0; a < rank; a++) {
                stride[a] = s;
                s *= leaf.size(a);
            }
        } else {
            for (int a = rank - 1; a >= 0; a--) {
                stride[a] = s;
                s *= leaf.size(a);
            }
        }
        int summed = 1;
        for (int a : trivial) {
            summed *= (int) leaf.size(a);
        }
        int[] elements = new int[Math.toIntExact(leaf.length())];
        long[] index = new long[rank];
        long base = leaf.offset();
        for (int e = 0; e < elements.length; e++) {
            long flat = base;
            for (int a = 0; a < rank; a++) {
                flat += index[a] * stride[a];
            }
            elements[e] = (int) flat;
            for (int i = order.size() - 1; i >= 0; i--) {
                int a = order.get(i);
                if (++index[a] < leaf.size(a)) {
                    break;
                }
                index[a] = 0;
            }
        }
        return new Part(c.copyOffset(), c.copies(), summed, elements);
    }

    /**
     * {@code S x_i} for every row.
     *
     * @param x   {@code n} vectors of length {@code P}, row after row ({@code [n·P]} values); not modified
     * @param n   how many
     * @param out {@code [n·P]}, overwritten
     * @param computeType the data type of the block product
     */
    void multiply(double[] x, int n, double[] out, DataType computeType) {
        Arrays.fill(out, 0.0);
        int p = (int) parameterCount;
        for (KindPlan plan : plans) {
            int f = plan.family();
            int d = plan.rows();
            int m = plan.copies();
            long rowsPerMember = (long) n * d;
            double[] z = new double[Math.toIntExact(f * rowsPerMember * m)];
            for (Part part : plan.parts()) {
                gather(x, n, p, part, d, m, f, z);
            }
            double[] y;
            if (plan.elementwise() != null) {
                y = z;
                double[] b = plan.elementwise();
                for (int fi = 0; fi < f; fi++) {
                    for (long r = 0; r < rowsPerMember; r++) {
                        int at = (int) ((fi * rowsPerMember + r) * m);
                        for (int a = 0; a < m; a++) {
                            y[at + a] *= b[fi * m + a];
                        }
                    }
                }
            } else {
                long[] shape = f == 1 ? new long[] {rowsPerMember, m} : new long[] {f, rowsPerMember, m};
                INDArray zs = computeType == DataType.DOUBLE ? Nd4j.createFromArray(z) : Nd4j.createFromArray(toFloat(z));
                zs = zs.reshape('c', shape);
                INDArray b = plan.block().dataType() == computeType ? plan.block() : plan.block().castTo(computeType);
                INDArray product = f == 1 ? zs.mmul(b.reshape(m, m)) : Nd4j.matmul(zs, b);
                y = rowMajorDoubles(product);
            }
            centre(y, plan, n);
            for (Part part : plan.parts()) {
                scatter(y, n, p, part, d, m, f, out);
            }
        }
    }

    private static void gather(double[] x, int n, int p, Part part, int d, int m, int f, double[] z) {
        int[] e = part.elements();
        int c = part.copies();
        int t = part.summed();
        if (e.length == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            int xBase = i * p;
            int pos = 0;
            for (int fi = 0; fi < f; fi++) {
                for (int r = 0; r < d; r++) {
                    int at = ((fi * n + i) * d + r) * m + part.copyOffset();
                    for (int a = 0; a < c; a++) {
                        double sum = 0;
                        for (int j = 0; j < t; j++) {
                            sum += x[xBase + e[pos++]];
                        }
                        z[at + a] = sum;
                    }
                }
            }
        }
    }

    private static void scatter(double[] y, int n, int p, Part part, int d, int m, int f, double[] out) {
        int[] e = part.elements();
        int c = part.copies();
        int t = part.summed();
        if (e.length == 0) {
            return;
        }
        for (int i = 0; i < n; i++) {
            int xBase = i * p;
            int pos = 0;
            for (int fi = 0; fi < f; fi++) {
                for (int r = 0; r < d; r++) {
                    int at = ((fi * n + i) * d + r) * m + part.copyOffset();
                    for (int a = 0; a < c; a++) {
                        double v = y[at + a];
                        for (int j = 0; j < t; j++) {
                            out[xBase + e[pos++]] += v;
                        }
                    }
                }
            }
        }
    }

    /** Subtracts the mean along each standard {@code PERM} row axis, separately per family member, vector and copy. */
    private static void centre(double[] y, KindPlan plan, int n) {
        long[] axes = plan.centred();
        int m = plan.copies();
        int d = plan.rows();
        int inner = 1;
        for (int ax = axes.length - 1; ax >= 0; ax--) {
            int size = (int) Math.abs(axes[ax]);
            if (axes[ax] > 0 && size > 1) {
                int outer = d / (size * inner);
                for (int block = 0; block < plan.family() * n; block++) {
                    int blockBase = block * d * m;
                    for (int o = 0; o < outer; o++) {
                        for (int in = 0; in < inner; in++) {
                            int start = blockBase + (o * size * inner + in) * m;
                            int step = inner * m;
                            for (int a = 0; a < m; a++) {
                                double mean = 0;
                                for (int u = 0; u < size; u++) {
                                    mean += y[start + u * step + a];
                                }
                                mean /= size;
                                for (int u = 0; u < size; u++) {
                                    y[start + u * step + a] -= mean;
                                }
                            }
                        }
                    }
                }
            }
            inner *= size;
        }
    }

    DataType type() {
        return type;
    }

    /** The elements of {@code a} in row-major order, as float64 (no copy on the ND4J side when it is already laid out so). */
    static double[] rowMajorDoubles(INDArray a) {
        INDArray c = a.ordering() == 'c' && a.offset() == 0 && a.data().length() == a.length() && a.elementWiseStride() == 1 ? a : a.dup('c');
        return c.data().asDouble();
    }

    static float[] toFloat(double[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = (float) v[i];
        }
        return out;
    }
}
