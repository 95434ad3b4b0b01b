package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;

/**
 * Property-based tests (jqwik) of the hook's wire format and event parser, the plug-in's parsers of
 * outside input: any bytes either parse or fail with {@link IllegalArgumentException}; requests
 * round-trip; accepted events carry only canonical, validated values.
 */
class HookParserPropertiesTest {

    private static final HookEventParser PARSER =
        new HookEventParser("lan", "orch-dev0", Clock.fixed(Instant.parse("2026-11-25T12:00:00Z"), ZoneOffset.UTC));

    @Provide
    Arbitrary<byte[]> anyBytes() {
        Arbitrary<byte[]> random = Arbitraries.bytes().array(byte[].class).ofMaxSize(400);
        // near the wire format: digits, ':', ',', '=' and letters
        Arbitrary<byte[]> netstringish = Arbitraries.strings().withChars("0123456789:,=abcdA_\u00ff").ofMaxLength(120)
            .map(s -> s.getBytes(StandardCharsets.ISO_8859_1));
        return Arbitraries.oneOf(random, netstringish);
    }

    @Property(tries = 3000)
    void wireParserOnlyThrowsIllegalArgument(@ForAll("anyBytes") byte[] data) {
        try {
            HookProtocol.parse(data, data.length);
        } catch (IllegalArgumentException e) {
            // the documented refusal
        }
    }

    @Provide
    Arbitrary<Map<String, String>> asciiFields() {
        Arbitrary<String> name = Arbitraries.strings().withChars("ABCDEFGHIJKLMNOPQRSTUVWXYZ_").ofMinLength(1).ofMaxLength(20)
            .map(n -> "DNSMASQ_" + n);
        Arbitrary<String> value = Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(60);
        return Arbitraries.maps(name, value).ofMaxSize(20).map(LinkedHashMap::new);
    }

    @Property(tries = 1000)
    void requestsRoundTrip(@ForAll("asciiFields") Map<String, String> fields) {
        Map<String, byte[]> wire = new LinkedHashMap<>();
        fields.forEach((k, v) -> wire.put(k, v.getBytes(StandardCharsets.US_ASCII)));
        byte[] request = HookProtocol.request(wire);
        HookRecord record = HookProtocol.parse(request, request.length);
        fields.forEach((k, v) -> assertThat(record.ascii(k)).isEqualTo(v));
    }

    /** A value of one field: valid, almost valid or hostile. */
    private static Arbitrary<String> field(String... valid) {
        Arbitrary<String> hostile = Arbitraries.oneOf(
            Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(70),
            Arbitraries.strings().withChars("0123456789abcdefABCDEF:-.%T").ofMaxLength(50),
            Arbitraries.strings().ofMaxLength(40),
            Arbitraries.of("$(reboot)", "a\nb", "h".repeat(300), "\u00ff\u00fe", "", "fe80::1%eth0", "10.0.0.1", "4294967296",
                "-1", "T12", "T", "1e9"));
        return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(3, Arbitraries.of(valid)),
            net.jqwik.api.Tuple.of(2, hostile),
            net.jqwik.api.Tuple.of(1, Arbitraries.just((String) null)));
    }

    @Provide
    Arbitrary<Map<String, String>> events() {
        return Combinators.combine(
            field("add", "old", "del", "init", "tftp", "arp-add"),
            field("00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56", "000300010200000000aa", "00-03-00-01-02-7E-00-00-00-01"),
            field("fd00:79:d::1000", "FD00:79:D:0:0:0:0:1001", "fd00::1"),
            field("alice", "Alice-Laptop", "a.b.c"),
            field("1", "0", "4294967295", "T7"),
            field("52:54:00:12:34:56", "52-54-00-12-34-56", "00:11:22:33:44:55:66:77"),
            field("1764072000", "0"),
            field("orch-dev0", "eth0", "Eth0"))
            .as((action, duid, address, hostname, iaid, mac, expires, iface) -> {
                Map<String, String> m = new LinkedHashMap<>();
                put(m, "action", action);
                put(m, "duid", duid);
                put(m, "address", address);
                put(m, "hostname", hostname);
                put(m, "DNSMASQ_IAID", iaid);
                put(m, "DNSMASQ_MAC", mac);
                put(m, "DNSMASQ_LEASE_EXPIRES", expires);
                put(m, "DNSMASQ_INTERFACE", iface);
                return m;
            });
    }

    private static void put(Map<String, String> m, String k, String v) {
        if (v != null) {
            m.put(k, v);
        }
    }

    @Property(tries = 4000)
    void eventParserOnlyThrowsIllegalArgumentAndAcceptsOnlyCanonicalValues(@ForAll("events") Map<String, String> fields) {
        Map<String, byte[]> wire = new LinkedHashMap<>();
        fields.forEach((k, v) -> wire.put(k, v.getBytes(StandardCharsets.UTF_8)));
        byte[] request = HookProtocol.request(wire);
        HookEvent event;
        try {
            if (request.length > HookProtocol.MAX_REQUEST) {
                return;
            }
            event = PARSER.parse(HookProtocol.parse(request, request.length));
        } catch (IllegalArgumentException e) {
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        if (event instanceof HookEvent.Change change) {
            assertThat(change.action()).isIn("add", "old", "del");
            var lease = change.lease();
            assertThat(Duid.parse(lease.duid().value())).isEqualTo(lease.duid());
            assertThat(Identifiers.ipv6(Identifiers.format(lease.address()))).isEqualTo(lease.address());
            assertThat(lease.address().getScopeId()).isZero();
            assertThat(lease.iaid()).isBetween(0L, 0xFFFF_FFFFL);
            if (lease.hostname() != null) {
                assertThat(Identifiers.hostname(lease.hostname())).isEqualTo(lease.hostname());
            }
            if (lease.mac() != null) {
                assertThat(lease.mac().value()).matches("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
            }
            assertThat(lease.source()).isEqualTo("lan");
            if (lease.network() != null) {
                assertThat(Identifiers.name(lease.network())).isEqualTo(lease.network());
            }
            // only printable ASCII made it through
            for (String v : fields.values()) {
                if (v.equals(lease.hostname())) {
                    assertThat(v).matches("[ -~]*");
                }
            }
        }
    }
}
