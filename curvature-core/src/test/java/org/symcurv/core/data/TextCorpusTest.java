package org.symcurv.core.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.DataInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.symcurv.core.testing.InstalledData;

class TextCorpusTest {
    @TempDir
    Path dir;

    @Test
    void entriesAreTheBlocksBetweenPercentLinesWithoutTheirFinalNewline() {
        String text = "First line\nsecond line\n%\n  indented %  \n%\n%\n   \n%\nlast, without a closing separator\n";
        assertEquals(List.of("First line\nsecond line", "  indented %  ", "last, without a closing separator"),
                TextCorpus.parseFortunes(text));
        assertEquals(List.of("a", "b"), TextCorpus.parseFortunes("%\na\n%\nb\n%\n"));
        assertEquals(List.of("\nx\n\ny"), TextCorpus.parseFortunes("\nx\n\ny\n\n\n%\n"), "trailing empty lines go, inner ones stay");
        assertEquals(List.of("a\n%%\nb"), TextCorpus.parseFortunes("a\n%%\nb"), "only a line holding just % separates");
    }

    @Test
    void aDirectoryIsReadFileByFileSkippingIndexesDuplicatesLinksHiddenFilesAndSubdirectories() throws IOException {
        Files.writeString(dir.resolve("beta"), "b1\n%\nb2\n", StandardCharsets.UTF_8);
        Files.writeString(dir.resolve("alpha"), "a1 — ünïcödé\n%\na2\n", StandardCharsets.UTF_8);
        Files.write(dir.resolve("alpha.dat"), new byte[] {0, 0, 0, 2, (byte) 0xff, 0x25});
        Files.createSymbolicLink(dir.resolve("alpha.u8"), dir.resolve("alpha"));
        Files.createSymbolicLink(dir.resolve("gamma"), dir.resolve("beta"));
        Files.writeString(dir.resolve(".hidden"), "h\n");
        Files.createDirectory(dir.resolve("off"));
        Files.writeString(dir.resolve("off").resolve("rude"), "o1\n%\n");

        assertEquals(List.of(dir.resolve("alpha"), dir.resolve("beta")), TextCorpus.fortuneFiles(dir));
        TextCorpus corpus = TextCorpus.readFortunes(dir);
        assertEquals(List.of("a1 — ünïcödé", "a2", "b1", "b2"), corpus.entries());
        assertEquals(12 + 2 + 2 + 2, corpus.characterCount());
        assertEquals(dir, TextCorpus.locateFortunes(dir));
    }

    @Test
    void aFileThatIsNotUtf8IsNamedInTheError() throws IOException {
        Path latin1 = dir.resolve("latin1");
        Files.write(latin1, "caf\u00e9\n%\n".getBytes(StandardCharsets.ISO_8859_1));
        MalformedDataException e = assertThrows(MalformedDataException.class, () -> TextCorpus.readFortunes(dir));
        assertTrue(e.getMessage().contains(latin1.toString()) && e.getMessage().contains("UTF-8"), e.getMessage());
    }

    @Test
    void missingFortunesNameTheDebianPackageAndThePlacesSearched() throws IOException {
        Path absent = dir.resolve("absent");
        DataNotFoundException explicit = assertThrows(DataNotFoundException.class, () -> TextCorpus.locateFortunes(absent));
        assertTrue(explicit.getMessage().contains("apt-get install -y fortunes") && explicit.getMessage().contains(absent.toString()),
                explicit.getMessage());
        Files.createDirectory(dir.resolve("empty"));
        DataNotFoundException searched = assertThrows(DataNotFoundException.class,
                () -> TextCorpus.locateFortunes(null, dir.resolve("empty").toString(), absent));
        assertTrue(searched.getMessage().contains("holds no fortune files") && searched.getMessage().contains("no such directory"),
                searched.getMessage());
        assertThrows(DataNotFoundException.class, () -> TextCorpus.readFortunes(dir.resolve("empty")));
    }

    @Test
    void theSplitIsDisjointCompleteReproducibleAndSized() {
        List<String> entries = new ArrayList<>();
        for (int i = 0; i < 101; i++) {
            entries.add("entry " + i);
        }
        TextCorpus corpus = TextCorpus.of(entries);
        TextCorpus.Split split = corpus.split(0.1, 42L);
        assertEquals(10, split.validation().size(), "round(0.1 * 101)");
        assertEquals(91, split.train().size());
        Set<String> union = new HashSet<>(split.train().entries());
        union.addAll(split.validation().entries());
        assertEquals(new HashSet<>(entries), union);
        assertEquals(split.validation().entries(), corpus.split(0.1, 42L).validation().entries());
        assertNotEquals(split.validation().entries(), corpus.split(0.1, 43L).validation().entries());
        List<String> validation = split.validation().entries();
        for (int i = 1; i < validation.size(); i++) {
            assertTrue(entries.indexOf(validation.get(i - 1)) < entries.indexOf(validation.get(i)), "corpus order is kept");
        }
        assertThrows(IllegalArgumentException.class, () -> corpus.split(1.5, 1L));
        assertEquals(0, corpus.split(0.0, 1L).validation().size());
    }

    /** The installed Debian package (installed in CI; skipped, naming the package, where it is absent). */
    @Test
    void theInstalledFortunesAgreeEntryForEntryWithTheirStrfileIndexes() throws IOException {
        Path installed = InstalledData.fortunes();
        List<Path> files = TextCorpus.fortuneFiles(installed);
        assertFalse(files.isEmpty());
        int total = 0;
        for (Path file : files) {
            List<String> entries = TextCorpus.readFortuneFile(file);
            for (String entry : entries) {
                assertFalse(entry.lines().anyMatch("%"::equals), "no separator inside an entry of " + file);
                assertFalse(entry.endsWith("\n"), "entries carry no final newline");
            }
            Path index = file.resolveSibling(file.getFileName() + ".dat");
            if (Files.exists(index)) {
                assertEquals(strfileCount(index), entries.size(), "entries of " + file + " against the count in " + index);
            }
            total += entries.size();
        }
        TextCorpus corpus = TextCorpus.readFortunes(installed);
        assertEquals(total, corpus.size());
        assertTrue(corpus.size() > 1000, "the fortunes package has thousands of entries, got " + corpus.size());

        TextCorpus.Split split = corpus.split(0.1, 2026L);
        CharVocabulary vocabulary = CharVocabulary.of(split.train());
        for (char c = 'a'; c <= 'z'; c++) {
            assertTrue(vocabulary.contains(c), "vocabulary has '" + c + "'");
        }
        for (String entry : split.train().entries()) {
            assertEquals(entry, vocabulary.decode(vocabulary.encode(entry)));
        }
    }

    /** strfile(1) index header: version, then the number of strings, both 32-bit big-endian. */
    private static int strfileCount(Path index) throws IOException {
        try (InputStream in = Files.newInputStream(index); DataInputStream data = new DataInputStream(in)) {
            data.readInt();
            return data.readInt();
        }
    }
}
