package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.Reservation;

/** Configuration changes, removal, external mode and DNS, with real dnsmasq and clients. */
@Timeout(180)
class ModesAndDnsTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private Path dir;
    private RecordingSink sink;
    private NetLab lab;
    private DnsmasqDhcpSource component;
    private Process external;

    @BeforeAll
    static void tools() throws IOException {
        NetLab.requireTools();
        NetLab.sweep();
    }

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "orch-dq-it-");
        Files2.directory(dir, Files2.OPEN_DIR);
        sink = new RecordingSink();
        lab = new NetLab(dir);
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            if (external != null) {
                external.destroyForcibly();
            }
            if (component != null) {
                component.deactivate(2);
            }
        } finally {
            lab.close();
            NetLab.sweep();
        }
    }

    private Map<String, Object> config() {
        Map<String, Object> c = new HashMap<>();
        c.put("dhcp_source_name", "odq-lab");
        c.put("interfaceName", NetLab.BRIDGE);
        c.put("listenAddress", "fd00:71:1::1");
        c.put("leaseTime", 600L);
        c.put("runFolder", dir.resolve("run").toString());
        c.put("restartBackoffMinMillis", 200L);
        return c;
    }

    private static List<Long> dnsmasqPidsUsing(Path confOrDir) throws IOException {
        List<Long> pids = new ArrayList<>();
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.ISO_8859_1);
                    if (cmd.startsWith("/usr/sbin/dnsmasq") && cmd.contains(confOrDir.toString())) {
                        pids.add(Long.parseLong(p.getFileName().toString()));
                    }
                } catch (IOException e) {
                    // gone
                }
            }
        }
        return pids;
    }

    @Test
    void aConfigurationChangeRestartsDnsmasqAndDeletionLeavesNothingBehind() throws Exception {
        component = new DnsmasqDhcpSource(sink, TestConfigs.config(config()));
        long pid1 = component.current().supervisor().pid().orElseThrow();
        Map<String, Object> changed = config();
        changed.put("leaseTime", 900L);
        component.modified(TestConfigs.config(changed));
        long pid2 = component.current().supervisor().pid().orElseThrow();
        assertThat(pid2).isNotEqualTo(pid1);
        assertThat(ProcessHandle.of(pid1).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertThat(Files.readString(dir.resolve("run/dnsmasq.conf"))).contains(",64,900\n");
        // dnsmasq forks a helper that runs the script; it shares the command line.
        assertThat(dnsmasqPidsUsing(dir)).isNotEmpty().allMatch(p -> p == pid2
                || ProcessHandle.of(p).flatMap(ProcessHandle::parent).map(ProcessHandle::pid).orElse(-1L) == pid2);

        // The bridge vanishes and dnsmasq dies: the supervisor creates the bridge again and restarts.
        NetLab.check("ip", "link", "del", "dev", NetLab.BRIDGE);
        ProcessHandle.of(pid2).orElseThrow().destroyForcibly();
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline && component.current().supervisor().pid().filter(p -> p != pid2).isEmpty()) {
            Thread.sleep(100);
        }
        assertThat(component.current().supervisor().pid()).isPresent().get().isNotEqualTo(pid2);
        assertThat(NetLab.sh("ip", "-6", "-o", "addr", "show", "dev", NetLab.BRIDGE)).contains("fd00:71:1::1/64");

        String ns = lab.device(1);
        lab.dhcpcd(ns);
        LeaseEvent added = sink.await(e -> e.type() == LeaseEventType.ADDED, WAIT, "lease under the new settings");
        assertThat(Duration.between(Instant.now(), added.lease().expiresAt())).isBetween(Duration.ofSeconds(840), Duration.ofSeconds(901));

        component.deactivate(2);
        component = null;
        assertThat(dnsmasqPidsUsing(dir)).isEmpty();
        assertThat(dir.resolve("run")).doesNotExist();
        assertThat(NetLab.sh("ip", "-o", "link", "show", "dev", NetLab.BRIDGE)).doesNotContain("state");
    }

    @Test
    void externalModeTakesEventsFromTheOperatorsDnsmasq() throws Exception {
        NetLab.check("ip", "link", "add", "name", NetLab.BRIDGE, "type", "bridge");
        NetLab.check("ip", "-6", "addr", "add", "fd00:71:1::1/64", "dev", NetLab.BRIDGE, "nodad");
        NetLab.check("ip", "link", "set", NetLab.BRIDGE, "up");
        Map<String, Object> c = config();
        c.put("mode", "external");
        Path pidFile = dir.resolve("external.pid");
        c.put("externalPidFile", pidFile.toString());
        component = new DnsmasqDhcpSource(sink, TestConfigs.config(c));
        assertThat(component.current().supervisor()).isNull();
        Path run = dir.resolve("run");
        assertThat(run.resolve("dnsmasq-hook")).isExecutable();
        // The flags the documentation asks the operator to add.
        external = startExternal(run, pidFile);

        String ns = lab.device(1);
        lab.dhclient(ns);
        LeaseEvent added = sink.await(e -> e.type() == LeaseEventType.ADDED, WAIT, "lease from the external dnsmasq");
        assertThat(NetLab.globalAddresses(ns)).extracting(a -> Identifiers.ipv6(a)).contains(added.lease().address());

        // A pin reaches the external dnsmasq through its hosts file and a debounced SIGHUP (externalPidFile).
        Inet6Address pinned = Identifiers.ipv6("fd00:71:1::1bcd");
        Debouncer reloader = component.current().reloader();
        int requests = reloader.requests();
        component.pin(new Reservation(added.lease().duid(), added.lease().iaid(), pinned, null, null));
        assertThat(Files.readString(run.resolve("dhcp-hosts"))).contains("id:" + added.lease().duid().value() + ",[fd00:71:1::1bcd]\n");
        assertThat(run.resolve("hosts.d")).doesNotExist();
        assertThat(reloader.requests()).isEqualTo(requests + 1);
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (reloader.pending() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(reloader.pending()).as("the debounced SIGHUP was sent").isFalse();
        Thread.sleep(300); // dnsmasq handles SIGHUP asynchronously; the assertion below polls anyway
        lab.dhclientRelease(ns);
        lab.dhclient(ns);
        sink.await(e -> e.type() == LeaseEventType.ADDED && e.lease().address().equals(pinned), WAIT, "pinned address");

        // The operator restarts dnsmasq: init from the store restores the lease (replayed as "old").
        external.destroy();
        external.waitFor();
        int before = sink.events().size();
        external = startExternal(run, pidFile);
        sink.awaitAll(ev -> ev.subList(before, ev.size()).stream()
                .anyMatch(e -> e.type() == LeaseEventType.RENEWED && e.lease().address().equals(pinned)), WAIT, "replay");
    }

    private static void awaitRuns(Debouncer reloader, int runs) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (reloader.runs() < runs && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(reloader.runs()).as("debounced reloads").isEqualTo(runs);
    }

    @Test
    void externalModeWithHostsDirsNeedsNoSighupForNewPins() throws Exception {
        NetLab.check("ip", "link", "add", "name", NetLab.BRIDGE, "type", "bridge");
        NetLab.check("ip", "-6", "addr", "add", "fd00:71:1::1/64", "dev", NetLab.BRIDGE, "nodad");
        NetLab.check("ip", "link", "set", NetLab.BRIDGE, "up");
        Map<String, Object> c = config();
        c.put("mode", "external");
        c.put("externalHostsDirs", true);
        c.put("reloadDelayMillis", 300L);
        Path pidFile = dir.resolve("external.pid");
        c.put("externalPidFile", pidFile.toString());
        component = new DnsmasqDhcpSource(sink, TestConfigs.config(c));
        Path run = dir.resolve("run");
        assertThat(run.resolve("hosts.d")).isDirectory();
        assertThat(run.resolve("dhcp-hosts")).doesNotExist();
        external = startExternalWithHostsDir(run, pidFile);
        long externalPid = external.pid();

        String ns = lab.device(1);
        lab.dhclient(ns);
        LeaseEvent added = sink.await(e -> e.type() == LeaseEventType.ADDED, WAIT, "lease from the external dnsmasq");
        Inet6Address pinned = Identifiers.ipv6("fd00:71:1::1bce");
        component.pin(new Reservation(added.lease().duid(), added.lease().iaid(), pinned, null, null));
        assertThat(Files.readString(run.resolve("hosts.d").resolve(PinFiles.fileName(added.lease().duid()))))
                .isEqualTo("id:" + added.lease().duid().value() + ",[fd00:71:1::1bce]\n");
        lab.dhclientRelease(ns);
        lab.dhclient(ns);
        sink.await(e -> e.type() == LeaseEventType.ADDED && e.lease().address().equals(pinned), WAIT, "pinned address");
        Debouncer reloader = component.current().reloader();
        Thread.sleep(600);
        assertThat(reloader.requests()).as("a new pin asks for no SIGHUP").isZero();
        assertThat(reloader.runs()).isZero();
        assertThat(sink.events()).as("no replay").noneMatch(e -> e.type() == LeaseEventType.RENEWED);

        // An unpin does: one debounced SIGHUP, and the operator's dnsmasq replays its lease.
        component.unpin(added.lease().duid());
        awaitRuns(reloader, 1);
        sink.await(e -> e.type() == LeaseEventType.RENEWED && e.lease().address().equals(pinned), WAIT, "replay after the SIGHUP");
        assertThat(external.isAlive()).isTrue();
        assertThat(external.pid()).isEqualTo(externalPid);
    }

    private Process startExternal(Path run, Path pidFile) throws IOException {
        return startExternal(pidFile, "--dhcp-script=" + run.resolve("dnsmasq-hook"), "--dhcp-hostsfile=" + run.resolve("dhcp-hosts"));
    }

    private Process startExternalWithHostsDir(Path run, Path pidFile) throws IOException {
        return startExternal(pidFile, "--dhcp-script=" + run.resolve("dnsmasq-hook"), "--dhcp-hostsdir=" + run.resolve("hosts.d"));
    }

    /** The operator's dnsmasq with the flags the documentation asks for. */
    private Process startExternal(Path pidFile, String script, String hosts) throws IOException {
        return new ProcessBuilder("/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                "--interface=" + NetLab.BRIDGE, "--bind-interfaces", "--except-interface=lo", "--log-facility=-",
                "--dhcp-range=fd00:71:1::1000,fd00:71:1::1fff,64,600", "--enable-ra", "--pid-file=" + pidFile,
                script, "--script-on-renewal", "--leasefile-ro", hosts)
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("external.log").toFile())).start();
    }

    @Test
    void dnsPublishesTheInstanceOfAPinnedClientWithoutSighup() throws Exception {
        Map<String, Object> c = config();
        c.put("dnsPort", 53053);
        c.put("domain", "odq.test");
        // Long enough that the unpin's reload cannot be what removes the DNS record.
        c.put("reloadDelayMillis", 5000L);
        component = new DnsmasqDhcpSource(sink, TestConfigs.config(c));
        org.orchestrator.api.lease.Duid duid = org.orchestrator.api.lease.Duid.parse("00:03:00:01:02:00:00:00:00:09");
        Path dnsFile = dir.resolve("run/dns.d").resolve(PinFiles.fileName(duid));
        InetSocketAddress server = new InetSocketAddress(Identifiers.ipv6("fd00:71:1::1"), 53053);
        Inet6Address instance = Identifiers.ipv6("fd00:71:2::beef");
        component.pin(new Reservation(duid, 9, Identifiers.ipv6("fd00:71:1::1999"), "web1", instance));
        assertThat(Files.readString(dnsFile)).isEqualTo(Identifiers.format(instance) + " web1.odq.test\n");
        assertThat(awaitAnswer("web1.odq.test", server, instance)).as("AAAA of the instance in the answer").isTrue();

        // A new instance address replaces the record; dnsmasq's --hostsdir drops the old one by itself.
        Inet6Address moved = Identifiers.ipv6("fd00:71:2::cafe");
        component.pin(new Reservation(duid, 9, Identifiers.ipv6("fd00:71:1::1999"), "web1", moved));
        assertThat(awaitAnswer("web1.odq.test", server, moved)).as("AAAA of the new instance address").isTrue();
        assertThat(indexOf(queryAaaa("web1.odq.test", server), instance.getAddress())).as("old address gone").isNegative();

        component.unpin(duid);
        assertThat(dnsFile).doesNotExist();
        long deadline = System.nanoTime() + WAIT.toNanos();
        byte[] answer = queryAaaa("web1.odq.test", server);
        while (System.nanoTime() < deadline && (answer == null || indexOf(answer, moved.getAddress()) >= 0)) {
            Thread.sleep(200);
            answer = queryAaaa("web1.odq.test", server);
        }
        assertThat(answer).as("DNS answer").isNotNull();
        assertThat(indexOf(answer, moved.getAddress())).as("no AAAA after the unpin").isNegative();
        assertThat(component.current().supervisor().hangups()).as("DNS records changed without SIGHUP").isZero();
        // Only the unpin's DHCP record asks for a reload; the DNS changes needed none.
        assertThat(component.current().reloader().requests()).isEqualTo(1);
    }

    /** Queries until the answer holds {@code address} (bounded). */
    private static boolean awaitAnswer(String name, InetSocketAddress server, Inet6Address address) throws Exception {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            byte[] answer = queryAaaa(name, server);
            if (answer != null && indexOf(answer, address.getAddress()) >= 0) {
                return true;
            }
            Thread.sleep(200);
        }
        return false;
    }

    private static byte[] queryAaaa(String name, InetSocketAddress server) throws IOException {
        ByteArrayOutputStream q = new ByteArrayOutputStream();
        q.writeBytes(new byte[] {0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0});
        for (String label : name.split("\\.")) {
            q.write(label.length());
            q.writeBytes(label.getBytes(StandardCharsets.US_ASCII));
        }
        q.writeBytes(new byte[] {0, 0, 28, 0, 1});
        try (DatagramSocket s = new DatagramSocket()) {
            s.setSoTimeout(1000);
            byte[] req = q.toByteArray();
            s.send(new DatagramPacket(req, req.length, server));
            byte[] buf = new byte[512];
            DatagramPacket p = new DatagramPacket(buf, buf.length);
            try {
                s.receive(p);
            } catch (java.net.SocketTimeoutException e) {
                return null;
            }
            return java.util.Arrays.copyOf(buf, p.getLength());
        }
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
