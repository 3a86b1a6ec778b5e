package org.symcurv.core.model;

import java.util.List;
import java.util.Optional;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A layer without parameters that is the identity {@code a_out = a_in} in the network's inference-mode function: a
 * {@code DropoutLayer} (dropout acts only in training). Its backward pass passes the error through; its output keeps
 * the input's image shape, if any.
 */
final class IdentityWalkLayer implements WalkLayer {
    private final int index;
    private final String layerClass;
    private final long width;
    private final long[] image;

    /** @param image the input {@code [C, H, W]}, or {@code null} for a flat input of {@code width} features */
    IdentityWalkLayer(int index, String layerClass, long width, long[] image) {
        this.index = index;
        this.layerClass = layerClass;
        this.width = width;
        this.image = image == null ? null : image.clone();
    }

    @Override
    public int index() {
        return index;
    }

    @Override
    public String layerClass() {
        return layerClass;
    }

    @Override
    public String describe() {
        return layerClass + " (identity at inference)";
    }

    @Override
    public long inputWidth() {
        return width;
    }

    @Override
    public long outputWidth() {
        return width;
    }

    @Override
    public long[] outputImage() {
        return image == null ? null : image.clone();
    }

    @Override
    public List<String> parameterKeys() {
        return List.of();
    }

    @Override
    public long[] parameterShape(String key) {
        throw new IllegalArgumentException(layerClass + " has no parameters, not '" + key + "'");
    }

    @Override
    public Pass forward(INDArray input, DataType type) {
        return new Pass(input, input, List.of());
    }

    @Override
    public Backward backward(Pass pass, INDArray outputError, int rowsPerExample, boolean inputError) {
        return new Backward(inputError ? outputError : null, List.of());
    }

    @Override
    public List<INDArray> gradientFactors(Pass pass, Backward backward, int rowsPerExample, String key) {
        throw new IllegalArgumentException(layerClass + " has no parameters, not '" + key + "'");
    }

    @Override
    public INDArray perExampleGradient(Pass pass, Backward backward, int rowsPerExample, String key) {
        throw new IllegalArgumentException(layerClass + " has no parameters, not '" + key + "'");
    }

    @Override
    public Optional<String> exactProblem() {
        return Optional.empty();
    }

    @Override
    public ExactPass exactForward(double[] theta, double[] input) {
        return new ExactPass(input, input, null);
    }

    @Override
    public double[] exactBackward(double[] theta, ExactPass pass, double[] outputError, double[] gradient, double weight, boolean inputError) {
        return inputError ? outputError : null;
    }

    @Override
    public ExactTangent exactTangent(double[] theta, double[] v, ExactPass pass, double[] inputTangent) {
        return new ExactTangent(inputTangent, null);
    }

    @Override
    public double[][] exactTangentBackward(double[] theta, double[] v, ExactPass pass, double[] inputTangent, ExactTangent tangent,
                                           double[] outputError, double[] outputErrorTangent, double[] gradient, double weight, boolean inputError) {
        return inputError ? new double[][] {outputError, outputErrorTangent} : new double[][] {null, null};
    }

    @Override
    public String toString() {
        return "IdentityWalkLayer[" + index + ": " + layerClass + "]";
    }
}
