package org.symcurv.apps.bench;

import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code symcurv bench}: the benchmark programs. Each subcommand runs every compared method in one process on the
 * same data and seeds, prints its tables, and writes JSON and PNG plots under {@code reports/bench-<name>/}. New
 * benchmarks (optimizer, pruning, …) are added as further subcommands here.
 */
@Command(name = "bench",
        mixinStandardHelpOptions = true,
        description = "Benchmarks: print tables and write JSON + PNG under reports/bench-<name>/.",
        subcommands = {
                CommandLine.HelpCommand.class,
                CurvatureBenchCommand.class,
                OptimizerBenchmark.class,
                UncertaintyBenchCommand.class,
                PruningBenchCommand.class,
                DefaultsBenchCommand.class,
                ContinualBenchCommand.class,
                StreamBenchCommand.class,
        })
public final class BenchCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new ParameterException(spec.commandLine(), "missing benchmark: say which one to run, e.g. 'symcurv bench curvature'");
    }
}
