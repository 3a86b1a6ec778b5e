package org.symcurv.optimizer.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;

/** The loop's extra term: its value joins the reported loss and its gradient the mean gradient, before the optimizer. */
class TrainerRegularizerTest {
    static final double RATE = 0.1;
    static final double C = 0.7;

    /** One plain SGD step (no momentum) with or without {@code R(θ) = ½ c ‖θ − a‖²}; returns θ₁ and the reported loss. */
    static Object[] oneStep(Regularizer r) {
        MultiLayerNetwork net = TrainerTest.network(4);
        OptimizerSettings sgd = OptimizerSettings.defaults(Recipe.SGD).with(org.symcurv.optimizer.Momentum.Settings.class, m -> new org.symcurv.optimizer.Momentum.Settings(0, false)).withSchedule(LearningRateSchedule.constant(RATE));
        List<Double> losses = new ArrayList<>();
        Trainer t = Trainer.start(net, sgd.build(net), TrainerTest.data(), Evaluator.none(), TrainingConfig.of(TrainerTest.BATCH, 1, 3),
                new TrainingListener() {
                    @Override
                    public void onStep(Step step) {
                        losses.add(step.loss());
                    }
                });
        if (r != null) {
            t.withRegularizer(r);
        }
        t.run();
        return new Object[] {net.params().castTo(DataType.DOUBLE).dup(), losses.get(0)};
    }

    @Test
    void theTermsValueAndGradientJoinTheStep() {
        INDArray theta0 = TrainerTest.network(4).params().castTo(DataType.DOUBLE).dup();
        INDArray anchor = theta0.add(0.3);
        Regularizer quadratic = theta -> {
            INDArray d = theta.castTo(DataType.DOUBLE).sub(anchor);
            return new Regularizer.ValueAndGradient(0.5 * C * d.mul(d).sumNumber().doubleValue(), d.mul(C));
        };
        Object[] plain = oneStep(null);
        Object[] regularized = oneStep(quadratic);
        // θ₁(R) − θ₁ = −η c (θ₀ − a) = +η c · 0.3 in every coordinate
        INDArray shift = ((INDArray) regularized[0]).sub((INDArray) plain[0]);
        assertEquals(RATE * C * 0.3, shift.minNumber().doubleValue(), 1e-6);
        assertEquals(RATE * C * 0.3, shift.maxNumber().doubleValue(), 1e-6);
        double value = 0.5 * C * 0.09 * theta0.length();
        assertEquals((double) plain[1] + value, (double) regularized[1], 1e-6);
    }
}
