package org.symcurv.core.model;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Jacobian {@code J(x) = ∂z_L(x; θ)/∂θ} of a dense network's output pre-activations (the logits of a softmax
 * classifier, the means of an MSE regressor), in factored form, for a batch: with {@code z_l = a_{l−1} W_l + b_l},
 * {@code a_l = φ_l(z_l)} (row vectors, {@code W_l} {@code [nIn, nOut]} as DL4J stores it),
 * <pre>
 *   ∂z_{L,c}/∂W_l = a_{l−1} ⊗ δ_{l,c},   ∂z_{L,c}/∂b_l = δ_{l,c},
 *   δ_{L,c} = e_c,                       δ_{l,c} = (δ_{l+1,c} W_{l+1}ᵀ) ⊙ φ_l'(z_l)
 * </pre>
 * one backward pass per output {@code c}, all outputs of a batch in one set of matrix products (the {@link NetworkWalk}
 * that gives {@link PerExampleFactors}, with the loss gradient replaced by a unit vector). Nothing of size {@code P} is formed.
 * Computed in float64 whatever the network's type; the network is read, never modified. Any network the walk understands
 * (a CNN too) can give the factors of its dense layers above the first dense layer behind a flattening; lower layers are
 * refused naming them.
 */
public final class OutputJacobian {
    private final NetworkWalk walk;

    private OutputJacobian(NetworkWalk walk) {
        this.walk = walk;
    }

    /**
     * @throws UnsupportedLayerException for networks the {@link NetworkWalk} does not understand, naming the layer
     */
    public static OutputJacobian of(MultiLayerNetwork net) {
        return new OutputJacobian(NetworkWalk.of(Objects.requireNonNull(net, "net")));
    }

    public OutputLoss outputLoss() {
        return walk.outputLoss();
    }

    public int layerCount() {
        return walk.layerCount();
    }

    public long inputCount() {
        return walk.inputCount();
    }

    /** Number of outputs {@code C}. */
    public int outputCount() {
        return Math.toIntExact(walk.outputCount());
    }

    public boolean hasBias(int layer) {
        return walk.layers().get(layer).parameterKeys().contains("b");
    }

    /**
     * The output pre-activations and the Jacobian factors of layers {@code lowestLayer … L−1}.
     *
     * @param features    {@code [n, nIn]}; not modified
     * @param lowestLayer the first layer whose factors are needed ({@code L−1} for a last-layer posterior: no backward pass)
     * @throws IllegalArgumentException  for a wrong feature width or layer index
     * @throws UnsupportedLayerException naming the layer if a requested layer is not a dense layer with factored gradients
     *                                   (on a CNN: a convolution, a pooling or dropout layer, or the dense layer that reads
     *                                   the flattened image); the dense layers above them work
     */
    public JacobianFactors compute(INDArray features, int lowestLayer) {
        if (features == null || features.rank() != 2 || features.size(1) != inputCount() || features.size(0) < 1) {
            throw new IllegalArgumentException("features must have shape [n ≥ 1, " + inputCount() + "], got "
                    + (features == null ? "null" : Arrays.toString(features.shape())));
        }
        if (lowestLayer < 0 || lowestLayer >= layerCount()) {
            throw new IllegalArgumentException("layer " + lowestLayer + " outside [0, " + layerCount() + ")");
        }
        for (int l = lowestLayer; l < layerCount(); l++) {
            WalkLayer layer = walk.layers().get(l);
            if (!(layer instanceof DenseWalkLayer) || !layer.factors("W")) {
                throw new UnsupportedLayerException(l, layer.layerClass(), layer instanceof DenseWalkLayer
                        ? "reads a flattened image: its weight [H·W, C, nOut] has no factored output Jacobian a ⊗ δ"
                        : "is not a dense layer: the factored output Jacobian covers dense layers only",
                        "request the Jacobian from a higher layer (the dense layers after the first one behind the flattening), e.g. the last layer");
            }
        }
        long n = features.size(0);
        int c = outputCount();
        NetworkWalk.Forward forward = walk.forward(features, DataType.DOUBLE);
        // δ_L = e_c for every example: rows e·C + c of an identity repeated n times
        INDArray delta = Nd4j.zeros(DataType.DOUBLE, n, c, c).addi(Nd4j.eye(c).castTo(DataType.DOUBLE).reshape(1, c, c))
                .reshape('c', new long[] {n * c, c});
        List<WalkLayer.Backward> backward = walk.backward(forward, delta, c, lowestLayer);
        List<INDArray> in = new ArrayList<>();
        List<INDArray> err = new ArrayList<>();
        for (int l = lowestLayer; l < layerCount(); l++) {
            // the factors of ∂z_{L,c}/∂W_l = a_{l−1} ⊗ δ_{l,c} with the input left shared by the C outputs (k = 1 repeats
            // nothing): a_{l−1} [n, nIn], δ_{l,c} [n·C, nOut]
            List<INDArray> factors = walk.gradientFactors(forward, backward, 1, new NetworkWalk.Parameter(l, "W"));
            INDArray d = factors.get(1);
            in.add(factors.get(0));
            err.add(d.reshape('c', new long[] {n, c, d.size(1)}));
        }
        return new JacobianFactors(forward.outputs(), lowestLayer, in, err);
    }

    /** Only the output pre-activations {@code z_L} ({@code [n, C]}, float64). */
    public INDArray outputs(INDArray features) {
        return walk.forward(features, DataType.DOUBLE).outputs();
    }
}
