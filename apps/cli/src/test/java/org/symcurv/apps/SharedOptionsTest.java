package org.symcurv.apps;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** The shared options have one name and one wording on every command that takes them. */
class SharedOptionsTest {
    private static CommandLine.Model.CommandSpec command(String name) {
        return SymcurvCli.commandLine().getSubcommands().get(name).getCommandSpec();
    }

    @Test
    void everyLongRunningCommandTakesNoProgressWithOneWording() {
        String wording = null;
        for (String name : List.of("quickstart", "train", "curvature", "prune", "laplace", "evaluate", "continual", "stream", "produce")) {
            OptionSpec option = command(name).findOption("--no-progress");
            assertNotNull(option, name + " has --no-progress");
            String description = String.join(" ", option.description());
            if (wording == null) {
                wording = description;
            }
            assertEquals(wording, description, name + "'s --no-progress reads like the others'");
        }
    }
}
