package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Random;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
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
 * (for a convolution, {@code ∂ℓ_i/∂K = Σ_p δ_{i,p} ⊗ x_{i,p}} over the output positions {@code p}, with {@code x_{i,p}}
 * the input patch: it does not factor and is given as one factor, its materialised gradient; a dense weight after a
 * flattening, {@code [H·W, C, nOut]}, is {@code A_i ⊗ δ_i} with {@code A_i[s, c] = a_i[c·H·W + s]} over its first two axes)
 * computed for a whole minibatch at once by the {@link NetworkWalk} with ND4J matrix products ({@code A_l = [a_{l−1,i}]} is {@code [N, nIn]},
 * {@code Δ_l = [δ_{l,i}]} is {@code [N, nOut]}); hidden layers backpropagate through their own DL4J
 * {@link IActivation}. Nothing is copied to the host except the random draws of {@link #withSampledLabels}, so the
 * computation runs on any ND4J backend.
 *
 * <p>Output layers ({@link OutputLoss#outputError}, {@link OutputLoss#sampleLabels}), with {@code ŷ} the output activation:
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
    private final NetworkWalk walk;
    private final DataType dataType;

    private PerExampleFactors(NetworkWalk walk, DataType dataType) {
        this.walk = walk;
        this.dataType = dataType;
    }

    /**
     * Reads the architecture of {@code net} ({@link NetworkWalk#of}): {@link DenseLayer}s (no layer normalisation) with any
     * DL4J activation, convolution, pooling and dropout layers with DL4J's CNN preprocessors, then one {@link OutputLayer}
     * whose activation and loss form an {@link OutputLoss}.
     *
     * @throws UnsupportedLayerException naming the layer index and class of the first layer outside that set
     * @throws IllegalArgumentException  if the network is not initialised
     */
    public static PerExampleFactors of(MultiLayerNetwork net) {
        NetworkWalk walk = NetworkWalk.of(net);
        return new PerExampleFactors(walk, net.params().dataType());
    }

    /** The walk through the network these factors come from. */
    public NetworkWalk walk() {
        return walk;
    }

    /** The output layer's loss, which decides {@code δ_L} and how labels are sampled. */
    public OutputLoss outputLoss() {
        return walk.outputLoss();
    }

    /** Number of network inputs. */
    public long inputCount() {
        return walk.inputCount();
    }

    /** Number of network outputs {@code o}. */
    public long outputCount() {
        return walk.outputCount();
    }

    /**
     * The factors of {@code ∇ℓ(x_i, y_i)} at the given targets (the empirical Fisher when they are the true labels).
     *
     * @param features {@code [N, nIn]}, cast to the network's data type; not modified
     * @param targets  {@code [N, o]}: one-hot (or soft) labels for softmax, real targets for MSE, 0/1 for XENT; not modified
     * @param spec     the leaves to produce factors for, matched to the network's parameters by name ({@code "l_W"},
     *                 {@code "l_b"}) and shape; any subset of the network's leaves, in any order
     * @return per leaf of {@code spec}: {@code "l_W"} → {@code [A_l, Δ_l]}, {@code "l_b"} → {@code [Δ_l]}; {@code N} rows. A
     *         leaf that does not factor per axis ({@link #factors(SymmetrySpec)}) has factors over several axes: a
     *         flattened dense weight {@code [A_l as [N, H·W, C], Δ_l]}, a convolution kernel its materialised gradient
     *         {@code [N, out, in, kH, kW]} ({@link FactoredGradients})
     * @throws IllegalArgumentException naming the problem if shapes do not fit or a leaf is not a parameter of the network
     */
    public FactoredGradients withLabels(INDArray features, INDArray targets, SymmetrySpec spec) {
        List<NetworkWalk.Parameter> parameters = parameters(spec);
        ErrorPass pass = atLabels(features, targets);
        return factors(spec, parameters, pass.forward(), pass.outputError(), 1);
    }

    /**
     * The factors of {@code ∇ℓ(x_i, y_{i,s})} for {@code k} labels {@code y_{i,s}} drawn from the model's predictive
     * at {@code x_i} (the Monte Carlo Fisher; see the class comment for the draws per loss). Row {@code i·k + s}
     * belongs to example {@code i}, sample {@code s}, so {@code SymmetricFisherAccumulator} divides by {@code N·k} and
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
        List<NetworkWalk.Parameter> parameters = parameters(spec);
        ErrorPass pass = atSampledLabels(features, samplesPerExample, random);
        return factors(spec, parameters, pass.forward(), pass.outputError(), samplesPerExample);
    }

    /**
     * Whether every leaf of {@code spec} has per-example gradients that factor per axis ({@link #withLabels}: one vector
     * per axis); otherwise (a convolution kernel, a dense weight read through a flattening) some leaf's factors span
     * several axes.
     *
     * @throws IllegalArgumentException if a leaf is not a parameter of the network
     */
    public boolean factors(SymmetrySpec spec) {
        for (NetworkWalk.Parameter p : parameters(spec)) {
            if (!walk.factors(p)) {
                return false;
            }
        }
        return true;
    }

    /**
     * The materialised per-example gradients {@code G[i, :] = ∇ℓ(x_i, y_i)} restricted to the leaves of {@code spec}, in
     * {@code spec}'s flat layout (leaf {@code L} in columns {@code [offset_L, offset_L + length_L)}, in the leaf's flat
     * order): {@code [N, P_spec]} from one batched forward and backward pass (a convolution's kernel gradient
     * {@code Σ_p δ_{i,p} ⊗ x_{i,p}} as one batched product). For any network the walk understands.
     *
     * @param features {@code [N, inputs]}; not modified
     * @param targets  {@code [N, o]}, as {@link #withLabels}
     * @throws IllegalArgumentException as {@link #withLabels}
     */
    public INDArray materialisedWithLabels(INDArray features, INDArray targets, SymmetrySpec spec) {
        List<NetworkWalk.Parameter> parameters = parameters(spec);
        ErrorPass pass = atLabels(features, targets);
        return materialised(spec, parameters, pass.forward(), pass.outputError(), 1);
    }

    /**
     * The materialised per-example gradients at {@code k} labels per example drawn from the model's predictive, the same
     * draws as {@link #withSampledLabels} for the same {@code random} state: {@code [N·k, P_spec]}, rows {@code i·k + s}.
     */
    public INDArray materialisedWithSampledLabels(INDArray features, int samplesPerExample, Random random, SymmetrySpec spec) {
        List<NetworkWalk.Parameter> parameters = parameters(spec);
        ErrorPass pass = atSampledLabels(features, samplesPerExample, random);
        return materialised(spec, parameters, pass.forward(), pass.outputError(), samplesPerExample);
    }

    /**
     * {@code Σ_i ∇ℓ(x_i, y_i)²} elementwise on the leaves of {@code spec} (the diagonal Fisher's sum), {@code [P_spec]} in
     * float64 and {@code spec}'s layout, from one batched forward and backward pass: dense leaves from their factors,
     * {@code (A ∘ A)ᵀ (Δ ∘ Δ)}, others (a convolution's kernel) from their materialised gradients one leaf at a time.
     */
    public INDArray squaredGradientSumsWithLabels(INDArray features, INDArray targets, SymmetrySpec spec) {
        List<NetworkWalk.Parameter> parameters = parameters(spec);
        ErrorPass pass = atLabels(features, targets);
        return squaredGradientSums(spec, parameters, pass.forward(), pass.outputError(), 1);
    }

    /** {@link #squaredGradientSumsWithLabels} at {@code k} labels per example drawn as {@link #withSampledLabels} draws them ({@code N·k} rows summed). */
    public INDArray squaredGradientSumsWithSampledLabels(INDArray features, int samplesPerExample, Random random, SymmetrySpec spec) {
        List<NetworkWalk.Parameter> parameters = parameters(spec);
        ErrorPass pass = atSampledLabels(features, samplesPerExample, random);
        return squaredGradientSums(spec, parameters, pass.forward(), pass.outputError(), samplesPerExample);
    }

    private INDArray squaredGradientSums(SymmetrySpec spec, List<NetworkWalk.Parameter> parameters, NetworkWalk.Forward forward, INDArray outputError, int k) {
        INDArray out = Nd4j.zeros(DataType.DOUBLE, spec.parameterCount());
        if (parameters.isEmpty()) {
            return out;
        }
        List<WalkLayer.Backward> backward = walk.backward(forward, outputError, k, lowestLayer(parameters));
        for (int l = 0; l < parameters.size(); l++) {
            LeafSpec leaf = requireOrder(spec.leaves().get(l));
            out.get(NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                    .assign(walk.squaredGradientSum(forward, backward, k, parameters.get(l), DataType.DOUBLE).reshape(leaf.length()));
        }
        return out;
    }

    private LeafSpec requireOrder(LeafSpec leaf) {
        if (leaf.order() != walk.layout().leaf(leaf.name()).order()) {
            throw new IllegalArgumentException("spec leaf '" + leaf.name() + "' is flattened in order '" + leaf.order() + "' but the network's parameter in '"
                    + walk.layout().leaf(leaf.name()).order() + "': build the spec from this network");
        }
        return leaf;
    }

    private INDArray materialised(SymmetrySpec spec, List<NetworkWalk.Parameter> parameters, NetworkWalk.Forward forward, INDArray outputError, int k) {
        long rows = forward.examples() * k;
        INDArray out = Nd4j.create(dataType, rows, spec.parameterCount());
        if (parameters.isEmpty()) {
            return out;
        }
        List<WalkLayer.Backward> backward = walk.backward(forward, outputError, k, lowestLayer(parameters));
        for (int l = 0; l < parameters.size(); l++) {
            LeafSpec leaf = requireOrder(spec.leaves().get(l));
            out.get(NDArrayIndex.all(), NDArrayIndex.interval(leaf.offset(), leaf.offset() + leaf.length()))
                    .assign(walk.perExampleGradient(forward, backward, k, parameters.get(l)));
        }
        return out;
    }

    /** A batch's forward pass and its output error {@code δ_L = ∂ℓ/∂z_L}, {@code [N·k, o]}. */
    private record ErrorPass(NetworkWalk.Forward forward, INDArray outputError) {
    }

    /** {@code δ_L} at the given targets. */
    private ErrorPass atLabels(INDArray features, INDArray targets) {
        INDArray x = walk.requireFeatures(features);
        requireTargets(targets, x.size(0));
        NetworkWalk.Forward forward = walk.forward(x, dataType);
        return new ErrorPass(forward, walk.outputLoss().outputError(walk.prediction(forward), targets.castTo(dataType)));
    }

    /** {@code δ_L} at {@code k} labels per example drawn from the predictive, rows {@code i·k + s}. */
    private ErrorPass atSampledLabels(INDArray features, int samplesPerExample, Random random) {
        Objects.requireNonNull(random, "random");
        requireSamples(samplesPerExample);
        NetworkWalk.Forward forward = walk.forward(walk.requireFeatures(features), dataType);
        INDArray prediction = NetworkWalk.repeatRows(walk.prediction(forward), samplesPerExample);
        INDArray labels = walk.outputLoss().sampleLabels(prediction, random);
        return new ErrorPass(forward, walk.outputLoss().outputError(prediction, labels));
    }

    private void requireTargets(INDArray targets, long n) {
        if (targets == null || targets.rank() != 2 || targets.size(0) != n || targets.size(1) != outputCount()) {
            throw new IllegalArgumentException("targets must have shape [" + n + ", " + outputCount() + "] (examples × network outputs), got "
                    + (targets == null ? "null" : Arrays.toString(targets.shape())));
        }
    }

    private static int lowestLayer(List<NetworkWalk.Parameter> parameters) {
        int lowest = Integer.MAX_VALUE;
        for (NetworkWalk.Parameter p : parameters) {
            lowest = Math.min(lowest, p.layer());
        }
        return lowest;
    }

    /**
     * {@code k} labels per example drawn from the model's predictive, rows ordered {@code i·k + s} (the labels
     * {@link #withSampledLabels} uses for the same {@code random} state).
     *
     * @return {@code [N·k, o]} in the network's data type
     */
    public INDArray sampleLabels(INDArray features, int samplesPerExample, Random random) {
        Objects.requireNonNull(random, "random");
        requireSamples(samplesPerExample);
        NetworkWalk.Forward forward = walk.forward(walk.requireFeatures(features), dataType);
        return walk.outputLoss().sampleLabels(NetworkWalk.repeatRows(walk.prediction(forward), samplesPerExample), random);
    }

    private static void requireSamples(int k) {
        if (k < 1) {
            throw new IllegalArgumentException("samples per example must be ≥ 1, got " + k);
        }
    }

    private List<NetworkWalk.Parameter> parameters(SymmetrySpec spec) {
        Objects.requireNonNull(spec, "spec");
        List<NetworkWalk.Parameter> parameters = new ArrayList<>();
        for (LeafSpec leaf : spec.leaves()) {
            parameters.add(walk.parameter(leaf));
        }
        return parameters;
    }

    private FactoredGradients factors(SymmetrySpec spec, List<NetworkWalk.Parameter> parameters, NetworkWalk.Forward forward,
                                      INDArray outputError, int k) {
        List<List<INDArray>> factors = new ArrayList<>();
        if (!parameters.isEmpty()) {
            List<WalkLayer.Backward> backward = walk.backward(forward, outputError, k, lowestLayer(parameters));
            for (NetworkWalk.Parameter p : parameters) {
                factors.add(walk.gradientFactors(forward, backward, k, p));
            }
        }
        return new FactoredGradients(spec, factors, forward.examples() * k);
    }

    /** The architecture in one line, e.g. {@code 784→256 relu → 256→10 softmax, softmax cross-entropy}. */
    public String architecture() {
        return walk.architecture();
    }

    @Override
    public String toString() {
        return "PerExampleFactors[" + architecture() + "]";
    }
}
