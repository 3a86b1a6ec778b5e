package org.symcurv.uncertainty;

import java.util.Locale;
import java.util.Random;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.ImageDataSet;

/**
 * Built-in out-of-distribution image sets, made from in-distribution images {@code x ∈ [0, 1]^{h×w}} (row-major, as
 * {@link ImageDataSet} holds them) by a fixed, documented transformation. Labels are kept but mean nothing for OOD
 * detection. Every random choice comes from the seed.
 */
public enum SyntheticShift {
    /** Rotated by 90° clockwise: {@code x'(r, c) = x(h − 1 − c, r)} (square images only). Same objects, unseen pose. */
    ROTATE_90("rotate90"),
    /** Upside down: {@code x'(r, c) = x(h − 1 − r, c)}. */
    VERTICAL_FLIP("vflip"),
    /** Negative: {@code x' = 1 − x} (background becomes full ink). */
    INVERT("invert"),
    /** Independent uniform pixels, {@code x'(r, c) ~ U(0, 1)} (the input image is ignored). */
    UNIFORM_NOISE("noise"),
    /** The pixels of each image moved by one fixed random permutation of the positions: the pixel histogram survives, the shape does not. */
    PIXEL_PERMUTATION("permute");

    private final String cliName;

    SyntheticShift(String cliName) {
        this.cliName = cliName;
    }

    public String cliName() {
        return cliName;
    }

    /** By command-line name: {@code rotate90}, {@code vflip}, {@code invert}, {@code noise}, {@code permute}. */
    public static SyntheticShift parse(String name) {
        String n = name.trim().toLowerCase(Locale.ROOT);
        for (SyntheticShift s : values()) {
            if (s.cliName.equals(n)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown synthetic shift '" + name + "'; choose rotate90, vflip, invert, noise or permute");
    }

    /**
     * The shifted copy of {@code images}.
     *
     * @param seed seeds {@link #UNIFORM_NOISE} and {@link #PIXEL_PERMUTATION}; ignored by the others
     * @throws IllegalArgumentException for {@link #ROTATE_90} on non-square images
     */
    public ImageDataSet apply(ImageDataSet images, long seed) {
        int h = images.height();
        int w = images.width();
        int n = images.size();
        if (this == ROTATE_90 && h != w) {
            throw new IllegalArgumentException("rotate90 needs square images, got " + h + "x" + w);
        }
        float[][] x = images.features().castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).toFloatMatrix();
        float[][] out = new float[n][h * w];
        Random random = new Random(seed);
        int[] permutation = null;
        if (this == PIXEL_PERMUTATION) {
            permutation = new int[h * w];
            for (int i = 0; i < permutation.length; i++) {
                permutation[i] = i;
            }
            for (int i = permutation.length - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                int t = permutation[i];
                permutation[i] = permutation[j];
                permutation[j] = t;
            }
        }
        for (int i = 0; i < n; i++) {
            for (int r = 0; r < h; r++) {
                for (int c = 0; c < w; c++) {
                    int target = r * w + c;
                    out[i][target] = switch (this) {
                        case ROTATE_90 -> x[i][(h - 1 - c) * w + r];
                        case VERTICAL_FLIP -> x[i][(h - 1 - r) * w + c];
                        case INVERT -> 1f - x[i][target];
                        case UNIFORM_NOISE -> random.nextFloat();
                        case PIXEL_PERMUTATION -> x[i][permutation[target]];
                    };
                }
            }
        }
        INDArray features = Nd4j.createFromArray(out).castTo(images.dataType());
        return images.withFeatures(features);
    }
}
