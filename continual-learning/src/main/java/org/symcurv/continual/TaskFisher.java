package org.symcurv.continual;

import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The Fisher consolidated at the end of a task, {@code F_t = (1/N) Σ_i R2(g_i, g_i)} over the task's images with Monte
 * Carlo labels drawn from the model's own predictive (symmetry-curvature.md 5.2): with the inferred symmetry groups for
 * {@link ContinualMethod#EWC_SYMMETRY}, with {@code SIGN} on every axis (exactly the diagonal) for
 * {@link ContinualMethod#EWC_DIAGONAL}. Both are structured {@link Curvature} operators in float64.
 */
public final class TaskFisher {
    private TaskFisher() {
    }

    /**
     * The structure a method's Fisher lives in, for {@code network}: a function of the network's layers alone, so a saved
     * state is read back against it.
     *
     * @throws IllegalArgumentException for {@link ContinualMethod#FINETUNE}, which has no Fisher
     */
    public static SymmetrySpec spec(MultiLayerNetwork network, ContinualMethod method) {
        return switch (method) {
            case EWC_SYMMETRY -> SpecInference.infer(network);
            case EWC_DIAGONAL -> Presets.diagonal(new SymmetrySpec(List.of(), ParameterLayout.of(network).leafSpecs()));
            case FINETUNE -> throw new IllegalArgumentException("fine-tuning consolidates no Fisher");
        };
    }

    /**
     * @param network   a dense softmax classifier; not modified
     * @param features  the task's images {@code [N, nIn]}, {@code N ≥ 1}; not modified
     * @param seed      seeds the Monte Carlo labels
     * @param batchSize examples per pass
     * @param listener  progress after each batch
     * @throws IllegalArgumentException for fine-tuning, or when the network or features do not fit
     */
    public static Curvature estimate(MultiLayerNetwork network, ContinualMethod method, INDArray features, long seed, int batchSize,
                                     FisherSource.Progress listener) {
        SymmetrySpec spec = spec(network, method);
        FisherSource source = FisherSource.monteCarlo(features, seed).withBatchSize(batchSize);
        return method == ContinualMethod.EWC_DIAGONAL ? source.diagonal(network, spec, listener) : source.symmetric(network, spec, listener);
    }
}
