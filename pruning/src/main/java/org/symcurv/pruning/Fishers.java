package org.symcurv.pruning;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.operator.Curvature;

/** The Fisher a method needs, estimated at the network's current weights with progress reported as a stage. */
final class Fishers {
    private Fishers() {
    }

    static Curvature estimate(PruningMethod method, MultiLayerNetwork net, FisherSource fisher, SpecInference.Options options,
                              PruningListener listener, String stage) {
        java.util.Objects.requireNonNull(fisher, method.label() + " needs a Fisher source");
        boolean[] started = {false};
        FisherSource.Progress progress = (done, total) -> {
            if (!started[0]) {
                listener.stageStarted(stage + ": Fisher", total);
                started[0] = true;
            }
            listener.stageProgress(done);
        };
        Curvature f = switch (method.fisher()) {
            case SYMMETRY -> fisher.symmetric(net, SpecInference.infer(net, options), progress);
            case DIAGONAL -> fisher.diagonal(net, progress);
            case NONE -> throw new IllegalStateException(method + " uses no Fisher");
        };
        if (f.diagonal().isNaN().any() || f.diagonal().isInfinite().any()) {
            throw new ArithmeticException("the Fisher estimate contains NaN or infinity; the model or the data is broken");
        }
        return f;
    }
}
