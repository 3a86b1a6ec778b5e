package org.symcurv.uncertainty;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;

/**
 * The precision {@code Λ = ⊕_leaf λ_leaf I_leaf} of an isotropic-per-leaf Gaussian prior {@code θ ~ N(0, Λ⁻¹)}: one
 * scalar for all parameters, or one per layer (a layer's weight {@code "l_W"} and bias {@code "l_b"} share
 * {@code λ_l}). {@code Λ} commutes with every weight-space symmetry group, so {@code F + Λ} keeps the structure of a
 * symmetry-averaged Fisher ({@link Curvature#plusLeafIdentity}). Immutable.
 */
public final class PriorPrecision {
    private final Map<String, Double> perLeaf;

    private PriorPrecision(Map<String, Double> perLeaf) {
        this.perLeaf = Collections.unmodifiableMap(new LinkedHashMap<>(perLeaf));
    }

    /**
     * {@code Λ = λ I} on every leaf of {@code spec}.
     *
     * @throws IllegalArgumentException unless {@code λ} is finite and positive
     */
    public static PriorPrecision scalar(double lambda, SymmetrySpec spec) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (LeafSpec leaf : spec.leaves()) {
            m.put(leaf.name(), requirePositive(lambda, leaf.name()));
        }
        return new PriorPrecision(m);
    }

    /**
     * One precision per leaf.
     *
     * @param perLeaf every leaf of {@code spec} and nothing else, each precision finite and positive
     * @throws IllegalArgumentException naming the leaf that is missing, unknown or has a bad value
     */
    public static PriorPrecision perLeaf(Map<String, Double> perLeaf, SymmetrySpec spec) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (LeafSpec leaf : spec.leaves()) {
            Double v = perLeaf.get(leaf.name());
            if (v == null) {
                throw new IllegalArgumentException("no prior precision for leaf '" + leaf.name() + "'; leaves: " + leafNames(spec));
            }
            m.put(leaf.name(), requirePositive(v, leaf.name()));
        }
        for (String name : perLeaf.keySet()) {
            if (!m.containsKey(name)) {
                throw new IllegalArgumentException("prior precision given for '" + name + "', which is not a leaf of the posterior; leaves: "
                        + leafNames(spec));
            }
        }
        return new PriorPrecision(m);
    }

    /**
     * One precision per layer: leaf {@code "l_W"} and {@code "l_b"} get {@code perLayer.get(layerOf(leaf))}.
     *
     * @throws IllegalArgumentException naming the layer that has no precision
     */
    public static PriorPrecision perLayer(Map<String, Double> perLayer, SymmetrySpec spec) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (LeafSpec leaf : spec.leaves()) {
            String layer = layerOf(leaf.name());
            Double v = perLayer.get(layer);
            if (v == null) {
                throw new IllegalArgumentException("no prior precision for layer '" + layer + "' (leaf '" + leaf.name() + "')");
            }
            m.put(leaf.name(), requirePositive(v, leaf.name()));
        }
        return new PriorPrecision(m);
    }

    /** The layer a leaf belongs to: the part of its name before the last {@code '_'} ({@code "2_W"} → {@code "2"}), else the name. */
    public static String layerOf(String leafName) {
        int underscore = leafName.lastIndexOf('_');
        return underscore > 0 ? leafName.substring(0, underscore) : leafName;
    }

    private static double requirePositive(double v, String leaf) {
        if (!(v > 0) || Double.isInfinite(v)) {
            throw new IllegalArgumentException("prior precision of leaf '" + leaf + "' must be a finite number > 0, got " + v);
        }
        return v;
    }

    private static String leafNames(SymmetrySpec spec) {
        return spec.leaves().stream().map(LeafSpec::name).toList().toString();
    }

    /** {@code λ_leaf}. @throws IllegalArgumentException for an unknown leaf */
    public double of(String leaf) {
        Double v = perLeaf.get(leaf);
        if (v == null) {
            throw new IllegalArgumentException("no prior precision for leaf '" + leaf + "'; leaves: " + perLeaf.keySet());
        }
        return v;
    }

    /** Leaf name → {@code λ_leaf}, in leaf order (unmodifiable). */
    public Map<String, Double> perLeaf() {
        return perLeaf;
    }

    /** Layer → {@code λ} (the first leaf's value where a layer's leaves differ; they never do for {@link #perLayer}). */
    public Map<String, Double> perLayer() {
        Map<String, Double> m = new LinkedHashMap<>();
        perLeaf.forEach((leaf, v) -> m.putIfAbsent(layerOf(leaf), v));
        return Collections.unmodifiableMap(m);
    }

    /** Whether every leaf has the same precision. */
    public boolean isScalar() {
        return perLeaf.values().stream().distinct().count() <= 1;
    }

    /**
     * {@code log det Λ = Σ_leaf P_leaf log λ_leaf}.
     *
     * @throws IllegalArgumentException if the spec's leaves differ from this prior's
     */
    public double logDet(SymmetrySpec spec) {
        requireLeaves(spec);
        double s = 0;
        for (LeafSpec leaf : spec.leaves()) {
            s += leaf.length() * Math.log(perLeaf.get(leaf.name()));
        }
        return s;
    }

    /**
     * {@code θᵀ Λ θ = Σ_leaf λ_leaf ‖θ_leaf‖²}.
     *
     * @param theta {@code [P]} in the spec's layout; not modified
     */
    public double quadraticForm(INDArray theta, SymmetrySpec spec) {
        requireLeaves(spec);
        double s = 0;
        for (Map.Entry<String, Double> e : squaredNorms(theta, spec).entrySet()) {
            s += perLeaf.get(e.getKey()) * e.getValue();
        }
        return s;
    }

    /** {@code ‖θ_leaf‖²} per leaf, in float64. */
    static Map<String, Double> squaredNorms(INDArray theta, SymmetrySpec spec) {
        if (theta.length() != spec.parameterCount()) {
            throw new IllegalArgumentException("θ has " + theta.length() + " entries but the posterior has " + spec.parameterCount() + " parameters");
        }
        INDArray flat = theta.reshape(theta.length()).castTo(DataType.DOUBLE);
        Map<String, Double> m = new LinkedHashMap<>();
        for (LeafSpec leaf : spec.leaves()) {
            INDArray t = KindDecomposition.leafTensor(flat, leaf);
            m.put(leaf.name(), t.mul(t).sumNumber().doubleValue());
        }
        return m;
    }

    /** {@code S + Λ}. */
    public Curvature addTo(Curvature s) {
        requireLeaves(s.spec());
        return s.plusLeafIdentity(perLeaf);
    }

    private void requireLeaves(SymmetrySpec spec) {
        if (!perLeaf.keySet().equals(new java.util.HashSet<>(spec.leaves().stream().map(LeafSpec::name).toList()))) {
            throw new IllegalArgumentException("the prior covers leaves " + perLeaf.keySet() + " but the posterior has " + leafNames(spec));
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PriorPrecision p && perLeaf.equals(p.perLeaf);
    }

    @Override
    public int hashCode() {
        return Objects.hash(perLeaf);
    }

    /** {@code λ = 3.2} for a scalar prior, else {@code λ_0 = …, λ_1 = …} per layer. */
    @Override
    public String toString() {
        if (isScalar() && !perLeaf.isEmpty()) {
            return String.format(Locale.ROOT, "λ = %.4g", perLeaf.values().iterator().next());
        }
        StringBuilder sb = new StringBuilder();
        perLayer().forEach((layer, v) -> sb.append(sb.length() == 0 ? "" : ", ").append(String.format(Locale.ROOT, "λ_%s = %.4g", layer, v)));
        return sb.toString();
    }
}
