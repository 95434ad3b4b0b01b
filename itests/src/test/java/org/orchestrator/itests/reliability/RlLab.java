package org.orchestrator.itests.reliability;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.apache.sshd.client.SshClient;
import org.apache.sshd.client.channel.ChannelExec;
import org.apache.sshd.client.channel.ClientChannelEvent;
import org.apache.sshd.client.keyverifier.AcceptAllServerKeyVerifier;
import org.apache.sshd.client.session.ClientSession;
import org.orchestrator.itests.support.Device;
import org.orchestrator.itests.support.Host;
import org.orchestrator.itests.support.Http;
import org.orchestrator.itests.support.KarafInstance;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The reliability lab: a copy of the distribution whose Docker provider {@value #PROVIDER} talks to
 * a dockerd of its own and whose store is a PostgreSQL cluster of its own, so that both can be
 * stopped without touching the shared daemon or database. Every host resource is named with
 * {@value #PREFIX} (nft table {@value #NFT_TABLE}, ULA prefixes below fd00:7e::/32) and removed by
 * {@link #close()} and by {@link #sweep()} at the start.
 */
final class RlLab implements AutoCloseable {

    static final String PREFIX = "orch-rl";
    static final String PROVIDER = "docker-rl";
    static final String SOURCE = "rl-lan";
    static final String NETWORK = "rl-inst";
    static final String DEVICE_BRIDGE = "orch-rl-dev0";
    static final String INSTANCE_BRIDGE = "orch-rl-br0";
    static final String DEVICE_GW = "fd00:7e:d::1";
    static final String DEVICE_PREFIX = "fd00:7e:d::/64";
    static final String INSTANCE_PREFIX = "fd00:7e:1::/64";
    static final String INSTANCE_GW = "fd00:7e:1::1";
    static final String NFT_TABLE = "orch_rl_inst";
    static final String SSH_VIEWER = "rlview";
    static final String IMAGE = "orchestrator/client:latest";
    static final String KARAF_NAME = "reliability";

    static final Path DOCKER_ROOT = Path.of("/tmp/orch-rl-dk");
    static final Path PG_ROOT = Path.of("/tmp/orch-rl-pg");

    final KarafInstance karaf;
    final String token;
    final String viewerPassword;
    final int pgPort;
    Process dockerd;
    Http api;

    private RlLab(KarafInstance karaf, String token, String viewerPassword, int pgPort) {
        this.karaf = karaf;
        this.token = token;
        this.viewerPassword = viewerPassword;
        this.pgPort = pgPort;
    }

    static RlLab boot(Duration timeout) throws Exception {
        sweep();
        int pgPort = Host.freeTcpPort();
        KarafInstance karaf = KarafInstance.prepare(KARAF_NAME);
        RlLab lab = new RlLab(karaf, randomHex(32), randomHex(12), pgPort);
        try {
            lab.startDockerd();
            lab.loadImage();
            lab.initPostgres();
            lab.startPostgres();
            karaf.config("org.orchestrator.dhcp.dnsmasq-rl", Map.of(
                "dhcp.source.name", SOURCE,
                "interfaceName", DEVICE_BRIDGE,
                "listenAddress", DEVICE_GW,
                "prefixLength", "64",
                "leaseTime", "600",
                "restartBackoffMinMillis", "200",
                // spool retry and the delivery again of leases the store lost, every 5 s instead of 15
                "sweepSeconds", "5"));
            karaf.config("org.orchestrator.network.pipework-rl", Map.of(
                "network.name", NETWORK,
                "bridge", INSTANCE_BRIDGE,
                "prefix", INSTANCE_PREFIX,
                "deviceInterface", DEVICE_BRIDGE,
                "devicePrefix", DEVICE_PREFIX,
                "vethPrefix", PREFIX,
                "nftTable", NFT_TABLE));
            karaf.config("org.orchestrator.provider.docker-rl", Map.of(
                "name", PROVIDER,
                "dockerHost", "unix://" + DOCKER_ROOT.resolve("docker.sock")));
            // the shipped 'docker' provider on the shared daemon stays: the route picks ours
            karaf.config("org.orchestrator.core", Map.of(
                "routes", SOURCE + "=" + PROVIDER + "," + NETWORK,
                "releaseGraceSeconds", "5",
                "reconcileIntervalSeconds", "10",
                "maxInstances", "300",
                "retryBaseMillis", "500",
                "retryMaxSeconds", "5",
                "maxAttempts", "1000"));
            lab.usePostgres();
            karaf.config("org.orchestrator.webconsole", Map.of(
                "leaseEventToken", lab.token,
                "operationWaitSeconds", "20"));
            // a user who may log into the shell and read, but not write
            Files.writeString(karaf.home().resolve("etc/users.properties"),
                "\n" + SSH_VIEWER + " = " + lab.viewerPassword + ",_g_:rlsshviewers\n"
                    + "_g_\\:rlsshviewers = group,viewer,ssh\n", StandardOpenOption.APPEND);
            karaf.start(timeout);
            lab.api = new Http("http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1/");
            lab.awaitHealth(Duration.ofSeconds(90));
            return lab;
        } catch (Throwable e) {
            try {
                lab.close();
            } catch (Exception suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    // ------------------------------------------------------------------ dockerd of our own

    void startDockerd() throws Exception {
        Files.createDirectories(DOCKER_ROOT);
        Files.writeString(DOCKER_ROOT.resolve("daemon.json"), "{}\n");
        dockerd = new ProcessBuilder("dockerd",
            "--config-file", DOCKER_ROOT.resolve("daemon.json").toString(),
            "--data-root", DOCKER_ROOT.resolve("data").toString(),
            "--exec-root", DOCKER_ROOT.resolve("exec").toString(),
            "--pidfile", DOCKER_ROOT.resolve("dockerd.pid").toString(),
            "-H", "unix://" + DOCKER_ROOT.resolve("docker.sock"),
            "--bridge=none", "--iptables=false", "--ip6tables=false", "--shutdown-timeout=2")
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(DOCKER_ROOT.resolve("dockerd.log").toFile())).start();
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() - deadline < 0) {
            if (!dockerd.isAlive()) {
                throw new AssertionError("own dockerd exited " + dockerd.exitValue() + ": " + tail(DOCKER_ROOT.resolve("dockerd.log")));
            }
            if (docker("version", "--format", "{{.Server.Version}}").ok()) {
                return;
            }
            Thread.sleep(200);
        }
        throw new AssertionError("own dockerd did not answer within 60 s: " + tail(DOCKER_ROOT.resolve("dockerd.log")));
    }

    /** Stops our dockerd as an operator would (SIGTERM); its containers stop with it. */
    void stopDockerd() throws Exception {
        if (dockerd != null) {
            dockerd.destroy();
            if (!dockerd.waitFor(40, TimeUnit.SECONDS)) {
                dockerd.destroyForcibly();
                dockerd.waitFor(10, TimeUnit.SECONDS);
            }
            dockerd = null;
        }
    }

    void loadImage() throws Exception {
        List<Process> pipe = ProcessBuilder.startPipeline(List.of(
            new ProcessBuilder("docker", "save", IMAGE).redirectError(ProcessBuilder.Redirect.DISCARD),
            new ProcessBuilder("docker", "-H", dockerHost(), "load").redirectErrorStream(true)));
        Process last = pipe.get(pipe.size() - 1);
        if (!last.waitFor(120, TimeUnit.SECONDS) || last.exitValue() != 0) {
            pipe.forEach(Process::destroyForcibly);
            throw new AssertionError("could not load " + IMAGE + " into our dockerd: "
                + new String(last.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
        }
    }

    static String dockerHost() {
        return "unix://" + DOCKER_ROOT.resolve("docker.sock");
    }

    static Host.Result docker(String... args) {
        List<String> cmd = new ArrayList<>(List.of("docker", "-H", dockerHost()));
        cmd.addAll(List.of(args));
        return Host.run(60, cmd.toArray(String[]::new));
    }

    // ------------------------------------------------------------------ PostgreSQL of our own

    static Path pgBin(String tool) {
        try (var s = Files.list(Path.of("/usr/lib/postgresql"))) {
            return s.sorted((a, b) -> b.compareTo(a)).map(p -> p.resolve("bin").resolve(tool)).filter(Files::isExecutable)
                .findFirst().orElseThrow(() -> new AssertionError("PostgreSQL's " + tool + " is missing: run scripts/test-env.sh"));
        } catch (IOException e) {
            throw new AssertionError("PostgreSQL is not installed: run scripts/test-env.sh", e);
        }
    }

    void initPostgres() throws Exception {
        Files.createDirectories(PG_ROOT);
        Host.must("chown", "postgres:postgres", PG_ROOT.toString());
        Host.must("runuser", "-u", "postgres", "--", pgBin("initdb").toString(), "-D", PG_ROOT.resolve("data").toString(),
            "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync");
    }

    void startPostgres() {
        Host.Result r = Host.run(90, "runuser", "-u", "postgres", "--", pgBin("pg_ctl").toString(), "-D", PG_ROOT.resolve("data").toString(),
            "-l", PG_ROOT.resolve("pg.log").toString(), "-w", "-t", "60",
            "-o", "-p " + pgPort + " -k " + PG_ROOT + " -c listen_addresses=127.0.0.1 -c fsync=off", "start");
        if (!r.ok()) {
            throw new AssertionError("own PostgreSQL did not start: " + r.out() + tail(PG_ROOT.resolve("pg.log")));
        }
    }

    void stopPostgres() {
        Host.run(90, "runuser", "-u", "postgres", "--", pgBin("pg_ctl").toString(), "-D", PG_ROOT.resolve("data").toString(),
            "-m", "fast", "-w", "-t", "60", "stop");
    }

    /** Points core's store at our PostgreSQL (at boot, and back after a scenario on H2). */
    void usePostgres() throws IOException {
        karaf.config("org.orchestrator.core.store", Map.of(
            "jdbcUrl", "jdbc:postgresql://127.0.0.1:" + pgPort + "/postgres",
            "user", "postgres"));
    }

    // ------------------------------------------------------------------ REST and shell

    void awaitHealth(Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        int last = -1;
        while (System.nanoTime() - deadline < 0) {
            try {
                last = api.call("health").send().statusCode();
                if (last == 200) {
                    return;
                }
            } catch (IOException e) {
                // not up yet
            }
            Thread.sleep(300);
        }
        throw new AssertionError("health did not answer 200 within " + timeout + " (last " + last + ")\n" + karaf.logTail(40));
    }

    Http.Call admin(String path) throws IOException {
        return api.call(path).basic("admin", karaf.adminPassword());
    }

    JsonNode get(String path) throws Exception {
        HttpResponse<String> r = admin(path).send();
        if (r.statusCode() != 200) {
            throw new IOException("GET " + path + " answered " + r.statusCode() + ": " + r.body());
        }
        return Http.json(r);
    }

    /** Posts one lease event with the token; returns the status code. */
    int leaseEvent(String json) throws Exception {
        return api.call("lease-events").header("X-Orchestrator-Token", token).json("POST", json).send().statusCode();
    }

    Path runFolder() {
        return karaf.home().resolve("data/dnsmasq").resolve(SOURCE);
    }

    /** The folder of core's default H2 store ({@code ${karaf.data}/orchestrator}). */
    Path h2Folder() {
        return karaf.home().resolve("data/orchestrator");
    }

    /**
     * Makes the H2 store's folder and its files ({@code store.*}) immutable with {@code chattr +i}:
     * no new file in it, no write, not even through a file H2 holds open, and for root too. Other
     * plug-ins' folders below it ({@code pipework/}) stay writable: the fault is the store's. A
     * read-only bind mount would not do: it stops opening files for writing but not writes through
     * a descriptor opened before, and remounting a mount read-only is refused while a file on it is
     * open for writing.
     *
     * @return what was frozen
     */
    List<Path> freezeH2Folder() throws IOException {
        List<Path> targets = new ArrayList<>();
        try (var s = Files.list(h2Folder())) {
            s.filter(p -> p.getFileName().toString().startsWith("store.")).sorted().forEach(targets::add);
        }
        targets.add(h2Folder());
        List<String> cmd = new ArrayList<>(List.of("chattr", "+i"));
        targets.forEach(p -> cmd.add(p.toString()));
        Host.must(cmd.toArray(String[]::new));
        return targets;
    }

    /** Undoes {@link #freezeH2Folder()}; safe to call when nothing is frozen. */
    static void thaw(Path folder) {
        if (Files.exists(folder)) {
            Host.run("chattr", "-R", "-i", folder.toString());
        }
    }

    Device device(int n) throws IOException {
        return Device.create(PREFIX + "-d" + n, PREFIX + "-d" + n + "h", DEVICE_BRIDGE, Device.Client.DHCLIENT,
            karaf.home().resolve("devices"));
    }

    /** Runs a shell command as another user (Karaf ends the session after one exec). */
    String execAs(String user, String password, String command) throws IOException {
        SshClient client = SshClient.setUpDefaultClient();
        client.setServerKeyVerifier(AcceptAllServerKeyVerifier.INSTANCE);
        client.start();
        try (ClientSession session = client.connect(user, "127.0.0.1", karaf.sshPort()).verify(Duration.ofSeconds(10)).getSession()) {
            session.addPasswordIdentity(password);
            session.auth().verify(Duration.ofSeconds(20));
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            try (ChannelExec channel = session.createExecChannel(command)) {
                channel.setOut(out);
                channel.setErr(out);
                channel.open().verify(Duration.ofSeconds(20));
                channel.waitFor(EnumSet.of(ClientChannelEvent.CLOSED), Duration.ofSeconds(60));
            }
            return out.toString(StandardCharsets.UTF_8).replaceAll("\u001B\\[[;\\d]*[A-Za-z]", "");
        } finally {
            client.stop();
        }
    }

    /** VmRSS in KiB and the number of open file descriptors of the Karaf JVM. */
    long[] rssAndFds() throws IOException {
        long pid = karaf.process().orElseThrow(() -> new AssertionError("Karaf JVM not running")).pid();
        long rss = -1;
        for (String l : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            if (l.startsWith("VmRSS:")) {
                rss = Long.parseLong(l.replaceAll("[^0-9]", ""));
            }
        }
        long fds;
        try (var s = Files.list(Path.of("/proc", Long.toString(pid), "fd"))) {
            fds = s.count();
        }
        return new long[] {rss, fds};
    }

    // ------------------------------------------------------------------ clean-up

    /** Removes every host resource of the reliability tests, including our dockerd and PostgreSQL. */
    static void sweep() {
        // our dockerd first (SIGTERM, so containerd and shims end with it), then everything named orch-rl
        Path pidFile = DOCKER_ROOT.resolve("dockerd.pid");
        if (Files.exists(pidFile)) {
            try {
                Host.run("kill", Files.readString(pidFile).trim());
                for (int i = 0; i < 100 && Files.exists(pidFile); i++) {
                    Thread.sleep(200);
                }
            } catch (IOException | InterruptedException e) {
                // best effort
            }
        }
        if (Files.exists(PG_ROOT.resolve("data/postmaster.pid"))) {
            Host.run(60, "runuser", "-u", "postgres", "--", pgBin("pg_ctl").toString(), "-D", PG_ROOT.resolve("data").toString(),
                "-m", "immediate", "-w", "stop");
        }
        Host.sweep(PREFIX);
        // a dnsmasq (and its hook helper) of an earlier run whose JVM was killed: its command line names our Karaf home
        Path home = Path.of(System.getProperty("itests.work.dir", "target/it-work")).toAbsolutePath().resolve(KARAF_NAME);
        // an H2 folder left immutable by an interrupted run could not even be deleted
        thaw(home.resolve("data/orchestrator"));
        for (String line : Host.lines("pgrep", "-f", "karaf.home=" + home + " ")) {
            Host.run("kill", "-9", line.split(" ", 2)[0]);
        }
        for (String line : Host.lines("pgrep", "-af", home.resolve("data/dnsmasq").toString())) {
            String pid = line.split(" ", 2)[0];
            if (!pid.equals(Long.toString(ProcessHandle.current().pid()))) {
                Host.run("kill", "-9", pid);
            }
        }
        for (String mount : Host.lines("awk", "{print $2}", "/proc/mounts")) {
            if (mount.startsWith(DOCKER_ROOT.toString()) || mount.startsWith(PG_ROOT.toString())) {
                Host.run("umount", "-l", mount);
            }
        }
        Host.run(120, "rm", "-rf", DOCKER_ROOT.toString(), PG_ROOT.toString());
        Host.run("rm", "-f", "/tmp/orch-rl-pwned");
    }

    @Override
    public void close() throws Exception {
        try {
            karaf.stop(Duration.ofSeconds(60));
        } finally {
            try {
                stopDockerd();
                stopPostgres();
            } finally {
                sweep();
            }
        }
    }

    static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new java.security.SecureRandom().nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }

    static String tail(Path file) {
        try {
            List<String> lines = Files.readAllLines(file, StandardCharsets.ISO_8859_1);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 20), lines.size()));
        } catch (IOException e) {
            return "(no " + file + ")";
        }
    }
}
