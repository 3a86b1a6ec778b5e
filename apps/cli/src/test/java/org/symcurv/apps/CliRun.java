package org.symcurv.apps;

import java.io.PrintWriter;
import java.io.StringWriter;
import picocli.CommandLine;

/**
 * One run of the {@code symcurv} command line inside the test's JVM, as {@code main} would run it: its exit code and what
 * it printed to standard output and standard error.
 */
public record CliRun(int exitCode, String out, String err) {
    /** Runs {@code symcurv args...} on the configured command line ({@link SymcurvCli#commandLine}). */
    public static CliRun symcurv(String... args) {
        CommandLine commandLine = SymcurvCli.commandLine();
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(args);
        return new CliRun(exitCode, out.toString(), err.toString());
    }
}
