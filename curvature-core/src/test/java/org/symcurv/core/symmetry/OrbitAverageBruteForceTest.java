package org.symcurv.core.symmetry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.inputs.InputType;
import org.deeplearning4j.nn.conf.layers.ConvolutionLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.NoOp;
import org.nd4j.linalg.lossfunctions.LossFunctions.LossFunction;
import org.symcurv.core.estimate.OrbitAverage;
import org.symcurv.core.model.SpecInference;
import org.symcurv.core.testing.TinyNetworks;
import org.symcurv.core.operator.BlockBudget;
import org.symcurv.core.operator.Curvature;

/**
 * The block construction of section 3 against brute force: enumerate every group element as a dense
 * matrix, average {@code (Av)(Av)ᵀ} and {@code A v} and {@code A M Aᵀ}, compare with {@code R2}, {@code R1}
 * and the projection. Both sides are float64; they must agree to round-off. Specs: MLPs, a 3-D leaf, and CNN-shaped
 * specs (kernels {@code [out, in, kh, kw]} with the channel group on two leaves' different axes, the flattened dense
 * leaf {@code [H·W, C, nOut]} in 'f' order), by hand and inferred from a real DL4J CNN.
 */
class OrbitAverageBruteForceTest {
    /** Relative Frobenius tolerance for two float64 computations of the same finite average. */
    static final double ROUND_OFF = 1e-12;

    static Stream<Arguments> specs() {
        int[] tiny = {5, 4, 3, 3};
        return Stream.of(
                Arguments.of("perm", SpecsForTests.mlp(tiny, GroupType.PERM, GroupType.PERM)),
                Arguments.of("sign", SpecsForTests.mlp(tiny, GroupType.SIGN, GroupType.SIGN)),
                Arguments.of("signed-perm", SpecsForTests.mlp(tiny, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM)),
                Arguments.of("signed-perm, small", SpecsForTests.mlp(new int[] {3, 3, 2, 2}, GroupType.SIGNED_PERM, GroupType.SIGNED_PERM)),
                Arguments.of("perm+sign", SpecsForTests.mlp(tiny, GroupType.PERM, GroupType.SIGN)),
                Arguments.of("sign+signed-perm", SpecsForTests.mlp(tiny, GroupType.SIGN, GroupType.SIGNED_PERM)),
                Arguments.of("signed-perm+perm", SpecsForTests.mlp(new int[] {3, 3, 5, 2}, GroupType.SIGNED_PERM, GroupType.PERM)),
                Arguments.of("1-unit perm", SpecsForTests.mlp(new int[] {3, 1, 2, 2}, GroupType.PERM, GroupType.PERM)),
                Arguments.of("1-unit sign", SpecsForTests.mlp(new int[] {3, 1, 2, 2}, GroupType.SIGN, GroupType.SIGNED_PERM)),
                Arguments.of("3-d leaf, c order", threeDimensional()),
                Arguments.of("cnn by hand, perm+signed-perm", cnnByHand(GroupType.PERM, GroupType.SIGNED_PERM)),
                Arguments.of("cnn by hand, sign+perm", cnnByHand(GroupType.SIGN, GroupType.PERM)),
                Arguments.of("cnn inferred (signed-perm)", SpecInference.infer(tinyCnn())),
                Arguments.of("cnn inferred, as perm", SpecInference.infer(tinyCnn()).withGroupType(GroupType.PERM)),
                Arguments.of("cnn inferred, as sign", SpecInference.infer(tinyCnn()).withGroupType(GroupType.SIGN)));
    }

    /**
     * The leaves of a CNN as the conventions lay them out, written by hand: conv {@code b [2]}, {@code W [2, 1, 2, 2]}
     * ('c'; channels h0), conv {@code b [3]}, {@code W [3, 2, 2, 2]} ('c'; h1 on axis 0, h0 on axis 1), the flattened
     * dense {@code W [H·W = 2, C = 3, 2]} ('f'; h1 on axis 1), its bias.
     */
    static SymmetrySpec cnnByHand(GroupType first, GroupType second) {
        AxisLabel h0 = AxisLabel.of("h0");
        AxisLabel h1 = AxisLabel.of("h1");
        AxisLabel free = AxisLabel.FREE;
        List<LeafSpec> leaves = List.of(
                LeafSpec.of("0_b", 0, new long[] {2}, h0),
                LeafSpec.of("0_W", 2, new long[] {2, 1, 2, 2}, h0, free, free, free),
                LeafSpec.of("1_b", 10, new long[] {3}, h1),
                LeafSpec.of("1_W", 13, new long[] {3, 2, 2, 2}, h1, h0, free, free),
                new LeafSpec("2_W", new long[] {2, 3, 2}, List.of(free, h1, free), 37, 'f'),
                LeafSpec.of("2_b", 49, new long[] {2}, free));
        return new SymmetrySpec(List.of(new Group("h0", first, 2), new Group("h1", second, 3)), leaves);
    }

    /** A real DL4J CNN: 4×4×1 → conv 2×2 (2 channels, tanh) → conv 2×2 (3 channels, tanh) → flatten → softmax 2; 63 parameters. */
    static MultiLayerNetwork tinyCnn() {
        return TinyNetworks.initialise(new NeuralNetConfiguration.Builder().seed(3).dataType(DataType.DOUBLE).updater(new NoOp()).list()
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(2).activation(Activation.TANH).build())
                .layer(new ConvolutionLayer.Builder(2, 2).nOut(3).activation(Activation.TANH).build())
                .layer(new OutputLayer.Builder(LossFunction.MCXENT).nOut(2).activation(Activation.SOFTMAX).build())
                .setInputType(InputType.convolutionalFlat(4, 4, 1)).build(), 3);
    }

    /** A 3-D leaf {@code [2, n, 3]} (free, γ, free) in row-major order beside a bias and a 2-D leaf with the group first. */
    static SymmetrySpec threeDimensional() {
        List<Group> groups = List.of(new Group("g", GroupType.PERM, 4));
        List<LeafSpec> leaves = List.of(
                LeafSpec.of("t", 0, new long[] {2, 4, 3}, AxisLabel.FREE, AxisLabel.of("g"), AxisLabel.FREE),
                LeafSpec.of("b", 24, new long[] {4}, AxisLabel.of("g")),
                new LeafSpec("w", new long[] {4, 2}, List.of(AxisLabel.of("g"), AxisLabel.FREE), 28, 'f'),
                LeafSpec.of("free", 36, new long[] {2}, AxisLabel.FREE));
        return new SymmetrySpec(groups, leaves);
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void secondMomentEqualsBruteForceAverage(String name, SymmetrySpec spec) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        BruteForceGroup group = new BruteForceGroup(spec);
        List<double[][][]> elements = group.elements();
        Random rng = new Random(7);
        List<double[]> vectors = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            vectors.add(gaussian((int) spec.parameterCount(), rng));
        }
        double[][] expected = group.averageOuter(elements, vectors);
        INDArray rows = Nd4j.create(vectors.toArray(new double[0][]));
        Curvature s = OrbitAverage.secondMoment(kinds, rows, BlockBudget.DEFAULT);
        assertClose(expected, s.toDense(), ROUND_OFF, name + ": R2 vs brute force");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void firstOrderEqualsBruteForceMean(String name, SymmetrySpec spec) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        BruteForceGroup group = new BruteForceGroup(spec);
        double[] v = gaussian((int) spec.parameterCount(), new Random(11));
        double[] expected = group.averageVector(group.elements(), v);
        INDArray actual = OrbitAverage.firstOrder(kinds, Nd4j.createFromArray(v));
        assertClose(new double[][] {expected}, actual.reshape(1, v.length), ROUND_OFF, name + ": R1 vs brute force");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void projectionOfAnySymmetricMatrixEqualsBruteForce(String name, SymmetrySpec spec) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        BruteForceGroup group = new BruteForceGroup(spec);
        int p = (int) spec.parameterCount();
        Random rng = new Random(3);
        double[][] m = new double[p][p];
        for (int i = 0; i < p; i++) {
            for (int j = 0; j <= i; j++) {
                m[i][j] = m[j][i] = rng.nextGaussian();
            }
        }
        List<double[][][]> elements = group.elements();
        Curvature projected = OrbitAverage.project(kinds, Nd4j.createFromArray(m));
        if (elements.size() > 2000) {
            // A M Aᵀ for each of 18k signed permutations is too slow here; "signed-perm, small" covers the type, and
            // this spec still checks that the projection is idempotent and leaves an averaged matrix unchanged
            Curvature again = OrbitAverage.project(kinds, projected.toDense());
            assertClose(toArray(projected.toDense()), again.toDense(), ROUND_OFF, name + ": projection is idempotent");
            return;
        }
        double[][] expected = group.averageMatrix(elements, m);
        assertClose(expected, projected.toDense(), ROUND_OFF, name + ": projection vs brute force");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void copyMapsResolveTheIdentity(String name, SymmetrySpec spec) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        INDArray v = Nd4j.createFromArray(gaussian((int) spec.parameterCount(), new Random(5)));
        INDArray back = Nd4j.zeros(DataType.DOUBLE, v.length());
        for (int k = 0; k < kinds.kinds().size(); k++) {
            kinds.scatterAdd(k, kinds.copyMatrix(k, v), back);
        }
        assertClose(new double[][] {v.toDoubleVector()}, back.reshape(1, v.length()), ROUND_OFF,
                name + ": Σ_κ scatter ∘ copy = identity");
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("specs")
    void mixedSecondOrderEqualsSymmetrisedBruteForce(String name, SymmetrySpec spec) {
        KindDecomposition kinds = KindDecomposition.of(spec);
        BruteForceGroup group = new BruteForceGroup(spec);
        List<double[][][]> elements = group.elements();
        int p = (int) spec.parameterCount();
        Random rng = new Random(13);
        double[] u = gaussian(p, rng);
        double[] v = gaussian(p, rng);
        double[][] expected = new double[p][p];
        for (double[][][] e : elements) {
            double[] au = group.apply(e, u);
            double[] av = group.apply(e, v);
            for (int i = 0; i < p; i++) {
                for (int j = 0; j < p; j++) {
                    expected[i][j] += 0.5 * (au[i] * av[j] + av[i] * au[j]) / elements.size();
                }
            }
        }
        Curvature r2 = OrbitAverage.secondOrder(kinds, Nd4j.createFromArray(u), Nd4j.createFromArray(v));
        assertClose(expected, r2.toDense(), ROUND_OFF, name + ": R2(u, v) vs brute force");
    }

    static double[][] toArray(INDArray m) {
        double[][] out = new double[m.rows()][];
        for (int i = 0; i < m.rows(); i++) {
            out[i] = m.getRow(i).toDoubleVector();
        }
        return out;
    }

    static double[] gaussian(int n, Random rng) {
        double[] v = new double[n];
        for (int i = 0; i < n; i++) {
            v[i] = rng.nextGaussian();
        }
        return v;
    }

    static void assertClose(double[][] expected, INDArray actual, double relTol, String what) {
        assertEquals(expected.length, actual.rows(), what + ": rows");
        double diff = 0;
        double norm = 0;
        for (int i = 0; i < expected.length; i++) {
            for (int j = 0; j < expected[i].length; j++) {
                double d = expected[i][j] - actual.getDouble(i, j);
                diff += d * d;
                norm += expected[i][j] * expected[i][j];
            }
        }
        double rel = Math.sqrt(diff) / Math.max(Math.sqrt(norm), 1e-300);
        assertTrue(rel <= relTol, what + ": relative Frobenius error " + rel + " > " + relTol);
    }
}
