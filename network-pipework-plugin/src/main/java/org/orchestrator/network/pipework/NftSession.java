package org.orchestrator.network.pipework;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

import org.orchestrator.api.network.NetworkException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One long-lived {@code nft -i} process that runs nftables commands one at a time, so that adding
 * or deleting a set element costs a write and a read on a pipe (well under a millisecond) instead of
 * a process start (3 ms from a shell, 8–20 ms from a busy JVM: the element is on a device's way to
 * its instance).
 *
 * <p>Each command is one line (nft makes each line of its interactive mode one transaction) and is
 * followed by a marker command whose output is known: {@code describe meta mark}, which only
 * describes a type and touches no ruleset. Standard error is merged into standard output, so
 * whatever nft prints before the marker's output belongs to the command; a line starting with
 * {@code Error:} means the command failed. The marker's output is learnt once when the process
 * starts (sent twice; what comes between the two is its length).
 *
 * <p>When the session cannot be used (no interactive mode in this nft build, the process died, or
 * it did not answer within the timeout) {@link #run} answers empty and the caller runs the command
 * as a process of its own; a broken session is started again at the next command, at most once per
 * {@link #RESTART_AFTER}. Thread-safe: commands are serialised.
 */
final class NftSession implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(NftSession.class);
    static final String MARKER = "describe meta mark";
    /** End of the process's output (a value no line can have: lines hold no line breaks). */
    private static final String EOF = "\n";
    /** Least time between two starts of the process after it broke. */
    static final Duration RESTART_AFTER = Duration.ofSeconds(5);

    private final List<String> command;
    private final Duration timeout;
    private Process process;
    private OutputStream input;
    private BlockingQueue<String> lines;
    private List<String> marker;
    private long brokenAt;
    private boolean broken;
    private boolean closed;
    private long commands;
    private long starts;

    /** @param timeout how long nft may take to answer one command */
    NftSession(Duration timeout) {
        this(List.of("nft", "-i"), timeout);
    }

    /** @param command the program that reads commands line by line (tests give another one) */
    NftSession(List<String> command, Duration timeout) {
        this.command = List.copyOf(command);
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
    }

    /**
     * Runs one nftables command.
     *
     * @param line the command, one line, built from validated names and formatted addresses
     * @return what nft printed for it (usually nothing), or empty when the session cannot run
     *         commands now: then run it as a process of its own
     * @throws NetworkException when nft reports an error for the command (not transient: the same
     *                          command fails again)
     */
    synchronized Optional<String> run(String line) {
        if (line.indexOf('\n') >= 0 || line.indexOf('\r') >= 0 || line.isBlank()) {
            throw new IllegalArgumentException("an nft command is one non-empty line");
        }
        if (!ready()) {
            return Optional.empty();
        }
        List<String> out;
        try {
            out = exchange(line + "\n" + MARKER + "\n");
        } catch (IOException | RuntimeException e) {
            breakDown("nft did not answer " + line + ": " + e.getMessage());
            return Optional.empty();
        }
        commands++;
        String text = String.join("\n", out);
        if (out.stream().anyMatch(l -> l.startsWith("Error:"))) {
            throw new NetworkException("nft " + line + " failed: " + text.strip(), false);
        }
        return Optional.of(text);
    }

    /** @return commands answered by the session, and how often its process was started */
    synchronized long[] counts() {
        return new long[] {commands, starts};
    }

    /** @return whether the session's process runs (for tests) */
    synchronized boolean alive() {
        return process != null && process.isAlive();
    }

    /** @return whether a process is running and has answered its calibration */
    private boolean ready() {
        if (closed) {
            return false;
        }
        if (process != null && process.isAlive() && !broken) {
            return true;
        }
        if (broken && System.nanoTime() - brokenAt < RESTART_AFTER.toNanos()) {
            return false;
        }
        stop();
        try {
            start();
            return true;
        } catch (IOException | RuntimeException e) {
            breakDown("cannot use " + String.join(" ", command) + " for nftables updates (each runs as a process of its own): "
                + e.getMessage());
            return false;
        }
    }

    private void start() throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        builder.environment().put("LC_ALL", "C");
        process = builder.start();
        starts++;
        input = process.getOutputStream();
        BlockingQueue<String> queue = new LinkedBlockingQueue<>();
        lines = queue;
        BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8));
        Thread t = new Thread(() -> {
            try (reader) {
                for (String l = reader.readLine(); l != null; l = reader.readLine()) {
                    queue.add(l);
                }
            } catch (IOException e) {
                LOG.debug("nft session output closed: {}", e.getMessage());
            } finally {
                queue.add(EOF);
            }
        }, "pipework-nft-session");
        t.setDaemon(true);
        t.start();
        // learn the marker's output: sent twice, its first line comes back twice
        write(MARKER + "\n" + MARKER + "\n");
        String first = next();
        if (first.startsWith("Error") || first.isBlank()) {
            throw new IllegalStateException("nft answered '" + first + "' to '" + MARKER + "'");
        }
        List<String> learnt = new ArrayList<>(List.of(first));
        for (String l = next(); !l.equals(first); l = next()) {
            learnt.add(l);
            if (learnt.size() > 20) {
                throw new IllegalStateException("nft's answer to '" + MARKER + "' does not end");
            }
        }
        for (int i = 1; i < learnt.size(); i++) {
            next(); // the rest of the second copy
        }
        marker = List.copyOf(learnt);
        broken = false;
        LOG.info("nft session started (pid {}); set elements change without a process each", process.pid());
    }

    /** Writes {@code text} and reads up to and including the marker's output; returns what came before it. */
    private List<String> exchange(String text) throws IOException {
        write(text);
        List<String> out = new ArrayList<>();
        while (true) {
            out.add(next());
            if (endsWithMarker(out)) {
                return new ArrayList<>(out.subList(0, out.size() - marker.size()));
            }
            if (out.size() > 100_000) {
                throw new IllegalStateException("no end of nft's answer after 100000 lines");
            }
        }
    }

    private boolean endsWithMarker(List<String> out) {
        int n = marker.size();
        return out.size() >= n && out.subList(out.size() - n, out.size()).equals(marker);
    }

    private void write(String text) throws IOException {
        input.write(text.getBytes(StandardCharsets.UTF_8));
        input.flush();
    }

    /** The next line of output, waiting at most the timeout. */
    private String next() {
        String l;
        try {
            l = lines.poll(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted");
        }
        if (l == null) {
            throw new IllegalStateException("no answer within " + timeout.toMillis() + " ms");
        }
        if (l.equals(EOF)) {
            throw new IllegalStateException("nft exited" + (process.isAlive() ? "" : " with " + process.exitValue()));
        }
        return l;
    }

    private void breakDown(String why) {
        if (!broken) {
            LOG.warn("{}; trying again in {} s at the earliest", why, RESTART_AFTER.toSeconds());
        }
        broken = true;
        brokenAt = System.nanoTime();
        stop();
    }

    private void stop() {
        if (process != null) {
            try {
                input.close();
            } catch (IOException e) {
                LOG.debug("closing nft's input: {}", e.getMessage());
            }
            process.destroy();
            try {
                if (!process.waitFor(2, TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
            process = null;
        }
    }

    /** Ends the process; later commands answer empty. */
    @Override
    public synchronized void close() {
        closed = true;
        stop();
    }
}
