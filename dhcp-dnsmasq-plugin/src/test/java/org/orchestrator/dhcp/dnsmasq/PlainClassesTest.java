package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.Reservation;

/** The plain classes without processes: pins, configuration, protocol, lease book. */
class PlainClassesTest {

    private static final Duid DUID = Duid.parse("00:01:00:01:2c:aa:bb:cc:02:00:00:00:00:01");
    private Path dir;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "orch-dq-unit-");
    }

    @AfterEach
    void tearDown() throws IOException {
        Files2.deleteTree(dir);
    }

    private PinStore pins(PinFiles.Layout layout, String domain) {
        return new PinStore(dir.resolve("pins"), new PinFiles(layout, dir.resolve("hosts.d"), dir.resolve("dns.d"),
                dir.resolve("dhcp-hosts"), dir.resolve("addn-hosts"), domain));
    }

    private String pinFile(String folder, Duid duid) throws IOException {
        return Files.readString(dir.resolve(folder).resolve(PinFiles.fileName(duid)));
    }

    @Test
    void pinsAreWrittenValidatedAndReadBack() throws IOException {
        PinStore store = pins(PinFiles.Layout.DIRS, "odq.test");
        store.load();
        Reservation r = new Reservation(DUID, 7, Identifiers.ipv6("fd00:71:1::10"), "Web1", Identifiers.ipv6("fd00:71:2::1"));
        assertThat(store.pin(r)).isEqualTo(PinFiles.Change.LIVE);
        assertThat(store.pin(r)).as("idempotent").isEqualTo(PinFiles.Change.NONE);
        Duid other = Duid.parse("00:03:00:01:02:00:00:00:00:02");
        Reservation noName = new Reservation(other, 1, Identifiers.ipv6("fd00:71:1::11"), null, Identifiers.ipv6("fd00:71:2::2"));
        store.pin(noName);
        assertThat(pinFile("hosts.d", DUID)).isEqualTo("id:" + DUID.value() + ",[fd00:71:1::10],web1\n");
        assertThat(pinFile("hosts.d", other)).isEqualTo("id:00:03:00:01:02:00:00:00:00:02,[fd00:71:1::11]\n");
        assertThat(pinFile("dns.d", DUID)).isEqualTo("fd00:71:2::1 web1.odq.test\n");
        assertThat(pinFile("dns.d", other)).isEqualTo("fd00:71:2::2 00030001020000000002.odq.test\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("pins")))).isEqualTo("rw-------");
        for (String folder : new String[] {"hosts.d", "dns.d"}) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(folder)))).isEqualTo("rwxr-xr-x");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve(folder).resolve(PinFiles.fileName(DUID)))))
                    .isEqualTo("rw-r--r--");
        }

        // A damaged line is skipped with a logged reason; the good ones survive a restart.
        Files.writeString(dir.resolve("pins"), "garbage;rm -rf /\n", java.nio.file.StandardOpenOption.APPEND);
        PinStore again = pins(PinFiles.Layout.DIRS, "odq.test");
        assertThat(again.load()).as("the same files again: nothing for dnsmasq to do").isEqualTo(PinFiles.Change.NONE);
        assertThat(again.list()).containsExactlyInAnyOrder(r, noName);
        assertThat(again.unpin(DUID)).isEqualTo(PinFiles.Change.RELOAD);
        assertThat(again.unpin(DUID)).isEqualTo(PinFiles.Change.NONE);
        assertThat(dir.resolve("hosts.d").resolve(PinFiles.fileName(DUID))).doesNotExist();
        assertThat(dir.resolve("dns.d").resolve(PinFiles.fileName(DUID))).doesNotExist();
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary file left")
                    .containsExactlyInAnyOrder("pins", "hosts.d", "dns.d");
        }
        for (String folder : new String[] {"hosts.d", "dns.d"}) {
            try (var files = Files.list(dir.resolve(folder))) {
                assertThat(files.map(p -> p.getFileName().toString())).as("only the pin of %s in %s", other, folder)
                        .containsExactly(PinFiles.fileName(other));
            }
        }
    }

    @Test
    void pinFileNamesAreHexOnlyAndDnsmasqDoesNotIgnoreThem() {
        assertThat(PinFiles.fileName(DUID)).isEqualTo("pin-" + DUID.hex());
        Duid shortest = Duid.parse("00:03:01");
        assertThat(PinFiles.fileName(shortest)).isEqualTo("pin-000301");
        StringBuilder hex = new StringBuilder("0002");
        while (hex.length() < Duid.MAX_BYTES * 2) {
            hex.append("ab");
        }
        Duid longest = Duid.parse(hex.toString());
        String hashed = PinFiles.fileName(longest);
        assertThat(hashed).matches("pinh-[0-9a-f]{64}").isNotEqualTo(PinFiles.fileName(Duid.parse(hex.substring(2) + "cd")));
        Duid atLimit = Duid.parse(hex.substring(0, PinFiles.MAX_PLAIN_HEX));
        assertThat(PinFiles.fileName(atLimit)).isEqualTo("pin-" + atLimit.hex());
        for (String name : new String[] {PinFiles.fileName(DUID), hashed, PinFiles.fileName(atLimit)}) {
            // dnsmasq's inotify skips names starting with '.', ending with '~', and #...#.
            assertThat(name).matches("[a-z0-9-]+").doesNotStartWith(".").doesNotEndWith("~").doesNotStartWith("#");
            assertThat(name.length()).isLessThanOrEqualTo(255 - ".tmp".length() - 1);
        }
        Reservation r = new Reservation(DUID, 7, Identifiers.ipv6("fd00:71:1:0:0:0:0:10"), "host.example.org", null);
        assertThat(PinFiles.hostLine(r)).isEqualTo("id:" + DUID.value() + ",[fd00:71:1::10],host\n");
        assertThat(PinFiles.dnsLine(r, "odq.test")).as("no instance address").isNull();
        Reservation withInstance = new Reservation(DUID, 7, r.address(), null, Identifiers.ipv6("fd00:71:2::1"));
        assertThat(PinFiles.dnsLine(withInstance, null)).as("DNS off").isNull();
        assertThat(PinFiles.dnsLine(new Reservation(longest, 1, r.address(), null, Identifiers.ipv6("fd00:71:2::1")), "odq.test"))
                .as("DUID too long for a label").isNull();
    }

    @Test
    void onlyChangedAndRemovedPinsNeedAReload() throws IOException {
        PinStore store = pins(PinFiles.Layout.DIRS, "odq.test");
        assertThat(store.load()).isEqualTo(PinFiles.Change.NONE);
        Reservation first = new Reservation(DUID, 7, Identifiers.ipv6("fd00:71:1::10"), null, null);
        assertThat(store.pin(first)).as("new pin: dnsmasq reads the new file").isEqualTo(PinFiles.Change.LIVE);
        Reservation withInstance = new Reservation(DUID, 7, first.address(), null, Identifiers.ipv6("fd00:71:2::1"));
        assertThat(store.pin(withInstance)).as("only the DNS record is new: hostsdir reads it").isEqualTo(PinFiles.Change.LIVE);
        assertThat(pinFile("hosts.d", DUID)).isEqualTo(PinFiles.hostLine(first));
        Reservation otherIaid = new Reservation(DUID, 8, first.address(), null, withInstance.instanceAddress());
        assertThat(store.pin(otherIaid)).as("the IAID is not in dnsmasq's files").isEqualTo(PinFiles.Change.NONE);
        Reservation moved = new Reservation(DUID, 8, Identifiers.ipv6("fd00:71:1::20"), null, withInstance.instanceAddress());
        assertThat(store.pin(moved)).as("dnsmasq keeps the record it read until SIGHUP").isEqualTo(PinFiles.Change.RELOAD);
        Reservation noInstance = new Reservation(DUID, 8, moved.address(), null, null);
        assertThat(store.pin(noInstance)).as("hostsdir drops a deleted file's records by itself").isEqualTo(PinFiles.Change.LIVE);
        assertThat(dir.resolve("dns.d").resolve(PinFiles.fileName(DUID))).doesNotExist();
        assertThat(store.unpin(DUID)).isEqualTo(PinFiles.Change.RELOAD);

        // Load removes what no pin owns: a vanished pin's files and temporary leftovers; others stay.
        store.pin(first);
        Files.writeString(dir.resolve("hosts.d/pin-0003000102"), "id:00:03:00:01:02,[fd00:71:1::30]\n");
        Files.writeString(dir.resolve("hosts.d/.pin-0003000103.tmp"), "half");
        Files.writeString(dir.resolve("hosts.d/operator-notes"), "kept");
        Files.writeString(dir.resolve("dhcp-hosts"), "from an earlier version");
        PinStore again = pins(PinFiles.Layout.DIRS, "odq.test");
        assertThat(again.load()).as("a record dnsmasq may hold went away").isEqualTo(PinFiles.Change.RELOAD);
        try (var files = Files.list(dir.resolve("hosts.d"))) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder(PinFiles.fileName(DUID), "operator-notes");
        }
        assertThat(dir.resolve("dhcp-hosts")).doesNotExist();

        // DNS off: no dns.d.
        assertThat(pins(PinFiles.Layout.DIRS, null).load()).isEqualTo(PinFiles.Change.NONE);
        assertThat(dir.resolve("dns.d")).doesNotExist();
    }

    @Test
    void theFilesLayoutRewritesBothFilesAndAlwaysNeedsAReload() throws IOException {
        Files2.directory(dir.resolve("hosts.d"), Files2.OPEN_DIR);
        PinStore store = pins(PinFiles.Layout.FILES, "odq.test");
        assertThat(store.load()).as("the files are new").isEqualTo(PinFiles.Change.RELOAD);
        assertThat(dir.resolve("hosts.d")).as("the other layout's folder").doesNotExist();
        Reservation r = new Reservation(DUID, 7, Identifiers.ipv6("fd00:71:1::10"), "Web1", Identifiers.ipv6("fd00:71:2::1"));
        assertThat(store.pin(r)).isEqualTo(PinFiles.Change.RELOAD);
        Reservation noName = new Reservation(Duid.parse("00:03:00:01:02:00:00:00:00:02"), 1, Identifiers.ipv6("fd00:71:1::11"), null,
                Identifiers.ipv6("fd00:71:2::2"));
        assertThat(store.pin(noName)).isEqualTo(PinFiles.Change.RELOAD);
        assertThat(Files.readString(dir.resolve("dhcp-hosts"))).contains(
                "id:" + DUID.value() + ",[fd00:71:1::10],web1\n",
                "id:00:03:00:01:02:00:00:00:00:02,[fd00:71:1::11]\n");
        assertThat(Files.readString(dir.resolve("addn-hosts"))).contains(
                "fd00:71:2::1 web1.odq.test\n", "fd00:71:2::2 00030001020000000002.odq.test\n");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir.resolve("dhcp-hosts")))).isEqualTo("rw-r--r--");
        assertThat(pins(PinFiles.Layout.FILES, "odq.test").load()).as("unchanged").isEqualTo(PinFiles.Change.NONE);
        assertThat(store.unpin(DUID)).isEqualTo(PinFiles.Change.RELOAD);
        assertThat(Files.readString(dir.resolve("dhcp-hosts"))).doesNotContain(DUID.value());
        try (var files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString())).as("no temporary file left")
                    .containsExactlyInAnyOrder("pins", "dhcp-hosts", "addn-hosts");
        }
    }

    private static Map<String, Object> base() {
        Map<String, Object> c = new HashMap<>();
        c.put("dhcp_source_name", "lan");
        c.put("runFolder", "/tmp/orch-dq-x/run");
        return c;
    }

    private static DnsmasqSettings settings(Map<String, Object> c) {
        return DnsmasqDhcpSource.settings(TestConfigs.config(c));
    }

    @Test
    void configurationDefaultsAndTheGeneratedDnsmasqConfiguration() {
        Map<String, Object> c = base();
        c.remove("runFolder");
        String before = System.getProperty("karaf.data");
        System.setProperty("karaf.data", "/opt/karaf/data");
        try {
            DnsmasqSettings s = settings(c);
            assertThat(s.runDir()).isEqualTo(Path.of("/opt/karaf/data/dnsmasq/lan"));
            assertThat(s.managed()).isTrue();
            assertThat(s.rangeStart()).isEqualTo(Identifiers.ipv6("fd00:6f72:6368::1000"));
            assertThat(s.rangeEnd()).isEqualTo(Identifiers.ipv6("fd00:6f72:6368::1fff"));
            String conf = DnsmasqConfFile.render(s);
            assertThat(conf).contains("port=0\n", "interface=orch-dev0\n", "bind-interfaces\n", "leasefile-ro\n",
                    "dhcp-range=fd00:6f72:6368::1000,fd00:6f72:6368::1fff,64,3600\n", "enable-ra\n",
                    "dhcp-script=/opt/karaf/data/dnsmasq/lan/dnsmasq-hook\n", "script-on-renewal\n",
                    "dhcp-hostsdir=/opt/karaf/data/dnsmasq/lan/hosts.d\n")
                    .doesNotContain("hostsdir=/opt/karaf/data/dnsmasq/lan/dns.d").doesNotContain("dhcp-hostsfile")
                    .doesNotContain("addn-hosts");
            assertThat(s.pinLayout()).isEqualTo(PinFiles.Layout.DIRS);
            assertThat(s.reloadDelayMillis()).isEqualTo(1000);
        } finally {
            if (before == null) {
                System.clearProperty("karaf.data");
            } else {
                System.setProperty("karaf.data", before);
            }
        }
        Map<String, Object> dns = base();
        dns.put("dnsPort", 5353);
        dns.put("domain", "Lan.Example");
        assertThat(DnsmasqConfFile.render(settings(dns))).contains("port=5353\n", "domain=lan.example\n", "\nhostsdir=/tmp/orch-dq-x/run/dns.d\n");
        Map<String, Object> external = base();
        external.put("mode", "external");
        assertThat(settings(external).pinLayout()).isEqualTo(PinFiles.Layout.FILES);
        external.put("externalHostsDirs", true);
        assertThat(settings(external).pinLayout()).isEqualTo(PinFiles.Layout.DIRS);
    }

    @Test
    void invalidConfigurationIsRefusedWithAReason() {
        Map<String, Map<String, Object>> bad = new LinkedHashMap<>();
        bad.put("name", Map.of("dhcp_source_name", "Bad Name"));
        bad.put("mode", Map.of("mode", "both"));
        bad.put("interface", Map.of("interfaceName", "eth0;reboot"));
        bad.put("long interface", Map.of("interfaceName", "a-very-long-interface-name"));
        bad.put("address", Map.of("listenAddress", "10.0.0.1"));
        bad.put("range", Map.of("rangeStart", "fd00:1::5"));
        bad.put("order", Map.of("rangeStart", "fd00:6f72:6368::2000", "rangeEnd", "fd00:6f72:6368::1000"));
        bad.put("lease", Map.of("leaseTime", 60L));
        bad.put("prefix", Map.of("prefixLength", 48));
        bad.put("folder", Map.of("runFolder", "/tmp/a folder"));
        bad.put("domain", Map.of("domain", "bad_domain!"));
        bad.put("reload delay", Map.of("reloadDelayMillis", -1L));
        for (Map.Entry<String, Map<String, Object>> e : bad.entrySet()) {
            Map<String, Object> c = base();
            c.putAll(e.getValue());
            assertThatThrownBy(() -> settings(c)).as(e.getKey()).isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining("null");
        }
        Map<String, Object> noName = base();
        noName.remove("dhcp_source_name");
        assertThatThrownBy(() -> settings(noName)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void protocolBounds() {
        byte[] ok = "8:action=x,0:,".getBytes(StandardCharsets.US_ASCII);
        assertThat(HookProtocol.parse(ok, ok.length).ascii("action")).isEqualTo("x");
        assertThat(HookProtocol.parse(ok, ok.length - 1)).as("incomplete").isNull();
        byte[] trailing = "8:action=x,0:,junk".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> HookProtocol.parse(trailing, trailing.length)).hasMessageContaining("after the end");
        byte[] dup = "3:a=1,3:a=2,0:,".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> HookProtocol.parse(dup, dup.length)).hasMessageContaining("twice");
        byte[] huge = "99999:a=".getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> HookProtocol.parse(huge, huge.length)).hasMessageContaining("limit");
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < 70; i++) {
            String f = "f" + i + "=1";
            many.append(f.length()).append(':').append(f).append(',');
        }
        byte[] m = many.append("0:,").toString().getBytes(StandardCharsets.US_ASCII);
        assertThatThrownBy(() -> HookProtocol.parse(m, m.length)).hasMessageContaining("more than");
    }

    /** A clock the test moves. */
    static final class MutableClock extends Clock {
        volatile Instant now = Instant.parse("2026-01-01T00:00:00Z");

        @Override
        public java.time.ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    private static HookRecord record(String action, String address, Map<String, String> env) {
        Map<String, byte[]> f = new LinkedHashMap<>();
        f.put("action", action.getBytes(StandardCharsets.US_ASCII));
        f.put("duid", DUID.value().getBytes(StandardCharsets.US_ASCII));
        f.put("address", address.getBytes(StandardCharsets.US_ASCII));
        env.forEach((k, v) -> f.put(k, v.getBytes(StandardCharsets.US_ASCII)));
        return new HookRecord(f);
    }

    @Test
    void leaseBookExpiresSilentLeasesAndKeepsClientDataOnReplays() {
        MutableClock clock = new MutableClock();
        RecordingSink sink = new RecordingSink();
        LeaseBook book = new LeaseBook("lan", "odq-br0", sink, clock, dir.resolve("server-duid"), dir.resolve("spool"));
        book.load();
        long exp = clock.now.plusSeconds(600).getEpochSecond();
        assertThat(book.handle(record("add", "fd00:71:1::1", Map.of("DNSMASQ_IAID", "5", "DNSMASQ_MAC", "02:00:00:00:00:05",
                "DNSMASQ_LEASE_EXPIRES", Long.toString(exp)))).status()).isEqualTo("OK");
        // Start-up replay: no MAC, DATA_MISSING; the MAC stays known.
        book.handle(record("old", "fd00:71:1::1", Map.of("DNSMASQ_IAID", "5", "DNSMASQ_DATA_MISSING", "1",
                "DNSMASQ_LEASE_EXPIRES", Long.toString(exp))));
        assertThat(sink.events().get(1).type()).isEqualTo(LeaseEventType.RENEWED);
        assertThat(sink.events().get(1).lease().mac().value()).isEqualTo("02:00:00:00:00:05");
        assertThat(book.expireOverdue()).isZero();
        clock.now = clock.now.plusSeconds(605);
        assertThat(book.expireOverdue()).isEqualTo(1);
        LeaseEvent last = sink.events().get(2);
        assertThat(last.type()).isEqualTo(LeaseEventType.EXPIRED);
        assertThat(book.leases()).isEmpty();
        assertThat(book.expireOverdue()).as("reported once").isZero();
        // Temporary addresses and IPv4 leases are not ours.
        assertThat(book.handle(record("add", "fd00:71:1::2", Map.of("DNSMASQ_IAID", "T5"))).status()).isEqualTo("IGNORED");
        assertThat(book.handle(record("add", "fd00:71:1::2", Map.of())).status()).startsWith("ERR");
    }

    @Test
    void everyFieldThePluginReadsIsValidatedAndUnknownNamesAreRefusedOrIgnoredByDesign() {
        LeaseBook book = new LeaseBook("lan", "odq-br0", new RecordingSink(), Clock.systemUTC(), dir.resolve("server-duid"),
                dir.resolve("spool"));
        book.load();
        Map<String, String> good = Map.of("DNSMASQ_IAID", "5", "DNSMASQ_LEASE_EXPIRES", "0");
        Map<String, String> bad = new LinkedHashMap<>();
        bad.put("DNSMASQ_DATA_MISSING", "yes");
        bad.put("DNSMASQ_TIME_REMAINING", "3600;reboot");
        bad.put("DNSMASQ_SERVER_DUID", "00:01:zz");
        bad.put("DNSMASQ_INTERFACE", "eth0 eth1");
        bad.put("DNSMASQ_MAC", "02:00:00:00:00:");
        bad.put("DNSMASQ_LEASE_EXPIRES", "-1");
        bad.put("DNSMASQ_IAID", "0x10");
        bad.put("hostname", "-leading-dash");
        bad.put("Options", "1");
        bad.put("dnsmasq_iaid", "5");
        for (var e : bad.entrySet()) {
            Map<String, String> env = new LinkedHashMap<>(good);
            env.put(e.getKey(), e.getValue());
            LeaseBook.Reply reply = book.handle(record("add", "fd00:71:1::9", env));
            // the reason names the field, so that the log line says which value was wrong
            assertThat(reply.status()).as("%s=%s", e.getKey(), e.getValue()).startsWith("ERR").contains(
                    e.getKey().startsWith("DNSMASQ_") || e.getKey().equals("hostname") ? e.getKey() : "not part of the hook protocol");
        }
        // both expiry forms are checked, the one dnsmasq did not set included
        Map<String, String> both = new LinkedHashMap<>(good);
        both.put("DNSMASQ_TIME_REMAINING", "soon");
        assertThat(book.handle(record("add", "fd00:71:1::9", both)).status()).startsWith("ERR DNSMASQ_TIME_REMAINING");
        // variables an earlier hook forwarded (vendor and user classes, tags ...) are ignored, even hostile ones
        Map<String, String> old = new LinkedHashMap<>(good);
        old.put("DNSMASQ_VENDOR_CLASS0", "$(reboot)");
        old.put("DNSMASQ_TAGS", "odq-br0 known");
        old.put("DNSMASQ_DATA_MISSING", "0");
        assertThat(book.handle(record("add", "fd00:71:1::9", old)).status()).isEqualTo("OK");
        assertThat(HookEventParser.FIELDS).contains("DNSMASQ_IAID", "DNSMASQ_DATA_MISSING").hasSize(11);
    }

    @Test
    void leasesTheStoreLostAreDeliveredAgainOnceAndPerClient() {
        MutableClock clock = new MutableClock();
        RecordingSink sink = new RecordingSink();
        LeaseBook book = new LeaseBook("lan", "odq-br0", sink, clock, dir.resolve("server-duid"), dir.resolve("spool"));
        book.load();
        long exp = clock.now.plusSeconds(600).getEpochSecond();
        book.handle(record("add", "fd00:71:1::1", Map.of("DNSMASQ_IAID", "1", "DNSMASQ_LEASE_EXPIRES", Long.toString(exp))));
        assertThat(book.resync()).as("nothing lost").isZero();
        // the store acknowledged the ADDED and lost it: delivered again, as ADDED, once
        sink.lose(Identifiers.ipv6("fd00:71:1::1"));
        assertThat(book.resync()).isEqualTo(1);
        assertThat(sink.events()).extracting(LeaseEvent::type).containsExactly(LeaseEventType.ADDED, LeaseEventType.ADDED);
        assertThat(book.resync()).isZero();
        // one client, two IAIDs: the store keeps one lease per client; the newest is delivered again, and no flapping
        book.handle(record("add", "fd00:71:1::2", Map.of("DNSMASQ_IAID", "2", "DNSMASQ_LEASE_EXPIRES", Long.toString(exp))));
        assertThat(book.resync()).isZero();
        sink.lose(Identifiers.ipv6("fd00:71:1::1"));
        sink.lose(Identifiers.ipv6("fd00:71:1::2"));
        assertThat(book.resync()).isEqualTo(1);
        assertThat(sink.events().get(sink.events().size() - 1).lease().address()).isEqualTo(Identifiers.ipv6("fd00:71:1::2"));
        assertThat(book.resync()).isZero();
        assertThat(book.resync()).isZero();
        // a store that is down: nothing, no exception
        sink.lose(Identifiers.ipv6("fd00:71:1::2"));
        sink.setDown(true);
        assertThat(book.resync()).isZero();
        sink.setDown(false);
        // an expired lease is not delivered again (the sweep reports it EXPIRED)
        clock.now = clock.now.plusSeconds(601);
        assertThat(book.resync()).isZero();
    }

    @Test
    void initIsAnsweredFromMemoryWhenTheStoreIsDown() {
        RecordingSink sink = new RecordingSink();
        LeaseBook book = new LeaseBook("lan", "odq-br0", sink, Clock.systemUTC(), dir.resolve("server-duid"), dir.resolve("spool"));
        book.load();
        book.handle(record("add", "fd00:71:1::3", Map.of("DNSMASQ_IAID", "9", "DNSMASQ_LEASE_EXPIRES", "0")));
        sink.setDown(true);
        Map<String, byte[]> init = Map.of("action", "init".getBytes(StandardCharsets.US_ASCII));
        LeaseBook.Reply reply = book.handle(new HookRecord(init));
        assertThat(reply.status()).isEqualTo("OK");
        assertThat(reply.body()).isEqualTo("0 9 fd00:71:1::3 * " + DUID.value() + "\n");
    }
}
