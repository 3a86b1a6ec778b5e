package org.symcurv.optimizer.train;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.Supplier;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.EmbeddingSequenceLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.deeplearning4j.nn.weights.WeightInit;
import org.deeplearning4j.preprocessors.KerasFlattenRnnPreprocessor;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.model.Gradients;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.optimizer.LearningRateSchedule;
import org.symcurv.optimizer.MatrixGroups;
import org.symcurv.optimizer.Optimizer;
import org.symcurv.optimizer.OptimizerSettings;
import org.symcurv.optimizer.Recipe;
import org.symcurv.optimizer.SymmetryPreconditioner;
import org.symcurv.optimizer.Update;

/**
 * Issue 17's frozen-parameter bug: per-block relative damping shifted a block whose {@code S_w} is exactly zero (a
 * zero-initialised tanh bias alone in its 1×1 kind) by zero, so its parameters never moved. On small copies of the four
 * benchmark networks (same layer types, activations, losses and initialisations as {@code symcurv bench optimizer}'s
 * mlp, mlp-wide, lm and autoencoder, narrower, and a small CNN), every trainable parameter must change within three steps of every
 * recipe's defaults (and of the symmetry variants the benchmark runs), unless its gradient was exactly zero at every step.
 */
class EveryParameterMovesTest {
    static final int STEPS = 3;

    record Problem(String name, Supplier<MultiLayerNetwork> network, DataSet data) {
    }

    static MultiLayerNetwork init(NeuralNetConfiguration.ListBuilder list) {
        MultiLayerNetwork net = new MultiLayerNetwork(list.build());
        net.init();
        return net;
    }

    static NeuralNetConfiguration.ListBuilder builder(WeightInit init) {
        return new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.FLOAT).updater(new NoOp()).weightInit(init).list();
    }

    static MultiLayerNetwork mlp(int... hidden) {
        NeuralNetConfiguration.ListBuilder list = builder(WeightInit.RELU);
        int in = 10;
        for (int h : hidden) {
            list.layer(new DenseLayer.Builder().nIn(in).nOut(h).activation(Activation.RELU).build());
            in = h;
        }
        return init(list.layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(in).nOut(4).activation(Activation.SOFTMAX).build()));
    }

    static List<Problem> problems() {
        Random rng = new Random(5);
        int n = 32;
        INDArray x = Nd4j.randn(DataType.FLOAT, n, 10);
        INDArray classes = Nd4j.zeros(DataType.FLOAT, n, 4);
        for (int i = 0; i < n; i++) {
            classes.putScalar(i, i % 4, 1f);
        }
        int v = 5;
        int context = 3;
        int embedding = 2;
        INDArray chars = Nd4j.zeros(DataType.FLOAT, n, context);
        INDArray next = Nd4j.zeros(DataType.FLOAT, n, v);
        for (int i = 0; i < n; i++) {
            for (int c = 0; c < context; c++) {
                // random windows (so that no ReLU unit is dead on all of them), and every character occurs, so that every
                // embedding row has a gradient
                chars.putScalar(i, c, i < v ? i : rng.nextInt(v));
            }
            next.putScalar(i, rng.nextInt(v), 1f);
        }
        INDArray pixels = Nd4j.rand(DataType.FLOAT, n, 10);
        List<Problem> out = new ArrayList<>();
        out.add(new Problem("mlp", () -> mlp(6, 6), new DataSet(x, classes)));
        out.add(new Problem("mlp-wide", () -> mlp(12), new DataSet(x, classes)));
        out.add(new Problem("lm", () -> init(builder(WeightInit.RELU)
                .layer(new EmbeddingSequenceLayer.Builder().nIn(v).nOut(embedding).inputLength(context).hasBias(false)
                        .weightInit(WeightInit.NORMAL).build())
                .inputPreProcessor(1, new KerasFlattenRnnPreprocessor(embedding, context))
                .layer(new DenseLayer.Builder().nIn((long) embedding * context).nOut(6).activation(Activation.RELU).build())
                .layer(new DenseLayer.Builder().nIn(6).nOut(6).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nIn(6).nOut(v).activation(Activation.SOFTMAX)
                        .weightInit(WeightInit.XAVIER).build())), new DataSet(chars, next)));
        out.add(new Problem("autoencoder", () -> {
            NeuralNetConfiguration.ListBuilder list = builder(WeightInit.XAVIER);
            int in = 10;
            for (int w : new int[] {6, 4, 2, 4, 6}) {
                list.layer(new DenseLayer.Builder().nIn(in).nOut(w).activation(Activation.TANH).build());
                in = w;
            }
            return init(list.layer(new OutputLayer.Builder(LossFunction.XENT).nIn(in).nOut(10).activation(Activation.SIGMOID).build()));
        }, new DataSet(pixels, pixels)));
        out.add(new Problem("cnn", EveryParameterMovesTest::cnn, new DataSet(Nd4j.rand(DataType.FLOAT, n, 36), classes)));
        return out;
    }

    /** A LeNet-shaped CNN on 6×6 images: 3×3 convolution (3 channels), 2×2 max pooling, dense 6, softmax over 4. */
    static MultiLayerNetwork cnn() {
        return init(builder(WeightInit.RELU)
                .layer(new org.deeplearning4j.nn.conf.layers.ConvolutionLayer.Builder(3, 3).nOut(3).activation(Activation.RELU).build())
                .layer(new org.deeplearning4j.nn.conf.layers.SubsamplingLayer.Builder(
                        org.deeplearning4j.nn.conf.layers.SubsamplingLayer.PoolingType.MAX).kernelSize(2, 2).stride(2, 2).build())
                .layer(new DenseLayer.Builder().nOut(6).activation(Activation.RELU).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(4).activation(Activation.SOFTMAX).weightInit(WeightInit.XAVIER).build())
                .setInputType(org.deeplearning4j.nn.conf.inputs.InputType.convolutionalFlat(6, 6, 1)));
    }

    static Map<String, OptimizerSettings> recipes() {
        Map<String, OptimizerSettings> r = new LinkedHashMap<>();
        for (Recipe recipe : Recipe.values()) {
            r.put(recipe.cliName(), OptimizerSettings.defaults(recipe));
        }
        r.put("symmetry-scalar", OptimizerSettings.defaults(Recipe.SYMMETRY).with(SymmetryPreconditioner.Settings.class, s -> s.withOptions(
                s.options().withDamping(org.symcurv.core.operator.Damping.global(1e-2))
                        .withInvariantPolicy(org.symcurv.core.estimate.TaylorEstimator.InvariantPolicy.DAMPED_SCALAR))));
        r.put("symmetry-identity-out", OptimizerSettings.defaults(Recipe.SYMMETRY).with(SymmetryPreconditioner.Settings.class, s -> s
                .withOptions(s.options().withWeightMoment(SymmetryPreconditioner.WeightMoment.IDENTITY))
                .withMatrixGroups(MatrixGroups.parse("out"))));
        r.put("symmetry-cholesky-averaged", OptimizerSettings.defaults(Recipe.SYMMETRY).with(SymmetryPreconditioner.Settings.class, s -> s
                .withOptions(s.options().withForm(SymmetryPreconditioner.Form.CHOLESKY)
                        .withWeightMoment(SymmetryPreconditioner.WeightMoment.AVERAGED))));
        return r;
    }

    /** Indices of {@code before} that are bitwise equal in {@code after}. */
    static List<Integer> unchanged(float[] before, float[] after) {
        List<Integer> same = new ArrayList<>();
        for (int i = 0; i < before.length; i++) {
            if (Float.floatToIntBits(before[i]) == Float.floatToIntBits(after[i])) {
                same.add(i);
            }
        }
        return same;
    }

    @Test
    void everyTrainableParameterMovesWithinAFewStepsOfEveryRecipeOnEveryBenchmarkNetwork() {
        List<String> failures = new ArrayList<>();
        for (Problem p : problems()) {
            for (Map.Entry<String, OptimizerSettings> recipe : recipes().entrySet()) {
                MultiLayerNetwork net = p.network().get();
                ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
                Optimizer optimizer = recipe.getValue().withSchedule(LearningRateSchedule.constant(recipe.getValue().schedule().peak()))
                        .build(net);
                INDArray theta = layout.read(net);
                float[] start = theta.dup().data().asFloat();
                Optimizer.State state = optimizer.init(theta);
                INDArray gradientMass = Nd4j.zeros(DataType.FLOAT, theta.length());
                for (int t = 0; t < STEPS; t++) {
                    INDArray g = Gradients.meanLossAndGradient(net, p.data()).meanGradient();
                    gradientMass.addi(org.nd4j.linalg.ops.transforms.Transforms.abs(g.reshape(theta.length()), true));
                    Update<Optimizer.State> u = optimizer.update(g, state, theta);
                    theta = theta.add(u.step());
                    layout.write(theta, net);
                    state = u.state();
                }
                // a parameter whose gradient was exactly zero at every step (the weights of a ReLU unit that is dead on
                // every example) cannot be moved by a gradient method: it is not what this test is about
                List<Integer> frozen = unchanged(start, theta.data().asFloat());
                float[] mass = gradientMass.data().asFloat();
                frozen.removeIf(i -> mass[i] == 0f);
                if (!frozen.isEmpty()) {
                    failures.add(p.name() + " / " + recipe.getKey() + ": " + frozen.size() + " of " + start.length
                            + " parameters never moved, e.g. flat index " + frozen.get(0));
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }

    @Test
    void withoutTheFloorPerBlockDampingFreezesTheAutoencodersZeroBiases() {
        Problem autoencoder = problems().get(3);
        MultiLayerNetwork net = autoencoder.network().get();
        ParameterLayout layout = ParameterLayout.ofAnyLayers(net);
        Optimizer optimizer = OptimizerSettings.defaults(Recipe.SYMMETRY)
                .with(SymmetryPreconditioner.Settings.class, s -> s.withOptions(s.options().withDampingFloor(0))).build(net);
        INDArray theta = layout.read(net);
        float[] start = theta.dup().data().asFloat();
        Optimizer.State state = optimizer.init(theta);
        for (int t = 0; t < STEPS; t++) {
            Update<Optimizer.State> u = optimizer.update(Gradients.meanLossAndGradient(net, autoencoder.data()).meanGradient(), state, theta);
            theta = theta.add(u.step());
            layout.write(theta, net);
            state = u.state();
        }
        assertTrue(unchanged(start, theta.data().asFloat()).size() >= 4 + 2 + 4,
                "the bug this test guards against: the biases of the 2nd to 4th hidden layers (alone in 1×1 kinds, zero S_w) stay at zero");
    }
}
