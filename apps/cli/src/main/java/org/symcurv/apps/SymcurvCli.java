package org.symcurv.apps;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * The {@code symcurv} command line: one top-level command whose subcommands do the work. Exit codes follow
 * picocli: 0 success, 1 a failure while running (missing data, unwritable output, …), 2 a usage error.
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
        CommandLine commandLine = new CommandLine(new SymcurvCli());
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

    private static int reportFailure(Exception failure, CommandLine command, CommandLine.ParseResult parsed) {
        String name = command.getCommandSpec().qualifiedName();
        if (isExpected(failure)) {
            command.getErr().println(name + ": " + describe(failure));
        } else {
            command.getErr().println(name + ": unexpected failure, please report it with the command line used:");
            failure.printStackTrace(command.getErr());
        }
        command.getErr().flush();
        return command.getCommandSpec().exitCodeOnExecutionException();
    }

    private static boolean isExpected(Exception failure) {
        return failure instanceof org.symcurv.apps.common.CommandFailure || failure instanceof IOException || failure instanceof UncheckedIOException
                || failure instanceof IllegalArgumentException || failure instanceof IllegalStateException || isKafkaRefusal(failure);
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
