package org.symcurv.apps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.Test;
import org.symcurv.core.InvalidSettingException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The exit-code mapper: a user's mistake is one line and exit 1 or 2; a bug is a stack trace and exit 70. */
class ExitCodesTest {
    @Command(name = "probe")
    static final class Probe implements Callable<Integer> {
        @Option(names = "--throw")
        String what = "";

        @Override
        public Integer call() throws Exception {
            switch (what) {
                case "setting" -> throw new InvalidSettingException("--width must be at least 1, got 0");
                case "failure" -> throw new SymcurvCli.CommandFailure("model.zip does not exist; pass a model");
                case "io" -> throw new java.nio.file.NoSuchFileException("/nowhere/model.zip");
                case "argument" -> throw new IllegalArgumentException("shape [3, 4] does not match [4, 3]");
                case "state" -> throw new IllegalStateException("optimizer state used before init");
                default -> {
                    return 0;
                }
            }
        }
    }

    private static CliRun probe(String what) {
        CommandLine line = SymcurvCli.configured(new CommandLine(new Probe()));
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        line.setOut(new PrintWriter(out, true));
        line.setErr(new PrintWriter(err, true));
        return new CliRun(line.execute("--throw", what), out.toString(), err.toString());
    }

    @Test
    void aSettingOutOfRangeIsAUsageErrorInOneLinePlusTheHelpHint() {
        CliRun run = probe("setting");
        assertEquals(2, run.exitCode());
        assertEquals("probe: --width must be at least 1, got 0\nTry 'probe --help' for the options.\n", run.err().replace("\r", ""));
    }

    @Test
    void userFailuresPrintTheirMessageAloneWithExitOne() {
        CliRun failure = probe("failure");
        assertEquals(1, failure.exitCode());
        assertEquals("probe: model.zip does not exist; pass a model\n", failure.err().replace("\r", ""));
        CliRun io = probe("io");
        assertEquals(1, io.exitCode());
        assertEquals("probe: /nowhere/model.zip: no such file\n", io.err().replace("\r", ""));
    }

    @Test
    void aPlainIllegalArgumentOrStateIsABugStackTraceAndExitSeventy() {
        for (String what : new String[] {"argument", "state"}) {
            CliRun run = probe(what);
            assertEquals(SymcurvCli.EXIT_BUG, run.exitCode(), run.err());
            assertTrue(run.err().startsWith("probe: unexpected failure (a bug in symcurv)"), run.err());
            assertTrue(run.err().contains("\tat org.symcurv.apps.ExitCodesTest$Probe.call("), "the stack trace names the throwing frame:\n" + run.err());
            assertFalse(run.err().contains("Try 'probe --help'"), run.err());
        }
    }
}
