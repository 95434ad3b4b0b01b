package org.orchestrator.network.pipework;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;
import static org.orchestrator.network.pipework.TestHost.attempt;
import static org.orchestrator.network.pipework.TestHost.eventually;
import static org.orchestrator.network.pipework.TestHost.sh;

import java.io.IOException;
import java.io.OutputStream;
import java.net.Inet6Address;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;

import com.sun.net.httpserver.HttpServer;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.network.pipework.NftIsolation.Pair;

/**
 * The attacher against the real kernel, as root: a device bridge with two device namespaces, an
 * instance bridge made by the plugin, a Docker container and plain namespaces as instances,
 * HTTP across the isolation rules, 50 attach/detach cycles, injected failures and DHCPv6 from a
 * dnsmasq on the instance bridge. Everything is named {@code orch-pw-*} / {@code opw*} and
 * removed afterwards, also on failure.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PipeworkAttacherRootTest {

    private static final String DEV_BRIDGE = "opw-dev0";
    private static final Ipv6Prefix DEV_PREFIX = Ipv6Prefix.parse("fd00:70:ff::/64");
    private static final Inet6Address DEV_HOST = Identifiers.ipv6("fd00:70:ff::1");
    private static final String DEV1 = "orch-pw-dev1";
    private static final String DEV2 = "orch-pw-dev2";
    private static final Inet6Address DEV1_ADDR = Identifiers.ipv6("fd00:70:ff::11");
    private static final Inet6Address DEV2_ADDR = Identifiers.ipv6("fd00:70:ff::12");
    private static final Duid CLIENT = Duid.parse("00:01:00:01:aa:bb:cc:dd");
    private static final Duration REACH = Duration.ofSeconds(15);

    private Path temp;
    private InMemoryAddressPool pool;
    private PipeworkAttacher attacher;
    private final List<Process> servers = new ArrayList<>();

    @BeforeAll
    void setUpHost() throws IOException {
        String missing = TestHost.missingPrerequisite();
        if (missing != null) {
            fail("cannot run the pipework integration tests: " + missing);
        }
        TestHost.sweep();
        temp = Files.createTempDirectory("orch-pw-");
        sh("ip", "link", "add", "name", DEV_BRIDGE, "type", "bridge");
        sh("sysctl", "-q", "-w", "net.ipv6.conf." + DEV_BRIDGE + ".accept_dad=0");
        sh("ip", "-6", "addr", "add", Addresses.text(DEV_HOST) + "/64", "dev", DEV_BRIDGE, "nodad");
        sh("ip", "link", "set", "dev", DEV_BRIDGE, "up");
        device(DEV1, "opw-d1", DEV1_ADDR);
        device(DEV2, "opw-d2", DEV2_ADDR);
        pool = new InMemoryAddressPool();
        attacher = new PipeworkAttacher(staticSettings(), TestHost.RUNNER, pool, HostShortcuts.live(Duration.ofSeconds(10)));
        attacher.start();
    }

    @AfterAll
    void cleanUpHost() {
        if (attacher != null) {
            attacher.close();
        }
        stopServers();
        TestHost.sweep();
        if (temp != null) {
            TestHost.deleteTree(temp);
        }
    }

    @AfterEach
    void stopServers() {
        for (Process p : servers) {
            p.destroyForcibly();
        }
        servers.clear();
    }

    private PipeworkSettings staticSettings() {
        Ipv6Prefix prefix = Ipv6Prefix.parse("fd00:70:1::/64");
        return new PipeworkSettings("orch-pw-net", "opw-br0", prefix, PipeworkSettings.defaultGateway(prefix), "eth1", 1500,
                MacScheme.HASH, Addressing.STATIC, true, DEV_BRIDGE, DEV_PREFIX, "opw", "orch-pw-net",
                temp.resolve("net"), Duration.ofSeconds(20), true);
    }

    private static void device(String ns, String hostEnd, Inet6Address address) {
        sh("ip", "netns", "add", ns);
        sh("ip", "link", "add", hostEnd, "type", "veth", "peer", "name", "eth0", "netns", ns);
        sh("ip", "link", "set", "dev", hostEnd, "master", DEV_BRIDGE, "up");
        sh("ip", "netns", "exec", ns, "sysctl", "-q", "-w", "net.ipv6.conf.eth0.accept_dad=0");
        sh("ip", "-n", ns, "link", "set", "dev", "lo", "up");
        sh("ip", "-n", ns, "-6", "addr", "add", Addresses.text(address) + "/64", "dev", "eth0", "nodad");
        sh("ip", "-n", ns, "link", "set", "dev", "eth0", "up");
        sh("ip", "-n", ns, "-6", "route", "add", "default", "via", Addresses.text(DEV_HOST), "dev", "eth0");
    }

    // ------------------------------------------------------------------ tests

    @Test
    @Order(1)
    void containerAndNamespaceAreReachableOnlyFromTheirOwnDevice() throws Exception {
        long pid = startContainer("orch-pw-c1");
        NetnsHandle c1 = NetnsHandle.ofPid(pid);
        NetnsHandle i2 = plainInstance("orch-pw-i2", "plain namespace orch-pw-i2");

        Attachment a1 = attacher.attach(new AttachRequest("c1", CLIENT, c1, DEV1_ADDR));
        Attachment a2 = attacher.attach(new AttachRequest("i2", CLIENT, i2, DEV2_ADDR));

        assertThat(a1.address()).isNotEqualTo(a2.address());
        assertThat(List.of(a1.address(), a2.address())).allMatch(attacher.settings().prefix()::contains);
        assertThat(a1.hostInterface()).startsWith("opw").hasSizeLessThanOrEqualTo(15).isEqualTo(attacher.settings().hostInterface("c1"));
        assertThat(a1.interfaceName()).isEqualTo("eth1");
        assertThat(a1.gateway()).isEqualTo(Identifiers.ipv6("fd00:70:1::1"));
        assertThat(inside(c1, "ip", "-o", "link", "show", "dev", "eth1")).contains(a1.mac().value()).contains("mtu 1500");
        assertThat(inside(c1, "ip", "-6", "route", "show", "default")).contains("via fd00:70:1::1 dev eth1");
        assertThat(sh("bridge", "-d", "link", "show", "dev", a1.hostInterface())).contains("master opw-br0").contains("isolated on");
        assertThat(sh("ip", "-o", "link", "show", "dev", a1.hostInterface())).contains("alias orchestrator net=orch-pw-net id=c1");

        // each device reaches its own instance
        assertThat(eventually(REACH, () -> fetch(DEV1, a1.address(), 80).contains("Hello, device"))).as("dev1 -> c1").isTrue();
        assertThat(eventually(REACH, () -> fetch(DEV2, a2.address(), 80).contains("plain namespace orch-pw-i2"))).as("dev2 -> i2").isTrue();
        // but not the other's
        assertThat(fetch(DEV2, a1.address(), 80)).as("dev2 -> c1").isEmpty();
        assertThat(fetch(DEV1, a2.address(), 80)).as("dev1 -> i2").isEmpty();
        // instances cannot reach each other
        assertThat(fetchFrom(c1, a2.address(), 80)).as("c1 -> i2").isEmpty();
        assertThat(fetchFrom(i2, a1.address(), 80)).as("i2 -> c1").isEmpty();

        // nor a port on the host, which devices can reach
        HttpServer host = hostListener(a1.gateway());
        try {
            int port = host.getAddress().getPort();
            assertThat(eventually(REACH, () -> fetch(DEV1, a1.gateway(), port).contains("host listener"))).as("dev1 -> host").isTrue();
            assertThat(fetchFrom(i2, a1.gateway(), port)).as("i2 -> host").isEmpty();
            assertThat(fetchFrom(c1, a1.gateway(), port)).as("c1 -> host").isEmpty();
        } finally {
            host.stop(0);
        }
        assertThat(attacher.list()).extracting(Attachment::instanceId, Attachment::address, Attachment::peer)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("c1", a1.address(), DEV1_ADDR),
                        org.assertj.core.groups.Tuple.tuple("i2", a2.address(), DEV2_ADDR));

        // idempotent attach; a new peer moves the rule
        assertThat(attacher.attach(new AttachRequest("c1", CLIENT, c1, DEV1_ADDR))).isEqualTo(a1);
        // also without the plugin's record, when attach finds the link by trying to create it
        Files.delete(attacher.settings().stateDirectory().resolve("instances").resolve("c1.properties"));
        assertThat(attacher.attach(new AttachRequest("c1", CLIENT, c1, DEV1_ADDR))).isEqualTo(a1);
        assertThat(pairs()).containsExactlyInAnyOrder(new Pair(DEV1_ADDR, a1.address()), new Pair(DEV2_ADDR, a2.address()));
        assertThat(pool.allocations("orch-pw-net")).containsEntry("c1", a1.address());
        Attachment moved = attacher.attach(new AttachRequest("c1", CLIENT, c1, DEV2_ADDR));
        assertThat(moved.address()).isEqualTo(a1.address());
        assertThat(moved.peer()).isEqualTo(DEV2_ADDR);
        assertThat(pairs()).containsExactlyInAnyOrder(new Pair(DEV2_ADDR, a1.address()), new Pair(DEV2_ADDR, a2.address()));
        assertThat(eventually(REACH, () -> fetch(DEV2, a1.address(), 80).contains("Hello"))).as("dev2 -> c1 after move").isTrue();
        assertThat(fetch(DEV1, a1.address(), 80)).as("dev1 -> c1 after move").isEmpty();

        // repair: address and route removed behind the plugin's back come back
        inside(c1, "ip", "-6", "addr", "del", Addresses.text(a1.address()) + "/64", "dev", "eth1");
        assertThat(attacher.attach(new AttachRequest("c1", CLIENT, c1, DEV2_ADDR))).isEqualTo(moved);
        assertThat(inside(c1, "ip", "-6", "addr", "show", "dev", "eth1")).contains(Addresses.text(a1.address()) + "/64");
        assertThat(inside(c1, "ip", "-6", "route", "show", "default")).contains("via fd00:70:1::1");
        // a table deleted behind the plugin's back comes back with every pair
        sh("nft", "delete", "table", "inet", "orch-pw-net");
        assertThat(attacher.attach(new AttachRequest("c1", CLIENT, c1, DEV2_ADDR))).isEqualTo(moved);
        assertThat(pairs()).containsExactlyInAnyOrder(new Pair(DEV2_ADDR, a1.address()), new Pair(DEV2_ADDR, a2.address()));

        // restart: a new attacher finds the attachments on the host and rebuilds the rules
        attacher.close();
        assertThat(attempt("nft", "list", "table", "inet", "orch-pw-net").ok()).as("table removed on close").isFalse();
        attacher = new PipeworkAttacher(staticSettings(), TestHost.RUNNER, pool, HostShortcuts.live(Duration.ofSeconds(10)));
        attacher.start();
        assertThat(attacher.list()).extracting(Attachment::instanceId, Attachment::address, Attachment::peer)
                .containsExactlyInAnyOrder(org.assertj.core.groups.Tuple.tuple("c1", a1.address(), DEV2_ADDR),
                        org.assertj.core.groups.Tuple.tuple("i2", a2.address(), DEV2_ADDR));
        assertThat(pairs()).containsExactlyInAnyOrder(new Pair(DEV2_ADDR, a1.address()), new Pair(DEV2_ADDR, a2.address()));
        assertThat(eventually(REACH, () -> fetch(DEV2, a1.address(), 80).contains("Hello"))).as("dev2 -> c1 after restart").isTrue();
        assertThat(fetch(DEV1, a1.address(), 80)).as("dev1 -> c1 after restart").isEmpty();

        // detach removes everything, is idempotent and works when the instance is gone
        attacher.detach("c1");
        attacher.detach("i2");
        assertThat(attempt("ip", "link", "show", "dev", a1.hostInterface()).ok()).isFalse();
        assertThat(attempt("ip", "link", "show", "dev", a2.hostInterface()).ok()).isFalse();
        assertThat(attempt(inside2(i2, "ip", "link", "show", "dev", "eth1")).ok()).as("eth1 left in i2").isFalse();
        assertThat(sh("ip", "netns", "exec", "orch-pw-i2", "ip", "-6", "route", "show")).doesNotContain("fd00:70:1");
        assertThat(sh("ip", "-6", "addr", "show")).doesNotContain(Addresses.text(a1.address()) + "/");
        assertThat(pairs()).isEmpty();
        assertThat(pool.allocations("orch-pw-net")).isEmpty();
        assertThat(attacher.list()).isEmpty();
        attacher.detach("c1");
        sh("docker", "rm", "-f", "orch-pw-c1");
        attacher.detach("c1");
    }

    @Test
    @Order(2)
    void fiftyAttachDetachCyclesLeakNothing() throws Exception {
        NetnsHandle ns = plainInstance("orch-pw-cyc", "cycles");
        String before = snapshot("orch-pw-cyc");
        Inet6Address first = null;
        for (int i = 0; i < 50; i++) {
            Attachment a = attacher.attach(new AttachRequest("cyc", CLIENT, ns, DEV1_ADDR));
            if (first == null) {
                first = a.address();
                assertThat(eventually(REACH, () -> fetch(DEV1, a.address(), 80).contains("cycles"))).isTrue();
            }
            assertThat(a.address()).isEqualTo(first);
            assertThat(pairs()).containsExactly(new Pair(DEV1_ADDR, a.address()));
            attacher.detach("cyc");
        }
        assertThat(snapshot("orch-pw-cyc")).isEqualTo(before);
        assertThat(pool.allocations("orch-pw-net")).isEmpty();
    }

    @Test
    @Order(3)
    void failuresHalfwayThroughAttachAreRolledBack() throws Exception {
        String host = attacher.settings().hostInterface("broken");

        // the namespace vanishes between creating the veth and configuring inside it
        NetnsHandle vanishing = plainInstance("orch-pw-gone", "gone");
        stopServers();
        CommandRunner deleting = (command, stdin) -> {
            if (command.get(0).equals("nsenter") && command.contains("sysctl")) {
                TestHost.RUNNER.check("ip", "netns", "del", "orch-pw-gone");
            }
            return TestHost.RUNNER.run(command, stdin);
        };
        PipeworkAttacher flaky = new PipeworkAttacher(staticSettings(), deleting, pool);
        assertThatThrownBy(() -> flaky.attach(new AttachRequest("broken", CLIENT, vanishing, DEV1_ADDR)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("nsenter");
        assertNothingLeft(host);

        // a failure after the veth is in place (the default route) is undone as well
        NetnsHandle ns = plainInstance("orch-pw-fail", "fail");
        List<String> seen = new ArrayList<>();
        CommandRunner failing = (command, stdin) -> {
            seen.add(String.join(" ", command) + (stdin == null ? "" : "\n" + stdin));
            if (stdin != null && stdin.contains("route replace default")) {
                assertThat(attempt("ip", "link", "show", "dev", host).ok()).as("veth exists before the failing step").isTrue();
                throw new NetworkException("injected failure at " + command, false);
            }
            return TestHost.RUNNER.run(command, stdin);
        };
        PipeworkAttacher failer = new PipeworkAttacher(staticSettings(), failing, pool);
        assertThatThrownBy(() -> failer.attach(new AttachRequest("broken", CLIENT, ns, DEV1_ADDR)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("injected failure");
        assertThat(seen).anyMatch(c -> c.startsWith("ip -batch -\nlink add " + host));
        assertNothingLeft(host);
        assertThat(attempt(inside2(ns, "ip", "link", "show", "dev", "eth1")).ok()).as("eth1 left in the namespace").isFalse();

        // a line of the host batch that really fails after the link is made (no such bridge): the
        // error names the line, and the link and the address are gone
        PipeworkSettings s = staticSettings();
        PipeworkSettings noBridge = new PipeworkSettings(s.network(), "opw-nobr", s.prefix(), s.gateway(), s.interfaceName(),
                s.mtu(), s.macScheme(), s.addressing(), s.isolation(), s.deviceInterface(), s.devicePrefix(), s.vethPrefix(),
                s.nftTable(), s.stateDirectory(), s.dhcpTimeout(), false);
        assertThatThrownBy(() -> new PipeworkAttacher(noBridge, TestHost.RUNNER, pool)
                .attach(new AttachRequest("broken", CLIENT, ns, DEV1_ADDR)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("[ip, -batch, -]")
                .hasMessageContaining("at line 3 of 5 (link set dev " + host + " master opw-nobr)")
                .hasMessageContaining("opw-nobr");
        assertNothingLeft(host);
        assertThat(attempt(inside2(ns, "ip", "link", "show", "dev", "eth1")).ok()).as("eth1 left in the namespace").isFalse();

        // a pid that does not exist: nothing is created, nothing allocated
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        assertThatThrownBy(() -> attacher.attach(new AttachRequest("broken", CLIENT, NetnsHandle.ofPid(gone.pid()), DEV1_ADDR)))
                .isInstanceOf(NetworkException.class).hasMessageContaining("does not exist");
        assertNothingLeft(host);
        // a failing command's stderr reaches the exception
        assertThatThrownBy(() -> TestHost.RUNNER.check("ip", "link", "show", "dev", "opw-nosuch"))
                .isInstanceOf(NetworkException.class).hasMessageContaining("[ip, link, show, dev, opw-nosuch]")
                .hasMessageContaining("does not exist");
    }

    @Test
    @Order(4)
    void dhcpModeTakesTheAddressFromDnsmasqOnTheBridge() throws Exception {
        Ipv6Prefix prefix = Ipv6Prefix.parse("fd00:70:2::/64");
        PipeworkSettings settings = new PipeworkSettings("orch-pw-dhcp", "opw-br1", prefix, PipeworkSettings.defaultGateway(prefix),
                "eth1", 1500, MacScheme.HASH, Addressing.DHCP, true, DEV_BRIDGE, null, "opw", "orch-pw-dhcp",
                temp.resolve("dhcp"), Duration.ofSeconds(30), true);
        PipeworkAttacher dhcp = new PipeworkAttacher(settings, TestHost.RUNNER, pool);
        String resolvBefore = digest(Path.of("/etc/resolv.conf"));
        Path leases = temp.resolve("dnsmasq.leases");
        try {
            dhcp.start();
            Process dnsmasq = new ProcessBuilder("dnsmasq", "--keep-in-foreground", "--log-facility=-", "--conf-file=/dev/null", "--port=0", "--user=root",
                    "--bind-interfaces", "--interface=opw-br1", "--dhcp-range=fd00:70:2::100,fd00:70:2::1ff,64,10m",
                    "--dhcp-leasefile=" + leases, "--pid-file=" + temp.resolve("dnsmasq.pid"), "--log-dhcp")
                    .redirectErrorStream(true).redirectOutput(temp.resolve("dnsmasq.log").toFile()).start();
            servers.add(dnsmasq);
            assertThat(eventually(Duration.ofSeconds(10), () -> Files.exists(temp.resolve("dnsmasq.pid"))))
                    .as("dnsmasq started: %s", read(temp.resolve("dnsmasq.log"))).isTrue();

            Files.createDirectories(Path.of("/etc/netns/orch-pw-d1"));
            Files.writeString(Path.of("/etc/netns/orch-pw-d1/resolv.conf"), "");
            NetnsHandle d1 = plainInstance("orch-pw-d1", "dhcp instance");
            Attachment a = dhcp.attach(new AttachRequest("d1", CLIENT, d1, DEV1_ADDR));

            BigIntegerRange range = new BigIntegerRange(prefix, 0x100, 0x1ff);
            assertThat(range.contains(a.address())).as("address %s from the dnsmasq range", a.address()).isTrue();
            assertThat(eventually(Duration.ofSeconds(5), () -> read(leases).contains(Addresses.text(a.address()))))
                    .as("dnsmasq lease file names %s: %s", a.address(), read(leases)).isTrue();
            assertThat(pool.allocations("orch-pw-dhcp")).isEmpty();
            assertThat(eventually(REACH, () -> fetch(DEV1, a.address(), 80).contains("dhcp instance"))).as("dev1 -> d1").isTrue();
            assertThat(fetch(DEV2, a.address(), 80)).as("dev2 -> d1").isEmpty();
            assertThat(dhcp.list()).extracting(Attachment::address).containsExactly(a.address());

            // a restarted plugin adopts the running client and finds the attachment
            long clientPid = dhcpClientPid(settings, "d1");
            dhcp.close();
            dhcp = new PipeworkAttacher(settings, TestHost.RUNNER, pool);
            dhcp.start();
            assertThat(dhcp.list()).extracting(Attachment::address, Attachment::peer).containsExactly(
                    org.assertj.core.groups.Tuple.tuple(a.address(), DEV1_ADDR));
            assertThat(dhcpClientPid(settings, "d1")).isEqualTo(clientPid);
            assertThat(ProcessHandle.of(clientPid).map(ProcessHandle::isAlive)).contains(true);
            assertThat(eventually(REACH, () -> fetch(DEV1, a.address(), 80).contains("dhcp instance"))).as("dev1 -> d1 after restart").isTrue();

            // the (adopted) client is supervised: killed, it comes back
            ProcessHandle.of(clientPid).orElseThrow().destroyForcibly();
            assertThat(eventually(Duration.ofSeconds(10), () -> {
                long now = dhcpClientPid(settings, "d1");
                return now > 0 && now != clientPid && ProcessHandle.of(now).map(ProcessHandle::isAlive).orElse(false);
            })).as("dhclient restarted").isTrue();
            long restarted = dhcpClientPid(settings, "d1");

            dhcp.detach("d1");
            assertThat(eventually(Duration.ofSeconds(5), () -> ProcessHandle.of(restarted).map(p -> !p.isAlive()).orElse(true)))
                    .as("dhclient killed on detach").isTrue();
            assertThat(attempt("ip", "link", "show", "dev", a.hostInterface()).ok()).isFalse();
            assertThat(dhcp.list()).isEmpty();
            assertThat(digest(Path.of("/etc/resolv.conf"))).as("host resolv.conf untouched").isEqualTo(resolvBefore);
        } finally {
            dhcp.close();
            stopServers();
            attempt("ip", "link", "del", "dev", "opw-br1");
            TestHost.deleteTree(Path.of("/etc/netns/orch-pw-d1"));
        }
    }

    @Test
    @Order(5)
    void attachLatencyOnTheFreshPath() throws Exception {
        NetnsHandle ns = NetnsHandle.ofPid(startContainer("orch-pw-bench"));
        List<String> commands = new ArrayList<>();
        CommandRunner counting = (command, stdin) -> {
            commands.add(String.join(" ", command));
            return TestHost.RUNNER.run(command, stdin);
        };
        PipeworkAttacher bench = new PipeworkAttacher(staticSettings(), counting, pool);
        List<Long> micros = new ArrayList<>();
        List<Integer> counts = new ArrayList<>();
        for (int i = 0; i < 25; i++) {
            commands.clear();
            long t0 = System.nanoTime();
            Attachment a = bench.attach(new AttachRequest("bench", CLIENT, ns, DEV1_ADDR));
            long took = (System.nanoTime() - t0) / 1000;
            if (i >= 5) {
                // the first rounds warm up the JIT and the kernel's caches
                micros.add(took);
                counts.add(commands.size());
            }
            assertThat(a.address()).isNotNull();
            assertThat(pairs()).contains(new Pair(DEV1_ADDR, a.address()));
            bench.detach("bench");
        }
        assertThat(counts).as("commands per fresh attach").containsOnly(4);
        List<Long> sorted = micros.stream().sorted().toList();
        System.out.printf("attach latency over %d fresh attaches: p50 %.1f ms, p90 %.1f ms, min %.1f ms; commands per attach %s%n",
                sorted.size(), sorted.get(sorted.size() / 2) / 1000.0, sorted.get(sorted.size() * 9 / 10) / 1000.0,
                sorted.get(0) / 1000.0, counts.stream().distinct().toList());
        sh("docker", "rm", "-f", "orch-pw-bench");
    }

    @Test
    @Order(6)
    void detachingAnOrphanWhoseAddressWasHandedOutAgainKeepsTheNewInstanceReachable() throws Exception {
        NetnsHandle oldNs = plainInstance("orch-pw-old", "orphan instance");
        NetnsHandle youngNs = plainInstance("orch-pw-young", "young instance");
        String oldHost = attacher.settings().hostInterface("old");
        String youngHost = attacher.settings().hostInterface("young");
        try {
            Attachment old = attacher.attach(new AttachRequest("old", CLIENT, oldNs, DEV1_ADDR));
            assertThat(eventually(REACH, () -> fetch(DEV1, old.address(), 80).contains("orphan instance"))).as("dev1 -> old").isTrue();
            // the store lost the write of old's allocation (H2's write delay): the pool hands the address out again
            pool.release("orch-pw-net", "old");
            Attachment young = attacher.attach(new AttachRequest("young", CLIENT, youngNs, DEV2_ADDR));
            assertThat(young.address()).as("the address handed out twice").isEqualTo(old.address());
            assertThat(pairs()).containsExactlyInAnyOrder(new Pair(DEV1_ADDR, old.address()), new Pair(DEV2_ADDR, young.address()));

            // the reconciler removes the orphan
            attacher.detach("old");
            long t0 = System.nanoTime();
            assertThat(pairs()).as("young's pair survives, old's is gone").containsExactly(new Pair(DEV2_ADDR, young.address()));
            assertThat(sh("nft", "list", "set", "inet", "orch-pw-net", "allowed"))
                    .contains(Addresses.text(DEV2_ADDR) + " . " + Addresses.text(young.address()))
                    .doesNotContain(Addresses.text(DEV1_ADDR));
            assertThat(attempt("ip", "link", "show", "dev", oldHost).ok()).as("old's veth").isFalse();
            assertThat(attempt(inside2(oldNs, "ip", "link", "show", "dev", "eth1")).ok()).as("eth1 left in old").isFalse();
            assertThat(sh("ip", "-o", "link", "show", "dev", youngHost)).contains("master opw-br0").contains("id=young");
            assertThat(inside(youngNs, "ip", "-6", "addr", "show", "dev", "eth1")).contains(Addresses.text(young.address()) + "/64");
            assertThat(attacher.list()).extracting(Attachment::instanceId).containsExactly("young");
            assertThat(pool.allocations("orch-pw-net")).containsExactly(java.util.Map.entry("young", young.address()));
            assertThat(eventually(REACH, () -> fetch(DEV2, young.address(), 80).contains("young instance")))
                    .as("dev2 -> young; host neighbours on opw-br0: %s; young's MAC %s, old's %s",
                            attempt("ip", "-6", "neigh", "show", "dev", "opw-br0").stdout().strip(), young.mac(), old.mac())
                    .isTrue();
            System.out.printf("young reachable %d ms after the orphan's detach%n", (System.nanoTime() - t0) / 1_000_000);
            assertThat(fetch(DEV1, young.address(), 80)).as("dev1 -> young (old's pair is gone)").isEmpty();

            attacher.detach("young");
            assertThat(pairs()).isEmpty();
            assertThat(pool.allocations("orch-pw-net")).isEmpty();
        } finally {
            attacher.detach("old");
            attacher.detach("young");
            stopServers();
            attempt("ip", "netns", "del", "orch-pw-old");
            attempt("ip", "netns", "del", "orch-pw-young");
        }
        assertThat(attempt("ip", "link", "show", "dev", youngHost).ok()).as("young's veth").isFalse();
    }

    @Test
    void anAddressHandedToTheNextInstanceAnswersTheFirstRequest() throws Exception {
        NetnsHandle firstNs = plainInstance("orch-pw-first", "first instance");
        NetnsHandle nextNs = plainInstance("orch-pw-next", "next instance");
        try {
            Attachment first = attacher.attach(new AttachRequest("first", CLIENT, firstNs, DEV1_ADDR));
            assertThat(eventually(REACH, () -> fetch(DEV1, first.address(), 80).contains("first instance"))).as("dev1 -> first").isTrue();
            // the host now resolves the address to first's MAC (REACHABLE for up to ~45 s)
            attacher.detach("first");
            Attachment next = attacher.attach(new AttachRequest("next", CLIENT, nextNs, DEV1_ADDR));
            assertThat(next.address()).as("the freed address handed out again").isEqualTo(first.address());
            assertThat(next.mac()).isNotEqualTo(first.mac());
            // one request (connect timeout 2 s): with the old MAC still cached it would go nowhere
            assertThat(fetch(DEV1, next.address(), 80)).as("dev1 -> next at once; host neighbours on opw-br0: %s",
                    attempt("ip", "-6", "neigh", "show", "dev", "opw-br0").stdout().strip()).contains("next instance");
        } finally {
            attacher.detach("first");
            attacher.detach("next");
            stopServers();
            attempt("ip", "netns", "del", "orch-pw-first");
            attempt("ip", "netns", "del", "orch-pw-next");
        }
        assertNothingLeft(attacher.settings().hostInterface("next"));
    }

    @Test
    void concurrentAttachesEachReachTheirDevice() throws Exception {
        int n = 6;
        List<NetnsHandle> namespaces = new java.util.ArrayList<>();
        java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newFixedThreadPool(n);
        try {
            for (int i = 0; i < n; i++) {
                namespaces.add(plainInstance("orch-pw-c" + i, "instance c" + i));
            }
            List<java.util.concurrent.Future<Attachment>> made = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = "c" + i;
                NetnsHandle ns = namespaces.get(i);
                // half for each device: each device reaches its own instances only
                Inet6Address peer = i % 2 == 0 ? DEV1_ADDR : DEV2_ADDR;
                made.add(threads.submit(() -> attacher.attach(new AttachRequest(id, CLIENT, ns, peer))));
            }
            List<Attachment> attachments = new java.util.ArrayList<>();
            for (java.util.concurrent.Future<Attachment> f : made) {
                attachments.add(f.get(60, java.util.concurrent.TimeUnit.SECONDS));
            }
            assertThat(attachments.stream().map(Attachment::address).distinct()).hasSize(n);
            assertThat(pairs()).hasSize(n);
            assertThat(attacher.list()).hasSize(n);
            for (int i = 0; i < n; i++) {
                Attachment a = attachments.get(i);
                String mine = i % 2 == 0 ? DEV1 : DEV2;
                String other = i % 2 == 0 ? DEV2 : DEV1;
                String page = "instance c" + i;
                assertThat(eventually(REACH, () -> fetch(mine, a.address(), 80).contains(page))).as("%s -> c%d", mine, i).isTrue();
                assertThat(fetch(other, a.address(), 80)).as("%s -> c%d", other, i).isEmpty();
            }
            List<java.util.concurrent.Future<?>> gone = new java.util.ArrayList<>();
            for (int i = 0; i < n; i++) {
                String id = "c" + i;
                gone.add(threads.submit(() -> attacher.detach(id)));
            }
            for (java.util.concurrent.Future<?> f : gone) {
                f.get(60, java.util.concurrent.TimeUnit.SECONDS);
            }
            assertNothingLeft(attacher.settings().hostInterface("c0"));
        } finally {
            threads.shutdownNow();
            for (int i = 0; i < n; i++) {
                attacher.detach("c" + i);
            }
            stopServers();
            for (int i = 0; i < n; i++) {
                attempt("ip", "netns", "del", "orch-pw-c" + i);
            }
        }
    }

    @Test
    void aSpareAttachedWithoutAPeerIsReachedByNoDeviceUntilItsPeerIsBoundOnTheFastPath() throws Exception {
        NetnsHandle ns = plainInstance("orch-pw-spare", "spare instance");
        long inside = servers.get(servers.size() - 1).pid();
        List<String> commands = java.util.Collections.synchronizedList(new ArrayList<>());
        CommandRunner recording = (command, stdin) -> {
            commands.add(String.join(" ", command) + (stdin == null ? "" : "\n" + stdin));
            return TestHost.RUNNER.run(command, stdin);
        };
        PipeworkAttacher pooled = new PipeworkAttacher(staticSettings(), recording, pool);
        String link = pooled.settings().hostInterface("spare");
        try {
            assertThat(pooled.isolates()).isTrue();
            // as the warm pool attaches a spare: no client yet, no peer
            Attachment spare = pooled.attach(new AttachRequest("spare", PoolingProvider.UNASSIGNED, ns, null));
            assertThat(spare.peer()).isNull();
            // control: the spare is up and serves (the host reaches it, as no device may)
            assertThat(eventually(REACH, () -> attempt("curl", "-s", "-g", "--connect-timeout", "2", "-m", "4",
                    "http://[" + Addresses.text(spare.address()) + "]:80/").stdout().contains("spare instance"))).as("host -> spare").isTrue();
            for (String device : List.of(DEV1, DEV2)) {
                assertThat(fetch(device, spare.address(), 80)).as("%s -> spare over HTTP", device).isEmpty();
                assertThat(ping(device, spare.address())).as("%s -> spare by ping", device).isFalse();
            }
            assertThat(pairs()).noneMatch(p -> p.instance().equals(spare.address()));

            // the claim: device 1 becomes the peer
            commands.clear();
            Attachment claimed = pooled.attach(new AttachRequest("spare", CLIENT, ns, DEV1_ADDR));
            assertThat(commands).as("the fast path: the element and the alias only (side by side)").containsExactlyInAnyOrder(
                    "nft -f -\nadd element inet orch-pw-net allowed { " + Addresses.text(DEV1_ADDR) + " . "
                            + Addresses.text(spare.address()) + " }\n",
                    "ip link set dev " + link + " alias orchestrator net=orch-pw-net id=spare addr=" + Addresses.text(spare.address())
                            + " peer=" + Addresses.text(DEV1_ADDR));
            assertThat(claimed.address()).isEqualTo(spare.address());
            assertThat(claimed.peer()).isEqualTo(DEV1_ADDR);
            assertThat(sh("ip", "-o", "link", "show", "dev", link)).contains("peer=" + Addresses.text(DEV1_ADDR));
            assertThat(pooled.list()).extracting(Attachment::instanceId, Attachment::peer)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple("spare", DEV1_ADDR));
            assertThat(eventually(REACH, () -> fetch(DEV1, claimed.address(), 80).contains("spare instance"))).as("dev1 -> spare").isTrue();
            assertThat(ping(DEV1, claimed.address())).as("dev1 -> spare by ping").isTrue();
            assertThat(fetch(DEV2, claimed.address(), 80)).as("dev2 -> spare over HTTP").isEmpty();
            assertThat(ping(DEV2, claimed.address())).as("dev2 -> spare by ping").isFalse();
            pooled.detach("spare");

            // how long the claim's attach takes: the fast path, and the full path it replaces (the same
            // namespace by the handle of the process in it: the record's handle differs, so attach checks and repairs)
            assertThat(sh("ip", "netns", "identify", Long.toString(inside)).strip()).isEqualTo("orch-pw-spare");
            NetnsHandle byPid = NetnsHandle.ofPid(inside);
            List<Long> fast = new ArrayList<>();
            List<Long> full = new ArrayList<>();
            for (int i = 0; i < 23; i++) {
                for (boolean quick : List.of(true, false)) {
                    pooled.attach(new AttachRequest("spare", PoolingProvider.UNASSIGNED, ns, null));
                    commands.clear();
                    long t0 = System.nanoTime();
                    Attachment bound = pooled.attach(new AttachRequest("spare", CLIENT, quick ? ns : byPid, DEV1_ADDR));
                    long took = (System.nanoTime() - t0) / 1000;
                    assertThat(bound.peer()).isEqualTo(DEV1_ADDR);
                    if (quick) {
                        assertThat(commands).hasSize(2);
                    } else {
                        assertThat(commands).hasSize(7).anyMatch(c -> c.endsWith(" ip -o link show dev eth1"));
                    }
                    if (i >= 3) {
                        // the first rounds warm up the JIT and the kernel's caches
                        (quick ? fast : full).add(took);
                    }
                    pooled.detach("spare");
                }
            }
            // with the host shortcuts (the plug-in's own setting): the same fast path without a process
            List<Long> shortcut = new ArrayList<>();
            try (HostShortcuts live = HostShortcuts.live(Duration.ofSeconds(10))) {
                PipeworkAttacher quickest = new PipeworkAttacher(staticSettings(), recording, pool, live);
                quickest.start();
                for (int i = 0; i < 23; i++) {
                    quickest.attach(new AttachRequest("spare", PoolingProvider.UNASSIGNED, ns, null));
                    commands.clear();
                    long t0 = System.nanoTime();
                    Attachment bound = quickest.attach(new AttachRequest("spare", CLIENT, ns, DEV1_ADDR));
                    long took = (System.nanoTime() - t0) / 1000;
                    assertThat(commands).as("binding with the shortcuts starts no process").isEmpty();
                    if (i == 0) {
                        assertThat(sh("ip", "-o", "-d", "link", "show", "dev", link))
                                .contains("alias orchestrator net=orch-pw-net id=spare addr=" + Addresses.text(bound.address())
                                        + " peer=" + Addresses.text(DEV1_ADDR));
                        assertThat(pairs()).contains(new Pair(DEV1_ADDR, bound.address()));
                        assertThat(quickest.list()).extracting(Attachment::instanceId, Attachment::peer)
                                .containsExactly(org.assertj.core.groups.Tuple.tuple("spare", DEV1_ADDR));
                        assertThat(eventually(REACH, () -> fetch(DEV1, bound.address(), 80).contains("spare instance")))
                                .as("dev1 -> spare bound with the shortcuts").isTrue();
                        assertThat(fetch(DEV2, bound.address(), 80)).as("dev2 -> spare bound with the shortcuts").isEmpty();
                    }
                    if (i >= 3) {
                        shortcut.add(took);
                    }
                    quickest.detach("spare");
                }
            }
            System.out.printf("binding a peer to a spare over %d attaches each: fast path (2 commands) p50 %.1f ms, p90 %.1f ms,"
                    + " min %.1f ms; full path (7 commands) p50 %.1f ms, p90 %.1f ms, min %.1f ms;"
                    + " fast path with the host shortcuts (no process) p50 %.2f ms, p90 %.2f ms, min %.2f ms%n", fast.size(),
                    percentile(fast, 50), percentile(fast, 90), percentile(fast, 0),
                    percentile(full, 50), percentile(full, 90), percentile(full, 0),
                    percentile(shortcut, 50), percentile(shortcut, 90), percentile(shortcut, 0));
        } finally {
            pooled.detach("spare");
            stopServers();
            attempt("ip", "netns", "del", "orch-pw-spare");
        }
        assertNothingLeft(link);
    }

    // ------------------------------------------------------------------ helpers

    /** @return the {@code p}th percentile of microsecond samples, in ms */
    private static double percentile(List<Long> micros, int p) {
        List<Long> sorted = micros.stream().sorted().toList();
        return sorted.get(Math.min(sorted.size() - 1, sorted.size() * p / 100)) / 1000.0;
    }

    /** @return whether one ping from {@code deviceNs} is answered within 2 s */
    private static boolean ping(String deviceNs, Inet6Address address) {
        return attempt("ip", "netns", "exec", deviceNs, "busybox", "ping", "-6", "-c", "1", "-W", "2", Addresses.text(address)).ok();
    }

    @Test
    @Order(14)
    void theNftSessionChangesTheRealSetInOneTransactionPerCommand() {
        Inet6Address a = Identifiers.ipv6("fd00:70:1::a0");
        Inet6Address b = Identifiers.ipv6("fd00:70:1::b0");
        Inet6Address absent = Identifiers.ipv6("fd00:70:1::c0");
        String table = attacher.settings().nftTable();
        try (NftSession session = new NftSession(Duration.ofSeconds(10))) {
            NftIsolation viaSession = new NftIsolation(TestHost.RUNNER, attacher.settings(), session);
            viaSession.allow(new Pair(DEV1_ADDR, a));
            viaSession.allow(new Pair(DEV2_ADDR, b));
            viaSession.allow(new Pair(DEV2_ADDR, b)); // adding a present element changes nothing
            assertThat(pairs()).as("as a separate nft process lists them").contains(new Pair(DEV1_ADDR, a), new Pair(DEV2_ADDR, b));
            assertThat(viaSession.pairs()).as("as the session lists them").containsExactlyInAnyOrderElementsOf(pairs());

            // one command is one transaction: with one element missing, none is deleted
            assertThatThrownBy(() -> session.run("delete element inet " + table + " allowed { "
                    + new Pair(DEV1_ADDR, a).text() + ", " + new Pair(DEV1_ADDR, absent).text() + " }"))
                    .isInstanceOf(NetworkException.class).hasMessageContaining("Error:");
            assertThat(pairs()).contains(new Pair(DEV1_ADDR, a));

            // the session follows a table made again by another process
            List<Pair> before = pairs();
            sh("nft", "delete", "table", "inet", table);
            new NftIsolation(TestHost.RUNNER, attacher.settings()).install(before);
            viaSession.revoke(java.util.Set.of(a, b), null);
            assertThat(pairs()).doesNotContain(new Pair(DEV1_ADDR, a), new Pair(DEV2_ADDR, b));
            // allow ×3, list, the failed delete, the revoke's list and delete: all answered by the session
            assertThat(session.counts()).as("commands answered, processes started").containsExactly(7, 1);
        }
    }

    private void assertNothingLeft(String host) {
        assertThat(attempt("ip", "link", "show", "dev", host).ok()).as("veth %s left behind", host).isFalse();
        assertThat(pool.allocations("orch-pw-net")).as("address released").isEmpty();
        assertThat(pairs()).isEmpty();
        assertThat(attacher.list()).isEmpty();
    }

    private List<Pair> pairs() {
        return new NftIsolation(TestHost.RUNNER, attacher.settings()).pairs();
    }

    /** Host state that must be the same before and after attach/detach cycles. */
    private String snapshot(String ns) {
        // only our own objects: other suites may change the rest of the host meanwhile
        String links = TestHost.lines(sh("ip", "-o", "link", "show")).stream()
                .map(l -> l.split(":\\s+")[1].split("@")[0]).filter(n -> n.startsWith("opw")).sorted()
                .collect(Collectors.joining(","));
        String addresses = TestHost.lines(sh("ip", "-6", "-o", "addr", "show")).stream()
                .filter(l -> l.split("\\s+")[1].startsWith("opw") || l.contains("fd00:70:"))
                .map(l -> l.replaceAll("valid_lft.*", "")).sorted().collect(Collectors.joining(","));
        String routes = TestHost.lines(sh("ip", "-6", "route", "show")).stream()
                .filter(l -> l.contains("opw") || l.contains("fd00:70:"))
                // the bridge's carrier follows its ports with a delay: not a leak
                .map(l -> l.replace(" linkdown", "")).sorted().collect(Collectors.joining(","));
        String nsState = sh("ip", "netns", "exec", ns, "sh", "-c", "ip -o link show; ip -6 -o addr show; ip -6 route show");
        String rules = sh("nft", "-a", "list", "table", "inet", attacher.settings().nftTable());
        return "links=" + links + "\naddresses=" + addresses + "\nroutes=" + routes + "\nns=" + nsState + "\nrules=" + rules
                + "\npool=" + pool.allocations("orch-pw-net") + "\nrecords=" + attacher.list();
    }

    private long startContainer(String name) {
        sh("docker", "run", "-d", "--network", "none", "--name", name, "-e", "ORCHESTRATOR_CLIENT=" + CLIENT.value(),
                "orchestrator/client:latest");
        long pid = Long.parseLong(sh("docker", "inspect", "-f", "{{.State.Pid}}", name).strip());
        assertThat(pid).isPositive();
        return pid;
    }

    private NetnsHandle plainInstance(String name, String page) throws IOException {
        sh("ip", "netns", "add", name);
        // lo up as in any instance, so that the namespace looks the same before and after a cycle
        sh("ip", "-n", name, "link", "set", "dev", "lo", "up");
        Path www = Files.createDirectories(temp.resolve("www-" + name));
        Files.writeString(www.resolve("index.html"), page + "\n");
        Process httpd = new ProcessBuilder("ip", "netns", "exec", name, "busybox", "httpd", "-f", "-p", "[::]:80", "-h", www.toString())
                .redirectErrorStream(true).redirectOutput(temp.resolve("httpd-" + name + ".log").toFile()).start();
        servers.add(httpd);
        return new NetnsHandle(0, Path.of("/run/netns", name));
    }

    /** @return the page, or "" when the fetch fails */
    private static String fetch(String deviceNs, Inet6Address address, int port) {
        CommandResult r = attempt("ip", "netns", "exec", deviceNs, "curl", "-s", "-g", "--connect-timeout", "2", "-m", "4",
                "http://[" + Addresses.text(address) + "]:" + port + "/");
        return r.ok() ? r.stdout() : "";
    }

    private static String fetchFrom(NetnsHandle ns, Inet6Address address, int port) {
        CommandResult r = TestHost.RUNNER.run(List.of(inside2(ns, "curl", "-s", "-g", "--connect-timeout", "2", "-m", "4",
                "http://[" + Addresses.text(address) + "]:" + port + "/")), null);
        return r.ok() ? r.stdout() : "";
    }

    private static String inside(NetnsHandle ns, String... command) {
        return sh(inside2(ns, command));
    }

    private static String[] inside2(NetnsHandle ns, String... command) {
        return NetnsTarget.of(ns).inside(command);
    }

    private static HttpServer hostListener(Inet6Address address) throws IOException {
        HttpServer server = HttpServer.create(new InetSocketAddress(address, 0), 10);
        server.createContext("/", exchange -> {
            byte[] body = "host listener\n".getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(200, body.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(body);
            }
        });
        server.start();
        return server;
    }

    private static long dhcpClientPid(PipeworkSettings settings, String id) {
        try {
            return Long.parseLong(Files.readString(settings.stateDirectory().resolve("dhcp").resolve(id).resolve("client.pid")).strip());
        } catch (IOException | NumberFormatException e) {
            return -1;
        }
    }

    private static String read(Path file) {
        try {
            return Files.exists(file) ? Files.readString(file) : "";
        } catch (IOException e) {
            return "";
        }
    }

    private static String digest(Path file) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file)));
    }

    /** Host offsets [low, high] of a prefix. */
    private record BigIntegerRange(Ipv6Prefix prefix, long low, long high) {
        boolean contains(Inet6Address address) {
            if (!prefix.contains(address)) {
                return false;
            }
            long offset = prefix.offsetOf(address).longValueExact();
            return offset >= low && offset <= high;
        }
    }

}
