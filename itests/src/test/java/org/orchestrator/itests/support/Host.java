package org.orchestrator.itests.support;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Commands on the host, always as argument arrays, bounded in time. Also the sweep that removes
 * every host resource whose name starts with a test prefix.
 */
public final class Host {

    /**
     * A TCP port no socket uses, not even a connection in TIME_WAIT. Asked for without
     * {@code SO_REUSEADDR} (Java sets it on every server socket): with it the kernel readily hands
     * out a port whose connections from the last test are in TIME_WAIT, and Jetty in Pax Web, which
     * binds without it, then fails ("Failed to bind") and Karaf runs without its HTTP service.
     */
    public static int freeTcpPort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket()) {
            s.setReuseAddress(false);
            s.bind(new java.net.InetSocketAddress(0));
            return s.getLocalPort();
        }
    }

    private Host() {
    }

    /** The outcome of one command. */
    public record Result(int exit, String out) {
        public boolean ok() {
            return exit == 0;
        }
    }

    /** Runs a command and returns its exit code and combined output. */
    public static Result run(String... command) {
        return run(30, command);
    }

    public static Result run(int timeoutSeconds, String... command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            // drain the output while waiting: a command printing more than the pipe holds (64 KiB) would block forever
            java.util.concurrent.FutureTask<byte[]> out = new java.util.concurrent.FutureTask<>(() -> p.getInputStream().readAllBytes());
            Thread reader = new Thread(out, "host-run-output");
            reader.setDaemon(true);
            reader.start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return new Result(-1, "timed out after " + timeoutSeconds + " s: " + String.join(" ", command));
            }
            try {
                return new Result(p.exitValue(), new String(out.get(10, TimeUnit.SECONDS), StandardCharsets.UTF_8));
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                return new Result(p.exitValue(), "(output not read: " + e + ")");
            }
        } catch (IOException | InterruptedException e) {
            return new Result(-1, e.toString());
        }
    }

    /** Runs a command and fails when it does not exit 0. */
    public static String must(String... command) {
        Result r = run(60, command);
        if (!r.ok()) {
            throw new IllegalStateException(String.join(" ", command) + " exited " + r.exit() + ": " + r.out());
        }
        return r.out();
    }

    /** Lines of output of a command that succeeded, or an empty list. */
    public static List<String> lines(String... command) {
        Result r = run(command);
        return r.ok() ? Arrays.stream(r.out().split("\n")).filter(s -> !s.isBlank()).toList() : List.of();
    }

    /**
     * Removes every namespace, link, container, nft table, dnsmasq and DHCP client whose name
     * carries {@code prefix}. Safe to call when nothing is there.
     */
    public static void sweep(String prefix) {
        for (String line : lines("pgrep", "-af", prefix)) {
            String pid = line.split(" ", 2)[0];
            if (!pid.equals(Long.toString(ProcessHandle.current().pid()))) {
                run("kill", "-9", pid);
            }
        }
        for (String id : lines("docker", "ps", "-aq", "--filter", "name=" + prefix)) {
            run("docker", "rm", "-f", id);
        }
        for (String ns : lines("ip", "netns", "list")) {
            String name = ns.split(" ", 2)[0];
            if (name.startsWith(prefix)) {
                run("ip", "netns", "delete", name);
                deleteTree(Path.of("/etc/netns", name));
            }
        }
        for (String link : lines("ip", "-o", "link", "show")) {
            String[] parts = link.split(":\\s+", 3);
            if (parts.length > 1) {
                String name = parts[1].split("@", 2)[0];
                if (name.startsWith(prefix)) {
                    run("ip", "link", "delete", name);
                }
            }
        }
        for (String table : lines("nft", "list", "tables")) {
            String[] parts = table.trim().split("\\s+");
            if (parts.length == 3 && parts[2].contains(prefix.replace('-', '_'))) {
                run("nft", "delete", "table", parts[1], parts[2]);
            }
        }
    }

    /** Removes one device: its processes, namespace, veth and resolv.conf guard. */
    public static void sweepOne(String ns, String hostVeth) {
        for (String pid : lines("ip", "netns", "pids", ns)) {
            run("kill", "-9", pid.trim());
        }
        run("ip", "netns", "delete", ns);
        run("ip", "link", "delete", hostVeth);
        deleteTree(Path.of("/etc/netns", ns));
    }

    /** Prepares the resolv.conf guard so a DHCP client in namespace {@code ns} cannot rewrite the host's. */
    public static void guardResolvConf(String ns) throws IOException {
        Path dir = Path.of("/etc/netns", ns);
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("resolv.conf"), "");
    }

    static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (var s = Files.walk(root)) {
            List<Path> all = new ArrayList<>(s.toList());
            all.sort((a, b) -> b.getNameCount() - a.getNameCount());
            all.forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            // best effort
        }
    }
}
