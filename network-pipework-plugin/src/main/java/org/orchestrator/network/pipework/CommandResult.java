package org.orchestrator.network.pipework;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of one finished command. Immutable.
 *
 * @param command  the argument array that was run
 * @param exitCode the process exit code
 * @param stdout   what it printed on standard output
 * @param stderr   what it printed on standard error
 */
public record CommandResult(List<String> command, int exitCode, String stdout, String stderr) {

    public CommandResult {
        command = List.copyOf(Objects.requireNonNull(command, "command"));
        Objects.requireNonNull(stdout, "stdout");
        Objects.requireNonNull(stderr, "stderr");
    }

    /** @return whether the command exited with status 0 */
    public boolean ok() {
        return exitCode == 0;
    }
}
