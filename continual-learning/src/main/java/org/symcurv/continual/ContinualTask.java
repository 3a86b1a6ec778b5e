package org.symcurv.continual;

import java.util.Arrays;
import java.util.Objects;
import org.symcurv.core.data.ImageDataSet;

/**
 * One task of a stream: its training, validation and test images and, for split streams, the classes it uses (the
 * task-incremental head mask).
 *
 * @param index      position in the stream, from 0
 * @param name       e.g. {@code permutation 3} or {@code classes 4,5}
 * @param train      training images (the validation images excluded)
 * @param validation held-out training images for choosing λ (may be empty)
 * @param test       test images
 * @param classes    the task's classes, ascending; all classes for a permuted stream
 */
public record ContinualTask(int index, String name, ImageDataSet train, ImageDataSet validation, ImageDataSet test, int[] classes) {
    public ContinualTask {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(train, "train");
        Objects.requireNonNull(validation, "validation");
        Objects.requireNonNull(test, "test");
        classes = classes.clone();
        Arrays.sort(classes);
        if (classes.length == 0) {
            throw new IllegalArgumentException("task " + name + " has no classes");
        }
    }

    @Override
    public int[] classes() {
        return classes.clone();
    }

    /**
     * The head mask {@code [K]}: 1 for this task's classes, 0 elsewhere.
     */
    public boolean[] headMask(int numClasses) {
        boolean[] mask = new boolean[numClasses];
        for (int c : classes) {
            mask[c] = true;
        }
        return mask;
    }
}
