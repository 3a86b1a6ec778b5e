package org.symcurv.core.operator;

import java.util.stream.Stream;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SpecsForTests;
import org.symcurv.core.testing.Tolerances;

/** The contract on the diagonal structure ({@code Presets.diagonal}: every parameter its own {@code 1 × 1} block). */
class DiagonalContractTest extends OperatorContract {
    @Override
    Stream<Case> cases() {
        return Stream.of(
                new Case("diagonal mlp", randomOperator(Presets.diagonal(SpecsForTests.mlp(new int[] {4, 3, 2}, GroupType.PERM)), 11),
                        Tolerances.FLOAT64_SPECTRAL),
                new Case("diagonal, one parameter", randomOperator(Presets.diagonal(SpecsForTests.mlp(new int[] {1, 1})), 12),
                        Tolerances.FLOAT64_SPECTRAL));
    }
}
