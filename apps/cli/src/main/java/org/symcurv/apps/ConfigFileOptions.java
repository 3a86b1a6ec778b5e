package org.symcurv.apps;

import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.function.Supplier;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.ParameterException;

/**
 * Options from a properties file: key {@code symcurv.NAME} stands for {@code --NAME VALUE} (a boolean flag for
 * {@code true}). The command line wins: the command is parsed again from the file's options followed by the ones
 * given, so picocli converts and checks the file's values exactly like typed ones.
 */
final class ConfigFileOptions {
    private ConfigFileOptions() {
    }

    /** Whether the file sets any option. */
    static boolean setsOptions(Properties file) {
        return file.stringPropertyNames().stream().anyMatch(k -> k.startsWith("symcurv."));
    }

    /**
     * A fresh command parsed from the file's options and the given ones.
     *
     * @throws ParameterException naming the key when the file names an unknown option or gives a bad value
     */
    static <T> T reparse(CommandSpec spec, Properties file, String source, Supplier<T> fresh) {
        CommandLine.ParseResult given = spec.commandLine().getParseResult();
        List<String> args = new ArrayList<>();
        for (String key : new java.util.TreeSet<>(file.stringPropertyNames())) {
            if (!key.startsWith("symcurv.")) {
                continue;
            }
            String name = "--" + key.substring("symcurv.".length());
            OptionSpec option = spec.findOption(name);
            if (option == null || name.equals("--config")) {
                throw new ParameterException(spec.commandLine(), source + ": '" + key + "' names no option of '"
                        + spec.qualifiedName() + "' (see --help)");
            }
            if (given.hasMatchedOption(option)) {
                continue;
            }
            String value = file.getProperty(key).trim();
            if (option.arity().max() == 0) {
                if (Boolean.parseBoolean(value)) {
                    args.add(name);
                }
            } else {
                args.add(name + "=" + value);
            }
        }
        for (OptionSpec option : given.matchedOptions()) {
            if (option.arity().max() == 0) {
                args.add(option.longestName());
            } else {
                for (String v : option.originalStringValues()) {
                    args.add(option.longestName() + "=" + v);
                }
            }
        }
        T command = fresh.get();
        CommandLine cl = new CommandLine(command);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        cl.setOut(spec.commandLine().getOut());
        cl.setErr(spec.commandLine().getErr());
        try {
            cl.parseArgs(args.toArray(new String[0]));
        } catch (ParameterException e) {
            throw new ParameterException(spec.commandLine(), e.getMessage() + " (options from " + source + " and the command line)");
        }
        return command;
    }
}
