package org.symcurv.apps;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import org.symcurv.core.InvalidSettingException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code symcurv} command line: one top-level command whose subcommands do the work. Exit codes: 0 success,
 * 1 a failure while running that the user can fix (missing data, unreadable input, unwritable output, …), 2 a usage
 * error (an unknown option, a value out of range), 70 a bug (an unexpected exception, printed with its stack trace).
 * Failures print one clear message on stderr; only unexpected exceptions print a stack trace.
 */
@Command(name = "symcurv",
        mixinStandardHelpOptions = true,
        versionProvider = SymcurvCli.Version.class,
        description = "Curvature of neural-network losses from weight-space symmetries.",
        subcommands = {
                CommandLine.HelpCommand.class,
                TrainCommand.class,
                CurvatureCommand.class,
                PruneCommand.class,
                LaplaceCommand.class,
                EvaluateCommand.class,
                QuickstartCommand.class,
                ContinualCommand.class,
                StreamCommand.class,
                ProduceCommand.class,
                org.symcurv.apps.bench.BenchCommand.class,
        })
public final class SymcurvCli implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing subcommand: say what to do, e.g. 'symcurv train'");
    }

    /** The configured command line, as {@link #main} runs it; tests call {@code execute} on it. */
    public static CommandLine commandLine() {
        return configured(new CommandLine(new SymcurvCli()));
    }

    /** {@code commandLine} with symcurv's option conventions and exit-code mapper. */
    static CommandLine configured(CommandLine commandLine) {
        commandLine.setCaseInsensitiveEnumValuesAllowed(true);
        commandLine.setExecutionExceptionHandler(SymcurvCli::reportFailure);
        commandLine.setParameterExceptionHandler(SymcurvCli::reportUsageError);
        return commandLine;
    }

    public static void main(String[] args) {
        System.exit(commandLine().execute(args));
    }

    /** A usage error: the problem, any "did you mean" suggestions, and where to find the full usage; exit 2. */
    private static int reportUsageError(ParameterException problem, String[] args) {
        CommandLine command = problem.getCommandLine();
        java.io.PrintWriter err = command.getErr();
        err.println(command.getCommandSpec().qualifiedName() + ": " + problem.getMessage());
        CommandLine.UnmatchedArgumentException.printSuggestions(problem, err);
        err.println("Try '" + command.getCommandSpec().qualifiedName() + " --help' for the options.");
        err.flush();
        return command.getCommandSpec().exitCodeOnInvalidInput();
    }

    /**
     * The exit-code mapper: a setting out of range ({@link InvalidSettingException}, from the library constructor that
     * checks it) is a usage error, exit 2; a failure the user can act on (see {@link #isExpected}) prints its message
     * alone, exit 1; anything else is a bug: its stack trace, exit {@value #EXIT_BUG}.
     */
    private static int reportFailure(Exception failure, CommandLine command, CommandLine.ParseResult parsed) {
        String name = command.getCommandSpec().qualifiedName();
        java.io.PrintWriter err = command.getErr();
        int exitCode;
        if (failure instanceof InvalidSettingException) {
            err.println(name + ": " + failure.getMessage());
            err.println("Try '" + name + " --help' for the options.");
            exitCode = command.getCommandSpec().exitCodeOnInvalidInput();
        } else if (isExpected(failure)) {
            err.println(name + ": " + describe(failure));
            exitCode = command.getCommandSpec().exitCodeOnExecutionException();
        } else {
            err.println(name + ": unexpected failure (a bug in symcurv); please report it with the command line used:");
            failure.printStackTrace(err);
            exitCode = EXIT_BUG;
        }
        err.flush();
        return exitCode;
    }

    /** Exit code of an unexpected exception (a bug), as sysexits' EX_SOFTWARE. */
    public static final int EXIT_BUG = 70;

    /**
     * The failures a user can act on: a complete message ({@code CommandFailure}); files missing, unreadable or
     * malformed (every {@link IOException}, including the data and file-format exceptions); a model with a layer the
     * toolkit does not support; a curvature that is not positive definite at the damping asked for; training that
     * diverged; brokers refusing the client.
     */
    private static boolean isExpected(Exception failure) {
        return failure instanceof org.symcurv.apps.common.CommandFailure || failure instanceof IOException || failure instanceof UncheckedIOException
                || failure instanceof org.symcurv.core.model.UnsupportedLayerException
                || failure instanceof org.symcurv.core.operator.NotPositiveDefiniteException
                || failure instanceof org.symcurv.optimizer.train.TrainingDivergedException || isKafkaRefusal(failure);
    }

    /** The brokers refused the client's credentials or permissions: a configuration problem, not a bug. */
    private static boolean isKafkaRefusal(Throwable failure) {
        return failure instanceof org.apache.kafka.common.errors.AuthenticationException
                || failure instanceof org.apache.kafka.common.errors.AuthorizationException;
    }

    /** The message of an exception, with the exception type where the message alone would be a bare path. */
    static String describe(Throwable failure) {
        if (isKafkaRefusal(failure)) {
            return "the Kafka brokers refused this client (" + failure.getMessage() + "); check the security settings passed with --config or "
                    + "--kafka (security.protocol, sasl.mechanism, sasl.jaas.config, ssl.*) and the client's ACLs";
        }
        return org.symcurv.apps.common.CommandFailure.describe(failure);
    }

    /** A failure whose message is complete and meant for the user: no stack trace, no type name. */
    static final class CommandFailure extends org.symcurv.apps.common.CommandFailure {
        private static final long serialVersionUID = 1L;

        CommandFailure(String message) {
            super(message);
        }

        CommandFailure(String message, Throwable cause) {
            super(message, cause);
        }
    }

    /** The version recorded by Maven in the jar, or "development build" when running from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() throws IOException {
            Properties properties = new Properties();
            try (InputStream in = SymcurvCli.class.getResourceAsStream("/META-INF/maven/org.symcurv/apps-cli/pom.properties")) {
                if (in != null) {
                    properties.load(in);
                }
            }
            return new String[] {"symcurv " + properties.getProperty("version", "development build")};
        }
    }
}
