package org.symcurv.core.estimate;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The efficient rank-one Fisher (no per-example gradient materialised) against the per-example route:
 * materialise every {@code g_i}, average {@code R2(g_i, g_i)} with {@link OrbitAverage#secondMoment}.
 */
class SymmetricFisherAccumulatorTest {
    /** Two float64 computations of the same sums in different order. */
    static final double FLOAT64 = 1e-11;

    static Stream<Arguments> specs() {
        int[] sizes = {6, 4, 3, 5};
        return Stream.of(
                Arguments.of("perm", SpecsForTests.mlp(sizes, GroupType.PERM, GroupType.PERM)),
                Arguments.of("sign", SpecsForTests.mlp(sizes, GroupType.SIGN, GroupType.SIGN)),
                Arguments.of("signed-perm", SpecsForTests.mlp(sizes, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM)),
                Arguments.of("orth+sign", SpecsForTests.mlp(sizes, GroupType.ORTH, GroupType.SIGN)),
                Arguments.of("sign+perm", SpecsForTests.mlp(sizes, GroupType.SIGN, GroupType.PERM)),
                Arguments.of("1-unit", SpecsForTests.mlp(new int[] {3, 1, 2, 2}, GroupType.PERM, GroupType.SIGN)),
                Arguments.of("no groups", SpecsForTests.mlp(new int[] {3, 2})));
    }

    static FactoredGradients randomFactors(SymmetrySpec spec, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<List<INDArray>> factors = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            List<INDArray> perAxis = new ArrayList<>();
            for (int a = 0; a < leaf.rank(); a++) {
                perAxis.add(Nd4j.randn(DataType.DOUBLE, n, leaf.size(a)));
            }
            factors.add(perAxis);
        }
        return new FactoredGradients(spec, factors, n);
    }

    /**
     * Random factors over runs of consecutive axes: leaf {@code name}'s runs from {@code runs} (e.g. {@code {2, 1}} for
     * {@code A ⊗ δ} over {@code [H·W, C, nOut]}, {@code {4}} for a kernel given whole), one factor per axis otherwise.
     */
    static FactoredGradients randomParts(SymmetrySpec spec, Map<String, int[]> runs, int n, long seed) {
        Nd4j.getRandom().setSeed(seed);
        List<List<INDArray>> factors = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            int[] r = runs.getOrDefault(leaf.name(), ones(leaf.rank()));
            List<INDArray> parts = new ArrayList<>();
            int axis = 0;
            for (int run : r) {
                long[] shape = new long[run + 1];
                shape[0] = n;
                for (int a = 0; a < run; a++) {
                    shape[a + 1] = leaf.size(axis++);
                }
                parts.add(Nd4j.randn(DataType.DOUBLE, shape));
            }
            factors.add(parts);
        }
        return new FactoredGradients(spec, factors, n);
    }

    private static int[] ones(int rank) {
        int[] r = new int[rank];
        java.util.Arrays.fill(r, 1);
        return r;
    }

    /** Every {@code g_i} written out: leaf tensors {@code ⊗_part u_part,i} (row-major over the leaf's axes) flattened in the leaf's order. */
    static INDArray materialise(FactoredGradients g) {
        SymmetrySpec spec = g.spec();
        INDArray out = Nd4j.zeros(DataType.DOUBLE, g.count(), spec.parameterCount());
        for (int i = 0; i < g.count(); i++) {
            INDArray row = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
            for (int l = 0; l < spec.leaves().size(); l++) {
                LeafSpec leaf = spec.leaves().get(l);
                List<INDArray> f = g.leafFactors(l);
                INDArray t = null;
                for (INDArray part : f) {
                    INDArray u = part.slice(i).dup('c');
                    u = u.reshape('c', 1, u.length());
                    t = t == null ? u : t.reshape(t.length(), 1).mmul(u).reshape('c', 1, t.length() * u.length());
                }
                if (t != null) {
                    KindDecomposition.addToLeaf(row, leaf, t.reshape('c', leaf.shape()));
                } else {
                    KindDecomposition.addToLeaf(row, leaf, Nd4j.ones(DataType.DOUBLE, leaf.shape()));
                }
            }
            out.putRow(i, row);
        }
        return out;
    }

    /**
     * A CNN's leaves as symcurv lays them out: conv kernels {@code [out, in, kH, kW]} ('c') with their biases, the dense
     * weight after the flattening {@code [H·W, C, nOut]} ('f'), its bias, and the output layer; {@code hidden = false}
     * makes the flattened weight the output layer ({@code [H·W, C, classes]}, its units free).
     */
    static SymmetrySpec cnn(GroupType c0, GroupType c1, GroupType d, boolean hidden) {
        List<Group> groups = new ArrayList<>(List.of(new Group("h0", c0, 2), new Group("h1", c1, 3)));
        if (hidden) {
            groups.add(new Group("h2", d, 4));
        }
        AxisLabel h0 = AxisLabel.of("h0");
        AxisLabel h1 = AxisLabel.of("h1");
        AxisLabel free = AxisLabel.FREE;
        List<LeafSpec> leaves = new ArrayList<>();
        long[] offset = {0};
        leaves.add(leaf("0_b", new long[] {2}, List.of(h0), offset, 'c'));
        leaves.add(leaf("0_W", new long[] {2, 1, 2, 2}, List.of(h0, free, free, free), offset, 'c'));
        leaves.add(leaf("1_b", new long[] {3}, List.of(h1), offset, 'c'));
        leaves.add(leaf("1_W", new long[] {3, 2, 2, 2}, List.of(h1, h0, free, free), offset, 'c'));
        if (hidden) {
            AxisLabel h2 = AxisLabel.of("h2");
            leaves.add(leaf("2_W", new long[] {4, 3, 4}, List.of(free, h1, h2), offset, 'f'));
            leaves.add(leaf("2_b", new long[] {4}, List.of(h2), offset, 'c'));
            leaves.add(leaf("3_W", new long[] {4, 3}, List.of(h2, free), offset, 'f'));
            leaves.add(leaf("3_b", new long[] {3}, List.of(free), offset, 'c'));
        } else {
            leaves.add(leaf("2_W", new long[] {4, 3, 3}, List.of(free, h1, free), offset, 'f'));
            leaves.add(leaf("2_b", new long[] {3}, List.of(free), offset, 'c'));
        }
        return new SymmetrySpec(groups, leaves);
    }

    private static LeafSpec leaf(String name, long[] shape, List<AxisLabel> labels, long[] offset, char order) {
        LeafSpec leaf = new LeafSpec(name, shape, labels, offset[0], order);
        offset[0] += leaf.length();
        return leaf;
    }

    /** The leaves of {@code spec} named, re-based to a contiguous layout (a dense tail, a last-layer subset). */
    static SymmetrySpec subset(SymmetrySpec spec, String... names) {
        List<LeafSpec> leaves = new ArrayList<>();
        long offset = 0;
        for (String name : names) {
            LeafSpec l = spec.leaf(name);
            leaves.add(new LeafSpec(l.name(), l.shape(), l.labels(), offset, l.order()));
            offset += l.length();
        }
        return new SymmetrySpec(spec.groups(), leaves);
    }

    /** The factor runs of a real CNN: kernels whole, the flattened weight as {@code A ⊗ δ}. */
    static final Map<String, int[]> CNN_RUNS = Map.of("0_W", new int[] {4}, "1_W", new int[] {4}, "2_W", new int[] {2, 1});
    /** Other runs, for the paths a real CNN does not take: several factors over several axes in one leaf. */
    static final Map<String, int[]> OTHER_RUNS = Map.of("0_W", new int[] {1, 1, 2}, "1_W", new int[] {2, 2}, "2_W", new int[] {1, 2},
            "3_W", new int[] {2});

    static Stream<Arguments> cnnSpecs() {
        List<Arguments> out = new ArrayList<>();
        GroupType[][] types = {
                {GroupType.PERM, GroupType.PERM, GroupType.PERM},
                {GroupType.SIGN, GroupType.SIGN, GroupType.SIGN},
                {GroupType.SIGNED_PERM, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM},
                {GroupType.ORTH, GroupType.ORTH, GroupType.ORTH},
                {GroupType.PERM, GroupType.SIGN, GroupType.PERM},
                {GroupType.SIGN, GroupType.PERM, GroupType.SIGN},
                {GroupType.PERM, GroupType.SIGNED_PERM, GroupType.SIGN}};
        for (GroupType[] t : types) {
            String name = t[0] + "/" + t[1] + "/" + t[2];
            SymmetrySpec full = cnn(t[0], t[1], t[2], true);
            out.add(Arguments.of(name + ", kernels whole, A ⊗ δ", full, CNN_RUNS));
            out.add(Arguments.of(name + ", other runs", full, OTHER_RUNS));
            out.add(Arguments.of(name + ", dense tail", subset(full, "2_W", "2_b", "3_W", "3_b"), CNN_RUNS));
            out.add(Arguments.of(name + ", flattened weight alone", subset(full, "2_W"), CNN_RUNS));
            out.add(Arguments.of(name + ", flattened output layer", cnn(t[0], t[1], t[2], false), CNN_RUNS));
        }
        return out.stream();
    }

    /**
     * Factors over runs of axes (a CNN's kernels and flattened dense weight) give the orbit average of the written-out
     * gradients, for every group type and where the leaves share kinds or are alone in them.
     */
    @ParameterizedTest(name = "{0}")
    @MethodSource("cnnSpecs")
    void factorsOverRunsOfAxesGiveTheOrbitAverageOfTheWrittenOutGradients(String name, SymmetrySpec spec, Map<String, int[]> runs) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        SymmetricFisherAccumulator estimator = new SymmetricFisherAccumulator(kinds, BlockBudget.DEFAULT, DataType.DOUBLE);
        List<FactoredGradients> batches = List.of(randomParts(spec, runs, 6, 11), randomParts(spec, runs, 3, 12));
        List<INDArray> rows = new ArrayList<>();
        for (FactoredGradients b : batches) {
            estimator.add(b);
            rows.add(materialise(b));
        }
        Curvature expected = OrbitAverage.secondMoment(kinds, Nd4j.vstack(rows.toArray(new INDArray[0])), BlockBudget.DEFAULT);
        assertClose(expected.toDense(), estimator.estimate().toDense(), name);
        // the diagonal-only fallback of over-budget blocks keeps the same diagonal
        SymmetricFisherAccumulator small = new SymmetricFisherAccumulator(kinds, new BlockBudget(3, true), DataType.DOUBLE);
        batches.forEach(small::add);
        assertClose(expected.diagonal().reshape(1, -1), small.estimate().diagonal().reshape(1, -1), name + ", diagonal-only blocks");
    }

    /** Batches may mix both forms of a leaf (a kind's rank-one sums and its whole-block sums add up). */
    @Test
    void perAxisAndRunFactorsOfTheSameGradientsAgree() {
        SymmetrySpec spec = cnn(GroupType.PERM, GroupType.PERM, GroupType.PERM, true);
        KindDecomposition kinds = KindDecomposition.of(spec);
        FactoredGradients perAxis = randomParts(spec, Map.of(), 5, 13);
        // the same gradients with 2_W's first two factors multiplied into one
        List<List<INDArray>> merged = new ArrayList<>(perAxis.factors());
        int w = spec.leaves().indexOf(spec.leaf("2_W"));
        List<INDArray> f = perAxis.leafFactors(w);
        INDArray a = Nd4j.zeros(DataType.DOUBLE, 5, 4, 3).addi(f.get(0).reshape(5, 4, 1)).muli(f.get(1).reshape(5, 1, 3));
        merged.set(w, List.of(a, f.get(2)));
        FactoredGradients runs = new FactoredGradients(spec, merged, 5);
        SymmetricFisherAccumulator one = new SymmetricFisherAccumulator(kinds, BlockBudget.DEFAULT, DataType.DOUBLE);
        one.add(perAxis);
        one.add(runs);
        SymmetricFisherAccumulator other = new SymmetricFisherAccumulator(kinds, BlockBudget.DEFAULT, DataType.DOUBLE);
        other.add(perAxis);
        other.add(perAxis);
        assertClose(other.estimate().toDense(), one.estimate().toDense(), "per-axis + runs vs per-axis twice");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void rankOneFisherEqualsPerExampleRoute(String name, SymmetrySpec spec) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        SymmetricFisherAccumulator estimator = new SymmetricFisherAccumulator(kinds, BlockBudget.DEFAULT, DataType.DOUBLE);
        List<FactoredGradients> batches = List.of(randomFactors(spec, 7, 1), randomFactors(spec, 5, 2));
        List<INDArray> rows = new ArrayList<>();
        for (FactoredGradients b : batches) {
            estimator.add(b);
            rows.add(materialise(b));
        }
        Curvature expected = OrbitAverage.secondMoment(kinds, Nd4j.vstack(rows.toArray(new INDArray[0])), BlockBudget.DEFAULT);
        Curvature actual = estimator.estimate();
        assertClose(expected.toDense(), actual.toDense(), name);
        // SIGN families: one weighted product per family member instead of one product of the per-example outer products
        SymmetricFisherAccumulator loop = new SymmetricFisherAccumulator(kinds, BlockBudget.DEFAULT, DataType.DOUBLE, 0);
        batches.forEach(loop::add);
        assertClose(expected.toDense(), loop.estimate().toDense(), name + ", a product per family member");
    }

    @Test
    void overBudgetBlocksKeepTheirDiagonalWhenAskedAndFailOtherwise() {
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {6, 4, 3, 5}, GroupType.PERM, GroupType.PERM);
        KindDecomposition kinds = KindDecomposition.of(spec);
        FactoredGradients batch = randomFactors(spec, 9, 3);
        SymmetricFisherAccumulator fallback = new SymmetricFisherAccumulator(kinds, new BlockBudget(3, true), DataType.DOUBLE);
        fallback.add(batch);
        Curvature full = OrbitAverage.secondMoment(kinds, materialise(batch), BlockBudget.DEFAULT);
        Curvature partial = fallback.estimate();
        for (int k = 0; k < kinds.kinds().size(); k++) {
            int m = kinds.kinds().get(k).copies();
            assertTrue(partial.isDiagonalBlock(k) == (m > 3), "kind " + kinds.describe(k) + " with " + m + " copies");
        }
        assertClose(full.diagonal().reshape(1, -1), partial.diagonal().reshape(1, -1), "diagonal survives the fallback");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new SymmetricFisherAccumulator(kinds, new BlockBudget(3, false), DataType.DOUBLE));
        assertTrue(e.getMessage().contains("0_W") && e.getMessage().contains("invariant") && e.getMessage().contains("19 copies"), e.getMessage());
    }

    @Test
    void nanGradientsAreRefusedWithTheLeafName() {
        SymmetrySpec spec = SpecsForTests.mlp(new int[] {3, 2, 2}, GroupType.PERM);
        FactoredGradients batch = randomFactors(spec, 4, 5);
        batch.leafFactors(1).get(0).putScalar(0, 0, Double.NaN);
        SymmetricFisherAccumulator estimator = new SymmetricFisherAccumulator(KindDecomposition.of(spec), BlockBudget.DEFAULT, DataType.DOUBLE);
        ArithmeticException e = assertThrows(ArithmeticException.class, () -> estimator.add(batch));
        assertTrue(e.getMessage().contains("0_b"), e.getMessage());
    }

    static void assertClose(INDArray expected, INDArray actual, String what) {
        double diff = expected.sub(actual).norm2Number().doubleValue();
        double norm = expected.norm2Number().doubleValue();
        assertTrue(diff <= FLOAT64 * norm, what + ": relative error " + diff / norm);
    }
}
