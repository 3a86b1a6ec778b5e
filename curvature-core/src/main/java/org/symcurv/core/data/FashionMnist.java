package org.symcurv.core.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * Zalando Research's Fashion-MNIST (Xiao, Rasul and Vollgraf, 2017; MIT licence): 28×28 grey-scale images of
 * clothing in 10 classes, 60,000 for training and 10,000 for testing, as four IDX files. Loaded into an
 * {@link ImageDataSet} under the toolkit's single input convention (see there): features {@code pixel/255}
 * in {@code [0, 1]}, flattened row-major to 784, labels 0–9, nothing else.
 *
 * <p>Where the files are: {@link #locate(Path)} checks an explicit directory, then the directory named by the
 * environment variable {@value #ENVIRONMENT_VARIABLE}, then {@code /usr/share/datasets/fashion-mnist}, where
 * the Debian package {@value #DEBIAN_PACKAGE} installs them. Each file may be gzip-compressed (the usual
 * {@code .gz} names) or raw (the same names without {@code .gz}).
 */
public final class FashionMnist {
    /** Image side in pixels. */
    public static final int SIDE = 28;
    /** Number of classes. */
    public static final int NUM_CLASSES = 10;
    /** Number of training images in the full data set. */
    public static final int TRAIN_SIZE = 60_000;
    /** Number of test images in the full data set. */
    public static final int TEST_SIZE = 10_000;
    /** Class names by label. */
    public static final List<String> CLASS_NAMES = List.of("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
            "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot");

    public static final String TRAIN_IMAGES = "train-images-idx3-ubyte.gz";
    public static final String TRAIN_LABELS = "train-labels-idx1-ubyte.gz";
    public static final String TEST_IMAGES = "t10k-images-idx3-ubyte.gz";
    public static final String TEST_LABELS = "t10k-labels-idx1-ubyte.gz";
    /** The four file names, as distributed (gzip-compressed). */
    public static final List<String> FILE_NAMES = List.of(TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS);

    /** Environment variable naming a directory that holds the four files. */
    public static final String ENVIRONMENT_VARIABLE = "SYMCURV_DATA";
    /** Where the Debian package installs the files. */
    public static final Path SYSTEM_DIRECTORY = Path.of("/usr/share/datasets/fashion-mnist");
    /** The Debian package that provides the files. */
    public static final String DEBIAN_PACKAGE = "dataset-fashion-mnist";

    private FashionMnist() {
    }

    /**
     * The directory holding the four Fashion-MNIST files. An explicit directory is used as given (it is an
     * error when it lacks a file, rather than a silent fall-back); without one, the directory in
     * {@value #ENVIRONMENT_VARIABLE} (when set) and then {@link #SYSTEM_DIRECTORY} are tried in turn.
     *
     * @param explicitDirOrNull a directory the user named, or {@code null}
     * @throws DataNotFoundException naming the places searched, the missing files and the Debian package
     */
    public static Path locate(Path explicitDirOrNull) throws DataNotFoundException {
        return locate(explicitDirOrNull, System.getenv(ENVIRONMENT_VARIABLE), SYSTEM_DIRECTORY);
    }

    /** {@link #locate(Path)} with the environment value and system directory passed in, for tests. */
    static Path locate(Path explicitDirOrNull, String environmentValue, Path systemDirectory) throws DataNotFoundException {
        List<String> searched = new ArrayList<>();
        if (explicitDirOrNull != null) {
            String missing = missingFiles(explicitDirOrNull);
            if (missing.isEmpty()) {
                return explicitDirOrNull;
            }
            searched.add(explicitDirOrNull + " (given explicitly): " + missing);
            throw notFound(searched);
        }
        if (environmentValue != null && !environmentValue.isBlank()) {
            Path fromEnvironment = Path.of(environmentValue);
            String missing = missingFiles(fromEnvironment);
            if (missing.isEmpty()) {
                return fromEnvironment;
            }
            searched.add(fromEnvironment + " (from $" + ENVIRONMENT_VARIABLE + "): " + missing);
        } else {
            searched.add("$" + ENVIRONMENT_VARIABLE + ": not set");
        }
        String missing = missingFiles(systemDirectory);
        if (missing.isEmpty()) {
            return systemDirectory;
        }
        searched.add(systemDirectory + " (Debian package " + DEBIAN_PACKAGE + "): " + missing);
        throw notFound(searched);
    }

    private static String missingFiles(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Files.exists(dir) ? "not a directory" : "no such directory";
        }
        List<String> missing = new ArrayList<>();
        for (String name : FILE_NAMES) {
            if (resolveExisting(dir, name) == null) {
                missing.add(name);
            }
        }
        return missing.isEmpty() ? "" : "missing " + String.join(", ", missing);
    }

    private static DataNotFoundException notFound(List<String> searched) {
        return new DataNotFoundException("Fashion-MNIST not found. It needs the four files " + String.join(", ", FILE_NAMES)
                + " (gzip-compressed, or raw without .gz) in one directory. Searched:\n  " + String.join("\n  ", searched)
                + "\nInstall the Debian package " + DEBIAN_PACKAGE + " (apt-get install -y " + DEBIAN_PACKAGE
                + "), which puts them in " + SYSTEM_DIRECTORY + ", or point --data or $" + ENVIRONMENT_VARIABLE
                + " at a directory that holds them.");
    }

    /** The file {@code name} in {@code dir}, or its uncompressed twin without {@code .gz}; null when neither exists. */
    static Path resolveExisting(Path dir, String name) {
        Path compressed = dir.resolve(name);
        if (Files.isRegularFile(compressed)) {
            return compressed;
        }
        Path raw = dir.resolve(name.substring(0, name.length() - ".gz".length()));
        return Files.isRegularFile(raw) ? raw : null;
    }

    private static Path resolve(Path dir, String name) throws NoSuchFileException {
        Path file = resolveExisting(dir, name);
        if (file == null) {
            throw new NoSuchFileException(dir.resolve(name).toString(), null, "neither it nor its uncompressed twin exists; "
                    + "install the Debian package " + DEBIAN_PACKAGE + " (apt-get install -y " + DEBIAN_PACKAGE + ")");
        }
        return file;
    }

    /** The 60,000 training images of the directory, features {@link DataType#FLOAT}. */
    public static ImageDataSet loadTrain(Path dir) throws IOException {
        return loadTrain(dir, DataType.FLOAT);
    }

    /** The 10,000 test images of the directory, features {@link DataType#FLOAT}. */
    public static ImageDataSet loadTest(Path dir) throws IOException {
        return loadTest(dir, DataType.FLOAT);
    }

    /**
     * The training images of the directory with features of type {@code dataType}.
     *
     * @throws NoSuchFileException    when a file is missing
     * @throws MalformedDataException when a file is not a valid Fashion-MNIST IDX file or the two disagree
     */
    public static ImageDataSet loadTrain(Path dir, DataType dataType) throws IOException {
        return load(resolve(dir, TRAIN_IMAGES), resolve(dir, TRAIN_LABELS), dataType);
    }

    /** The test images of the directory with features of type {@code dataType}; fails as {@link #loadTrain(Path, DataType)}. */
    public static ImageDataSet loadTest(Path dir, DataType dataType) throws IOException {
        return load(resolve(dir, TEST_IMAGES), resolve(dir, TEST_LABELS), dataType);
    }

    /** One image file and its label file, compressed or not; fails as {@link #loadTrain(Path, DataType)}. */
    public static ImageDataSet load(Path imagesFile, Path labelsFile, DataType dataType) throws IOException {
        try (InputStream images = Files.newInputStream(imagesFile);
             InputStream labels = Files.newInputStream(labelsFile)) {
            return read(images, imagesFile.toString(), labels, labelsFile.toString(), dataType);
        }
    }

    /**
     * Reads an image stream and its label stream (each compressed or not) to their ends; closes neither.
     *
     * @param imagesSource a name for the image stream, used in error messages
     * @param labelsSource a name for the label stream, used in error messages
     * @throws MalformedDataException when a stream is not valid Fashion-MNIST IDX data or the two disagree
     */
    public static ImageDataSet read(InputStream images, String imagesSource, InputStream labels, String labelsSource,
                                    DataType dataType) throws IOException {
        IdxImages pixels = IdxFormat.readImages(images, imagesSource);
        IdxLabels classes = IdxFormat.readLabels(labels, labelsSource);
        validate(pixels, imagesSource, classes, labelsSource);
        return ImageDataSet.fromPixels(pixels, classes, NUM_CLASSES, dataType);
    }

    private static void validate(IdxImages images, String imagesSource, IdxLabels labels, String labelsSource)
            throws MalformedDataException {
        if (images.rows() != SIDE || images.cols() != SIDE) {
            throw new MalformedDataException(imagesSource + " holds images of " + images.rows() + "x" + images.cols()
                    + " pixels, but Fashion-MNIST images are " + SIDE + "x" + SIDE + "; is this the right file?");
        }
        if (images.count() != labels.count()) {
            throw new MalformedDataException(imagesSource + " holds " + images.count() + " images but " + labelsSource
                    + " holds " + labels.count() + " labels; they must come in pairs (training with training, t10k with t10k)");
        }
        for (int i = 0; i < labels.count(); i++) {
            if (labels.label(i) >= NUM_CLASSES) {
                throw new MalformedDataException(labelsSource + " gives example " + i + " the label " + labels.label(i)
                        + ", but Fashion-MNIST labels are 0.." + (NUM_CLASSES - 1) + "; the file is corrupt or not Fashion-MNIST");
            }
        }
    }

    /**
     * Writes the first {@code trainCount} training and first {@code testCount} test images of {@code sourceDir},
     * with their labels, as the four gzip-compressed IDX files in {@code targetDir} (created when absent;
     * existing files are replaced atomically). The pixels are copied byte for byte.
     *
     * @throws IllegalArgumentException when a count is negative or larger than the source holds
     */
    public static void writeSubset(Path sourceDir, Path targetDir, int trainCount, int testCount) throws IOException {
        writeFirst(resolve(sourceDir, TRAIN_IMAGES), resolve(sourceDir, TRAIN_LABELS), trainCount, targetDir, TRAIN_IMAGES,
                TRAIN_LABELS);
        writeFirst(resolve(sourceDir, TEST_IMAGES), resolve(sourceDir, TEST_LABELS), testCount, targetDir, TEST_IMAGES,
                TEST_LABELS);
    }

    private static void writeFirst(Path imagesFile, Path labelsFile, int count, Path targetDir, String imagesName,
                                   String labelsName) throws IOException {
        IdxImages images = IdxFormat.readImages(imagesFile);
        IdxLabels labels = IdxFormat.readLabels(labelsFile);
        validate(images, imagesFile.toString(), labels, labelsFile.toString());
        if (count < 0 || count > images.count()) {
            throw new IllegalArgumentException("cannot take the first " + count + " of the " + images.count() + " images in "
                    + imagesFile);
        }
        IdxFormat.writeImages(images.slice(0, count), targetDir.resolve(imagesName));
        IdxFormat.writeLabels(labels.slice(0, count), targetDir.resolve(labelsName));
    }
}
