package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.Reservation;

/**
 * The plugin in managed mode on this machine, as root: it creates the bridge and runs dnsmasq;
 * real dhclient -6 and dhcpcd devices in network namespaces take leases.
 */
@Timeout(180)
class ManagedDnsmasqTest {

    private static final Duration WAIT = Duration.ofSeconds(30);

    private Path dir;
    private RecordingSink sink;
    private NetLab lab;
    private DnsmasqDhcpSource component;

    @BeforeAll
    static void tools() throws IOException {
        NetLab.requireTools();
        NetLab.sweep();
    }

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "orch-dq-it-");
        // dnsmasq re-reads the hosts file after dropping root: the path must be traversable.
        Files2.directory(dir, Files2.OPEN_DIR);
        sink = new RecordingSink();
        lab = new NetLab(dir);
    }

    @AfterEach
    void tearDown() throws IOException {
        try {
            if (component != null) {
                component.deactivate(2);
            }
        } finally {
            lab.close();
            NetLab.sweep();
            assertThat(NetLab.sh("ip", "netns", "list")).doesNotContain(NetLab.NS_PREFIX);
            assertThat(NetLab.sh("ip", "-o", "link", "show")).doesNotContain("odq-");
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
        c.put("sweepSeconds", 5);
        return c;
    }

    private DnsmasqDhcpSource activate() {
        component = new DnsmasqDhcpSource(sink, TestConfigs.config(config()));
        return component;
    }

    private static boolean is(LeaseEvent e, LeaseEventType type, String address) {
        return e.type() == type && e.lease().address().equals(Identifiers.ipv6(address));
    }

    private LeaseEvent awaitAdded(String ns) throws InterruptedException {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (System.nanoTime() < deadline) {
            List<String> addrs = NetLab.globalAddresses(ns);
            for (String a : addrs) {
                for (LeaseEvent e : sink.events()) {
                    if (is(e, LeaseEventType.ADDED, a)) {
                        return e;
                    }
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("no ADDED for the address of " + ns + " " + NetLab.globalAddresses(ns) + "; events " + sink.events());
    }

    /**
     * Asks dhcpcd to renew (SIGUSR1) until its log shows a completed renewal (REPLY to RENEW6, hook
     * RENEW6) and an event after index {@code from} matches. dhcpcd ignores the signal while it is
     * still settling a lease, so one signal may be lost; replays by dnsmasq do not count.
     */
    private void renew(Process dhcpcd, String ns, int from, java.util.function.Predicate<LeaseEvent> match) throws InterruptedException {
        // dnsmasq reports a renewal only when it moves the expiry, which has a resolution of one
        // second: a renewal in the same second as the grant changes nothing and runs no script.
        List<LeaseEvent> seen = sink.events();
        java.time.Instant notBefore = seen.isEmpty() ? java.time.Instant.now() : seen.get(seen.size() - 1).observedAt().plusMillis(1100);
        while (java.time.Instant.now().isBefore(notBefore)) {
            Thread.sleep(50);
        }
        for (int attempt = 0; attempt < 4; attempt++) {
            int renewals = count(lab.clientLog(ns), "dhcpcd-run-hooks RENEW6");
            NetLab.check("kill", "-USR1", Long.toString(dhcpcd.pid()));
            long deadline = System.nanoTime() + Duration.ofSeconds(12).toNanos();
            while (System.nanoTime() < deadline) {
                if (count(lab.clientLog(ns), "dhcpcd-run-hooks RENEW6") > renewals) {
                    sink.awaitAll(ev -> ev.subList(from, ev.size()).stream().anyMatch(match), WAIT, "renewal event");
                    return;
                }
                Thread.sleep(100);
            }
        }
        throw new AssertionError("no renewal after 4 SIGUSR1; dhcpcd log: " + lab.clientLog(ns));
    }

    private static int count(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) {
            n++;
        }
        return n;
    }

    @Test
    void dhclientAndDhcpcdLeasesAreAddedRenewedAndReleased() throws Exception {
        activate();
        assertThat(NetLab.sh("ip", "-o", "link", "show", "dev", NetLab.BRIDGE)).contains(NetLab.BRIDGE);
        assertThat(component.current().supervisor().pid()).isPresent();
        String d1 = lab.device(1);
        String d2 = lab.device(2);

        lab.dhclient(d1);
        LeaseEvent a1 = awaitAdded(d1);
        assertThat(a1.lease().duid()).isEqualTo(Duid.parse(lab.dhclientDuid(d1)));
        assertThat(a1.lease().iaid()).isEqualTo(lab.dhclientIaid(d1));
        assertThat(a1.lease().source()).isEqualTo("odq-lab");
        assertThat(a1.lease().network()).isEqualTo(NetLab.BRIDGE);
        assertThat(a1.lease().expiresAt()).isNotNull();

        Process dhcpcd = lab.dhcpcd(d2);
        LeaseEvent a2 = awaitAdded(d2);
        assertThat(a2.lease().duid()).isNotEqualTo(a1.lease().duid());
        assertThat(a2.lease().duid()).isEqualTo(Duid.parse(lab.dhcpcdDuid(d2)));
        assertThat(a2.lease().iaid()).isEqualTo(lab.dhcpcdIaid(d2));
        String mac2 = NetLab.sh("ip", "-n", d2, "-o", "link", "show", "dev", "eth0");
        if (a2.lease().mac() != null) {
            assertThat(mac2).contains(a2.lease().mac().value());
        }
        assertThat(component.leases()).extracting(l -> l.address())
                .contains(a1.lease().address(), a2.lease().address());

        // A renewal by the client (script-on-renewal) and a SIGHUP replay both report RENEWED.
        renew(dhcpcd, d2, sink.events().size(), e -> is(e, LeaseEventType.RENEWED, a2.lease().address().getHostAddress())
                && e.lease().duid().equals(a2.lease().duid()) && e.lease().iaid() == a2.lease().iaid());
        component.current().supervisor().reload();
        sink.await(e -> is(e, LeaseEventType.RENEWED, a1.lease().address().getHostAddress())
                && e.lease().duid().equals(a1.lease().duid()), WAIT, "replay of the dhclient lease");

        lab.dhclientRelease(d1);
        LeaseEvent r1 = sink.await(e -> is(e, LeaseEventType.RELEASED, a1.lease().address().getHostAddress()), WAIT, "dhclient release");
        assertThat(r1.lease().duid()).isEqualTo(a1.lease().duid());
        assertThat(r1.lease().iaid()).isEqualTo(a1.lease().iaid());

        LeaseEvent r2 = null;
        for (int attempt = 0; attempt < 8 && r2 == null; attempt++) {
            // dhcpcd drops SIGALRM while it is busy with an exchange: ask again now and then.
            NetLab.sh("kill", "-ALRM", Long.toString(dhcpcd.pid()));
            try {
                r2 = sink.await(e -> is(e, LeaseEventType.RELEASED, a2.lease().address().getHostAddress()), Duration.ofSeconds(3), "dhcpcd release");
            } catch (AssertionError e) {
                // signal again
            }
        }
        assertThat(r2).as("dhcpcd release").isNotNull();
        assertThat(r2.lease().duid()).isEqualTo(a2.lease().duid());
        assertThat(component.leases()).isEmpty();
    }

    @Test
    void twentyClientsAtOnceAreAllSeen() throws Exception {
        activate();
        List<String> nss = new java.util.ArrayList<>();
        for (int i = 1; i <= 20; i++) {
            nss.add(lab.device(i));
        }
        for (String ns : nss) {
            lab.dhcpcd(ns);
        }
        sink.awaitAll(ev -> ev.stream().filter(e -> e.type() == LeaseEventType.ADDED).map(e -> e.lease().duid()).distinct().count() >= 20,
                Duration.ofSeconds(60), "20 distinct clients added");
        Set<String> leased = new HashSet<>();
        for (LeaseEvent e : sink.events()) {
            leased.add(e.lease().address().getHostAddress());
        }
        for (String ns : nss) {
            assertThat(NetLab.globalAddresses(ns)).as("address of %s", ns).isNotEmpty();
            assertThat(leased).containsAll(NetLab.globalAddresses(ns).stream()
                    .map(a -> Identifiers.ipv6(a).getHostAddress()).toList());
        }
    }

    @Test
    void restartsOfDnsmasqAndOfThePluginLoseNoLease() throws Exception {
        activate();
        String d1 = lab.device(1);
        Process client = lab.dhcpcd(d1);
        LeaseEvent added = awaitAdded(d1);
        String address = added.lease().address().getHostAddress();

        // dnsmasq dies: the supervisor restarts it and the init replay restores the lease ("old").
        long pid = component.current().supervisor().pid().orElseThrow();
        int before = sink.events().size();
        ProcessHandle.of(pid).orElseThrow().destroyForcibly();
        sink.awaitAll(ev -> ev.subList(before, ev.size()).stream().anyMatch(e -> is(e, LeaseEventType.RENEWED, address)),
                WAIT, "replay after the dnsmasq restart");
        // At least 2: dnsmasq itself may fail a start (EINTR while reading init) and be restarted again.
        assertThat(component.current().supervisor().starts()).isGreaterThanOrEqualTo(2);
        assertThat(component.current().supervisor().pid()).isPresent().get().isNotEqualTo(pid);
        int before2 = sink.events().size();
        renew(client, d1, before2, e -> is(e, LeaseEventType.RENEWED, address));
        assertThat(sink.events().subList(before, sink.events().size())).as("no new lease after the restart")
                .noneMatch(e -> e.type() == LeaseEventType.ADDED);
        assertThat(NetLab.globalAddresses(d1)).extracting(a -> Identifiers.ipv6(a).getHostAddress()).contains(address);

        // The bundle restarts: deactivate, activate again; the lease comes back from the store.
        component.deactivate(1);
        assertThat(dir.resolve("run/dnsmasq.conf")).doesNotExist();
        component = null;
        int before3 = sink.events().size();
        activate();
        sink.awaitAll(ev -> ev.subList(before3, ev.size()).stream().anyMatch(e -> is(e, LeaseEventType.RENEWED, address)),
                WAIT, "replay after the plugin restart");
        assertThat(component.leases()).extracting(l -> l.address().getHostAddress()).contains(address);
        int before4 = sink.events().size();
        renew(client, d1, before4, e -> is(e, LeaseEventType.RENEWED, address));
        assertThat(sink.events().subList(before3, sink.events().size())).as("no new lease after the plugin restart")
                .noneMatch(e -> e.type() == LeaseEventType.ADDED);

        // The JVM "crashes" (socket gone, dnsmasq left running); the client releases meanwhile.
        long strayPid = component.current().supervisor().pid().orElseThrow();
        component.current().abandonForTest();
        component = null;
        Path spool = dir.resolve("run/private/spool");
        long deadline = System.nanoTime() + WAIT.toNanos();
        long nextSignal = 0;
        while (System.nanoTime() < deadline && !spooledRelease(spool)) {
            if (System.nanoTime() >= nextSignal) {
                // dhcpcd drops SIGALRM while it is busy with an exchange: ask again now and then.
                NetLab.sh("kill", "-ALRM", Long.toString(client.pid()));
                nextSignal = System.nanoTime() + 3_000_000_000L;
            }
            Thread.sleep(100);
        }
        assertThat(spooledRelease(spool)).as("the release was spooled; client alive %s; dhcpcd log:%n%s", client.isAlive(),
                lab.clientLog(d1)).isTrue();
        assertThat(sink.events()).noneMatch(e -> is(e, LeaseEventType.RELEASED, address));
        activate();
        assertThat(ProcessHandle.of(strayPid).map(ProcessHandle::isAlive).orElse(false)).as("stray dnsmasq stopped").isFalse();
        sink.await(e -> is(e, LeaseEventType.RELEASED, address), WAIT, "spooled release ingested at start");
        assertThat(listSpool(spool)).isEmpty();
    }

    private static boolean spooledRelease(Path spool) throws IOException {
        for (Path p : listSpool(spool)) {
            try {
                if (Files.readString(p, java.nio.charset.StandardCharsets.ISO_8859_1).contains(":action=del,")) {
                    return true;
                }
            } catch (java.nio.file.NoSuchFileException e) {
                // ingested meanwhile
            }
        }
        return false;
    }

    private static List<Path> listSpool(Path spool) throws IOException {
        if (!Files.isDirectory(spool)) {
            return List.of();
        }
        try (var s = Files.list(spool)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".ev")).toList();
        }
    }

    private Path hostsFileOf(Duid duid) {
        return dir.resolve("run/hosts.d").resolve(PinFiles.fileName(duid));
    }

    /** Waits (bounded) until the supervisor has sent {@code n} SIGHUPs. */
    private void awaitHangups(int n, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (component.current().supervisor().hangups() < n && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(component.current().supervisor().hangups()).as("SIGHUPs sent").isEqualTo(n);
    }

    /** dhclient releases its lease and asks again; returns once it has one. */
    private void returnAfterRelease(String ns) {
        lab.dhclientRelease(ns);
        lab.dhclient(ns);
    }

    @Test
    void aPinnedClientGetsItsAddressBackWithoutSighup() throws Exception {
        activate();
        String d1 = lab.device(1);
        lab.dhclient(d1);
        LeaseEvent added = awaitAdded(d1);
        Duid duid = added.lease().duid();
        long pid = component.current().supervisor().pid().orElseThrow();
        String pinned = "fd00:71:1::1abc";
        assertThat(added.lease().address().getHostAddress()).isNotEqualTo(Identifiers.ipv6(pinned).getHostAddress());
        component.pin(new Reservation(duid, added.lease().iaid(), Identifiers.ipv6(pinned), "dev1", null));
        assertThat(Files.readString(hostsFileOf(duid))).isEqualTo("id:" + duid.value() + ",[" + pinned + "],dev1\n");

        for (int round = 0; round < 2; round++) {
            int from = sink.events().size();
            returnAfterRelease(d1);
            sink.awaitAll(ev -> ev.subList(from, ev.size()).stream()
                    .anyMatch(e -> is(e, LeaseEventType.ADDED, pinned) && e.lease().duid().equals(duid)), WAIT, "pinned address");
            assertThat(NetLab.globalAddresses(d1)).extracting(a -> Identifiers.ipv6(a).getHostAddress())
                    .contains(Identifiers.ipv6(pinned).getHostAddress());
        }
        // dnsmasq read the new pin through inotify: no SIGHUP, the same dnsmasq, no replay.
        Thread.sleep(component.current().settings().reloadDelayMillis() + 500);
        assertThat(component.current().supervisor().hangups()).as("SIGHUPs after a new pin").isZero();
        assertThat(component.current().reloader().requests()).as("reloads asked for").isZero();
        assertThat(component.current().supervisor().pid()).contains(pid);
        assertThat(component.current().supervisor().starts()).isEqualTo(1);
        assertThat(sink.events()).as("no replay").noneMatch(e -> e.type() == LeaseEventType.RENEWED);

        // Pins survive a plugin restart (written again before dnsmasq starts); unpin removes them.
        component.deactivate(1);
        activate();
        assertThat(component.reservations()).extracting(Reservation::address).containsExactly(Identifiers.ipv6(pinned));
        assertThat(Files.readString(hostsFileOf(duid))).contains(pinned);
        int from = sink.events().size();
        returnAfterRelease(d1);
        sink.awaitAll(ev -> ev.subList(from, ev.size()).stream().anyMatch(e -> is(e, LeaseEventType.ADDED, pinned)),
                WAIT, "pinned address after the restart");
        component.unpin(duid);
        assertThat(component.reservations()).isEmpty();
        assertThat(hostsFileOf(duid)).doesNotExist();
        try (var files = Files.list(dir.resolve("run/hosts.d"))) {
            assertThat(files).as("no file left in hosts.d").isEmpty();
        }
        // dnsmasq keeps a record it read until SIGHUP: the unpin is applied by a debounced reload.
        awaitHangups(1, Duration.ofSeconds(10));
    }

    @Test
    void pinningDevicesOneAfterAnotherReplaysNoLease() throws Exception {
        activate();
        int devices = 5;
        List<Duid> duids = new java.util.ArrayList<>();
        for (int i = 1; i <= devices; i++) {
            String ns = lab.device(i);
            lab.dhcpcd(ns);
            LeaseEvent added = awaitAdded(ns);
            duids.add(added.lease().duid());
            // As core does once the device's instance is ready: pin the address it holds.
            component.pin(new Reservation(added.lease().duid(), added.lease().iaid(), added.lease().address(), null, null));
        }
        // Longer than the reload delay: a reload, had one been asked for, would have happened.
        Thread.sleep(component.current().settings().reloadDelayMillis() + 1500);
        Map<Duid, List<LeaseEventType>> perDevice = new java.util.LinkedHashMap<>();
        for (Duid d : duids) {
            perDevice.put(d, sink.events().stream().filter(e -> e.lease().duid().equals(d)).map(LeaseEvent::type).toList());
        }
        org.slf4j.LoggerFactory.getLogger(ManagedDnsmasqTest.class).info("Hook events per device after {} pins: {}", devices, perDevice);
        assertThat(perDevice.values()).as("one event per device: its lease; no replays caused by pins")
                .allSatisfy(types -> assertThat(types).containsExactly(LeaseEventType.ADDED));
        assertThat(component.current().supervisor().hangups()).isZero();
        assertThat(component.reservations()).hasSize(devices);
        try (var files = Files.list(dir.resolve("run/hosts.d"))) {
            assertThat(files.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrderElementsOf(duids.stream().map(PinFiles::fileName).toList());
        }
    }

    @Test
    void changedAndRemovedPinsTakeEffectAfterOneDebouncedReload() throws Exception {
        activate();
        String d1 = lab.device(1);
        String d2 = lab.device(2);
        lab.dhclient(d1);
        lab.dhclient(d2);
        LeaseEvent a1 = awaitAdded(d1);
        LeaseEvent a2 = awaitAdded(d2);
        String p1 = "fd00:71:1::1a01";
        String p1b = "fd00:71:1::1b01";
        String p2 = "fd00:71:1::1a02";
        component.pin(new Reservation(a1.lease().duid(), a1.lease().iaid(), Identifiers.ipv6(p1), null, null));
        component.pin(new Reservation(a2.lease().duid(), a2.lease().iaid(), Identifiers.ipv6(p2), null, null));
        for (String[] device : new String[][] {{d1, p1}, {d2, p2}}) {
            int from = sink.events().size();
            returnAfterRelease(device[0]);
            sink.awaitAll(ev -> ev.subList(from, ev.size()).stream().anyMatch(e -> is(e, LeaseEventType.ADDED, device[1])),
                    WAIT, "pinned address " + device[1]);
        }
        assertThat(component.current().supervisor().hangups()).as("new pins need no SIGHUP").isZero();
        long pid = component.current().supervisor().pid().orElseThrow();

        // A changed pin and an unpin: dnsmasq must forget what it read; one SIGHUP for both.
        int before = sink.events().size();
        long changedAt = System.nanoTime();
        component.pin(new Reservation(a1.lease().duid(), a1.lease().iaid(), Identifiers.ipv6(p1b), null, null));
        component.unpin(a2.lease().duid());
        assertThat(Files.readString(hostsFileOf(a1.lease().duid()))).contains(p1b);
        assertThat(hostsFileOf(a2.lease().duid())).doesNotExist();
        assertThat(component.current().supervisor().hangups()).as("debounced, not sent at once").isZero();
        awaitHangups(1, Duration.ofSeconds(10));
        assertThat(System.nanoTime() - changedAt).as("sent after the delay")
                .isGreaterThanOrEqualTo(Duration.ofMillis(component.current().settings().reloadDelayMillis()).toNanos());
        Thread.sleep(1500);
        assertThat(component.current().supervisor().hangups()).as("one SIGHUP for two changes").isEqualTo(1);
        assertThat(component.current().supervisor().pid()).contains(pid);
        // That SIGHUP replays each lease once.
        sink.awaitAll(ev -> ev.subList(before, ev.size()).stream().filter(e -> e.type() == LeaseEventType.RENEWED).count() >= 2,
                WAIT, "replay of both leases");

        int from1 = sink.events().size();
        returnAfterRelease(d1);
        sink.awaitAll(ev -> ev.subList(from1, ev.size()).stream().anyMatch(e -> is(e, LeaseEventType.ADDED, p1b)),
                WAIT, "the changed pin's address");
        int from2 = sink.events().size();
        lab.dhclientRelease(d2);
        // Without a hint dnsmasq chooses the address: the pin's if it still held one.
        lab.dhclientForgetLeases(d2);
        lab.dhclient(d2);
        java.util.function.Predicate<LeaseEvent> newLease = e -> e.type() == LeaseEventType.ADDED && e.lease().duid().equals(a2.lease().duid());
        sink.awaitAll(ev -> ev.subList(from2, ev.size()).stream().anyMatch(newLease), WAIT, "a new lease for the unpinned device");
        LeaseEvent again = sink.events().subList(from2, sink.events().size()).stream().filter(newLease).findFirst().orElseThrow();
        assertThat(again.lease().address()).as("no longer pinned").isNotEqualTo(Identifiers.ipv6(p2));
        assertThat(NetLab.globalAddresses(d2)).extracting(a -> Identifiers.ipv6(a)).doesNotContain(Identifiers.ipv6(p2));
        assertThat(NetLab.globalAddresses(d1)).extracting(a -> Identifiers.ipv6(a)).contains(Identifiers.ipv6(p1b));
    }
}
