package org.orchestrator.provider.docker;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * A second, private dockerd for the tests: TLS with client certificates on 127.0.0.1:PORT, its own
 * data root, exec root (and so its own managed containerd), pid file and an empty daemon
 * configuration, all under one {@code orch-dk-*} temp folder. Certificates come from openssl.
 */
final class SecondDockerd implements AutoCloseable {

    private static final Duration START_TIMEOUT = Duration.ofSeconds(60);

    final Path root;
    final Path clientCerts;
    final int port;
    private final Path serverCerts;
    private final Path log;
    private Process process;

    SecondDockerd() throws IOException {
        // Short path: containerd's sockets live under the exec root and unix paths are limited to 108 bytes.
        root = Files.createTempDirectory(Path.of("/tmp"), "orch-dk-d2-");
        clientCerts = Files.createDirectories(root.resolve("client"));
        serverCerts = Files.createDirectories(root.resolve("server"));
        log = root.resolve("dockerd.log");
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        makeCertificates();
    }

    String host() {
        return "tcp://127.0.0.1:" + port;
    }

    /** Starts dockerd and waits until it answers over TLS. */
    void start() throws IOException, InterruptedException {
        Files.writeString(root.resolve("daemon.json"), "{}\n");
        List<String> command = List.of("dockerd",
            "--config-file", root.resolve("daemon.json").toString(),
            "--data-root", root.resolve("data").toString(),
            "--exec-root", root.resolve("exec").toString(),
            "--pidfile", root.resolve("dockerd.pid").toString(),
            "-H", host(),
            "--tlsverify",
            "--tlscacert", serverCerts.resolve("ca.pem").toString(),
            "--tlscert", serverCerts.resolve("cert.pem").toString(),
            "--tlskey", serverCerts.resolve("key.pem").toString(),
            "--bridge=none", "--iptables=false", "--ip6tables=false",
            "--shutdown-timeout=2");
        process = new ProcessBuilder(command).redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() - deadline < 0) {
            if (!process.isAlive()) {
                throw new AssertionError("second dockerd exited with " + process.exitValue() + ": " + logTail());
            }
            if (cli("version", "--format", "{{.Server.Version}}").exit() == 0) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("second dockerd did not answer on " + host() + " within " + START_TIMEOUT + ": " + logTail());
    }

    /** Stops dockerd (SIGTERM, then SIGKILL after 30 s) and waits for it. */
    void stop() throws InterruptedException {
        if (process == null) {
            return;
        }
        process.destroy();
        if (!process.waitFor(30, TimeUnit.SECONDS)) {
            process.destroyForcibly();
            process.waitFor(10, TimeUnit.SECONDS);
        }
        process = null;
    }

    /** Runs the docker CLI against this daemon. */
    Procs.Result cli(String... args) {
        List<String> command = new ArrayList<>(List.of("docker", "--tlsverify",
            "--tlscacert", clientCerts.resolve("ca.pem").toString(),
            "--tlscert", clientCerts.resolve("cert.pem").toString(),
            "--tlskey", clientCerts.resolve("key.pem").toString(),
            "-H", host()));
        command.addAll(List.of(args));
        return Procs.run(Duration.ofSeconds(30), command.toArray(String[]::new));
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no log: " + e + ")";
        }
    }

    @Override
    public void close() throws Exception {
        try {
            stop();
        } finally {
            deleteTree(root);
        }
    }

    private void makeCertificates() {
        Path ca = root.resolve("ca");
        try {
            Files.createDirectories(ca);
            Files.writeString(ca.resolve("server.ext"),
                "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n");
            Files.writeString(ca.resolve("client.ext"), "extendedKeyUsage=clientAuth\n");
        } catch (IOException e) {
            throw new AssertionError(e);
        }
        Duration t = Duration.ofSeconds(30);
        String caKey = ca.resolve("ca-key.pem").toString();
        String caCert = ca.resolve("ca.pem").toString();
        Procs.ok(t, "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", caKey, "-out", caCert,
            "-days", "2", "-subj", "/CN=orch-dk-test-ca");
        for (String side : List.of("server", "client")) {
            Path dir = side.equals("server") ? serverCerts : clientCerts;
            String key = dir.resolve("key.pem").toString();
            String csr = ca.resolve(side + ".csr").toString();
            Procs.ok(t, "openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr,
                "-subj", "/CN=" + (side.equals("server") ? "localhost" : "orch-dk-client"));
            Procs.ok(t, "openssl", "x509", "-req", "-in", csr, "-CA", caCert, "-CAkey", caKey, "-CAcreateserial",
                "-out", dir.resolve("cert.pem").toString(), "-days", "2",
                "-extfile", ca.resolve(side + ".ext").toString());
            try {
                Files.copy(Path.of(caCert), dir.resolve("ca.pem"));
            } catch (IOException e) {
                throw new AssertionError(e);
            }
        }
    }

    /** Stops second daemons and removes folders that an earlier, aborted run left behind. */
    static void sweepLeftovers() throws IOException, InterruptedException {
        try (Stream<Path> dirs = Files.list(Path.of("/tmp"))) {
            for (Path dir : dirs.filter(d -> d.getFileName().toString().startsWith("orch-dk-d2-")).toList()) {
                Path pidFile = dir.resolve("dockerd.pid");
                if (Files.exists(pidFile)) {
                    long pid = Long.parseLong(Files.readString(pidFile).strip());
                    Path cmdline = Path.of("/proc", Long.toString(pid), "cmdline");
                    if (Files.exists(cmdline) && Files.readString(cmdline).contains(dir.toString())) {
                        ProcessHandle.of(pid).ifPresent(h -> {
                            h.destroy();
                            h.onExit().orTimeout(30, TimeUnit.SECONDS).exceptionally(e -> null).join();
                        });
                    }
                }
                deleteTree(dir);
            }
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        // A daemon that was killed may leave overlay or shm mounts under its roots.
        List<String> mounts = Files.readAllLines(Path.of("/proc/self/mounts")).stream()
            .map(l -> l.split(" ")[1]).filter(m -> m.startsWith(dir.toString() + "/"))
            .sorted(Comparator.reverseOrder()).toList();
        for (String m : mounts) {
            Procs.run(Duration.ofSeconds(10), "umount", "-l", m);
        }
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }
}
