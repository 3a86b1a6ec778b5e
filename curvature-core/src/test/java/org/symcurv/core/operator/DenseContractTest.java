package org.symcurv.core.operator;

import java.util.List;
import java.util.stream.Stream;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.Tolerances;

/** The contract without symmetry: every axis free, so the operator is one dense {@code P × P} block; sizes 0 (no leaves), 1 and 10. */
class DenseContractTest extends OperatorContract {
    @Override
    Stream<Case> cases() {
        return Stream.of(
                new Case("dense, 0 parameters", randomOperator(free(), 21), Tolerances.FLOAT64_SPECTRAL),
                new Case("dense, 1 parameter", randomOperator(free(new long[] {1}), 22), Tolerances.FLOAT64_SPECTRAL),
                new Case("dense, 10 parameters", randomOperator(free(new long[] {3, 2}, new long[] {4}), 23), Tolerances.FLOAT64_SPECTRAL));
    }

    /** Leaves of the given shapes, every axis free, laid out one after another ('f' order for matrices, as DL4J). */
    static SymmetrySpec free(long[]... shapes) {
        List<LeafSpec> leaves = new java.util.ArrayList<>();
        long offset = 0;
        for (int i = 0; i < shapes.length; i++) {
            List<AxisLabel> labels = java.util.Collections.nCopies(shapes[i].length, AxisLabel.FREE);
            LeafSpec leaf = new LeafSpec("leaf" + i, shapes[i], labels, offset, shapes[i].length > 1 ? 'f' : 'c');
            leaves.add(leaf);
            offset += leaf.length();
        }
        return new SymmetrySpec(List.of(), leaves);
    }
}
