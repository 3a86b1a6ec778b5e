package org.symcurv.optimizer;

import static org.symcurv.optimizer.Checks.assertClose;

import java.util.List;
import java.util.Random;
import org.deeplearning4j.nn.conf.MultiLayerConfiguration;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.TinyNetworks;

/** Our Adam against DL4J's own Adam updater and against the textbook formula, entry by entry. */
class AdamTest {

    /** A float64 5-4-3 tanh/softmax network whose layers all carry {@code updater}. */
    static MultiLayerNetwork network(org.nd4j.linalg.learning.config.IUpdater updater) {
        MultiLayerConfiguration conf = TinyNetworks.mlp(21).inputs(5).dense(4, Activation.TANH)
                .configuration(3, Activation.SOFTMAX, LossFunction.MCXENT).build();
        for (int i = 0; i < conf.getConfs().size(); i++) {
            ((BaseLayer) conf.getConf(i).getLayer()).setIUpdater(updater.clone());
        }
        return TinyNetworks.initialise(conf, 21);
    }

    @Test
    void ourAdamTakesTheSameStepsAsDl4jsAdam() {
        // DL4J adds ε to √v before bias correction, we after: with ε = 1e-14 the two placements agree to round-off
        double lr = 0.05;
        double eps = 1e-14;
        MultiLayerNetwork dl4j = network(new org.nd4j.linalg.learning.config.Adam(lr, 0.9, 0.999, eps));
        MultiLayerNetwork ours = network(new org.nd4j.linalg.learning.config.NoOp());
        ParameterLayout layout = ParameterLayout.of(ours);
        assertClose(layout.read(dl4j), layout.read(ours), 0, "same initial parameters");
        Optimizer adam = OptimizerSettings.defaults(Recipe.ADAM).with(Adam.Settings.class, a -> a.withEpsilon(eps))
                .withSchedule(LearningRateSchedule.constant(lr)).build(ours);
        Run run = new Run(adam, layout.read(ours));
        for (int step = 0; step < 6; step++) {
            DataSet batch = TinyNetworks.classificationData(100 + step, 16, 5, 3);
            dl4j.fit(batch);
            INDArray gradient = Gradients.meanGradient(ours, batch);
            layout.write(run.step(gradient), ours);
        }
        assertClose(layout.read(dl4j), layout.read(ours), 1e-10, "parameters after 6 steps");
    }

    /** Drives any optimizer without naming its state type. */
    static final class Run {
        private final Optimizer optimizer;
        private Optimizer.State state;
        private INDArray params;

        @SuppressWarnings("unchecked")
        Run(Optimizer optimizer, INDArray params) {
            this.optimizer = optimizer;
            this.params = params.dup();
            this.state = this.optimizer.init(this.params);
        }

        /** Takes one step and returns the new parameters. */
        INDArray step(INDArray gradient) {
            Update<Optimizer.State> u = optimizer.update(gradient, state, params);
            state = u.state();
            params = params.add(u.step());
            return params;
        }

        INDArray lastDirectionOf(INDArray gradient) {
            return optimizer.update(gradient, state, params).step();
        }
    }

    @Test
    void adamDirectionIsTheBiasCorrectedRatioEntryByEntry() {
        Random rng = new Random(4);
        int n = 7;
        Adam adam = new Adam(0.8, 0.95, 1e-3);
        Adam.State state = adam.init(Nd4j.zeros(DataType.DOUBLE, n));
        double[] m = new double[n];
        double[] v = new double[n];
        for (int t = 1; t <= 5; t++) {
            double[] g = Checks.gaussian(n, rng).muli(t == 3 ? 1e-4 : 1).toDoubleVector();
            Update<Adam.State> u = adam.update(Nd4j.createFromArray(g), state, null);
            state = u.state();
            double[] expected = new double[n];
            for (int i = 0; i < n; i++) {
                m[i] = 0.8 * m[i] + 0.2 * g[i];
                v[i] = 0.95 * v[i] + 0.05 * g[i] * g[i];
                expected[i] = (m[i] / (1 - Math.pow(0.8, t))) / (Math.sqrt(v[i] / (1 - Math.pow(0.95, t))) + 1e-3);
            }
            assertClose(Nd4j.createFromArray(expected), u.step(), 1e-12, "step " + t);
        }
    }

    @Test
    void momentumAndNesterovFollowThePyTorchRecurrence() {
        Random rng = new Random(8);
        int n = 5;
        for (boolean nesterov : List.of(false, true)) {
            Momentum sgd = new Momentum(0.7, nesterov);
            Momentum.State state = sgd.init(Nd4j.zeros(DataType.DOUBLE, n));
            double[] b = new double[n];
            for (int t = 1; t <= 4; t++) {
                double[] g = Checks.gaussian(n, rng).toDoubleVector();
                Update<Momentum.State> u = sgd.update(Nd4j.createFromArray(g), state, null);
                state = u.state();
                double[] expected = new double[n];
                for (int i = 0; i < n; i++) {
                    b[i] = 0.7 * b[i] + g[i];
                    expected[i] = nesterov ? g[i] + 0.7 * b[i] : b[i];
                }
                assertClose(Nd4j.createFromArray(expected), u.step(), 1e-14, (nesterov ? "nesterov" : "heavy ball") + " step " + t);
            }
        }
    }

    @Test
    void adamwDecaysOnlyTheMatricesDecoupledFromTheGradientAndFollowsTheSchedule() {
        SymmetrySpec layout = new SymmetrySpec(List.of(), List.of(
                new org.symcurv.core.symmetry.LeafSpec("0_W", new long[] {3, 2}, List.of(org.symcurv.core.symmetry.AxisLabel.FREE,
                        org.symcurv.core.symmetry.AxisLabel.FREE), 0, 'f'),
                org.symcurv.core.symmetry.LeafSpec.of("0_b", 6, new long[] {2}, org.symcurv.core.symmetry.AxisLabel.FREE)));
        LearningRateSchedule schedule = LearningRateSchedule.warmupCosine(0.1, 2, 6, 0.1);
        Optimizer adamw = OptimizerSettings.defaults(Recipe.ADAMW).withWeightDecay(0.3).withSchedule(schedule).build(layout);
        Random rng = new Random(12);
        INDArray theta = Checks.gaussian(8, rng);
        Run run = new Run(adamw, theta);
        double[] w = theta.toDoubleVector();
        double[] m = new double[8];
        double[] v = new double[8];
        for (int t = 1; t <= 7; t++) {
            double[] g = Checks.gaussian(8, rng).toDoubleVector();
            INDArray after = run.step(Nd4j.createFromArray(g));
            double lr = schedule.at(t - 1);
            for (int i = 0; i < 8; i++) {
                m[i] = 0.9 * m[i] + 0.1 * g[i];
                v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
                double adam = (m[i] / (1 - Math.pow(0.9, t))) / (Math.sqrt(v[i] / (1 - Math.pow(0.999, t))) + 1e-8);
                w[i] -= lr * (adam + (i < 6 ? 0.3 * w[i] : 0.0));
            }
            assertClose(Nd4j.createFromArray(w), after, 1e-12, "AdamW parameters after step " + t);
        }
    }

    @Test
    void schedulesWarmUpLinearlyAndDecayByCosine() {
        LearningRateSchedule cosine = LearningRateSchedule.warmupCosine(1.0, 4, 14, 0.2);
        org.junit.jupiter.api.Assertions.assertEquals(0.25, cosine.at(0), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(1.0, cosine.at(3), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(1.0, cosine.at(4), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(0.2 + 0.8 * 0.5, cosine.at(9), 1e-15, "half-way down the cosine");
        org.junit.jupiter.api.Assertions.assertEquals(0.2, cosine.at(14), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(0.2, cosine.at(1000), 1e-15, "constant after the end");
        LearningRateSchedule warm = LearningRateSchedule.warmupConstant(0.5, 5);
        org.junit.jupiter.api.Assertions.assertEquals(0.3, warm.at(2), 1e-15);
        org.junit.jupiter.api.Assertions.assertEquals(0.5, warm.at(50), 1e-15);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> LearningRateSchedule.warmupCosine(1.0, 10, 10, 0.0));
    }

    @Test
    void clippingScalesTheGradientToTheNormAndLeavesSmallOnesAlone() {
        SymmetrySpec layout = new SymmetrySpec(List.of(), List.of(
                org.symcurv.core.symmetry.LeafSpec.of("v", 0, new long[] {4}, org.symcurv.core.symmetry.AxisLabel.FREE)));
        Optimizer sgd = OptimizerSettings.defaults(Recipe.SGD).with(Momentum.Settings.class, m -> new Momentum.Settings(0, false)).withClipNorm(1.0)
                .withSchedule(LearningRateSchedule.constant(1.0)).build(layout);
        INDArray big = Nd4j.createFromArray(3.0, 0.0, -4.0, 0.0);
        assertClose(Nd4j.createFromArray(-0.6, 0.0, 0.8, 0.0), new Run(sgd, Nd4j.zeros(DataType.DOUBLE, 4)).step(big), 1e-15, "clipped to norm 1");
        INDArray small = Nd4j.createFromArray(0.3, 0.0, -0.4, 0.0);
        assertClose(small.neg(), new Run(sgd, Nd4j.zeros(DataType.DOUBLE, 4)).step(small), 1e-15, "below the norm: unchanged");
    }
}
