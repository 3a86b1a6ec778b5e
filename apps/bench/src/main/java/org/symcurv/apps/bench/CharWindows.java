package org.symcurv.apps.bench;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;
import org.symcurv.core.data.CharVocabulary;
import org.symcurv.core.data.TextCorpus;
import org.symcurv.optimizer.train.TrainingData;

/**
 * Next-character examples from a text corpus: for each character {@code c_i} of each entry (and a final newline), the
 * input is the {@code context} preceding character ids {@code c_{i-k} … c_{i-1}} (id 0, the vocabulary's unknown id, before
 * the entry starts) and the label is {@code c_i}, one-hot over the vocabulary.
 */
final class CharWindows implements TrainingData {
    private final int[] ids;
    private final int[] targets;
    private final int context;
    private final int vocabulary;

    private CharWindows(int[] ids, int[] targets, int context, int vocabulary) {
        this.ids = ids;
        this.targets = targets;
        this.context = context;
        this.vocabulary = vocabulary;
    }

    /** All windows of the corpus: each entry is padded on the left with {@code context} zeros and ends with a newline. */
    static CharWindows of(TextCorpus corpus, CharVocabulary vocabulary, int context) {
        List<int[]> encoded = new ArrayList<>();
        long total = 0;
        for (String entry : corpus.entries()) {
            int[] e = vocabulary.encode(entry + "\n");
            encoded.add(e);
            total += context + e.length;
        }
        int[] ids = new int[Math.toIntExact(total)];
        int[] targets = new int[Math.toIntExact(total - (long) context * encoded.size())];
        int at = 0;
        int t = 0;
        for (int[] e : encoded) {
            at += context;
            for (int i = 0; i < e.length; i++) {
                ids[at + i] = e[i];
                targets[t++] = at + i;
            }
            at += e.length;
        }
        return new CharWindows(ids, targets, context, vocabulary.size());
    }

    @Override
    public int size() {
        return targets.length;
    }

    @Override
    public DataSet batch(int[] indices) {
        float[] x = new float[indices.length * context];
        INDArray y = Nd4j.zeros(DataType.FLOAT, indices.length, vocabulary);
        for (int r = 0; r < indices.length; r++) {
            int position = targets[indices[r]];
            for (int c = 0; c < context; c++) {
                x[r * context + c] = ids[position - context + c];
            }
            y.putScalar(r, ids[position], 1.0);
        }
        return new DataSet(Nd4j.createFromArray(x).reshape(indices.length, context), y);
    }

    /** {@code n} windows drawn without replacement by {@code seed}, as one data set (for validation). */
    DataSet sample(int n, long seed) {
        int count = Math.min(n, size());
        int[] order = new int[size()];
        for (int i = 0; i < order.length; i++) {
            order[i] = i;
        }
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < count; i++) {
            int j = i + random.nextInt(order.length - i);
            int tmp = order[i];
            order[i] = order[j];
            order[j] = tmp;
        }
        return batch(java.util.Arrays.copyOf(order, count));
    }
}
