package org.symcurv.core.operator;

import java.util.List;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.Tolerances;

/** The contract on symmetry-averaged blocks: every group type, adjacent layers, a rank-3 leaf, diagonal-only and float32 blocks. */
class SymmetryBlocksContractTest extends OperatorContract {
    @Override
    Stream<Case> cases() {
        int[] tiny = {5, 4, 3, 3};
        double f64 = Tolerances.FLOAT64_SPECTRAL;
        Curvature perm = randomOperator(SpecsForTests.mlp(tiny, GroupType.PERM, GroupType.PERM), 1);
        return Stream.of(
                new Case("perm", perm, f64),
                new Case("sign", randomOperator(SpecsForTests.mlp(tiny, GroupType.SIGN, GroupType.SIGN), 2), f64),
                new Case("signed-perm", randomOperator(SpecsForTests.mlp(tiny, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM), 3), f64),
                new Case("orth+perm", randomOperator(SpecsForTests.mlp(new int[] {3, 3, 5, 2}, GroupType.ORTH, GroupType.PERM), 4), f64),
                new Case("sign+perm", randomOperator(SpecsForTests.mlp(tiny, GroupType.SIGN, GroupType.PERM), 5), f64),
                new Case("1-unit groups", randomOperator(SpecsForTests.mlp(new int[] {3, 1, 1, 2}, GroupType.PERM, GroupType.SIGN), 6), f64),
                new Case("rank-3 leaf", randomOperator(convolutionLike(), 7), f64),
                new Case("perm, diagonal-only blocks", perm.diagonalBlocksOnly(), f64),
                new Case("perm, float32", perm.mapBlocks(k -> perm.block(k).castTo(DataType.FLOAT)), Tolerances.FLOAT32));
    }

    /** A leaf {@code [3 FREE, 4 c, 2 FREE]} in 'c' order (a convolution kernel's layout) beside a bias and a {@code [4 c, 3 d]} leaf. */
    static SymmetrySpec convolutionLike() {
        LeafSpec kernel = new LeafSpec("k", new long[] {3, 4, 2}, List.of(AxisLabel.FREE, AxisLabel.of("c"), AxisLabel.FREE), 0, 'c');
        LeafSpec bias = new LeafSpec("b", new long[] {4}, List.of(AxisLabel.of("c")), 24, 'c');
        LeafSpec next = new LeafSpec("w", new long[] {4, 3}, List.of(AxisLabel.of("c"), AxisLabel.of("d")), 28, 'f');
        return new SymmetrySpec(List.of(new Group("c", GroupType.PERM, 4), new Group("d", GroupType.SIGNED_PERM, 3)),
                List.of(kernel, bias, next));
    }
}
