package org.symcurv.core.testing;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.shade.jackson.databind.JsonNode;

/**
 * The numpy oracle {@code tiny-mlp-curvature.json}: an MLP 5 → 4 → 3 → 3 with softmax cross-entropy averaged
 * over 32 examples, for tanh and ReLU hidden units. Every parameter-space quantity is in DL4J
 * {@code params()} order (per layer {@code W[nIn, nOut]} column-major, then {@code b}); see the fixtures'
 * README. Accessors return copies.
 */
public final class TinyMlpFixture {
    private final int[][] layerShapes;
    private final double[][] inputs;
    private final int[] labels;
    private final Map<String, Case> cases;

    private TinyMlpFixture(int[][] layerShapes, double[][] inputs, int[] labels, Map<String, Case> cases) {
        this.layerShapes = layerShapes;
        this.inputs = inputs;
        this.labels = labels;
        this.cases = cases;
    }

    static TinyMlpFixture parse(JsonNode root) {
        JsonNode shapesNode = Fixtures.child(root, "layer_shapes", "");
        int[][] shapes = new int[shapesNode.size()][];
        for (int l = 0; l < shapes.length; l++) {
            shapes[l] = Fixtures.intVector(shapesNode.get(l), "layer_shapes[" + l + "]");
        }
        double[][] x = Fixtures.matrix(Fixtures.child(root, "X", ""), "X");
        int[] y = Fixtures.intVector(Fixtures.child(root, "y", ""), "y");
        if (x.length != y.length) {
            throw new IllegalStateException("fixture has " + x.length + " rows of X but " + y.length + " labels y");
        }
        Map<String, Case> cases = new LinkedHashMap<>();
        JsonNode casesNode = Fixtures.child(root, "cases", "");
        for (Iterator<String> it = casesNode.fieldNames(); it.hasNext(); ) {
            String name = it.next();
            cases.put(name, Case.parse(casesNode.get(name), "cases." + name));
        }
        return new TinyMlpFixture(shapes, x, y, cases);
    }

    /** Per layer {@code [nIn, nOut]}. */
    public int[][] layerShapes() {
        return deepCopy(layerShapes);
    }

    /** The inputs {@code X}, {@code [n, nIn]}. */
    public double[][] inputs() {
        return deepCopy(inputs);
    }

    /** Class index of each example. */
    public int[] labels() {
        return labels.clone();
    }

    /** Number of classes (the last layer's {@code nOut}). */
    public int classes() {
        return layerShapes[layerShapes.length - 1][1];
    }

    /** Names of the cases, the hidden activations ({@code "tanh"}, {@code "relu"}). */
    public List<String> caseNames() {
        return new ArrayList<>(cases.keySet());
    }

    /** @throws IllegalArgumentException naming the available cases if {@code activation} is not one */
    public Case forActivation(String activation) {
        Case c = cases.get(activation);
        if (c == null) {
            throw new IllegalArgumentException("fixture has no case '" + activation + "'; cases: " + cases.keySet());
        }
        return c;
    }

    /**
     * One hidden activation's oracle values at parameters {@code theta}; matrices are {@code [P, P]}.
     *
     * @param averaged orbit averages {@code E_G[A S Aᵀ]} keyed by group type ({@code perm}, {@code sign},
     *                 {@code signed_perm})
     */
    public record Case(String activation, double[] theta, double[] meanGradient, double[][] empiricalFisher,
                       double[][] hessian, double[][] ggn, List<String> exactSymmetryGroups, Map<String, Averaged> averaged) {
        static Case parse(JsonNode node, String path) {
            Map<String, Averaged> averaged = new LinkedHashMap<>();
            JsonNode avg = Fixtures.child(node, "averaged", path);
            for (Iterator<String> it = avg.fieldNames(); it.hasNext(); ) {
                String group = it.next();
                averaged.put(group, Averaged.parse(avg.get(group), path + ".averaged." + group));
            }
            List<String> exact = new ArrayList<>();
            Fixtures.child(node, "exact_symmetry_groups", path).forEach(n -> exact.add(n.asText()));
            return new Case(Fixtures.child(node, "activation", path).asText(),
                    Fixtures.vector(Fixtures.child(node, "theta", path), path + ".theta"),
                    Fixtures.vector(Fixtures.child(node, "mean_gradient", path), path + ".mean_gradient"),
                    Fixtures.matrix(Fixtures.child(node, "empirical_fisher", path), path + ".empirical_fisher"),
                    Fixtures.matrix(Fixtures.child(node, "hessian", path), path + ".hessian"),
                    Fixtures.matrix(Fixtures.child(node, "ggn", path), path + ".ggn"),
                    exact, averaged);
        }

        public Case {
            exactSymmetryGroups = List.copyOf(exactSymmetryGroups);
            averaged = Map.copyOf(averaged);
        }

        @Override
        public double[] theta() {
            return theta.clone();
        }

        @Override
        public double[] meanGradient() {
            return meanGradient.clone();
        }

        @Override
        public double[][] empiricalFisher() {
            return deepCopy(empiricalFisher);
        }

        @Override
        public double[][] hessian() {
            return deepCopy(hessian);
        }

        @Override
        public double[][] ggn() {
            return deepCopy(ggn);
        }

        /** @throws IllegalArgumentException naming the available groups if {@code group} has no averages */
        public Averaged averagedOver(String group) {
            Averaged a = averaged.get(group);
            if (a == null) {
                throw new IllegalArgumentException("case '" + activation + "' has no averages over '" + group + "'; groups: " + averaged.keySet());
            }
            return a;
        }
    }

    /** Orbit averages of the three matrices over one group type, each {@code [P, P]}. */
    public record Averaged(double[][] empiricalFisher, double[][] hessian, double[][] ggn) {
        static Averaged parse(JsonNode node, String path) {
            return new Averaged(Fixtures.matrix(Fixtures.child(node, "empirical_fisher", path), path + ".empirical_fisher"),
                    Fixtures.matrix(Fixtures.child(node, "hessian", path), path + ".hessian"),
                    Fixtures.matrix(Fixtures.child(node, "ggn", path), path + ".ggn"));
        }

        @Override
        public double[][] empiricalFisher() {
            return deepCopy(empiricalFisher);
        }

        @Override
        public double[][] hessian() {
            return deepCopy(hessian);
        }

        @Override
        public double[][] ggn() {
            return deepCopy(ggn);
        }
    }

    static double[][] deepCopy(double[][] m) {
        double[][] c = new double[m.length][];
        for (int i = 0; i < m.length; i++) {
            c[i] = m[i].clone();
        }
        return c;
    }

    static int[][] deepCopy(int[][] m) {
        int[][] c = new int[m.length][];
        for (int i = 0; i < m.length; i++) {
            c[i] = m[i].clone();
        }
        return c;
    }
}
