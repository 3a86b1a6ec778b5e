package org.symcurv.apps.common;

import org.deeplearning4j.nn.weights.WeightInit;
import org.nd4j.linalg.activations.Activation;

/**
 * The elementwise nonlinearities {@code σ} offered for hidden layers, with the weight initialisation each
 * calls for: He ({@code WeightInit.RELU}, variance {@code 2/nIn}) for the rectifier family, Xavier for the
 * rest. The symmetry group a hidden layer carries follows from {@code σ} (elementwise → permutations, odd →
 * signed permutations, identity → orthogonal), see symmetry-curvature.md section 2.
 */
public enum HiddenActivation {
    RELU(Activation.RELU, WeightInit.RELU),
    LEAKYRELU(Activation.LEAKYRELU, WeightInit.RELU),
    ELU(Activation.ELU, WeightInit.RELU),
    GELU(Activation.GELU, WeightInit.RELU),
    SWISH(Activation.SWISH, WeightInit.RELU),
    SOFTPLUS(Activation.SOFTPLUS, WeightInit.XAVIER),
    TANH(Activation.TANH, WeightInit.XAVIER),
    SIGMOID(Activation.SIGMOID, WeightInit.XAVIER),
    IDENTITY(Activation.IDENTITY, WeightInit.XAVIER);

    private final Activation activation;
    private final WeightInit weightInit;

    HiddenActivation(Activation activation, WeightInit weightInit) {
        this.activation = activation;
        this.weightInit = weightInit;
    }

    public Activation activation() {
        return activation;
    }

    public WeightInit weightInit() {
        return weightInit;
    }

    /** The lower-case names used on the command line, for picocli's help and completion. */
    public static final class CliNames implements Iterable<String> {
        @Override
        public java.util.Iterator<String> iterator() {
            return java.util.Arrays.stream(values()).map(HiddenActivation::cliName).iterator();
        }
    }

    /** Reads a command-line name, ignoring case; an unknown name lists the known ones. */
    public static final class Converter implements picocli.CommandLine.ITypeConverter<HiddenActivation> {
        @Override
        public HiddenActivation convert(String name) {
            for (HiddenActivation candidate : values()) {
                if (candidate.cliName().equalsIgnoreCase(name.trim())) {
                    return candidate;
                }
            }
            throw new picocli.CommandLine.TypeConversionException("unknown activation '" + name + "'; choose one of "
                    + String.join(", ", new CliNames()));
        }
    }

    /** The lower-case name used on the command line. */
    public String cliName() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
