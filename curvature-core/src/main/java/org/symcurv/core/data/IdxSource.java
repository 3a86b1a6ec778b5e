package org.symcurv.core.data;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;

/**
 * A pair of IDX files, unsigned-byte images {@code [n, height, width]} of any size and unsigned-byte labels {@code [n]}
 * of any number of classes (MNIST, EMNIST, Fashion-MNIST, a user's own), read under the toolkit's image convention:
 * feature {@code X[i, r·width + c] = pixel(i, r, c) / 255}, row-major. The class count is the largest label + 1 unless
 * given; {@link LabelledData#requireFits} widens it to the model's.
 *
 * @param images     the IDX3 image file, gzip-compressed or not
 * @param labels     the IDX1 label file
 * @param numClasses the class count, or 0 for the largest label + 1
 */
public record IdxSource(Path images, Path labels, int numClasses) implements DataSource {
    /** The directory split: {@code train-*} or {@code t10k-*} files. */
    public enum Split {
        TRAIN,
        TEST
    }

    /**
     * The training or test pair of a directory that uses the MNIST file names ({@code train-images-idx3-ubyte},
     * {@code train-labels-idx1-ubyte}, {@code t10k-images-idx3-ubyte}, {@code t10k-labels-idx1-ubyte}, each with or
     * without {@code .gz}).
     *
     * @throws NoSuchFileException naming the directory and the files it lacks
     */
    public static IdxSource directory(Path dir, Split split) throws NoSuchFileException {
        String imagesName = split == Split.TRAIN ? FashionMnist.TRAIN_IMAGES : FashionMnist.TEST_IMAGES;
        String labelsName = split == Split.TRAIN ? FashionMnist.TRAIN_LABELS : FashionMnist.TEST_LABELS;
        if (!Files.isDirectory(dir)) {
            throw new NoSuchFileException(dir.toString(), null, Files.exists(dir) ? "not a directory" : "no such directory");
        }
        Path images = FashionMnist.resolveExisting(dir, imagesName);
        Path labels = FashionMnist.resolveExisting(dir, labelsName);
        if (images == null || labels == null) {
            throw new NoSuchFileException(dir.toString(), null, "an IDX directory needs " + imagesName + " and " + labelsName
                    + " (or the same names without .gz) for its " + split.name().toLowerCase(java.util.Locale.ROOT) + " set");
        }
        return new IdxSource(images, labels, 0);
    }

    @Override
    public String describe() {
        return "IDX " + images + " with labels " + labels;
    }

    @Override
    public PredictionTask task() {
        return PredictionTask.CLASSIFICATION;
    }

    @Override
    public LabelledData read() throws IOException {
        IdxImages pixels = IdxFormat.readImages(images);
        IdxLabels classes = IdxFormat.readLabels(labels);
        if (pixels.count() != classes.count()) {
            throw new MalformedDataException(images + " holds " + pixels.count() + " images but " + labels + " holds "
                    + classes.count() + " labels; each image needs exactly one label");
        }
        if (pixels.count() == 0) {
            throw new MalformedDataException(images + " holds no images");
        }
        int largest = 0;
        for (int i = 0; i < classes.count(); i++) {
            largest = Math.max(largest, classes.label(i));
        }
        int k = numClasses > 0 ? numClasses : largest + 1;
        if (largest >= k) {
            throw new MalformedDataException(labels + " has label " + largest + ", outside the " + k + " classes 0.." + (k - 1));
        }
        return LabelledData.of(ImageDataSet.fromPixels(pixels, classes, k, DataType.FLOAT), images.toString());
    }
}
