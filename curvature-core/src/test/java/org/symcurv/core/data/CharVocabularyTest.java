package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;
import org.junit.jupiter.api.Test;

class CharVocabularyTest {
    @Test
    void idsFollowSortedCodePointsAfterTheUnknownId() {
        CharVocabulary vocabulary = CharVocabulary.of(List.of("cab", "ba\n"));
        assertEquals(5, vocabulary.size(), "'\\n', 'a', 'b', 'c' and unknown");
        assertArrayEquals(new int[] {'\n', 'a', 'b', 'c'}, vocabulary.codePoints());
        assertEquals(1, vocabulary.id('\n'));
        assertEquals(4, vocabulary.id('c'));
        assertEquals(CharVocabulary.UNKNOWN_ID, vocabulary.id('z'));
    }

    @Test
    void encodeThenDecodeIsTheIdentityOnKnownTextAndMarksUnknownCharacters() {
        String text = "naïve café 𝄞\b_";
        CharVocabulary vocabulary = CharVocabulary.of(List.of(text));
        int[] ids = vocabulary.encode(text);
        assertEquals(text.codePointCount(0, text.length()), ids.length, "one id per code point, also outside the BMP");
        assertEquals(text, vocabulary.decode(ids));
        assertArrayEquals(new int[] {vocabulary.id('n'), CharVocabulary.UNKNOWN_ID}, vocabulary.encode("nQ"));
        assertEquals("n\uFFFD", vocabulary.decode(vocabulary.encode("nQ")));
    }

    @Test
    void aVocabularyRebuiltFromItsCodePointsIsEqualAndBadListsAreRejected() {
        CharVocabulary vocabulary = CharVocabulary.of(List.of("hello"));
        assertEquals(vocabulary, CharVocabulary.ofCodePoints(vocabulary.codePoints()));
        assertThrows(IllegalArgumentException.class, () -> CharVocabulary.ofCodePoints('b', 'a'));
        assertThrows(IllegalArgumentException.class, () -> CharVocabulary.ofCodePoints('a', 'a'));
        assertThrows(IllegalArgumentException.class, () -> CharVocabulary.ofCodePoints(-1));
        assertThrows(IndexOutOfBoundsException.class, () -> vocabulary.codePoint(vocabulary.size()));
    }
}
