package org.symcurv.uncertainty;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import org.deeplearning4j.nn.conf.layers.BaseLayer;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.FeedForwardLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.IActivation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.model.OutputLoss;
import org.symcurv.core.model.PerExampleFactors;

/**
 * The Jacobian {@code J(x) = ∂z_L(x; θ)/∂θ} of a dense network's output pre-activations (the logits of a softmax
 * classifier, the means of an MSE regressor), in factored form, for a batch: with {@code z_l = a_{l−1} W_l + b_l},
 * {@code a_l = φ_l(z_l)} (row vectors, {@code W_l} {@code [nIn, nOut]} as DL4J stores it),
 * <pre>
 *   ∂z_{L,c}/∂W_l = a_{l−1} ⊗ δ_{l,c},   ∂z_{L,c}/∂b_l = δ_{l,c},
 *   δ_{L,c} = e_c,                       δ_{l,c} = (δ_{l+1,c} W_{l+1}ᵀ) ⊙ φ_l'(z_l)
 * </pre>
 * one backward pass per output {@code c}, all outputs of a batch in one set of matrix products (the machinery of
 * {@link PerExampleFactors} with the loss gradient replaced by a unit vector). Nothing of size {@code P} is formed.
 * Computed in float64 whatever the network's type; the network is read, never modified.
 */
public final class OutputJacobian {
    private final MultiLayerNetwork net;
    private final int layerCount;
    private final long[] nIn;
    private final long[] nOut;
    private final boolean[] hasBias;
    private final IActivation[] activations;
    private final OutputLoss loss;

    private OutputJacobian(MultiLayerNetwork net, long[] nIn, long[] nOut, boolean[] hasBias, IActivation[] activations, OutputLoss loss) {
        this.net = net;
        this.layerCount = nIn.length;
        this.nIn = nIn;
        this.nOut = nOut;
        this.hasBias = hasBias;
        this.activations = activations;
        this.loss = loss;
    }

    /**
     * @throws org.symcurv.core.model.UnsupportedLayerException for networks other than {@code DenseLayer* + OutputLayer}
     *                                                          with a supported loss (as {@link PerExampleFactors#of})
     */
    public static OutputJacobian of(MultiLayerNetwork net) {
        OutputLoss loss = PerExampleFactors.of(Objects.requireNonNull(net, "net")).outputLoss();
        int count = net.getnLayers();
        long[] nIn = new long[count];
        long[] nOut = new long[count];
        boolean[] bias = new boolean[count];
        IActivation[] acts = new IActivation[count];
        for (int i = 0; i < count; i++) {
            org.deeplearning4j.nn.conf.layers.Layer conf = net.getLayer(i).conf().getLayer();
            FeedForwardLayer ff = (FeedForwardLayer) conf;
            nIn[i] = ff.getNIn();
            nOut[i] = ff.getNOut();
            acts[i] = ((BaseLayer) conf).getActivationFn();
            bias[i] = conf instanceof OutputLayer o ? o.hasBias() : ((DenseLayer) conf).hasBias();
        }
        return new OutputJacobian(net, nIn, nOut, bias, acts, loss);
    }

    public OutputLoss outputLoss() {
        return loss;
    }

    public int layerCount() {
        return layerCount;
    }

    public long inputCount() {
        return nIn[0];
    }

    /** Number of outputs {@code C}. */
    public int outputCount() {
        return Math.toIntExact(nOut[layerCount - 1]);
    }

    public boolean hasBias(int layer) {
        return hasBias[layer];
    }

    /**
     * The output pre-activations and the Jacobian factors of layers {@code lowestLayer … L−1}.
     *
     * @param features    {@code [n, nIn]}; not modified
     * @param lowestLayer the first layer whose factors are needed ({@code L−1} for a last-layer posterior: no backward pass)
     * @throws IllegalArgumentException for a wrong feature width or layer index
     */
    public JacobianFactors compute(INDArray features, int lowestLayer) {
        if (features == null || features.rank() != 2 || features.size(1) != nIn[0] || features.size(0) < 1) {
            throw new IllegalArgumentException("features must have shape [n ≥ 1, " + nIn[0] + "], got "
                    + (features == null ? "null" : Arrays.toString(features.shape())));
        }
        if (lowestLayer < 0 || lowestLayer >= layerCount) {
            throw new IllegalArgumentException("layer " + lowestLayer + " outside [0, " + layerCount + ")");
        }
        long n = features.size(0);
        int c = outputCount();
        List<INDArray> inputs = new ArrayList<>();
        List<INDArray> pre = new ArrayList<>();
        INDArray a = features.castTo(DataType.DOUBLE);
        for (int l = 0; l < layerCount; l++) {
            inputs.add(a);
            INDArray z = a.mmul(weight(l));
            if (hasBias[l]) {
                z.addiRowVector(bias(l));
            }
            pre.add(z);
            if (l < layerCount - 1) {
                a = activations[l].getActivation(z.dup(), false);
            }
        }
        INDArray[] errors = new INDArray[layerCount];
        // δ_L = e_c for every example: rows e·C + c of an identity repeated n times
        INDArray delta = Nd4j.zeros(DataType.DOUBLE, n, c, c).addi(Nd4j.eye(c).castTo(DataType.DOUBLE).reshape(1, c, c))
                .reshape('c', new long[] {n * c, c});
        errors[layerCount - 1] = delta;
        for (int l = layerCount - 2; l >= lowestLayer; l--) {
            INDArray upstream = errors[l + 1].mmul(weight(l + 1).transpose());
            INDArray z = pre.get(l);
            INDArray repeated = Nd4j.zeros(DataType.DOUBLE, n, c, z.size(1)).addi(z.reshape('c', new long[] {n, 1, z.size(1)}))
                    .reshape('c', new long[] {n * c, z.size(1)});
            errors[l] = activations[l].backprop(repeated, upstream).getFirst();
        }
        List<INDArray> in = new ArrayList<>();
        List<INDArray> err = new ArrayList<>();
        for (int l = lowestLayer; l < layerCount; l++) {
            in.add(inputs.get(l));
            err.add(errors[l].reshape('c', new long[] {n, c, nOut[l]}));
        }
        return new JacobianFactors(pre.get(layerCount - 1), lowestLayer, in, err);
    }

    /** Only the output pre-activations {@code z_L} ({@code [n, C]}, float64). */
    public INDArray outputs(INDArray features) {
        INDArray a = features.castTo(DataType.DOUBLE);
        for (int l = 0; l < layerCount; l++) {
            INDArray z = a.mmul(weight(l));
            if (hasBias[l]) {
                z.addiRowVector(bias(l));
            }
            a = l < layerCount - 1 ? activations[l].getActivation(z, false) : z;
        }
        return a;
    }

    private INDArray weight(int l) {
        return net.getLayer(l).getParam("W").castTo(DataType.DOUBLE);
    }

    private INDArray bias(int l) {
        INDArray b = net.getLayer(l).getParam("b");
        return b.reshape(1, b.length()).castTo(DataType.DOUBLE);
    }
}
