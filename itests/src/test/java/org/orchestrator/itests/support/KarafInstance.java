package org.orchestrator.itests.support;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;

/**
 * One copy of the built distribution, run as a separate process ({@code bin/start}) and driven
 * through its SSH shell, as an operator would. Every instance gets free ports and its own folder
 * under {@code target/it-work}, so a failed run leaves its logs behind for reading.
 */
public final class KarafInstance implements AutoCloseable {

    private static final Pattern ANSI = Pattern.compile("\u001B\\[[;\\d]*[A-Za-z]");

    private final Path home;
    private final int sshPort;
    private final int httpPort;
    private SshClient client;
    private ClientSession session;

    private KarafInstance(Path home, int sshPort, int httpPort) {
        this.home = home;
        this.sshPort = sshPort;
        this.httpPort = httpPort;
    }

    /** Copies the unpacked distribution into a fresh folder named {@code name} and gives it free ports. */
    public static KarafInstance prepare(String name) throws IOException {
        return prepareFrom(Path.of(System.getProperty("karaf.unpack.dir", "target/distribution")), name);
    }

    /** The orchestrator distribution's home as unpacked by the build (its {@code system/} is a Maven repository). */
    public static Path distributionHome() throws IOException {
        return findHome(Path.of(System.getProperty("karaf.unpack.dir", "target/distribution")));
    }

    /**
     * Copies the Karaf found under {@code unpacked} (the orchestrator distribution, or a stock
     * Karaf) into a fresh folder named {@code name} and gives it free ports.
     */
    public static KarafInstance prepareFrom(Path unpacked, String name) throws IOException {
        Path dist = findHome(unpacked);
        Path work = Path.of(System.getProperty("itests.work.dir", "target/it-work"));
        Path home = work.resolve(name);
        if (Files.exists(home)) {
            deleteTree(home);
        }
        copyTree(dist, home);
        for (String script : List.of("karaf", "start", "stop", "status", "client", "shell", "inc", "setenv")) {
            Path p = home.resolve("bin").resolve(script);
            if (Files.exists(p)) {
                p.toFile().setExecutable(true);
            }
        }
        KarafInstance k = new KarafInstance(home, Host.freeTcpPort(), Host.freeTcpPort());
        k.setProperty("etc/org.apache.karaf.shell.cfg", "sshPort", Integer.toString(k.sshPort));
        k.setProperty("etc/org.ops4j.pax.web.cfg", "org.osgi.service.http.port", Integer.toString(k.httpPort));
        k.setProperty("etc/org.apache.karaf.management.cfg", "rmiRegistryPort", Integer.toString(Host.freeTcpPort()));
        k.setProperty("etc/org.apache.karaf.management.cfg", "rmiServerPort", Integer.toString(Host.freeTcpPort()));
        return k;
    }

    private static Path findHome(Path unpacked) throws IOException {
        Path dist;
        try (Stream<Path> s = Files.list(unpacked)) {
            dist = s.filter(p -> Files.isDirectory(p.resolve("bin"))).findFirst()
                .orElseThrow(() -> new IllegalStateException("no unpacked distribution under " + unpacked
                    + ": run 'mvn verify' so that the distribution is built and unpacked"));
        }
        return dist;
    }

    public Path home() {
        return home;
    }

    public int sshPort() {
        return sshPort;
    }

    public int httpPort() {
        return httpPort;
    }

    /** Writes (replaces) {@code etc/<pid>.cfg}; file install picks it up at start or at once while running. */
    public void config(String pid, Map<String, String> properties) throws IOException {
        StringBuilder sb = new StringBuilder("# written by the integration test\n");
        properties.forEach((k, v) -> sb.append(k).append(" = ").append(v.replace("\\", "\\\\")).append('\n'));
        Path target = home.resolve("etc").resolve(pid + ".cfg");
        Path tmp = target.resolveSibling("." + pid + ".tmp");
        Files.writeString(tmp, sb.toString());
        Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Removes {@code etc/<pid>.cfg}; file install then deletes the configuration. */
    public void removeConfig(String pid) throws IOException {
        Files.deleteIfExists(home.resolve("etc").resolve(pid + ".cfg"));
    }

    /** Sets one {@code key = value} in a properties file of the distribution. */
    public void setProperty(String file, String key, String value) throws IOException {
        Path p = home.resolve(file);
        List<String> lines = Files.exists(p) ? new ArrayList<>(Files.readAllLines(p)) : new ArrayList<>();
        boolean found = false;
        Pattern keyLine = Pattern.compile("^\\s*" + Pattern.quote(key) + "\\s*[=:].*");
        for (int i = 0; i < lines.size(); i++) {
            if (keyLine.matcher(lines.get(i)).matches()) {
                lines.set(i, key + " = " + value);
                found = true;
            }
        }
        if (!found) {
            lines.add(key + " = " + value);
        }
        Files.write(p, lines);
    }

    /**
     * Starts Karaf with {@code bin/start} and waits until the SSH shell answers and no bundle is
     * left in the Installed or Resolved state.
     *
     * @return how long it took from {@code bin/start} until then
     */
    public Duration start(Duration timeout) throws Exception {
        return start(timeout, true);
    }

    /**
     * Starts Karaf; with {@code expectOrchestrator} false (a stock Karaf) it waits only for the
     * shell and for every bundle present to be Active.
     */
    public Duration start(Duration timeout, boolean expectOrchestrator) throws Exception {
        Instant t0 = Instant.now();
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/start").toString())
            .directory(home.toFile()).redirectErrorStream(true)
            .redirectOutput(home.resolve("start.out").toFile());
        pb.environment().putIfAbsent("JAVA_HOME", System.getProperty("java.home"));
        Process p = pb.start();
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException("bin/start failed: " + Files.readString(home.resolve("start.out")));
        }
        Instant deadline = t0.plus(timeout);
        waitUntil("SSH shell of " + home + " answers", deadline, () -> {
            try {
                connect();
                return true;
            } catch (Exception e) {
                disconnect();
                return false;
            }
        });
        waitUntil("every bundle is Active", deadline, () -> {
            // fragments stay Resolved; everything else must be Active (Karaf shows "Waiting" while
            // a bundle's DS components are unsatisfied, "Failure" when one failed)
            String bundles = exec("bundle:list -t 0 --no-format");
            return (!expectOrchestrator || bundles.contains("Orchestrator")) && bundles.lines()
                .filter(l -> l.matches("^\\s*\\d+\\s.*") && !l.contains("Hosts:"))
                .allMatch(l -> l.contains("Active"));
        });
        return Duration.between(t0, Instant.now());
    }

    /** The admin password generated at first start. */
    public String adminPassword() throws IOException {
        return Files.readString(home.resolve("etc/admin.password")).trim();
    }

    /** Runs a shell command over SSH and returns what it printed (colours removed). */
    public String exec(String command) throws IOException {
        return exec(command, Duration.ofSeconds(120));
    }

    public synchronized String exec(String command, Duration timeout) throws IOException {
        // Karaf's SSH server ends the whole session after an exec request: one session per command
        connect();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ChannelExec channel = session.createExecChannel(command)) {
            channel.setOut(out);
            channel.setErr(out);
            channel.open().verify(Duration.ofSeconds(20));
            var events = channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), timeout);
            if (!events.contains(ClientChannelEvent.CLOSED)) {
                throw new IOException("command did not finish within " + timeout + ": " + command);
            }
        } finally {
            disconnectSession();
        }
        return ANSI.matcher(out.toString(StandardCharsets.UTF_8)).replaceAll("");
    }

    /** Polls {@link #exec} until the output satisfies {@code condition}; returns the last output. */
    public String execUntil(String command, Predicate<String> condition, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        String last = "";
        while (Instant.now().isBefore(deadline)) {
            last = exec(command);
            if (condition.test(last)) {
                return last;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("'" + command + "' did not reach the expected output within " + timeout + "; last output:\n" + last);
    }

    private synchronized void connect() throws IOException {
        disconnectSession();
        if (client == null) {
            client = SshClient.setUpDefaultClient();
            client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
            client.start();
        }
        session = client.connect("admin", "127.0.0.1", sshPort).verify(Duration.ofSeconds(10)).getSession();
        session.addPasswordIdentity(adminPassword());
        session.auth().verify(Duration.ofSeconds(20));
    }

    private synchronized void disconnectSession() {
        try {
            if (session != null) {
                session.close(true);
            }
        } catch (Exception e) {
            // best effort
        }
        session = null;
    }

    private synchronized void disconnect() {
        try {
            if (session != null) {
                session.close(true);
            }
            if (client != null) {
                client.stop();
            }
        } catch (Exception e) {
            // best effort
        }
        session = null;
        client = null;
    }

    /** The Karaf JVM of this instance, if it runs. */
    public Optional<ProcessHandle> process() {
        String marker = "-Dkaraf.home=" + home;
        return ProcessHandle.allProcesses()
            .filter(ph -> ph.info().commandLine().map(c -> c.contains(marker) && c.contains("java")).orElse(false))
            .findFirst();
    }

    /** Stops Karaf with {@code bin/stop}; kills it when it has not ended within the timeout. */
    public void stop(Duration timeout) throws Exception {
        disconnect();
        Optional<ProcessHandle> jvm = process();
        if (jvm.isEmpty()) {
            return;
        }
        ProcessBuilder pb = new ProcessBuilder(home.resolve("bin/stop").toString()).directory(home.toFile())
            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        pb.environment().putIfAbsent("JAVA_HOME", System.getProperty("java.home"));
        pb.start().waitFor(30, TimeUnit.SECONDS);
        try {
            jvm.get().onExit().get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            jvm.get().destroyForcibly();
            jvm.get().onExit().get(20, TimeUnit.SECONDS);
        }
    }

    /** Kills the Karaf JVM with SIGKILL, as a crash would. */
    public void kill() throws Exception {
        disconnect();
        Optional<ProcessHandle> jvm = process();
        if (jvm.isPresent()) {
            jvm.get().destroyForcibly();
            jvm.get().onExit().get(20, TimeUnit.SECONDS);
        }
    }

    /** The Karaf log, for assertion messages. */
    public String logTail(int lines) {
        try {
            List<String> all = Files.readAllLines(home.resolve("data/log/karaf.log"));
            return String.join("\n", all.subList(Math.max(0, all.size() - lines), all.size()));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    @Override
    public void close() throws Exception {
        stop(Duration.ofSeconds(60));
    }

    static void waitUntil(String what, Instant deadline, java.util.concurrent.Callable<Boolean> condition) throws Exception {
        Exception last = null;
        while (Instant.now().isBefore(deadline)) {
            try {
                if (condition.call()) {
                    return;
                }
            } catch (Exception e) {
                last = e;
            }
            Thread.sleep(250);
        }
        throw new AssertionError("timed out waiting until " + what + (last == null ? "" : ": " + last), last);
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            s.forEach(src -> {
                try {
                    Path dst = to.resolve(from.relativize(src).toString());
                    if (Files.isDirectory(src)) {
                        Files.createDirectories(dst);
                    } else {
                        Files.copy(src, dst, StandardCopyOption.COPY_ATTRIBUTES);
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            });
        }
    }

    static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }
}
