package org.symcurv.core.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Small data sets committed with the tests, reachable from any module that depends on curvature-core's test
 * jar: resources are copied out of the class path (a directory or a jar) into a temporary directory once per
 * JVM, deleted when the JVM exits.
 */
public final class TestData {
    /** Class-path folder of the Fashion-MNIST subset; see its README.md. */
    public static final String FASHION_MNIST_SUBSET_RESOURCE = "fashion-mnist-subset";
    /** Training images in the subset: the first 2,000 of Fashion-MNIST. */
    public static final int FASHION_MNIST_SUBSET_TRAIN_SIZE = 2000;
    /** Test images in the subset: the first 500 of Fashion-MNIST's t10k set. */
    public static final int FASHION_MNIST_SUBSET_TEST_SIZE = 500;

    private static final List<String> FASHION_MNIST_FILES = List.of("train-images-idx3-ubyte.gz",
            "train-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz");

    private static Path fashionMnistSubset;

    private TestData() {
    }

    /**
     * A directory holding the four Fashion-MNIST files of the committed subset (2,000 training and 500 test
     * images), ready for {@code FashionMnist.loadTrain/loadTest}. Treat it as read-only: it is shared by all
     * tests of the JVM.
     */
    public static synchronized Path fashionMnistSubset() {
        if (fashionMnistSubset == null) {
            fashionMnistSubset = copyResources(FASHION_MNIST_SUBSET_RESOURCE, FASHION_MNIST_FILES);
        }
        return fashionMnistSubset;
    }

    private static Path copyResources(String folder, List<String> names) {
        try {
            Path dir = Files.createTempDirectory("symcurv-" + folder + "-");
            for (String name : names) {
                String resource = "/" + folder + "/" + name;
                try (InputStream in = TestData.class.getResourceAsStream(resource)) {
                    if (in == null) {
                        throw new IllegalStateException("test resource " + resource + " is not on the class path; "
                                + "depend on curvature-core's test-jar (type test-jar, scope test)");
                    }
                    Files.copy(in, dir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                }
            }
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(dir)));
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException("could not copy test resources '" + folder + "' to a temporary directory", e);
        }
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            paths.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException ignored) {
            // best effort at JVM exit
        }
    }
}
