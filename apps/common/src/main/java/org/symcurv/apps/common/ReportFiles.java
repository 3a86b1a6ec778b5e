package org.symcurv.apps.common;

import java.io.IOException;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.symcurv.core.data.AtomicFiles;

/** Writing report files (JSON, Markdown, text) so that a reader never sees a half-written file. */
public final class ReportFiles {
    private ReportFiles() {
    }

    /** Writes UTF-8 text atomically. */
    public static void writeText(Path target, String text, boolean replace) throws IOException {
        Path tmp = AtomicFiles.createSiblingTemp(target);
        try {
            try (Writer w = Files.newBufferedWriter(tmp, StandardCharsets.UTF_8)) {
                w.write(text);
            }
            AtomicFiles.moveIntoPlace(tmp, target, replace);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
