package org.symcurv.core.model;

import java.util.List;
import java.util.Optional;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One layer {@code a_out = f(a_in; θ_layer)} of the {@link NetworkWalk}, with everything the curvature code needs of it,
 * written once: the batched forward pass, the backward pass of the error {@code e = ∂ℓ/∂a_out ↦ ∂ℓ/∂a_in}, the factors of
 * the per-example parameter gradients, and the float64 per-example pieces of the exact oracles (forward, backward,
 * and their directional derivatives for Pearlmutter's R-operator). A new layer type is one more implementation; nothing
 * else in the walk knows what a layer computes. Implementations: {@link DenseWalkLayer} (dense and output layers),
 * {@link ConvolutionWalkLayer}, {@link SubsamplingWalkLayer} (max and average pooling) and {@link IdentityWalkLayer}
 * (dropout at inference). DL4J's input preprocessors between a flat input, images and dense layers are identities on the
 * flattened arrays, so they are no layers here: the walk only checks the shapes they imply.
 *
 * <p>Shapes. Batched arrays have one row per example (per example and label sample after {@code k}-fold repetition):
 * {@code a_in} is {@code [N, inputWidth]}, {@code a_out} {@code [N, outputWidth]}, features flattened as DL4J flattens
 * them between layers (an image {@code [C, H, W]} row-major, element {@code (c, y, x)} at {@code (c·H + y)·W + x}, as DL4J's
 * {@code CnnToFeedForwardPreProcessor} and {@code FeedForwardToCnnPreProcessor} flatten it). The exact pieces take one example as {@code double[inputWidth]} and read their parameters from
 * {@code θ}, {@code double[P]} in DL4J's {@code params()} order ({@link ParameterLayout}); a direction {@code v} has the
 * same layout. The network's last layer outputs the pre-activation {@code z_L}: its activation belongs to the
 * {@link OutputLoss}.
 */
interface WalkLayer {
    /** The DL4J layer index. */
    int index();

    /** The simple name of the layer's DL4J configuration class, e.g. {@code DenseLayer}. */
    String layerClass();

    /** The layer in a few words, e.g. {@code 784→256 relu}. */
    String describe();

    /** Features per example going in. */
    long inputWidth();

    /** Features per example coming out. */
    long outputWidth();

    /** The layer's parameter keys in DL4J's {@code params()} order, e.g. {@code ["W", "b"]}; empty for none. */
    List<String> parameterKeys();

    /**
     * The shape of parameter {@code key}, exactly its {@link ParameterLayout} leaf's (dense {@code W}: {@code [nIn, nOut]},
     * or {@code [H·W, C, nOut]} after a flattening; convolution {@code W}: {@code [out, in, kH, kW]}).
     */
    long[] parameterShape(String key);

    // ------------------------------------------------------------------ batched, on any ND4J backend

    /**
     * The layer's forward pass of a batch.
     *
     * @param input {@code a_in}, {@code [N, inputWidth]} in {@code type}; not modified
     * @param type  the data type of the pass (the parameters are cast to it)
     */
    Pass forward(INDArray input, DataType type);

    /**
     * The backward pass of the error through the layer.
     *
     * @param pass           this layer's forward pass
     * @param outputError    {@code e = ∂ℓ/∂a_out}, {@code [k·N, outputWidth]}, rows {@code i·k + s} belonging to example
     *                       {@code i} of the pass; not modified
     * @param rowsPerExample {@code k ≥ 1}
     * @param inputError     whether to compute {@code ∂ℓ/∂a_in} (not needed below the lowest layer of interest)
     * @return the error at the input (or {@code null}) and what {@link #gradientFactors} needs
     */
    Backward backward(Pass pass, INDArray outputError, int rowsPerExample, boolean inputError);

    /**
     * The per-example gradient of parameter {@code key} in factored form (symmetry-curvature.md 5.2): a product of factors
     * over runs of consecutive axes of the parameter's leaf, in axis order ({@code FactoredGradients}). When it
     * {@link #factors}, one {@code [k·N, size(axis)]} array per axis (dense: {@code W ↦ [a_in, δ]}, {@code b ↦ [δ]} with
     * {@code δ = ∂ℓ/∂z}); otherwise fewer factors over several axes each (the flattened dense weight
     * {@code [H·W, C, nOut] ↦ [A, δ]}, a convolution's kernel {@code ↦} its materialised gradient as one factor
     * {@code [k·N, out, in, kH, kW]}).
     */
    List<INDArray> gradientFactors(Pass pass, Backward backward, int rowsPerExample, String key);

    /**
     * Whether the per-example gradient of {@code key} factors over the leaf's axes ({@link #gradientFactors}). A
     * convolution's kernel gradient {@code Σ_p δ_{i,p} ⊗ patch_{i,p}} is a sum over positions, not one outer product; nor
     * does a dense weight read through a flattening factor over its three axes {@code [H·W, C, nOut]}.
     */
    default boolean factors(String key) {
        return true;
    }

    /**
     * The materialised per-example gradient of parameter {@code key}: {@code [k·N, leafLength]}, row {@code i·k + s} the
     * gradient of example {@code i}, label sample {@code s}, columns in the leaf's flat ({@code params()}) order. Batched:
     * no loop over examples.
     */
    INDArray perExampleGradient(Pass pass, Backward backward, int rowsPerExample, String key);

    /**
     * {@code Σ_r g_{r,θ}²} over the {@code k·N} rows of the per-example gradient of parameter {@code key}: {@code [leafLength]}
     * in {@code type}, the leaf's flat order (the diagonal Fisher's sum). By default from the materialised gradient; a layer
     * whose gradient is an outer product overrides it without materialising.
     */
    default INDArray squaredGradientSum(Pass pass, Backward backward, int rowsPerExample, String key, DataType type) {
        INDArray g = perExampleGradient(pass, backward, rowsPerExample, key).castTo(type);
        return g.mul(g).sum(0);
    }

    /** The output {@code [C, H, W]} when the layer outputs an image (flattened row-major), else {@code null}. */
    default long[] outputImage() {
        return null;
    }

    /**
     * A batch's forward pass through one layer.
     *
     * @param input  {@code a_in}, {@code [N, inputWidth]}
     * @param output {@code a_out}, {@code [N, outputWidth]}
     * @param cache  what {@link #backward} needs (dense: the pre-activation {@code z}), each with {@code N} rows
     */
    record Pass(INDArray input, INDArray output, List<INDArray> cache) {
        public Pass {
            cache = List.copyOf(cache);
        }
    }

    /**
     * A batch's backward pass through one layer.
     *
     * @param inputError {@code ∂ℓ/∂a_in}, {@code [k·N, inputWidth]}, or {@code null} when not requested
     * @param cache      what {@link #gradientFactors} needs (dense: {@code δ = ∂ℓ/∂z}, {@code [k·N, nOut]})
     */
    record Backward(INDArray inputError, List<INDArray> cache) {
        public Backward {
            cache = List.copyOf(cache);
        }
    }

    // ------------------------------------------------------------------ exact float64 pieces, one example

    /**
     * Why this layer has no exact float64 pieces (an activation without closed-form derivatives), if so; then the
     * exact methods below throw.
     */
    Optional<String> exactProblem();

    /** The layer's forward pass of one example with the parameters of {@code theta}; {@code input} is kept, not copied. */
    ExactPass exactForward(double[] theta, double[] input);

    /**
     * Adds {@code weight · ∂ℓ/∂θ_layer} to {@code gradient} and returns {@code ∂ℓ/∂a_in} (or {@code null} if not wanted).
     *
     * @param outputError {@code ∂ℓ/∂a_out}; not modified
     * @param gradient    {@code double[P]}; this layer's entries are incremented
     */
    double[] exactBackward(double[] theta, ExactPass pass, double[] outputError, double[] gradient, double weight, boolean inputError);

    /**
     * The directional derivative {@code R(·)} of the forward pass along {@code v}: {@code R(a_out)} from
     * {@code R(a_in)} and the layer's parameters' direction {@code v}.
     */
    ExactTangent exactTangent(double[] theta, double[] v, ExactPass pass, double[] inputTangent);

    /**
     * The directional derivative of the backward pass along {@code v} (the R-operator's backward half): adds
     * {@code weight · R(∂ℓ/∂θ_layer)} to {@code gradient} and returns {@code {∂ℓ/∂a_in, R(∂ℓ/∂a_in)}} (both {@code null}
     * if not wanted).
     *
     * @param inputTangent      {@code R(a_in)}
     * @param tangent           this layer's {@link #exactTangent}
     * @param outputError       {@code e = ∂ℓ/∂a_out}
     * @param outputErrorTangent {@code R(e)}
     */
    double[][] exactTangentBackward(double[] theta, double[] v, ExactPass pass, double[] inputTangent, ExactTangent tangent,
                                    double[] outputError, double[] outputErrorTangent, double[] gradient, double weight, boolean inputError);

    /**
     * One example's forward pass through one layer in float64.
     *
     * @param input  {@code a_in}
     * @param output {@code a_out}
     * @param cache  what the backward pieces need (dense: {@code z})
     */
    record ExactPass(double[] input, double[] output, double[] cache) {
    }

    /**
     * @param output {@code R(a_out)}
     * @param cache  what {@link #exactTangentBackward} needs (dense: {@code R(z)})
     */
    record ExactTangent(double[] output, double[] cache) {
    }
}
