package org.symcurv.pruning;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.model.SpecInference;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.model.FisherSource;
import org.symcurv.core.operator.ScaledCurvature;

/** The Fisher a method needs, estimated at the network's current weights with progress reported as a stage. */
final class Fishers {
    private Fishers() {
    }

    /**
     * The method's Fisher as {@code S F' S}: the diagonal Fisher and the plain symmetry Fisher with {@code S = I}, the
     * unit-scaled symmetry Fisher when {@code unitScaled}.
     */
    static ScaledCurvature estimate(PruningMethod method, MultiLayerNetwork net, FisherSource fisher, SpecInference.Options options,
                                    boolean unitScaled, PruningListener listener, String stage) {
        java.util.Objects.requireNonNull(fisher, method.label() + " needs a Fisher source");
        boolean[] started = {false};
        FisherSource.Progress progress = (done, total) -> {
            if (!started[0]) {
                listener.stageStarted(stage + ": Fisher", total);
                started[0] = true;
            }
            listener.stageProgress(done);
        };
        ScaledCurvature f = switch (method.fisher()) {
            case SYMMETRY -> unitScaled ? fisher.unitScaledSymmetric(net, SpecInference.infer(net, options), progress)
                    : ScaledCurvature.unscaled(fisher.symmetric(net, SpecInference.infer(net, options), progress));
            case DIAGONAL -> ScaledCurvature.unscaled(fisher.diagonal(net, progress));
            case NONE -> throw new IllegalStateException(method + " uses no Fisher");
        };
        INDArray diagonal = f.scaled().diagonal();
        if (!org.symcurv.core.Finite.all(diagonal)) {
            throw new ArithmeticException("the Fisher estimate contains NaN or infinity; the model or the data is broken");
        }
        return f;
    }
}
