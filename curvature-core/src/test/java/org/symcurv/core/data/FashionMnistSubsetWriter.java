package org.symcurv.core.data;

import java.nio.file.Path;

/**
 * The program that made the committed test subset {@code src/test/resources/fashion-mnist-subset/}: the
 * first {@code trainCount} training and {@code testCount} test images of an installed Fashion-MNIST, through
 * {@link FashionMnist#writeSubset}. Run from the repository root with
 * <pre>
 * mvn -B -o -q -pl curvature-core test-compile exec:java -Dexec.classpathScope=test \
 *   -Dexec.mainClass=org.symcurv.core.data.FashionMnistSubsetWriter \
 *   -Dexec.args="/usr/share/datasets/fashion-mnist curvature-core/src/test/resources/fashion-mnist-subset 2000 500"
 * </pre>
 * {@code FashionMnistSubsetTest} checks that the committed files still equal what this writes.
 */
public final class FashionMnistSubsetWriter {
    private FashionMnistSubsetWriter() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 4) {
            System.err.println("usage: FashionMnistSubsetWriter SOURCE_DIR TARGET_DIR TRAIN_COUNT TEST_COUNT");
            System.exit(2);
        }
        FashionMnist.writeSubset(Path.of(args[0]), Path.of(args[1]), Integer.parseInt(args[2]), Integer.parseInt(args[3]));
    }
}
