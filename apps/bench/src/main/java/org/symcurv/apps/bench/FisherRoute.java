package org.symcurv.apps.bench;

import java.util.Random;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.estimate.FactoredGradients;
import org.symcurv.core.estimate.FisherEstimator;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.PerExampleFactors;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;

/**
 * How the cost benchmark turns one batch into a Monte Carlo Fisher estimate {@code (1/n) Σ_i R2(g_i, g_i)}. Every
 * route includes the forward pass that gives the model's probabilities and the seeded draw of one label per example.
 */
enum FisherRoute {
    /**
     * The efficient dense-layer form (symmetry-curvature.md section 5.2): {@link PerExampleFactors} gives every layer's
     * input activations and backpropagated errors for the whole batch in one batched pass (no per-example gradient
     * materialised), and {@link FisherEstimator} accumulates the orbit-averaged blocks from them in float32.
     */
    FACTORED("PerExampleFactors.withSampledLabels (one batched forward and backward pass giving each layer's input "
            + "activations and errors, one label per example drawn from the model) then FisherEstimator.add and estimate "
            + "(float32 accumulators)") {
        @Override
        Curvature estimate(MultiLayerNetwork net, KindDecomposition kinds, INDArray features, long labelSeed) {
            FactoredGradients factors = PerExampleFactors.of(net).withSampledLabels(features, 1, new Random(labelSeed), kinds.spec());
            FisherEstimator estimator = new FisherEstimator(kinds, BlockBudget.DEFAULT, DataType.FLOAT);
            estimator.add(factors);
            return estimator.estimate();
        }
    },
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
