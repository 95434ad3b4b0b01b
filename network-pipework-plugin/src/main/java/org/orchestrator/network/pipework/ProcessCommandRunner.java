package org.orchestrator.network.pipework;

import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

import org.orchestrator.api.network.NetworkException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link CommandRunner} over {@link ProcessBuilder}: feeds standard input (when given), captures
 * standard output and error, kills the process when it outlives the timeout (also while its input
 * is being written). Runs with {@code LC_ALL=C} so that outputs parse the same on every host.
 * Thread-safe.
 */
public final class ProcessCommandRunner implements CommandRunner {

    private static final Logger LOG = LoggerFactory.getLogger(ProcessCommandRunner.class);
    private static final int MAX_CAPTURE = 1 << 20;
    /** Readers and writers block until the process closes its pipes; they must not share a small common pool. */
    private static final ExecutorService PIPES = Executors.newCachedThreadPool(task -> {
        Thread thread = new Thread(task, "pipework-command-io");
        thread.setDaemon(true);
        return thread;
    });

    private final Duration timeout;

    /** @param timeout how long one command may run before it is killed */
    public ProcessCommandRunner(Duration timeout) {
        this.timeout = Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) {
            throw new IllegalArgumentException("timeout must be positive");
        }
    }

    @Override
    public CommandResult run(List<String> command, String stdin) {
        List<String> argv = List.copyOf(command);
        if (argv.isEmpty()) {
            throw new IllegalArgumentException("empty command");
        }
        LOG.debug("running {}", argv);
        ProcessBuilder builder = new ProcessBuilder(argv);
        builder.environment().put("LC_ALL", "C");
        if (stdin == null) {
            builder.redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
        }
        Process process;
        try {
            process = builder.start();
        } catch (IOException e) {
            throw new NetworkException("cannot run " + argv + ": " + e.getMessage(), false, e);
        }
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(process.getInputStream()), PIPES);
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(process.getErrorStream()), PIPES);
        if (stdin != null) {
            // written by another thread: a process that does not read its input must not block this
            // one past the timeout (a pipe holds only 64 KiB)
            PIPES.execute(() -> feed(process, argv.get(0), stdin));
        }
        try {
            if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(2, TimeUnit.SECONDS);
                throw new NetworkException("command " + argv + " did not finish within " + timeout.toSeconds() + " s", true);
            }
            return new CommandResult(argv, process.exitValue(), out.get(2, TimeUnit.SECONDS), err.get(2, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new NetworkException("interrupted while running " + argv, true, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new NetworkException("cannot read the output of " + argv + ": " + e.getMessage(), true, e);
        }
    }

    private static void feed(Process process, String program, String stdin) {
        try (OutputStream in = process.getOutputStream()) {
            in.write(stdin.getBytes(StandardCharsets.UTF_8));
        } catch (IOException e) {
            // the process exited early or was killed; its exit code and stderr tell why
            LOG.debug("{} closed its input: {}", program, e.getMessage());
        }
    }

    private static String drain(InputStream stream) {
        try (InputStream in = stream) {
            byte[] data = in.readNBytes(MAX_CAPTURE);
            in.transferTo(OutputStream.nullOutputStream());
            return new String(data, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
