package org.symcurv.core.model;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.symcurv.core.testing.DenseMatrices.assertClose;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.deeplearning4j.nn.conf.ConvolutionMode;
import org.deeplearning4j.nn.conf.layers.PoolingType;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.operator.ScaledCurvature;
import org.symcurv.core.symmetry.AxisLabel;
import org.symcurv.core.symmetry.Group;
import org.symcurv.core.symmetry.GroupType;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.symmetry.LeafSpec;
import org.symcurv.core.symmetry.SymmetrySpec;
import org.symcurv.core.testing.DenseMatrices;
import org.symcurv.core.testing.GroupActions;
import org.symcurv.core.testing.TinyCnns;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.testing.Tolerances;

/**
 * The Fisher of tiny CNNs from the materialised per-example gradients of the network walk ({@link FisherSource}'s
 * default route when a leaf does not factor) against DL4J's backward pass run per example (the PER_EXAMPLE route), and
 * against a brute-force average over every element of the channel and unit groups of the DL4J per-example gradients'
 * second moment, all in float64.
 */
class ConvolutionFisherTest {
    /** 6×6×1 → conv 3×3 (2 channels, tanh) → max pool 2 → dense 3 (tanh) → softmax 3. */
    private static MultiLayerNetwork poolThenDense() {
        return TinyCnns.lenetLike(41);
    }

    /** 6×6×1 → conv 2×2 (2, tanh) → conv 2×2 Same (3, tanh) → avg pool 2 → softmax 2: a kernel with two group axes. */
    private static MultiLayerNetwork twoConvolutions() {
        return TinyCnns.builder(42).input(6, 6, 1).conv(2, 2, Activation.TANH)
                .conv(3, new int[] {2, 2}, new int[] {1, 1}, new int[] {0, 0}, ConvolutionMode.Same, true, Activation.TANH)
                .pool(PoolingType.AVG, new int[] {2, 2}, new int[] {2, 2}, new int[] {0, 0}, ConvolutionMode.Truncate).softmax(2);
    }

    /**
     * The channel groups of the conventions (HELPERS.md): a conv layer's output-channel group labels its kernel's axis 0,
     * its bias, the next kernel's axis 1 and the channel axis of a flattened dense weight; a dense layer's units as usual.
     */
    static SymmetrySpec channelSpec(MultiLayerNetwork net, Map<Integer, Group> groups) {
        ParameterLayout layout = ParameterLayout.of(net);
        return new SymmetrySpec(new ArrayList<>(groups.values()), layout.leafSpecs(leaf -> {
            int l = leaf.layerIndex();
            AxisLabel own = label(groups.get(l));
            AxisLabel previous = AxisLabel.FREE;
            for (int p = l - 1; p >= 0; p--) {
                if (!layout.leavesOfLayer(p).isEmpty()) {
                    previous = label(groups.get(p));
                    break;
                }
            }
            List<AxisLabel> labels = new ArrayList<>();
            if (leaf.key().equals("b")) {
                labels.add(own);
            } else if (leaf.rank() == 4) {
                labels.addAll(List.of(own, previous, AxisLabel.FREE, AxisLabel.FREE));
            } else if (leaf.rank() == 3) {
                labels.addAll(List.of(AxisLabel.FREE, previous, own));
            } else {
                labels.addAll(List.of(previous, own));
            }
            return labels;
        }));
    }

    private static AxisLabel label(Group g) {
        return g == null ? AxisLabel.FREE : AxisLabel.of(g.name());
    }

    private static SymmetrySpec poolThenDenseSpec(MultiLayerNetwork net, GroupType channels, GroupType units) {
        Map<Integer, Group> groups = new java.util.LinkedHashMap<>();
        groups.put(0, new Group("h0", channels, 2));
        groups.put(2, new Group("h2", units, 3));
        return channelSpec(net, groups);
    }

    private static SymmetrySpec twoConvolutionsSpec(MultiLayerNetwork net) {
        Map<Integer, Group> groups = new java.util.LinkedHashMap<>();
        groups.put(0, new Group("h0", GroupType.PERM, 2));
        groups.put(1, new Group("h1", GroupType.SIGNED_PERM, 3));
        return channelSpec(net, groups);
    }

    // ------------------------------------------------------------------ brute force

    /** Every element of a group of the given type on {@code n} units, as matrices. */
    static List<double[][]> elements(GroupType type, int n) {
        List<int[]> perms = new ArrayList<>();
        permutations(new int[n], new boolean[n], 0, perms);
        if (type == GroupType.SIGN) {
            perms = List.of(identity(n));
        }
        List<double[][]> out = new ArrayList<>();
        for (int[] pi : perms) {
            if (type == GroupType.PERM) {
                out.add(GroupActions.permutation(pi, null));
                continue;
            }
            for (int mask = 0; mask < 1 << n; mask++) {
                double[] signs = new double[n];
                for (int i = 0; i < n; i++) {
                    signs[i] = (mask >> i & 1) == 1 ? -1 : 1;
                }
                out.add(GroupActions.permutation(pi, signs));
            }
        }
        return out;
    }

    private static int[] identity(int n) {
        int[] pi = new int[n];
        for (int i = 0; i < n; i++) {
            pi[i] = i;
        }
        return pi;
    }

    private static void permutations(int[] current, boolean[] used, int at, List<int[]> out) {
        if (at == current.length) {
            out.add(current.clone());
            return;
        }
        for (int v = 0; v < current.length; v++) {
            if (!used[v]) {
                used[v] = true;
                current[at] = v;
                permutations(current, used, at + 1, out);
                used[v] = false;
            }
        }
    }

    /** {@code (1/|G|) Σ_g (1/n) Σ_i (g·v_i)(g·v_i)ᵀ} over every element of the spec's groups. */
    static double[][] bruteForceOrbitAverage(SymmetrySpec spec, double[][] vectors) {
        List<Map<String, double[][]>> all = new ArrayList<>();
        all.add(new HashMap<>());
        for (Group group : spec.groups()) {
            List<Map<String, double[][]>> next = new ArrayList<>();
            for (Map<String, double[][]> partial : all) {
                for (double[][] m : elements(group.type(), group.size())) {
                    Map<String, double[][]> extended = new HashMap<>(partial);
                    extended.put(group.name(), m);
                    next.add(extended);
                }
            }
            all = next;
        }
        int p = Math.toIntExact(spec.parameterCount());
        double[][] sum = new double[p][p];
        double weight = 1.0 / (all.size() * (double) vectors.length);
        for (Map<String, double[][]> g : all) {
            for (double[] v : vectors) {
                double[] w = GroupActions.act(spec, g, v);
                for (int a = 0; a < p; a++) {
                    for (int b = 0; b < p; b++) {
                        sum[a][b] += weight * w[a] * w[b];
                    }
                }
            }
        }
        return sum;
    }

    // ------------------------------------------------------------------ tests

    private static DataSet data(long seed, int n, int classes) {
        return TinyNetworks.classificationData(seed, n, 36, classes);
    }

    @Test
    void symmetricFisherOfAPooledCnnIsTheBruteForceOrbitAverageOfDl4jPerExampleGradients() {
        MultiLayerNetwork net = poolThenDense();
        DataSet d = data(141, 9, 3);
        for (GroupType[] types : new GroupType[][] {{GroupType.PERM, GroupType.PERM}, {GroupType.SIGN, GroupType.SIGNED_PERM}}) {
            SymmetrySpec spec = poolThenDenseSpec(net, types[0], types[1]);
            assertFalse(PerExampleFactors.of(net).factors(spec), "the conv kernel does not factor: the materialised route");
            FisherSource source = FisherSource.empirical(d.getFeatures(), d.getLabels()).withBatchSize(4);
            Curvature materialised = source.symmetric(net, spec);
            Curvature perExample = source.withRoute(FisherSource.Route.PER_EXAMPLE).symmetric(net, spec);
            String what = types[0] + "/" + types[1];
            assertClose(DenseMatrices.toMatrix(perExample.toDense()), DenseMatrices.toMatrix(materialised.toDense()), Tolerances.FLOAT64_ROUNDOFF,
                    what + ": materialised vs DL4J per example");
            double[][] brute = bruteForceOrbitAverage(spec, DenseMatrices.toMatrix(Gradients.perExample(net, d)));
            assertClose(brute, DenseMatrices.toMatrix(materialised.toDense()), Tolerances.FLOAT64_ROUNDOFF, what + ": brute-force orbit average");
        }
    }

    /** The spec SpecInference infers for a real CNN (channel groups through pooling and the flattening) on both routes. */
    @Test
    void theInferredSpecOfACnnGivesTheSameFisherOnBothRoutes() {
        for (MultiLayerNetwork net : List.of(poolThenDense(), twoConvolutions())) {
            SymmetrySpec spec = SpecInference.infer(net);
            assertFalse(spec.groups().isEmpty(), "channel groups inferred: " + spec);
            DataSet d = data(148, 6, (int) net.getLayer(net.getnLayers() - 1).getParam("b").length());
            FisherSource source = FisherSource.monteCarlo(d.getFeatures(), 4).withBatchSize(4);
            assertClose(DenseMatrices.toMatrix(source.withRoute(FisherSource.Route.PER_EXAMPLE).symmetric(net, spec).toDense()),
                    DenseMatrices.toMatrix(source.symmetric(net, spec).toDense()), Tolerances.FLOAT64_ROUNDOFF, "inferred " + spec.groups());
        }
    }

    @Test
    void aKernelWithTwoChannelGroupsAveragesOverBoth() {
        MultiLayerNetwork net = twoConvolutions();
        DataSet d = data(142, 7, 2);
        SymmetrySpec spec = twoConvolutionsSpec(net);
        Curvature materialised = FisherSource.empirical(d.getFeatures(), d.getLabels()).withBatchSize(3).symmetric(net, spec);
        double[][] brute = bruteForceOrbitAverage(spec, DenseMatrices.toMatrix(Gradients.perExample(net, d)));
        assertClose(brute, DenseMatrices.toMatrix(materialised.toDense()), Tolerances.FLOAT64_ROUNDOFF, "1_W (h1, h0, FREE, FREE)");
    }

    @Test
    void monteCarloFisherOfACnnAgreesBetweenRoutesAndBatchSizes() {
        MultiLayerNetwork net = twoConvolutions();
        DataSet d = data(143, 8, 2);
        SymmetrySpec spec = twoConvolutionsSpec(net);
        FisherSource source = FisherSource.monteCarlo(d.getFeatures(), 9).withSamplesPerExample(2).withBatchSize(3);
        Curvature materialised = source.symmetric(net, spec);
        assertClose(DenseMatrices.toMatrix(source.withRoute(FisherSource.Route.PER_EXAMPLE).symmetric(net, spec).toDense()),
                DenseMatrices.toMatrix(materialised.toDense()), Tolerances.FLOAT64_ROUNDOFF, "materialised vs per-example, k = 2");
        assertClose(DenseMatrices.toMatrix(source.withBatchSize(8).symmetric(net, spec).toDense()), DenseMatrices.toMatrix(materialised.toDense()),
                Tolerances.FLOAT64_ROUNDOFF, "batch 8 vs 3: the same labels");
    }

    @Test
    void diagonalFisherOfACnnIsTheMeanSquareOfDl4jPerExampleGradients() {
        MultiLayerNetwork net = poolThenDense();
        DataSet d = data(144, 6, 3);
        SymmetrySpec leaves = new SymmetrySpec(List.of(), ParameterLayout.of(net).leafSpecs());
        Curvature diagonal = FisherSource.empirical(d.getFeatures(), d.getLabels()).withBatchSize(4).diagonal(net, leaves);
        INDArray g = Gradients.perExample(net, d);
        double[] expected = DenseMatrices.toVector(g.mul(g).mean(0));
        double[][] dense = DenseMatrices.toMatrix(diagonal.toDense());
        double[] actual = new double[expected.length];
        for (int q = 0; q < actual.length; q++) {
            actual[q] = dense[q][q];
        }
        assertClose(expected, actual, Tolerances.FLOAT64_ROUNDOFF, "diag F");
        // Monte Carlo labels, 2 per example: the factored/materialised sums against DL4J's per-example route
        FisherSource mc = FisherSource.monteCarlo(d.getFeatures(), 3).withSamplesPerExample(2).withBatchSize(4);
        assertClose(DenseMatrices.toMatrix(mc.withRoute(FisherSource.Route.PER_EXAMPLE).diagonal(net, leaves).toDense()),
                DenseMatrices.toMatrix(mc.diagonal(net, leaves).toDense()), Tolerances.FLOAT64_ROUNDOFF, "Monte Carlo diag F, k = 2");
    }

    @Test
    void unitScaledFisherOfACnnIsTheOrbitAverageInRescaledCoordinates() {
        MultiLayerNetwork net = twoConvolutions();
        DataSet d = data(145, 7, 2);
        SymmetrySpec spec = twoConvolutionsSpec(net);
        ScaledCurvature scaled = FisherSource.empirical(d.getFeatures(), d.getLabels()).withBatchSize(3)
                .unitScaledSymmetric(net, spec, FisherSource.Progress.NONE);
        double[][] g = DenseMatrices.toMatrix(Gradients.perExample(net, d));
        // the scales from the formula, by plain loops: r_{a,k} = ρ_{a,k} ρ^{1/|A| − 1}, a parameter's scale the product
        double[] expectedScale = new double[g[0].length];
        for (LeafSpec leaf : spec.leaves()) {
            fillScale(leaf, g, expectedScale);
        }
        double[] scale = DenseMatrices.toVector(scaled.scale());
        assertClose(expectedScale, scale, Tolerances.FLOAT64_ROUNDOFF, "unit scales");
        double[][] rescaled = new double[g.length][g[0].length];
        for (int i = 0; i < g.length; i++) {
            for (int q = 0; q < g[i].length; q++) {
                rescaled[i][q] = g[i][q] / scale[q];
            }
        }
        assertClose(bruteForceOrbitAverage(spec, rescaled), DenseMatrices.toMatrix(scaled.scaled().toDense()), Tolerances.FLOAT64_ROUNDOFF,
                "F' = orbit average of g / s");
    }

    /** The scale formula of {@link FisherSource#unitScaledSymmetric} on CNNs, element by element (no floor reached here). */
    private static void fillScale(LeafSpec leaf, double[][] g, double[] out) {
        int rank = leaf.rank();
        long[] shape = leaf.shape();
        int length = Math.toIntExact(leaf.length());
        double[] meanSquare = new double[length]; // leaf flat order
        double overall = 0;
        for (double[] row : g) {
            for (int e = 0; e < length; e++) {
                double v = row[(int) leaf.offset() + e];
                meanSquare[e] += v * v / g.length;
            }
        }
        for (double m : meanSquare) {
            overall += m / length;
        }
        List<Integer> grouped = new ArrayList<>();
        for (int a = 0; a < rank; a++) {
            if (!leaf.label(a).isFree()) {
                grouped.add(a);
            }
        }
        double[][] axisScale = new double[rank][];
        for (int a : grouped) {
            double[] slice = new double[(int) shape[a]];
            for (int e = 0; e < length; e++) {
                slice[index(e, shape, leaf.order())[a]] += meanSquare[e] / (length / shape[a]);
            }
            axisScale[a] = new double[slice.length];
            for (int k = 0; k < slice.length; k++) {
                axisScale[a][k] = Math.sqrt(slice[k]) * Math.pow(Math.sqrt(overall), 1.0 / grouped.size() - 1.0);
            }
        }
        for (int e = 0; e < length; e++) {
            int[] idx = index(e, shape, leaf.order());
            double s = 1;
            for (int a : grouped) {
                s *= axisScale[a][idx[a]];
            }
            out[(int) leaf.offset() + e] = s;
        }
    }

    /** The multi-index of flat position {@code e} in a tensor flattened in {@code order}. */
    private static int[] index(int e, long[] shape, char order) {
        int[] idx = new int[shape.length];
        int rest = e;
        if (order == 'c') {
            for (int a = shape.length - 1; a >= 0; a--) {
                idx[a] = (int) (rest % shape[a]);
                rest /= (int) shape[a];
            }
        } else {
            for (int a = 0; a < shape.length; a++) {
                idx[a] = (int) (rest % shape[a]);
                rest /= (int) shape[a];
            }
        }
        return idx;
    }

    @Test
    void kfacRefusesAConvolutionNamingTheLayer() {
        MultiLayerNetwork net = poolThenDense();
        DataSet d = data(146, 4, 3);
        SymmetrySpec leaves = new SymmetrySpec(List.of(), ParameterLayout.of(net).leafSpecs());
        UnsupportedLayerException e = assertThrows(UnsupportedLayerException.class,
                () -> FisherSource.empirical(d.getFeatures(), d.getLabels()).kfac(net, leaves));
        assertTrue(e.getMessage().startsWith("layer 0 (ConvolutionLayer)") && e.getMessage().contains("K-FAC"), e.getMessage());
        // the dense tail alone still has its K-FAC
        SymmetrySpec tail = new SymmetrySpec(List.of(), List.of(leaves.leaf("3_W"), leaves.leaf("3_b")).stream()
                .map(l -> new LeafSpec(l.name(), l.shape(), l.labels(), l.offset() - leaves.leaf("3_W").offset(), l.order())).toList());
        FisherSource.empirical(d.getFeatures(), d.getLabels()).kfac(net, tail);
    }

    @Test
    void theMaterialisedRouteAgreesWithTheOrbitAverageOfItsOwnRows() {
        MultiLayerNetwork net = poolThenDense();
        DataSet d = data(147, 5, 3);
        SymmetrySpec spec = poolThenDenseSpec(net, GroupType.PERM, GroupType.SIGNED_PERM);
        INDArray g = PerExampleFactors.of(net).materialisedWithLabels(d.getFeatures(), d.getLabels(), spec);
        Curvature expected = OrbitAverage.secondMoment(KindDecomposition.of(spec), g, BlockBudget.DEFAULT);
        Curvature actual = FisherSource.empirical(d.getFeatures(), d.getLabels()).withBatchSize(2).symmetric(net, spec);
        assertClose(DenseMatrices.toMatrix(expected.toDense()), DenseMatrices.toMatrix(actual.toDense()), Tolerances.FLOAT64_ROUNDOFF, "chunks of 2");
    }
}
