package org.symcurv.core.data;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * A text corpus as an ordered list of entries (short texts), for character-level language models. The
 * source is the Debian package {@value #FORTUNES_PACKAGE}: plain-text files in
 * {@code /usr/share/games/fortunes/} whose entries are separated by lines holding only {@code %}. An entry is
 * the text between two separators with its lines joined by {@code '\n'}, without trailing empty lines and
 * without a final newline; blank entries are dropped. Immutable.
 */
public final class TextCorpus {
    /** Environment variable naming a directory of fortune files. */
    public static final String ENVIRONMENT_VARIABLE = "SYMCURV_FORTUNES";
    /** Where the Debian package installs the fortune files. */
    public static final Path FORTUNES_DIRECTORY = Path.of("/usr/share/games/fortunes");
    /** The Debian package that provides them. */
    public static final String FORTUNES_PACKAGE = "fortunes";
    /** The separator line between two entries. */
    public static final String SEPARATOR = "%";

    private final List<String> entries;

    private TextCorpus(List<String> entries) {
        this.entries = entries;
    }

    /** A corpus of the given entries, in order; the list is copied. */
    public static TextCorpus of(List<String> entries) {
        return new TextCorpus(List.copyOf(entries));
    }

    /**
     * The directory of fortune files: the explicit one when given (an error when it holds none, rather than
     * a silent fall-back), else the one in {@value #ENVIRONMENT_VARIABLE} when set and holding files, else
     * {@link #FORTUNES_DIRECTORY}.
     *
     * @throws DataNotFoundException naming the places searched and the Debian package {@value #FORTUNES_PACKAGE}
     */
    public static Path locateFortunes(Path explicitDirOrNull) throws DataNotFoundException {
        return locateFortunes(explicitDirOrNull, System.getenv(ENVIRONMENT_VARIABLE), FORTUNES_DIRECTORY);
    }

    static Path locateFortunes(Path explicitDirOrNull, String environmentValue, Path systemDirectory) throws DataNotFoundException {
        List<String> searched = new ArrayList<>();
        if (explicitDirOrNull != null) {
            String problem = problemWith(explicitDirOrNull);
            if (problem.isEmpty()) {
                return explicitDirOrNull;
            }
            searched.add(explicitDirOrNull + " (given explicitly): " + problem);
            throw notFound(searched);
        }
        if (environmentValue != null && !environmentValue.isBlank()) {
            Path fromEnvironment = Path.of(environmentValue);
            String problem = problemWith(fromEnvironment);
            if (problem.isEmpty()) {
                return fromEnvironment;
            }
            searched.add(fromEnvironment + " (from $" + ENVIRONMENT_VARIABLE + "): " + problem);
        } else {
            searched.add("$" + ENVIRONMENT_VARIABLE + ": not set");
        }
        String problem = problemWith(systemDirectory);
        if (problem.isEmpty()) {
            return systemDirectory;
        }
        searched.add(systemDirectory + " (Debian package " + FORTUNES_PACKAGE + "): " + problem);
        throw notFound(searched);
    }

    private static String problemWith(Path dir) {
        if (!Files.isDirectory(dir)) {
            return Files.exists(dir) ? "not a directory" : "no such directory";
        }
        try {
            return fortuneFiles(dir).isEmpty() ? "holds no fortune files" : "";
        } catch (IOException e) {
            return "cannot be listed (" + e.getMessage() + ")";
        }
    }

    private static DataNotFoundException notFound(List<String> searched) {
        return new DataNotFoundException("fortune texts not found. Searched:\n  " + String.join("\n  ", searched)
                + "\nInstall the Debian package " + FORTUNES_PACKAGE + " (apt-get install -y " + FORTUNES_PACKAGE + "), which puts them in "
                + FORTUNES_DIRECTORY + ", or point $" + ENVIRONMENT_VARIABLE + " at a directory of files whose entries are "
                + "separated by lines holding only '%'.");
    }

    /**
     * The fortune text files of a directory, sorted by name: regular files that are not symbolic links, not
     * hidden, and not the {@code strfile} indexes ({@code *.dat}) or UTF-8 duplicates ({@code *.u8}).
     * Subdirectories (such as {@code off/}) are not entered.
     */
    public static List<Path> fortuneFiles(Path dir) throws IOException {
        try (Stream<Path> listing = Files.list(dir)) {
            return listing.filter(p -> Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS))
                    .filter(p -> {
                        String name = p.getFileName().toString();
                        return !name.startsWith(".") && !name.endsWith(".dat") && !name.endsWith(".u8");
                    })
                    .sorted()
                    .toList();
        }
    }

    /**
     * All entries of all fortune files in {@code dir} (see {@link #fortuneFiles}), file by file in name order.
     *
     * @throws DataNotFoundException  when the directory holds no fortune file
     * @throws MalformedDataException when a file is not valid UTF-8 (the message names it)
     */
    public static TextCorpus readFortunes(Path dir) throws IOException {
        List<Path> files = fortuneFiles(dir);
        if (files.isEmpty()) {
            throw notFound(List.of(dir + ": holds no fortune files"));
        }
        List<String> entries = new ArrayList<>();
        for (Path file : files) {
            entries.addAll(readFortuneFile(file));
        }
        return new TextCorpus(List.copyOf(entries));
    }

    /**
     * The entries of one fortune file, which must be UTF-8.
     *
     * @throws MalformedDataException when the file is not valid UTF-8
     */
    public static List<String> readFortuneFile(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return readFortunes(in, file.toString());
        }
    }

    /**
     * The entries of a UTF-8 stream in fortune format; the stream is read to its end and not closed.
     *
     * @param source a name for the stream used in error messages
     * @throws MalformedDataException when the bytes are not valid UTF-8
     */
    public static List<String> readFortunes(InputStream in, String source) throws IOException {
        Reader reader = new InputStreamReader(in, StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT));
        try {
            return parseFortunes(reader);
        } catch (CharacterCodingException e) {
            throw new MalformedDataException(source + " is not valid UTF-8 text (" + e + "); fortune files are expected in "
                    + "UTF-8 — convert it with iconv or remove it from the directory", e);
        }
    }

    /** The entries of fortune-format text: blocks separated by lines holding only {@code %}. */
    public static List<String> parseFortunes(String text) {
        try {
            return parseFortunes(new StringReader(text));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> parseFortunes(Reader reader) throws IOException {
        List<String> entries = new ArrayList<>();
        BufferedReader lines = new BufferedReader(reader);
        StringBuilder current = new StringBuilder();
        boolean hasLine = false;
        for (String line; (line = lines.readLine()) != null; ) {
            if (line.equals(SEPARATOR)) {
                addIfNotBlank(entries, current);
                current.setLength(0);
                hasLine = false;
            } else {
                if (hasLine) {
                    current.append('\n');
                }
                current.append(line);
                hasLine = true;
            }
        }
        addIfNotBlank(entries, current);
        return entries;
    }

    private static void addIfNotBlank(List<String> entries, StringBuilder entry) {
        int end = entry.length();
        while (end > 0 && entry.charAt(end - 1) == '\n') {
            end--;
        }
        String text = entry.substring(0, end);
        if (!text.isBlank()) {
            entries.add(text);
        }
    }

    /** The entries in order; unmodifiable. */
    public List<String> entries() {
        return entries;
    }

    /** Number of entries. */
    public int size() {
        return entries.size();
    }

    /** Total number of characters (code points) over all entries. */
    public long characterCount() {
        long count = 0;
        for (String entry : entries) {
            count += entry.codePointCount(0, entry.length());
        }
        return count;
    }

    /** A split of a corpus's entries into training and validation parts. */
    public record Split(TextCorpus train, TextCorpus validation) {
        public Split {
            Objects.requireNonNull(train, "train");
            Objects.requireNonNull(validation, "validation");
        }
    }

    /**
     * Splits the entries at random: {@code round(validationFraction · size())} entries, chosen by a shuffle
     * seeded with {@code seed}, form the validation part and the rest the training part; each part keeps the
     * corpus order. The same seed gives the same split.
     *
     * @throws IllegalArgumentException when {@code validationFraction} is not in {@code [0, 1]}
     */
    public Split split(double validationFraction, long seed) {
        if (!(validationFraction >= 0.0 && validationFraction <= 1.0)) {
            throw new IllegalArgumentException("validation fraction must be in [0, 1], got " + validationFraction);
        }
        int validationCount = (int) Math.round(validationFraction * entries.size());
        int[] order = ImageDataSet.identity(entries.size());
        SplittableRandom random = new SplittableRandom(seed);
        for (int i = 0; i < validationCount; i++) {
            int j = i + random.nextInt(order.length - i);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        boolean[] inValidation = new boolean[entries.size()];
        for (int i = 0; i < validationCount; i++) {
            inValidation[order[i]] = true;
        }
        List<String> train = new ArrayList<>();
        List<String> validation = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            (inValidation[i] ? validation : train).add(entries.get(i));
        }
        return new Split(new TextCorpus(List.copyOf(train)), new TextCorpus(List.copyOf(validation)));
    }

    @Override
    public String toString() {
        return "TextCorpus[" + entries.size() + " entries]";
    }
}
