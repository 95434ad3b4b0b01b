package org.orchestrator.provider.docker;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs test commands with argument arrays and a bounded wait. */
final class Procs {

    /** The outcome of one command. */
    record Result(int exit, String out, String err) {
        Result requireOk(List<String> command) {
            if (exit != 0) {
                throw new AssertionError("command " + command + " exited " + exit + ": " + err.strip() + " " + out.strip());
            }
            return this;
        }
    }

    private Procs() {
    }

    static Result run(Duration timeout, String... command) {
        try {
            Path out = Files.createTempFile("orch-dk-out-", ".txt");
            Path err = Files.createTempFile("orch-dk-err-", ".txt");
            try {
                Process p = new ProcessBuilder(command).redirectOutput(out.toFile()).redirectError(err.toFile()).start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    p.destroyForcibly();
                    throw new AssertionError("command " + List.of(command) + " did not finish within " + timeout);
                }
                return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8),
                    Files.readString(err, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(out);
                Files.deleteIfExists(err);
            }
        } catch (IOException e) {
            throw new AssertionError("cannot run " + List.of(command) + ": " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("interrupted running " + List.of(command), e);
        }
    }

    static Result ok(Duration timeout, String... command) {
        return run(timeout, command).requireOk(List.of(command));
    }
}
