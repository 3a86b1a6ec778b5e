package org.symcurv.core.estimate;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
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

    /** Every {@code g_i} written out: leaf tensors {@code ⊗_axis u_axis,i} flattened in the leaf's order. */
    static INDArray materialise(FactoredGradients g) {
        SymmetrySpec spec = g.spec();
        INDArray out = Nd4j.zeros(DataType.DOUBLE, g.count(), spec.parameterCount());
        for (int i = 0; i < g.count(); i++) {
            INDArray row = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
            for (int l = 0; l < spec.leaves().size(); l++) {
                LeafSpec leaf = spec.leaves().get(l);
                List<INDArray> f = g.leafFactors(l);
                INDArray t = f.get(0).getRow(i).dup();
                for (int a = 1; a < f.size(); a++) {
                    INDArray u = f.get(a).getRow(i);
                    t = t.reshape(t.length(), 1).mmul(u.reshape(1, u.length()));
                }
                KindDecomposition.addToLeaf(row, leaf, t.reshape(leaf.shape()));
            }
            out.putRow(i, row);
        }
        return out;
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
