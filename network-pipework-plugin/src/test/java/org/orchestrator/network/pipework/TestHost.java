package org.orchestrator.network.pipework;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;

/**
 * Root-only helpers for the integration tests: commands, environment checks and the sweep of
 * everything named with the test prefix ({@code orch-pw-} namespaces, containers, nft tables,
 * /etc/netns folders and processes; {@code opw} links).
 */
final class TestHost {

    static final String PREFIX = "orch-pw-";
    static final String LINK_PREFIX = "opw";
    static final ProcessCommandRunner RUNNER = new ProcessCommandRunner(Duration.ofSeconds(60));

    private TestHost() {
    }

    static String sh(String... argv) {
        return RUNNER.check(argv);
    }

    static CommandResult attempt(String... argv) {
        return RUNNER.attempt(argv);
    }

    /** @return a message naming what is missing, or null when the host can run the tests */
    static String missingPrerequisite() {
        if (!"root".equals(System.getProperty("user.name"))) {
            return "these tests must run as root (they create bridges, namespaces and nftables tables)";
        }
        for (String tool : List.of("ip", "bridge", "nft", "nsenter", "sysctl", "docker", "dnsmasq", "dhclient", "busybox", "curl")) {
            CommandResult which = attempt("sh", "-c", "command -v \"$0\"", tool);
            if (!which.ok()) {
                return "'" + tool + "' is not installed (run scripts/test-env.sh)";
            }
        }
        if (!attempt("docker", "version").ok()) {
            return "dockerd does not answer (run scripts/test-env.sh)";
        }
        if (!attempt("docker", "image", "inspect", "orchestrator/client:latest").ok()) {
            return "image orchestrator/client:latest is missing (run scripts/build-client-image.sh)";
        }
        return null;
    }

    /** Removes every leftover with the test prefixes. Never throws. */
    static void sweep() {
        killProcesses();
        for (String id : lines(attempt("docker", "ps", "-aq", "--filter", "name=" + PREFIX).stdout())) {
            attempt("docker", "rm", "-f", id);
        }
        for (String line : lines(attempt("ip", "netns", "list").stdout())) {
            String name = line.split(" ")[0];
            if (name.startsWith(PREFIX)) {
                for (String pid : lines(attempt("ip", "netns", "pids", name).stdout())) {
                    attempt("kill", "-9", pid);
                }
                attempt("ip", "netns", "del", name);
            }
        }
        for (String line : lines(attempt("ip", "-o", "link", "show").stdout())) {
            String[] fields = line.split(":\\s+");
            if (fields.length > 1) {
                String name = fields[1].split("@")[0];
                if (name.startsWith(LINK_PREFIX)) {
                    attempt("ip", "link", "del", "dev", name);
                }
            }
        }
        for (String line : lines(attempt("nft", "list", "tables").stdout())) {
            String[] fields = line.split(" ");
            if (fields.length == 3 && fields[2].startsWith(PREFIX)) {
                attempt("nft", "delete", "table", fields[1], fields[2]);
            }
        }
        try (Stream<Path> dirs = Files.list(Path.of("/etc/netns"))) {
            dirs.filter(d -> d.getFileName().toString().startsWith(PREFIX)).forEach(TestHost::deleteTree);
        } catch (IOException e) {
            // no /etc/netns: nothing to sweep
        }
    }

    /** Kills dnsmasq, dhclient and httpd processes whose command line carries the test prefix. */
    static void killProcesses() {
        long self = ProcessHandle.current().pid();
        ProcessHandle.allProcesses().filter(p -> p.pid() != self).forEach(p -> {
            String cmdline = cmdline(p.pid());
            if (cmdline.contains(PREFIX) && (cmdline.contains("dnsmasq") || cmdline.contains("dhclient")
                    || cmdline.contains("httpd"))) {
                p.destroyForcibly();
            }
        });
    }

    static String cmdline(long pid) {
        try {
            return new String(Files.readAllBytes(Path.of("/proc", Long.toString(pid), "cmdline")), StandardCharsets.UTF_8)
                    .replace('\0', ' ');
        } catch (IOException e) {
            return "";
        }
    }

    static List<String> lines(String text) {
        List<String> lines = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (!line.isBlank()) {
                lines.add(line.strip());
            }
        }
        return lines;
    }

    static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        } catch (IOException e) {
            // best effort in cleanup
        }
    }

    /** Polls until the condition holds or the deadline passes. */
    static boolean eventually(Duration timeout, BooleanSupplier condition) {
        long deadline = System.nanoTime() + timeout.toNanos();
        int rounds = 0;
        while (rounds++ < 10_000) {
            if (condition.getAsBoolean()) {
                return true;
            }
            if (System.nanoTime() > deadline) {
                return false;
            }
            try {
                Thread.sleep(200);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return false;
            }
        }
        return false;
    }
}
