package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.statistics.Statistics;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;

/**
 * Property-based tests (jqwik) of the hook's wire format and event parser, the plug-in's parsers of
 * outside input: any bytes either parse or fail with {@link IllegalArgumentException}; requests
 * round-trip; accepted events carry only canonical, validated values of every field the plug-in
 * reads (valid, hostile, overlong, not UTF-8, absent); variables it does not read change nothing;
 * foreign names and fields given twice are refused.
 */
class HookParserPropertiesTest {

    private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");
    private static final HookEventParser PARSER = new HookEventParser("lan", "orch-dev0", Clock.fixed(NOW, ZoneOffset.UTC));

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

    /** A value of one field: valid, almost valid, hostile text, raw bytes (not UTF-8 either) or absent. */
    private static Arbitrary<byte[]> field(String... valid) {
        Arbitrary<String> hostile = Arbitraries.oneOf(
            Arbitraries.strings().withCharRange(' ', '~').ofMaxLength(70),
            Arbitraries.strings().withChars("0123456789abcdefABCDEF:-.%T").ofMaxLength(50),
            Arbitraries.strings().ofMaxLength(40),
            Arbitraries.of("$(reboot)", "a\nb", "h".repeat(300), "\u00ff\u00fe", "", "fe80::1%eth0", "10.0.0.1", "4294967296",
                "-1", "T12", "T", "1e9", "00:01:" + "ab:".repeat(200) + "cd", "0", "1", "2", " 1", "1 "));
        Arbitrary<byte[]> raw = Arbitraries.oneOf(
            Arbitraries.bytes().array(byte[].class).ofMaxSize(60),
            // a valid value with one byte that is not UTF-8 (a lone 0xff, a truncated sequence, NUL)
            Combinators.combine(Arbitraries.of(valid), Arbitraries.of((byte) 0xff, (byte) 0xc3, (byte) 0x80, (byte) 0, (byte) '\n'),
                Arbitraries.integers().between(0, 40)).as((v, b, at) -> {
                    byte[] text = v.getBytes(StandardCharsets.US_ASCII);
                    byte[] out = java.util.Arrays.copyOf(text, text.length + 1);
                    int i = Math.min(at, text.length);
                    System.arraycopy(text, i, out, i + 1, text.length - i);
                    out[i] = b;
                    return out;
                }));
        return Arbitraries.frequencyOf(
            net.jqwik.api.Tuple.of(12, Arbitraries.of(valid).map(v -> v.getBytes(StandardCharsets.US_ASCII))),
            net.jqwik.api.Tuple.of(1, hostile.map(v -> v.getBytes(StandardCharsets.UTF_8))),
            net.jqwik.api.Tuple.of(1, raw),
            net.jqwik.api.Tuple.of(1, Arbitraries.just((byte[]) null)));
    }

    /** Every field the plugin reads, in {@link HookEventParser#FIELDS}, with the values the property mixes. */
    private static final Map<String, String[]> VALID = new LinkedHashMap<>();

    static {
        VALID.put("action", new String[] {"add", "old", "del", "init", "tftp", "arp-add"});
        VALID.put("duid", new String[] {"00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56", "000300010200000000aa", "00-03-00-01-02-7E-00-00-00-01"});
        VALID.put("address", new String[] {"fd00:79:d::1000", "FD00:79:D:0:0:0:0:1001", "fd00::1"});
        VALID.put("hostname", new String[] {"alice", "Alice-Laptop", "a.b.c"});
        VALID.put("DNSMASQ_IAID", new String[] {"1", "0", "4294967295", "T7"});
        VALID.put("DNSMASQ_MAC", new String[] {"52:54:00:12:34:56", "52-54-00-12-34-56", "00:11:22:33:44:55:66:77"});
        VALID.put("DNSMASQ_LEASE_EXPIRES", new String[] {"1764072000", "0"});
        VALID.put("DNSMASQ_TIME_REMAINING", new String[] {"3600", "0", "120"});
        VALID.put("DNSMASQ_INTERFACE", new String[] {"orch-dev0", "eth0", "Eth0"});
        VALID.put("DNSMASQ_SERVER_DUID", new String[] {"00:01:00:01:2c:00:00:01:02:7e:00:00:00:01", "00:03:00:01:02:00:00:00:00:fe"});
        VALID.put("DNSMASQ_DATA_MISSING", new String[] {"1", "0"});
    }

    @Provide
    Arbitrary<Map<String, byte[]>> events() {
        List<String> names = List.copyOf(VALID.keySet());
        List<Arbitrary<byte[]>> values = names.stream().map(n -> field(VALID.get(n))).toList();
        return Combinators.combine(values).as(list -> {
            Map<String, byte[]> m = new LinkedHashMap<>();
            for (int i = 0; i < names.size(); i++) {
                if (list.get(i) != null) {
                    m.put(names.get(i), list.get(i));
                }
            }
            return m;
        });
    }

    private static HookEvent parse(Map<String, byte[]> fields) {
        byte[] request = HookProtocol.request(fields);
        return PARSER.parse(HookProtocol.parse(request, request.length));
    }

    @Property(tries = 5000)
    void eventParserOnlyThrowsIllegalArgumentAndAcceptsOnlyCanonicalValues(@ForAll("events") Map<String, byte[]> fields) {
        HookEvent event;
        try {
            event = parse(fields);
            Statistics.label("outcome").collect(event.getClass().getSimpleName());
        } catch (IllegalArgumentException e) {
            Statistics.label("outcome").collect("refused");
            // the reason is logged and sent back to dnsmasq's log: it says something, and the reply keeps it printable
            assertThat(e.getMessage()).isNotBlank();
            assertThat(LeaseBook.Reply.error(e.getMessage()).status()).matches("ERR [ -~]{1,196}");
            return;
        }
        assertThat(fields).as("no event without an action").containsKey("action");
        if (event instanceof HookEvent.Change change) {
            assertThat(change.action()).isIn("add", "old", "del");
            // every field that was given is printable ASCII and valid, whether used or not
            for (var e : fields.entrySet()) {
                assertThat(new String(e.getValue(), StandardCharsets.ISO_8859_1)).as(e.getKey()).matches("[ -~]*");
            }
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
            String expires = text(fields, "DNSMASQ_LEASE_EXPIRES");
            String remaining = text(fields, "DNSMASQ_TIME_REMAINING");
            if (expires != null && !expires.isEmpty()) {
                assertThat(lease.expiresAt()).isEqualTo(expires.equals("0") ? null : Instant.ofEpochSecond(Long.parseLong(expires)));
            } else if (remaining != null && !remaining.isEmpty()) {
                assertThat(lease.expiresAt()).isEqualTo(NOW.plusSeconds(Long.parseLong(remaining)));
            } else {
                assertThat(lease.expiresAt()).isNull();
            }
            assertThat(change.dataMissing()).isEqualTo("1".equals(text(fields, "DNSMASQ_DATA_MISSING")));
            String server = text(fields, "DNSMASQ_SERVER_DUID");
            assertThat(change.serverDuid()).isEqualTo(server == null || server.isEmpty() ? null : Duid.parse(server));
        }
        // the property must see both sides, or it proves nothing
        Statistics.label("outcome").coverage(c -> {
            c.check("Change").percentage(p -> p > 2);
            c.check("refused").percentage(p -> p > 30);
        });
    }

    private static String text(Map<String, byte[]> fields, String name) {
        byte[] v = fields.get(name);
        return v == null ? null : new String(v, StandardCharsets.US_ASCII);
    }

    @Provide
    Arbitrary<Map<String, byte[]>> otherVariables() {
        Arbitrary<String> name = Arbitraries.of("VENDOR_CLASS", "USER_CLASS", "TAGS", "SUPPLIED_HOSTNAME", "REQUESTED_OPTIONS",
            "RELAY_ADDRESS", "CLIENT_ID", "OLD_HOSTNAME").flatMap(n -> Arbitraries.integers().between(0, 9)
                .map(i -> "DNSMASQ_" + n + (n.endsWith("CLASS") ? Integer.toString(i) : "")));
        return Arbitraries.maps(name, Arbitraries.bytes().array(byte[].class).ofMaxSize(80)).ofMaxSize(8);
    }

    /**
     * Variables the plug-in does not read (only an earlier hook sent them) never change the outcome,
     * whatever bytes they hold: the same event, or the same refusal.
     */
    @Property(tries = 2000)
    void variablesThePluginDoesNotReadNeverChangeTheOutcome(@ForAll("events") Map<String, byte[]> fields,
                                                            @ForAll("otherVariables") Map<String, byte[]> others) {
        Map<String, byte[]> with = new LinkedHashMap<>(fields);
        others.forEach(with::putIfAbsent);
        Object plain = outcome(fields);
        assertThat(outcome(with)).isEqualTo(plain);
    }

    private static Object outcome(Map<String, byte[]> fields) {
        try {
            return parse(fields);
        } catch (IllegalArgumentException e) {
            return "refused: " + e.getMessage();
        }
    }

    @Provide
    Arbitrary<String> foreignNames() {
        return Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_").ofMinLength(1).ofMaxLength(30)
            .filter(n -> Character.isLetter(n.charAt(0)) && !HookEventParser.FIELDS.contains(n) && !n.matches("DNSMASQ_[A-Z0-9_]{1,40}"));
    }

    /** A name that is neither a field of the protocol nor a dnsmasq variable refuses the request, whatever else it holds. */
    @Property(tries = 1000)
    void foreignNamesAreRefused(@ForAll("events") Map<String, byte[]> fields, @ForAll("foreignNames") String name) {
        Map<String, byte[]> with = new LinkedHashMap<>(fields);
        with.put(name, "1".getBytes(StandardCharsets.US_ASCII));
        assertThat(outcome(with)).asString().startsWith("refused: ").contains("not part of the hook protocol");
    }

    /** A field given twice (two IAIDs, two addresses ...) refuses the request at the wire, whichever values they hold. */
    @Property(tries = 1000)
    void aFieldGivenTwiceIsRefused(@ForAll("events") Map<String, byte[]> fields, @ForAll("fieldNames") String twice,
                                   @ForAll("anyBytes") byte[] second) {
        byte[] request = HookProtocol.request(fields);
        byte[] first = fields.getOrDefault(twice, "1".getBytes(StandardCharsets.US_ASCII));
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        for (byte[] v : List.of(first, second)) {
            byte[] record = concat((twice + "=").getBytes(StandardCharsets.US_ASCII), v);
            out.writeBytes((record.length + ":").getBytes(StandardCharsets.US_ASCII));
            out.writeBytes(record);
            out.write(',');
        }
        out.writeBytes(request);
        byte[] wire = out.toByteArray();
        assertThatThrownBy(() -> HookProtocol.parse(wire, wire.length)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining(twice + " given twice");
    }

    @Provide
    Arbitrary<String> fieldNames() {
        return Arbitraries.of(List.copyOf(HookEventParser.FIELDS));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
