package org.orchestrator.network.pipework;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.orchestrator.api.network.NetworkException;

/**
 * A script for {@code ip -batch -}: several iproute2 commands, one a line, fed to one {@code ip}
 * process on standard input, so that a step of attach costs one process instead of one per
 * command. {@code ip} stops at the first line that fails and reports its number
 * ({@code Command failed -:N}); {@link #failure} turns that into a message naming the line.
 *
 * <p>Lines are built from validated values only (interface names, addresses, MACs, namespace
 * names, the veth alias): every word is checked against a character set that {@code ip}'s line
 * parser cannot misread (no whitespace except inside the one quoted word, no quotes, no
 * {@code #}, which starts a comment anywhere on a line, no backslash, which continues it). Not a
 * shell: nothing is expanded. Not thread-safe; build and run it on one thread.
 */
final class IpBatch {

    /** Words as they appear in our commands: names, addresses, prefixes, MACs, numbers, alias fields. */
    private static final Pattern WORD = Pattern.compile("[A-Za-z0-9_.:/=-]+");
    /** A word with spaces (the alias), written in double quotes. */
    private static final Pattern QUOTABLE = Pattern.compile("[A-Za-z0-9_.:/= -]+");
    private static final Pattern FAILED_LINE = Pattern.compile("(?m)^Command failed -:(\\d+)\\s*$");
    /** What ip's messages quote: the argument or device a line was refused for. */
    private static final Pattern QUOTED = Pattern.compile("\"([^\"\\s]+)\"");

    private final List<String> lines = new ArrayList<>();

    /**
     * Appends one command, e.g. {@code line("link", "set", "dev", name, "up")}.
     *
     * @return this batch
     * @throws IllegalArgumentException when a word has a character {@code ip -batch} would misread
     */
    IpBatch line(String... words) {
        if (words.length == 0) {
            throw new IllegalArgumentException("empty ip batch line");
        }
        StringBuilder line = new StringBuilder();
        for (String word : words) {
            Objects.requireNonNull(word, "word");
            if (!line.isEmpty()) {
                line.append(' ');
            }
            if (WORD.matcher(word).matches()) {
                line.append(word);
            } else if (QUOTABLE.matcher(word).matches() && !word.isBlank()) {
                line.append('"').append(word).append('"');
            } else {
                throw new IllegalArgumentException("'" + word + "' cannot be passed to ip -batch");
            }
        }
        lines.add(line.toString());
        return this;
    }

    /** @return whether no line was added */
    boolean isEmpty() {
        return lines.isEmpty();
    }

    /** @return the lines, in order */
    List<String> lines() {
        return List.copyOf(lines);
    }

    /** @return the standard input for {@code ip -batch -} */
    String script() {
        StringBuilder script = new StringBuilder();
        for (String line : lines) {
            script.append(line).append('\n');
        }
        return script.toString();
    }

    /**
     * Runs the batch; a non-zero exit is returned, not thrown.
     *
     * @param command the command that reads the batch, ending in {@code ip [-6] -batch -}
     * @throws NetworkException when the command cannot be started or does not finish in time
     */
    CommandResult run(CommandRunner runner, String... command) {
        if (lines.isEmpty()) {
            throw new IllegalStateException("empty ip batch");
        }
        return runner.run(List.of(command), script());
    }

    /**
     * Runs the batch, which must succeed.
     *
     * @throws NetworkException naming the command, the failing line and what ip printed
     */
    void check(CommandRunner runner, String... command) {
        CommandResult result = run(runner, command);
        if (!result.ok()) {
            throw failure(result);
        }
    }

    /**
     * The lines before the failed one have been applied, the ones after it have not. ip numbers
     * the line when the kernel refused it ({@code Command failed -:N}); when ip itself refuses an
     * argument it exits at once without a number, and then the line is the only one holding the
     * argument its message quotes.
     *
     * @return the number (from 1) of the line that failed, or 0 when the output does not tell (the
     *         process failed before reading a line, or the quoted word is on several lines)
     */
    int failedLine(CommandResult result) {
        Matcher m = FAILED_LINE.matcher(result.stderr());
        int line = 0;
        while (m.find()) {
            line = Integer.parseInt(m.group(1));
        }
        if (line >= 1 && line <= lines.size()) {
            return line;
        }
        return lineQuotedIn(result.stderr());
    }

    /**
     * @return the exception reporting a failed batch: the command, the failing line (every line
     *         when it is not known) and ip's message
     */
    NetworkException failure(CommandResult result) {
        int number = failedLine(result);
        String stderr = FAILED_LINE.matcher(result.stderr()).replaceAll("").strip().replaceAll("\\s*\\n\\s*", "; ");
        String where = number >= 1
                ? " at line " + number + " of " + lines.size() + " (" + lines.get(number - 1) + ")"
                : " in one of " + lines.size() + " lines (" + String.join("; ", lines) + ")";
        return new NetworkException("command " + result.command() + " failed with exit code " + result.exitCode() + where
                + ": " + stderr, false);
    }

    /** @return the number of the only line with a word that {@code message} quotes, or 0 */
    private int lineQuotedIn(String message) {
        Matcher quoted = QUOTED.matcher(message);
        while (quoted.find()) {
            int found = 0;
            for (int i = 0; i < lines.size(); i++) {
                if (List.of(lines.get(i).split(" ")).contains(quoted.group(1))) {
                    if (found != 0) {
                        return 0;
                    }
                    found = i + 1;
                }
            }
            if (found != 0) {
                return found;
            }
        }
        return 0;
    }

    @Override
    public String toString() {
        return String.join("; ", lines);
    }
}
