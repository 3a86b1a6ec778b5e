package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Random;
import org.deeplearning4j.nn.conf.InputPreProcessor;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.estimate.FactoredGradients;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The factors of the per-example gradients of a DL4J dense network, for the symmetry-averaged Fisher
 * (symmetry-curvature.md section 5.2). With {@code z_l = a_{l−1} W_l + b_l}, {@code a_l = φ_l(z_l)},
 * {@code a_0 = x} (row vectors, {@code W_l} of shape {@code [nIn, nOut]} as DL4J stores it) and the per-example
 * loss {@code ℓ_i = ℓ(z_L(x_i), y_i)} (not divided by the batch size):
 *
 * <pre>
 *   ∂ℓ_i/∂W_l = a_{l−1,i} ⊗ δ_{l,i},   ∂ℓ_i/∂b_l = δ_{l,i},   δ_{l,i} = ∂ℓ_i/∂z_{l,i}
 *   δ_L = ∇_z ℓ(z_L, y),               δ_l = (δ_{l+1} W_{l+1}ᵀ) ⊙ φ_l'(z_l)
 * </pre>
 *
 * computed for a whole minibatch at once with ND4J matrix products ({@code A_l = [a_{l−1,i}]} is {@code [N, nIn]},
 * {@code Δ_l = [δ_{l,i}]} is {@code [N, nOut]}); hidden layers backpropagate through their own DL4J
 * {@link IActivation}. Nothing is copied to the host except the random draws of {@link #withSampledLabels}, so the
 * computation runs on any ND4J backend.
 *
 * <p>Output layers ({@link OutputLoss}), with {@code ŷ} the output activation:
 * <ul>
 *   <li>softmax with {@code MCXENT} or {@code NEGATIVELOGLIKELIHOOD}: {@code δ_L = (Σ_k y_k) p − y}, i.e. {@code p − y}
 *       for one-hot labels; Monte Carlo labels are one-hot draws from {@code Categorical(p)};</li>
 *   <li>identity with {@code MSE}, which DL4J averages over the {@code o} outputs,
 *       {@code ℓ = (1/o) ‖ŷ − y‖²}: {@code δ_L = 2(ŷ − y)/o}. This loss is, up to a constant, the negative log
 *       likelihood of {@code y ~ N(ŷ, (o/2) I)} ({@code 1/(2σ²) = 1/o}), so the model's predictive is that Gaussian
 *       and Monte Carlo labels are {@code y = ŷ + √(o/2) ε}, {@code ε ~ N(0, I)}. Then
 *       {@code δ_L = −√(2/o) ε} and {@code E[δ_L δ_Lᵀ] = (2/o) I = ∇²_ŷ ℓ}: the Monte Carlo Fisher is the GGN in
 *       expectation;</li>
 *   <li>sigmoid with {@code XENT}: {@code δ_L = σ(z) − y}; Monte Carlo labels are independent
 *       {@code Bernoulli(σ(z_k))} draws, and {@code E[δ δᵀ] = diag(σ(1 − σ)) = ∇²_z ℓ}.</li>
 * </ul>
 * The formulas are exact: DL4J clips probabilities (softmax at 1e-10) in its own gradients, so the two agree
 * except for saturated outputs.
 *
 * <p>The pass is the network's inference-mode function: dropout and weight noise, which only act during
 * training, are not applied. The network's current parameters are read at every call; the network is never
 * modified. Stateless apart from the network reference; thread-safe as long as nobody trains the network
 * meanwhile.
 */
public final class PerExampleFactors {
    private static final String REMEDY = "the Fisher from gradient factors needs DenseLayer* followed by one OutputLayer "
            + "(softmax + MCXENT/NEGATIVELOGLIKELIHOOD, identity + MSE or sigmoid + XENT, no per-output loss weights), "
            + "without input preprocessors or layer normalisation";

    private final MultiLayerNetwork net;
    private final int layerCount;
    private final long[] nIn;
    private final long[] nOut;
    private final boolean[] hasBias;
    private final IActivation[] activations;
    private final OutputLoss loss;
    private final DataType dataType;

    private PerExampleFactors(MultiLayerNetwork net, long[] nIn, long[] nOut, boolean[] hasBias, IActivation[] activations, OutputLoss loss) {
        this.net = net;
        this.layerCount = nIn.length;
        this.nIn = nIn;
        this.nOut = nOut;
        this.hasBias = hasBias;
        this.activations = activations;
        this.loss = loss;
        this.dataType = net.params().dataType();
    }

    /**
     * Reads the architecture of {@code net}: {@link DenseLayer}s (no layer normalisation) with any DL4J activation,
     * then one {@link OutputLayer} whose activation and loss form an {@link OutputLoss}; no input preprocessors.
     *
     * @throws UnsupportedLayerException naming the layer index and class of the first layer outside that set
     * @throws IllegalArgumentException  if the network is not initialised
     */
    public static PerExampleFactors of(MultiLayerNetwork net) {
        Objects.requireNonNull(net, "net");
        if (net.getLayers() == null) {
            throw new IllegalArgumentException("the network is not initialised: call net.init() first");
        }
        int count = net.getnLayers();
        if (count == 0) {
            throw new IllegalArgumentException("the network has no layers; " + REMEDY);
        }
        long[] nIn = new long[count];
        long[] nOut = new long[count];
        boolean[] hasBias = new boolean[count];
        IActivation[] activations = new IActivation[count];
        OutputLoss loss = null;
        for (int i = 0; i < count; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            String name = conf.getClass().getSimpleName();
            boolean last = i == count - 1;
            InputPreProcessor pre = net.getLayerWiseConfigurations().getInputPreProcess(i);
            if (pre != null) {
                throw new UnsupportedLayerException(i, name, "has an input preprocessor " + pre.getClass().getSimpleName(), REMEDY);
            }
            if (!ParameterLayout.isPlainDense(conf)) {
                throw new UnsupportedLayerException(i, name, "is not a DenseLayer without layer normalisation or an OutputLayer", REMEDY);
            }
            if ((conf.getClass() == OutputLayer.class) != last) {
                throw new UnsupportedLayerException(i, name, last ? "is the last layer but not an OutputLayer, so the loss is unknown"
                        : "is an OutputLayer before the end of the network", REMEDY);
            }
            FeedForwardLayer ff = (FeedForwardLayer) conf;
            nIn[i] = ff.getNIn();
            nOut[i] = ff.getNOut();
            if (i > 0 && nIn[i] != nOut[i - 1]) {
                throw new UnsupportedLayerException(i, name, "has nIn " + nIn[i] + " but layer " + (i - 1) + " has nOut " + nOut[i - 1], REMEDY);
            }
            activations[i] = ((BaseLayer) conf).getActivationFn();
            hasBias[i] = last ? ((OutputLayer) conf).hasBias() : ((DenseLayer) conf).hasBias();
            if (last) {
                Optional<OutputLoss> l = OutputLoss.fromDl4j(activations[i], ((OutputLayer) conf).getLossFn());
                if (l.isEmpty()) {
                    throw new UnsupportedLayerException(i, name, "combines activation " + activations[i] + " with loss "
                            + ((OutputLayer) conf).getLossFn() + ", which has no per-example Fisher here", REMEDY);
                }
                loss = l.get();
            }
        }
        return new PerExampleFactors(net, nIn, nOut, hasBias, activations, loss);
    }

    /** The output layer's loss, which decides {@code δ_L} and how labels are sampled. */
    public OutputLoss outputLoss() {
        return loss;
    }

    /** Number of network inputs. */
    public long inputCount() {
        return nIn[0];
    }

    /** Number of network outputs {@code o}. */
    public long outputCount() {
        return nOut[layerCount - 1];
    }

    /**
     * The factors of {@code ∇ℓ(x_i, y_i)} at the given targets (the empirical Fisher when they are the true labels).
     *
     * @param features {@code [N, nIn]}, cast to the network's data type; not modified
     * @param targets  {@code [N, o]}: one-hot (or soft) labels for softmax, real targets for MSE, 0/1 for XENT; not modified
     * @param spec     the leaves to produce factors for, matched to the network's parameters by name ({@code "l_W"},
     *                 {@code "l_b"}) and shape; any subset of the network's leaves, in any order
     * @return per leaf of {@code spec}: {@code "l_W"} → {@code [A_l, Δ_l]}, {@code "l_b"} → {@code [Δ_l]}; {@code N} rows
     * @throws IllegalArgumentException naming the problem if shapes do not fit or a leaf is not a parameter of the network
     */
    public FactoredGradients withLabels(INDArray features, INDArray targets, SymmetrySpec spec) {
        requireLeaves(spec);
        INDArray x = requireFeatures(features);
        if (targets == null || targets.rank() != 2 || targets.size(0) != x.size(0) || targets.size(1) != outputCount()) {
            throw new IllegalArgumentException("targets must have shape [" + x.size(0) + ", " + outputCount() + "] (examples × network outputs), got "
                    + (targets == null ? "null" : Arrays.toString(targets.shape())));
        }
        Forward forward = forward(x);
        INDArray outputError = outputError(forward, targets.castTo(dataType));
        return factors(spec, forward.inputs, backward(forward.preActivations, outputError), x.size(0));
    }

    /**
     * The factors of {@code ∇ℓ(x_i, y_{i,s})} for {@code k} labels {@code y_{i,s}} drawn from the model's predictive
     * at {@code x_i} (the Monte Carlo Fisher; see the class comment for the draws per loss). Row {@code i·k + s}
     * belongs to example {@code i}, sample {@code s}, so {@code FisherEstimator} divides by {@code N·k} and
     * averages over both. The random numbers are drawn on the host from {@code random} in that row order
     * (one uniform per row for softmax, one uniform or Gaussian per row and output otherwise), so a seed gives the
     * same labels on every ND4J backend and for every way of cutting the data into batches.
     *
     * @param features          {@code [N, nIn]}; not modified
     * @param samplesPerExample {@code k ≥ 1}
     * @param random            the source of the draws; advanced
     * @param spec              as {@link #withLabels}
     * @return {@code N·k} rows of factors
     * @throws IllegalArgumentException as {@link #withLabels}, or for {@code k < 1}
     */
    public FactoredGradients withSampledLabels(INDArray features, int samplesPerExample, Random random, SymmetrySpec spec) {
        requireLeaves(spec);
        Objects.requireNonNull(random, "random");
        INDArray x = requireFeatures(features);
        Forward once = forward(x);
        Forward repeated = once.repeatRows(samplesPerExample);
        INDArray labels = sample(repeated.output(), random);
        INDArray outputError = outputError(repeated, labels);
        return factors(spec, repeated.inputs, backward(repeated.preActivations, outputError), x.size(0) * samplesPerExample);
    }

    /**
     * {@code k} labels per example drawn from the model's predictive, rows ordered {@code i·k + s} (the labels
     * {@link #withSampledLabels} uses for the same {@code random} state).
     *
     * @return {@code [N·k, o]} in the network's data type
     */
    public INDArray sampleLabels(INDArray features, int samplesPerExample, Random random) {
        Objects.requireNonNull(random, "random");
        return sample(forward(requireFeatures(features)).repeatRows(samplesPerExample).output(), random);
    }

    /** The forward pass of a batch: each layer's input {@code A_l} and pre-activation {@code z_l}, and the output {@code ŷ}. */
    private record Forward(List<INDArray> inputs, List<INDArray> preActivations, INDArray output) {
        /** Every row repeated {@code k} times in place ({@code i ↦ i·k + s}). */
        Forward repeatRows(int k) {
            if (k < 1) {
                throw new IllegalArgumentException("samples per example must be ≥ 1, got " + k);
            }
            if (k == 1) {
                return this;
            }
            List<INDArray> in = new ArrayList<>();
            List<INDArray> pre = new ArrayList<>();
            inputs.forEach(a -> in.add(repeat(a, k)));
            preActivations.forEach(z -> pre.add(repeat(z, k)));
            return new Forward(in, pre, repeat(output, k));
        }

        private static INDArray repeat(INDArray a, int k) {
            long n = a.size(0);
            long d = a.size(1);
            return Nd4j.zeros(a.dataType(), n, k, d).addi(a.reshape('c', new long[] {n, 1, d})).reshape('c', new long[] {n * k, d});
        }
    }

    private Forward forward(INDArray x) {
        List<INDArray> inputs = new ArrayList<>();
        List<INDArray> pre = new ArrayList<>();
        INDArray a = x;
        for (int l = 0; l < layerCount; l++) {
            inputs.add(a);
            INDArray z = a.mmul(weight(l));
            if (hasBias[l]) {
                z.addiRowVector(bias(l));
            }
            pre.add(z);
            a = activations[l].getActivation(z.dup(), false);
        }
        return new Forward(inputs, pre, a);
    }

    private INDArray weight(int l) {
        return net.getLayer(l).getParam("W");
    }

    private INDArray bias(int l) {
        INDArray b = net.getLayer(l).getParam("b");
        return b.reshape(1, b.length());
    }

    /** {@code δ_L = ∇_z ℓ(z_L, y)} per row. */
    private INDArray outputError(Forward forward, INDArray y) {
        INDArray out = forward.output();
        return switch (loss) {
            // (Σ_k y_k) p − y: p − y for one-hot labels, exact for soft labels too
            case SOFTMAX_CROSS_ENTROPY -> out.mulColumnVector(y.sum(true, 1)).subi(y);
            case IDENTITY_MEAN_SQUARED_ERROR -> out.sub(y).muli(2.0 / outputCount());
            case SIGMOID_BINARY_CROSS_ENTROPY -> out.sub(y);
        };
    }

    /** Labels drawn from the predictive of each row of the output activations {@code ŷ}. */
    private INDArray sample(INDArray out, Random random) {
        long rows = out.size(0);
        long o = out.size(1);
        switch (loss) {
            case SOFTMAX_CROSS_ENTROPY: {
                // class j when c_{j−1} ≤ u < c_j for the cumulative sums c of p (c_{−1} = 0, c_{o−1} = ∞ against round-off):
                // y_j = [c_{j−1} ≤ u] − [c_j ≤ u] = [u < c_j] − [u < c_{j−1}]
                INDArray u = Nd4j.zeros(dataType, rows, o).addi(host(rows, 1, random, false));
                INDArray upper = out.cumsum(1);
                upper.get(NDArrayIndex.all(), NDArrayIndex.point(o - 1)).assign(Double.POSITIVE_INFINITY);
                INDArray lower = Nd4j.zeros(dataType, rows, o);
                if (o > 1) {
                    lower.get(NDArrayIndex.all(), NDArrayIndex.interval(1, o))
                            .assign(upper.get(NDArrayIndex.all(), NDArrayIndex.interval(0, o - 1)));
                }
                return u.lt(upper).castTo(dataType).subi(u.lt(lower).castTo(dataType));
            }
            case IDENTITY_MEAN_SQUARED_ERROR:
                return host(rows, o, random, true).muli(Math.sqrt(o / 2.0)).addi(out);
            case SIGMOID_BINARY_CROSS_ENTROPY:
                return host(rows, o, random, false).lt(out).castTo(dataType);
            default:
                throw new AssertionError(loss);
        }
    }

    /** A {@code [rows, columns]} array of uniform [0, 1) or standard normal draws from {@code random}, filled row by row. */
    private INDArray host(long rows, long columns, Random random, boolean gaussian) {
        double[] values = new double[Math.toIntExact(rows * columns)];
        for (int i = 0; i < values.length; i++) {
            values[i] = gaussian ? random.nextGaussian() : random.nextDouble();
        }
        return Nd4j.createFromArray(values).reshape('c', new long[] {rows, columns}).castTo(dataType);
    }

    /** {@code Δ_l} for every layer, from {@code Δ_L} down. */
    private List<INDArray> backward(List<INDArray> preActivations, INDArray outputError) {
        INDArray[] errors = new INDArray[layerCount];
        errors[layerCount - 1] = outputError;
        for (int l = layerCount - 2; l >= 0; l--) {
            INDArray upstream = errors[l + 1].mmul(weight(l + 1).transpose());
            // backprop overwrites its input: hand it a copy
            errors[l] = activations[l].backprop(preActivations.get(l).dup(), upstream).getFirst();
        }
        return Arrays.asList(errors);
    }

    private FactoredGradients factors(SymmetrySpec spec, List<INDArray> inputs, List<INDArray> errors, long rows) {
        List<List<INDArray>> factors = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            Leaf parsed = parse(leaf);
            factors.add(parsed.weight() ? List.of(inputs.get(parsed.layer()), errors.get(parsed.layer()))
                    : List.of(errors.get(parsed.layer())));
        }
        return new FactoredGradients(spec, factors, rows);
    }

    private record Leaf(int layer, boolean weight) {
    }

    /** @throws IllegalArgumentException naming the leaf if it is not a weight or bias of this network with the network's shape */
    private Leaf parse(LeafSpec leaf) {
        String name = leaf.name();
        int underscore = name.indexOf('_');
        int layer = -1;
        if (underscore > 0) {
            try {
                layer = Integer.parseInt(name.substring(0, underscore));
            } catch (NumberFormatException e) {
                layer = -1;
            }
        }
        String key = underscore > 0 ? name.substring(underscore + 1) : "";
        boolean known = layer >= 0 && layer < layerCount && (key.equals("W") || key.equals("b") && hasBias[layer]);
        if (!known) {
            throw new IllegalArgumentException("spec leaf '" + name + "' is not a parameter of this network; its parameters are "
                    + parameterNames() + ": build the spec from this network (SpecInference.infer)");
        }
        boolean weight = key.equals("W");
        long[] expected = weight ? new long[] {nIn[layer], nOut[layer]} : new long[] {nOut[layer]};
        if (!Arrays.equals(leaf.shape(), expected)) {
            throw new IllegalArgumentException("spec leaf '" + name + "' has shape " + Arrays.toString(leaf.shape())
                    + " but the network's parameter has shape " + Arrays.toString(expected) + ": build the spec from this network");
        }
        return new Leaf(layer, weight);
    }

    private void requireLeaves(SymmetrySpec spec) {
        Objects.requireNonNull(spec, "spec");
        spec.leaves().forEach(this::parse);
    }

    private List<String> parameterNames() {
        List<String> names = new ArrayList<>();
        for (int l = 0; l < layerCount; l++) {
            names.add(l + "_W");
            if (hasBias[l]) {
                names.add(l + "_b");
            }
        }
        return names;
    }

    private INDArray requireFeatures(INDArray features) {
        if (features == null || features.rank() != 2 || features.size(1) != inputCount() || features.size(0) < 1) {
            throw new IllegalArgumentException("features must have shape [N ≥ 1, " + inputCount() + "] (examples × network inputs), got "
                    + (features == null ? "null" : Arrays.toString(features.shape())));
        }
        return features.castTo(dataType);
    }

    /** The architecture in one line, e.g. {@code 784→256 relu → 256→10 softmax, softmax cross-entropy}. */
    public String architecture() {
        StringBuilder sb = new StringBuilder();
        for (int l = 0; l < layerCount; l++) {
            sb.append(l == 0 ? "" : " → ").append(nIn[l]).append('→').append(nOut[l]).append(' ').append(activations[l]);
            if (!hasBias[l]) {
                sb.append(" (no bias)");
            }
        }
        return sb.append(", ").append(loss.name().toLowerCase(java.util.Locale.ROOT).replace('_', ' ')).toString();
    }

    @Override
    public String toString() {
        return "PerExampleFactors[" + architecture() + "]";
    }
}
