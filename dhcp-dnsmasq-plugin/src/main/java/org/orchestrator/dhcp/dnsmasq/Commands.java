package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Runs short external commands from argument arrays (never through a shell), bounded in time. */
final class Commands {

    private static final long TIMEOUT_SECONDS = 10;

    private Commands() {
    }

    /** Outcome of a command. */
    record Result(int exit, String out, String err) {
    }

    /**
     * @return the result, whatever the exit code
     * @throws IllegalStateException when the command cannot start or times out
     */
    static Result run(List<String> command) {
        Process p;
        try {
            p = new ProcessBuilder(command).redirectInput(ProcessBuilder.Redirect.from(new java.io.File("/dev/null"))).start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command + ": " + e.getMessage(), e);
        }
        CompletableFuture<String> out = CompletableFuture.supplyAsync(() -> drain(p.getInputStream()));
        CompletableFuture<String> err = CompletableFuture.supplyAsync(() -> drain(p.getErrorStream()));
        try {
            if (!p.waitFor(TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(command + " did not finish within " + TIMEOUT_SECONDS + " s");
            }
            return new Result(p.exitValue(), out.get(2, TimeUnit.SECONDS), err.get(2, TimeUnit.SECONDS));
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + command, e);
        } catch (ExecutionException | TimeoutException e) {
            throw new IllegalStateException("cannot read the output of " + command + ": " + e.getMessage(), e);
        }
    }

    /**
     * @return standard output
     * @throws IllegalStateException when the command fails; the message holds its standard error
     */
    static String check(List<String> command) {
        Result r = run(command);
        if (r.exit() != 0) {
            throw new IllegalStateException(command + " failed with exit code " + r.exit() + ": " + r.err().strip());
        }
        return r.out();
    }

    private static String drain(InputStream in) {
        try (in) {
            byte[] bytes = in.readNBytes(1 << 20);
            in.transferTo(java.io.OutputStream.nullOutputStream());
            return new String(bytes, StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }
}
