package org.orchestrator.network.pipework;

import java.util.List;

import org.orchestrator.api.network.NetworkException;

/**
 * Runs one external command given as an argument array (never through a shell). Implementations
 * bound every run with a timeout. Thread-safe.
 */
public interface CommandRunner {

    /**
     * Runs a command to completion.
     *
     * @param command the program and its arguments
     * @param stdin   text written to the process's standard input, or {@code null} for none
     * @return the result, whatever the exit code
     * @throws NetworkException when the program cannot be started or does not finish in time
     */
    CommandResult run(List<String> command, String stdin);

    /**
     * Runs a command that must succeed.
     *
     * @return its standard output
     * @throws NetworkException naming the command and its standard error when it exits non-zero
     */
    default String check(String... command) {
        return checkWithInput(null, command);
    }

    /**
     * Runs a command that must succeed, feeding {@code stdin} to it.
     *
     * @return its standard output
     * @throws NetworkException naming the command and its standard error when it exits non-zero
     */
    default String checkWithInput(String stdin, String... command) {
        CommandResult result = run(List.of(command), stdin);
        if (!result.ok()) {
            throw failure(result);
        }
        return result.stdout();
    }

    /** Runs a command whose failure the caller inspects itself. */
    default CommandResult attempt(String... command) {
        return run(List.of(command), null);
    }

    /** @return the exception that reports a failed command with what it printed */
    static NetworkException failure(CommandResult result) {
        return new NetworkException("command " + result.command() + " failed with exit code " + result.exitCode()
                + ": " + result.stderr().strip(), false);
    }
}
