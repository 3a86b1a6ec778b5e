package org.symcurv.uncertainty;

import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
import org.symcurv.core.model.ParameterLayout;
import org.symcurv.core.model.ParameterLeaf;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.Presets;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.model.OutputJacobian;

/**
 * The choices that define a Laplace posterior of a trained network before any data is seen: which weights it covers
 * ({@link Subset}) and the structure of its curvature ({@link Structure}); and the model-side quantities the fit needs
 * (the mean {@code θ*}, the log likelihood {@code log p(D | θ*)}).
 */
public final class LaplaceFit {
    private LaplaceFit() {
    }

    /** Which weights the posterior covers. */
    public enum Subset {
        /** Every weight and bias. */
        ALL("all"),
        /** The output layer's weight and bias only (the rest stay at {@code θ*}). */
        LAST_LAYER("last-layer");

        private final String cliName;

        Subset(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }
    }

    /** The structure of {@code F}. */
    public enum Structure {
        /** The symmetry-averaged Fisher of the network's weight-space symmetries (inferred, or one group type for all). */
        SYMMETRY("symmetry"),
        /** The diagonal Fisher: {@code SIGN} on every axis ({@code Presets.diagonal}), each parameter its own kind. */
        DIAGONAL("diagonal");

        private final String cliName;

        Structure(String cliName) {
            this.cliName = cliName;
        }

        public String cliName() {
            return cliName;
        }

        /** {@code symmetry} or {@code diagonal}. */
        public static Structure parse(String name) {
            for (Structure s : values()) {
                if (s.cliName.equalsIgnoreCase(name.trim())) {
                    return s;
                }
            }
            throw new IllegalArgumentException("unknown structure '" + name + "'; choose symmetry or diagonal");
        }
    }

    /**
     * The spec of the posterior's leaves.
     *
     * @param groupType every hidden group's type, or {@code null} for the types inferred from the activations
     *                  ({@link Structure#SYMMETRY} only)
     */
    public static SymmetrySpec posteriorSpec(MultiLayerNetwork net, Structure structure, Subset subset, GroupType groupType) {
        SpecInference.Options options = groupType == null ? SpecInference.Options.defaults() : SpecInference.Options.defaults().withGroupType(groupType);
        SymmetrySpec full = SpecInference.infer(net, options);
        SymmetrySpec chosen = subset == Subset.ALL ? full : restrict(full, lastLayerLeaves(net));
        return structure == Structure.DIAGONAL ? Presets.diagonal(chosen) : chosen;
    }

    /** The leaves of the network's last layer that has parameters. */
    public static List<String> lastLayerLeaves(MultiLayerNetwork net) {
        ParameterLayout layout = ParameterLayout.of(net);
        int last = layout.leaves().get(layout.leaves().size() - 1).layerIndex();
        return layout.leavesOfLayer(last).stream().map(ParameterLeaf::name).toList();
    }

    /**
     * The sub-spec on some leaves (re-laid contiguously in their original order) with only the groups they use, as
     * {@code Curvature.restrictTo} lays it out.
     *
     * @throws IllegalArgumentException for an unknown leaf or an empty selection
     */
    public static SymmetrySpec restrict(SymmetrySpec spec, Collection<String> leafNames) {
        Set<String> keep = new LinkedHashSet<>(leafNames);
        if (keep.isEmpty()) {
            throw new IllegalArgumentException("a posterior needs at least one leaf");
        }
        keep.forEach(spec::leaf);
        List<LeafSpec> kept = new ArrayList<>();
        Set<String> used = new LinkedHashSet<>();
        long offset = 0;
        for (LeafSpec leaf : spec.leaves()) {
            if (keep.contains(leaf.name())) {
                kept.add(new LeafSpec(leaf.name(), leaf.shape(), leaf.labels(), offset, leaf.order()));
                offset += leaf.length();
                for (AxisLabel l : leaf.labels()) {
                    if (!l.isFree()) {
                        used.add(l.group());
                    }
                }
            }
        }
        List<Group> groups = spec.groups().stream().filter(g -> used.contains(g.name())).toList();
        return new SymmetrySpec(groups, kept);
    }

    /** {@code θ*} on the leaves of {@code spec}: a new {@code [P]} array. */
    public static INDArray mean(MultiLayerNetwork net, SymmetrySpec spec) {
        return LeafSubset.of(spec, ParameterLayout.of(net)).extract(net.params().dup());
    }

    /**
     * {@code log p(D | θ*) = Σ_i log softmax(z_L(x_i))_{y_i}} of a softmax classifier, in float64 (no probability floor).
     *
     * @param features {@code [N, nIn]}; not modified
     * @param labels   {@code N} class indices
     */
    public static double logLikelihood(MultiLayerNetwork net, INDArray features, int[] labels) {
        OutputJacobian model = OutputJacobian.of(net);
        if (labels.length != features.size(0)) {
            throw new IllegalArgumentException(features.size(0) + " examples but " + labels.length + " labels");
        }
        double total = 0;
        for (long start = 0; start < labels.length; start += 2000) {
            long end = Math.min(labels.length, start + 2000);
            double[][] z = model.outputs(features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all())).toDoubleMatrix();
            for (int i = 0; i < z.length; i++) {
                double max = Double.NEGATIVE_INFINITY;
                for (double v : z[i]) {
                    max = Math.max(max, v);
                }
                double s = 0;
                for (double v : z[i]) {
                    s += Math.exp(v - max);
                }
                int y = labels[(int) start + i];
                if (y < 0 || y >= z[i].length) {
                    throw new IllegalArgumentException("label " + y + " of example " + (start + i) + " is outside [0, " + z[i].length + ")");
                }
                total += z[i][y] - max - Math.log(s);
            }
        }
        return total;
    }

    /**
     * {@code log p(D | θ*) = Σ_i Σ_k log N(y_ik; z_L(x_i)_k, σ²)} of an identity/MSE regressor with DL4J's noise variance
     * {@code σ² = o/2} (its MSE is {@code (1/o)‖z − y‖²}, see {@link LaplacePredictive#regression}): per value
     * {@code −(y − z)²/o − ½ log(π o)}, in float64.
     *
     * @param features {@code [N, nIn]}; not modified
     * @param targets  {@code [N, o]}; not modified
     */
    public static double gaussianLogLikelihood(MultiLayerNetwork net, INDArray features, INDArray targets) {
        OutputJacobian model = OutputJacobian.of(net);
        if (targets.rank() != 2 || targets.size(0) != features.size(0)) {
            throw new IllegalArgumentException(features.size(0) + " examples but targets of shape "
                    + java.util.Arrays.toString(targets.shape()));
        }
        double total = 0;
        for (long start = 0; start < features.size(0); start += 2000) {
            long end = Math.min(features.size(0), start + 2000);
            double[][] z = model.outputs(features.get(NDArrayIndex.interval(start, end), NDArrayIndex.all())).toDoubleMatrix();
            double[][] y = targets.get(NDArrayIndex.interval(start, end), NDArrayIndex.all()).castTo(
                    org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleMatrix();
            for (int i = 0; i < z.length; i++) {
                int o = z[i].length;
                if (y[i].length != o) {
                    throw new IllegalArgumentException("the network has " + o + " outputs but the targets have " + y[i].length + " columns");
                }
                for (int k = 0; k < o; k++) {
                    double r = y[i][k] - z[i][k];
                    total += -r * r / o - 0.5 * Math.log(Math.PI * o);
                }
            }
        }
        return total;
    }

    /** E.g. {@code symmetry, last layer}. */
    public static String describe(Structure structure, Subset subset) {
        return structure.cliName() + ", " + subset.cliName().replace('-', ' ').toLowerCase(Locale.ROOT);
    }
}
