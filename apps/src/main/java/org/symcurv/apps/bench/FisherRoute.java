package org.symcurv.apps.bench;

import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;

/**
 * How the cost benchmark turns one batch into a Monte Carlo Fisher estimate {@code (1/n) Σ_i R2(g_i, g_i)}. Every
 * route includes the forward pass that gives the model's probabilities and the seeded draw of one label per example.
 */
enum FisherRoute {
    /**
     * One DL4J backward pass per example ({@link Gradients#perExample}, {@code [n, P]} materialised), then
     * {@link OrbitAverage#secondMoment} over the rows.
     */
    PER_EXAMPLE("per-example gradients: one DL4J backward pass per example ([n, P] materialised), then "
            + "OrbitAverage.secondMoment") {
        @Override
        Curvature estimate(MultiLayerNetwork net, KindDecomposition kinds, INDArray features, long labelSeed) {
            INDArray labels = BenchTraining.sampleLabels(net.output(features, false), labelSeed);
            INDArray perExample = Gradients.perExample(net, new DataSet(features, labels));
            return OrbitAverage.secondMoment(kinds, perExample, BlockBudget.DEFAULT);
        }
    };

    private final String description;

    FisherRoute(String description) {
        this.description = description;
    }

    String description() {
        return description;
    }

    /** The estimate from one batch of {@code features} ({@code [n, nIn]}), labels drawn with {@code labelSeed}. */
    abstract Curvature estimate(MultiLayerNetwork net, KindDecomposition kinds, INDArray features, long labelSeed);
}
