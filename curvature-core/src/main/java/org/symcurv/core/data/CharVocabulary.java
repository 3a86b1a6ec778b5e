package org.symcurv.core.data;

import java.util.Arrays;
import java.util.Collection;
import java.util.TreeSet;

/**
 * A character vocabulary for character-level language models: a bijection between the {@code V} distinct
 * Unicode code points {@code c_1 < c_2 < … < c_V} (sorted by code point) and the ids {@code 1…V}, plus the id
 * {@value #UNKNOWN_ID} for every code point outside the vocabulary. So {@link #size()} = {@code V + 1} is the
 * width of a one-hot encoding. Characters are code points, not Java {@code char}s, so a character outside the
 * Basic Multilingual Plane is one symbol. Immutable.
 */
public final class CharVocabulary {
    /** The id of every character not in the vocabulary. */
    public static final int UNKNOWN_ID = 0;
    /** What {@link #decode} writes for {@link #UNKNOWN_ID}: U+FFFD REPLACEMENT CHARACTER. */
    public static final int UNKNOWN_REPLACEMENT = 0xFFFD;

    private final int[] codePoints;

    private CharVocabulary(int[] codePoints) {
        this.codePoints = codePoints;
    }

    /** The vocabulary of all code points occurring in {@code texts}. */
    public static CharVocabulary of(Collection<String> texts) {
        TreeSet<Integer> seen = new TreeSet<>();
        for (String text : texts) {
            text.codePoints().forEach(seen::add);
        }
        return new CharVocabulary(seen.stream().mapToInt(Integer::intValue).toArray());
    }

    /** The vocabulary of a corpus's entries. */
    public static CharVocabulary of(TextCorpus corpus) {
        return of(corpus.entries());
    }

    /**
     * A vocabulary from its code points, e.g. as saved next to a model.
     *
     * @param codePoints strictly increasing valid code points; copied, not modified
     * @throws IllegalArgumentException when they are not strictly increasing or not valid code points
     */
    public static CharVocabulary ofCodePoints(int... codePoints) {
        for (int i = 0; i < codePoints.length; i++) {
            if (!Character.isValidCodePoint(codePoints[i])) {
                throw new IllegalArgumentException("entry " + i + " (" + codePoints[i] + ") is not a Unicode code point");
            }
            if (i > 0 && codePoints[i] <= codePoints[i - 1]) {
                throw new IllegalArgumentException("code points must be strictly increasing, but entry " + i + " (U+"
                        + Integer.toHexString(codePoints[i]).toUpperCase() + ") follows U+"
                        + Integer.toHexString(codePoints[i - 1]).toUpperCase());
            }
        }
        return new CharVocabulary(codePoints.clone());
    }

    /** Number of ids, {@code V + 1}: the known characters plus the unknown id. */
    public int size() {
        return codePoints.length + 1;
    }

    /** The known code points in id order (id {@code k} is entry {@code k − 1}); a copy. */
    public int[] codePoints() {
        return codePoints.clone();
    }

    public boolean contains(int codePoint) {
        return Arrays.binarySearch(codePoints, codePoint) >= 0;
    }

    /** The id of {@code codePoint}: {@code 1…V} when known, {@link #UNKNOWN_ID} otherwise. */
    public int id(int codePoint) {
        int at = Arrays.binarySearch(codePoints, codePoint);
        return at >= 0 ? at + 1 : UNKNOWN_ID;
    }

    /**
     * The code point of {@code id}; {@link #UNKNOWN_REPLACEMENT} for {@link #UNKNOWN_ID}.
     *
     * @throws IndexOutOfBoundsException when {@code id} is not in {@code [0, size())}
     */
    public int codePoint(int id) {
        if (id < 0 || id >= size()) {
            throw new IndexOutOfBoundsException("character id " + id + " is outside this vocabulary's ids 0.." + (size() - 1));
        }
        return id == UNKNOWN_ID ? UNKNOWN_REPLACEMENT : codePoints[id - 1];
    }

    /** One id per code point of {@code text}. */
    public int[] encode(String text) {
        return text.codePoints().map(this::id).toArray();
    }

    /** The text whose code points have these ids, with U+FFFD for each {@link #UNKNOWN_ID}. */
    public String decode(int... ids) {
        StringBuilder out = new StringBuilder(ids.length);
        for (int id : ids) {
            out.appendCodePoint(codePoint(id));
        }
        return out.toString();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof CharVocabulary other && Arrays.equals(codePoints, other.codePoints);
    }

    @Override
    public int hashCode() {
        return Arrays.hashCode(codePoints);
    }

    @Override
    public String toString() {
        return "CharVocabulary[" + codePoints.length + " characters + unknown]";
    }
}
