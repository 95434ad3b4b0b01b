package org.orchestrator.webconsole.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.webconsole.ApiError;
import org.orchestrator.webconsole.Json;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * Property-based tests (jqwik) of the REST lease-event JSON mapping: any body is either mapped to
 * a valid event or refused with a 400 ({@link ApiError}, or {@link IllegalArgumentException}
 * which the API maps to 400); nothing else escapes, and accepted events hold canonical values.
 */
class LeaseEventJsonPropertiesTest {

    private static final Instant NOW = Instant.parse("2026-11-25T12:00:00Z");

    @Provide
    Arbitrary<byte[]> bodies() {
        return Arbitraries.oneOf(
            Arbitraries.bytes().array(byte[].class).ofMaxSize(300),
            Arbitraries.strings().withChars("{}[]\":,0123456789.-+eEtruefalsn \\u").ofMaxLength(120)
                .map(s -> s.getBytes(StandardCharsets.UTF_8)),
            events().map(m -> Json.write(m).getBytes(StandardCharsets.UTF_8)));
    }

    private static Arbitrary<Object> value(Object... valid) {
        Arbitrary<Object> hostile = Arbitraries.oneOf(
            Arbitraries.strings().ofMaxLength(80).map(s -> (Object) s),
            Arbitraries.strings().withChars("0123456789abcdefABCDEF:-.%T Z").ofMaxLength(50).map(s -> (Object) s),
            Arbitraries.longs().map(l -> (Object) l),
            Arbitraries.doubles().map(d -> (Object) d),
            Arbitraries.of(true, false, "$(reboot)", "a\nb", "h".repeat(300), "", "fe80::1%eth0", "10.0.0.1", -1L,
                4294967296L, "1e9", "9999999999999999999999").map(o -> (Object) o),
            Arbitraries.just((Object) Map.of("nested", 1)),
            Arbitraries.just((Object) java.util.List.of(1, 2)));
        return Arbitraries.frequencyOf(
            Tuple.of(3, Arbitraries.of(valid)),
            Tuple.of(2, hostile),
            Tuple.of(1, Arbitraries.just((Object) null)));
    }

    @Provide
    Arbitrary<Map<String, Object>> events() {
        return Combinators.combine(
            value("ADDED", "renewed", "RELEASED", "EXPIRED", "DELETED"),
            value("00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56", "000300010200000000aa", "00-03-00-01-02-7E-00-00-00-01"),
            value(1L, "7", 0L, 4294967295L),
            value("fd00:10::100", "FD00:10:0:0:0:0:0:101"),
            value("52:54:00:12:34:56", "52-54-00-12-34-56"),
            value("alice-laptop", "Alice"),
            value("2026-11-25T13:00:00Z", 1764075600L),
            value("lan", "LAN", "../etc"))
            .as((type, duid, iaid, address, mac, hostname, expires, source) -> {
                Map<String, Object> m = new LinkedHashMap<>();
                put(m, "type", type);
                put(m, "duid", duid);
                put(m, "iaid", iaid);
                put(m, "address", address);
                put(m, "mac", mac);
                put(m, "hostname", hostname);
                put(m, "expiresAt", expires);
                put(m, "source", source);
                return m;
            });
    }

    private static void put(Map<String, Object> m, String k, Object v) {
        if (v != null) {
            m.put(k, v);
        }
    }

    @Property(tries = 4000)
    void anyBodyIsMappedOrRefusedWith400(@ForAll("bodies") byte[] body) {
        LeaseEvent event;
        try {
            ObjectNode json = Json.readObject(new ByteArrayInputStream(body));
            event = LeaseEventsResource.parse(json, NOW);
        } catch (ApiError e) {
            assertThat(e.status()).isEqualTo(400);
            assertThat(e.getMessage()).isNotBlank();
            return;
        } catch (IllegalArgumentException e) {
            // FailureMapper answers 400 with the message
            assertThat(e.getMessage()).isNotBlank();
            return;
        }
        var lease = event.lease();
        assertThat(event.observedAt()).isEqualTo(NOW);
        assertThat(Duid.parse(lease.duid().value())).isEqualTo(lease.duid());
        assertThat(Identifiers.ipv6(Identifiers.format(lease.address()))).isEqualTo(lease.address());
        assertThat(lease.iaid()).isBetween(0L, 0xFFFF_FFFFL);
        assertThat(Identifiers.name(lease.source())).isEqualTo(lease.source());
        if (lease.hostname() != null) {
            assertThat(Identifiers.hostname(lease.hostname())).isEqualTo(lease.hostname());
        }
        if (lease.mac() != null) {
            assertThat(lease.mac().value()).matches("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
        }
    }
}
