package org.symcurv.core.testing;

import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;
import org.symcurv.core.data.DataNotFoundException;
import org.symcurv.core.data.FashionMnist;
import org.symcurv.core.data.TextCorpus;

/**
 * The full data sets installed by the Debian packages, for the few tests that need them (everything else runs on
 * the committed subset, {@link TestData}). On a machine without the package the calling test is skipped (a JUnit
 * assumption) and one line naming the package is printed, so {@code mvn -B verify} passes there and says what it
 * did not check. {@code .ci/run} installs the packages and fails when the surefire reports still hold such a skip:
 * it looks for {@link #SKIP_MARKER} in their messages.
 */
public final class InstalledData {
    /** Starts the message of every skip this class causes; {@code .ci/run} searches the surefire reports for it. */
    public static final String SKIP_MARKER = "needs the installed data package";

    private InstalledData() {
    }

    /** The installed Fashion-MNIST directory ({@code FashionMnist.locate(null)}), or the calling test is skipped. */
    public static Path fashionMnist() {
        try {
            return FashionMnist.locate(null);
        } catch (DataNotFoundException e) {
            throw skip(FashionMnist.DEBIAN_PACKAGE);
        }
    }

    /** The installed fortunes directory ({@code TextCorpus.locateFortunes(null)}), or the calling test is skipped. */
    public static Path fortunes() {
        try {
            return TextCorpus.locateFortunes(null);
        } catch (DataNotFoundException e) {
            throw skip(TextCorpus.FORTUNES_PACKAGE);
        }
    }

    private static RuntimeException skip(String debianPackage) {
        StackWalker.StackFrame caller = StackWalker.getInstance()
                .walk(frames -> frames.filter(f -> !f.getClassName().equals(InstalledData.class.getName())).findFirst())
                .orElseThrow();
        String test = caller.getClassName().substring(caller.getClassName().lastIndexOf('.') + 1) + "." + caller.getMethodName();
        String message = SKIP_MARKER + " " + debianPackage + ": apt-get install -y " + debianPackage;
        System.out.println("[SKIPPED] " + test + ": " + message);
        System.out.flush();
        Assumptions.abort(message);
        throw new AssertionError("unreachable");
    }
}
