package org.symcurv.continual;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.operator.Curvature;
import org.symcurv.core.symmetry.KindDecomposition;
import org.symcurv.core.testing.TinyNetworks;

/**
 * The committed consolidated states {@code golden/ewc-symmetry-v1.state} (format version 1, arrays in ND4J's binary form) and
 * {@code golden/ewc-symmetry-v2.state} (version 2, {@code ArrayCodec}) are read to known values, and the known state written
 * today gives the version-2 bytes exactly: a format change fails here. Regenerate only on purpose, with
 * {@code -Dsymcurv.golden.write=DIR} (the version-1 file was produced by the independent version-1 writer of
 * {@link ConsolidatedStateTest}).
 */
class GoldenConsolidatedStateTest {
    /** 3 inputs, 2 ReLU units, 2 softmax outputs: 14 parameters. */
    static MultiLayerNetwork network() {
        return TinyNetworks.mlp(5).inputs(3).dense(2, Activation.RELU).softmaxCrossEntropy(2);
    }

    /** Two tasks of EWC on the symmetry Fisher: {@code θ*_t[i] = t + i/16}, {@code B_k[a][b] = t + k + (a + b + 1)/8}. */
    static ConsolidatedState known(MultiLayerNetwork net) {
        EwcSettings settings = EwcSettings.of(ContinualMethod.EWC_SYMMETRY, 1);
        KindDecomposition kinds = KindDecomposition.of(TaskFisher.spec(net, settings.method()));
        ConsolidatedState state = ConsolidatedState.empty(net, settings);
        for (int t = 1; t <= 2; t++) {
            int task = t;
            long p = kinds.spec().parameterCount();
            double[] theta = new double[(int) p];
            for (int i = 0; i < theta.length; i++) {
                theta[i] = task + i / 16.0;
            }
            Curvature fisher = Curvature.scaledIdentity(kinds, 0.0, DataType.DOUBLE).mapBlocks(k -> {
                int m = kinds.copies(k);
                double[] v = new double[kinds.familySize(k) * m * m];
                for (int i = 0; i < v.length; i++) {
                    v[i] = task + k + ((i / m) % m + i % m + 1) / 8.0;
                }
                return Nd4j.createFromArray(v).reshape('c', new long[] {kinds.familySize(k), m, m});
            });
            state = state.consolidate(Nd4j.createFromArray(theta), fisher);
        }
        return state;
    }

    static byte[] resource(String name) throws IOException {
        try (InputStream in = GoldenConsolidatedStateTest.class.getResourceAsStream("/golden/" + name)) {
            if (in == null) {
                throw new IllegalStateException("missing test resource /golden/" + name);
            }
            return in.readAllBytes();
        }
    }

    @Test
    void bothCommittedVersionsReadToTheKnownState() throws IOException {
        MultiLayerNetwork net = network();
        ConsolidatedState expected = known(net);
        for (String name : List.of("ewc-symmetry-v1.state", "ewc-symmetry-v2.state")) {
            ConsolidatedState back = ConsolidatedState.fromBytes(resource(name), name, net);
            ConsolidatedStateTest.assertSameState(expected, back);
        }
    }

    @Test
    void theKnownStateIsWrittenAsTheCommittedVersionTwoBytes() throws IOException {
        assertArrayEquals(resource("ewc-symmetry-v2.state"), known(network()).toBytes(), "consolidated state format version "
                + ConsolidatedState.FORMAT_VERSION);
    }

    @Test
    @EnabledIfSystemProperty(named = "symcurv.golden.write", matches = ".+")
    void writeGoldenFiles() throws IOException {
        Path out = Path.of(System.getProperty("symcurv.golden.write"));
        Files.createDirectories(out);
        ConsolidatedState state = known(network());
        Files.write(out.resolve("ewc-symmetry-v2.state"), state.toBytes());
        Files.write(out.resolve("ewc-symmetry-v1.state"), ConsolidatedStateTest.versionOneBytes(state));
    }
}
