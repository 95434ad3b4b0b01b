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

        // A pin reaches the external dnsmasq through SIGHUP (externalPidFile).
        Inet6Address pinned = Identifiers.ipv6("fd00:71:1::1bcd");
        component.pin(new Reservation(added.lease().duid(), added.lease().iaid(), pinned, null, null));
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

    private Process startExternal(Path run, Path pidFile) throws IOException {
        return new ProcessBuilder("/usr/sbin/dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--port=0",
                "--interface=" + NetLab.BRIDGE, "--bind-interfaces", "--except-interface=lo", "--log-facility=-",
                "--dhcp-range=fd00:71:1::1000,fd00:71:1::1fff,64,600", "--enable-ra", "--pid-file=" + pidFile,
                "--dhcp-script=" + run.resolve("dnsmasq-hook"), "--script-on-renewal", "--leasefile-ro",
                "--dhcp-hostsfile=" + run.resolve("dhcp-hosts"))
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(dir.resolve("external.log").toFile())).start();
    }

    @Test
    void dnsPublishesTheInstanceOfAPinnedClient() throws Exception {
        Map<String, Object> c = config();
        c.put("dnsPort", 53053);
        c.put("domain", "odq.test");
        component = new DnsmasqDhcpSource(sink, TestConfigs.config(c));
        Inet6Address instance = Identifiers.ipv6("fd00:71:2::beef");
        component.pin(new Reservation(org.orchestrator.api.lease.Duid.parse("00:03:00:01:02:00:00:00:00:09"), 9,
                Identifiers.ipv6("fd00:71:1::1999"), "web1", instance));
        assertThat(Files.readString(dir.resolve("run/addn-hosts"))).contains(Identifiers.format(instance) + " web1.odq.test");
        byte[] answer = null;
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            answer = queryAaaa("web1.odq.test", new InetSocketAddress(Identifiers.ipv6("fd00:71:1::1"), 53053));
            if (answer != null && indexOf(answer, instance.getAddress()) >= 0) {
                break;
            }
            Thread.sleep(200);
        }
        assertThat(answer).as("DNS answer").isNotNull();
        assertThat(indexOf(answer, instance.getAddress())).as("AAAA of the instance in the answer").isPositive();
        component.unpin(org.orchestrator.api.lease.Duid.parse("00:03:00:01:02:00:00:00:00:09"));
        assertThat(Files.readString(dir.resolve("run/addn-hosts"))).doesNotContain("web1");
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
