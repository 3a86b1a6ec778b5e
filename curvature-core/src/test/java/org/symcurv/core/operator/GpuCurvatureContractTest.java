package org.symcurv.core.operator;

import static org.junit.jupiter.api.Assumptions.assumeTrue;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The operator contract on symmetry blocks again when the CUDA backend is active ({@code mvn -Pcuda verify} on a machine with an
 * Ampere-or-older GPU): every operation runs through ND4J, so the same assertions must hold there. On the CPU backend
 * every test is reported as skipped, visibly, with the reason.
 */
@Tag("gpu")
class GpuCurvatureContractTest extends SymmetryBlocksContractTest {
    @BeforeEach
    void requireCudaBackend() {
        String backend = Nd4j.getBackend().getClass().getName();
        assumeTrue(backend.toLowerCase(java.util.Locale.ROOT).contains("cuda"),
                "CUDA backend not active (" + backend + "): GPU contract tests skipped; run with -Pcuda on a GPU machine");
    }
}
