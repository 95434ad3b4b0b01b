package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.webconsole.rest.ApiSettings;

/** POST lease-events: the shared token, event parsing and delivery to the lease sink. */
class LeaseEventsTest {

    private static final String EVENT = """
        {"type":"added","duid":"00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56","iaid":"305419896","address":"fd00:10:0:0::100",
         "mac":"52-54-00-12-34-56","hostname":"Alice-Laptop","expiresAt":"2026-11-25T13:00:00Z","source":"dnsmasq-lab",
         "network":"lab0","futureField":true}""";

    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private HttpResponse<String> post(String tokenHeader, String tokenValue, String body) throws Exception {
        HttpRequest.Builder b = server.api("lease-events").header("Content-Type", "application/json");
        if (tokenHeader != null) {
            b.header(tokenHeader, tokenValue);
        }
        return server.send(b.POST(HttpRequest.BodyPublishers.ofString(body)).build());
    }

    @Test
    void rightTokenDeliversTheEventToTheSink() throws Exception {
        HttpResponse<String> r = post("X-Orchestrator-Token", TestServer.TOKEN, EVENT);
        assertThat(r.statusCode()).isEqualTo(204);
        assertThat(server.sink.accepted).hasSize(1);
        LeaseEvent e = server.sink.accepted.get(0);
        assertThat(e.type()).isEqualTo(LeaseEventType.ADDED);
        assertThat(e.lease().duid()).isEqualTo(FakeOrchestrator.ALICE);
        assertThat(e.lease().iaid()).isEqualTo(305419896L);
        assertThat(e.lease().address()).isEqualTo(Identifiers.ipv6("fd00:10::100"));
        assertThat(e.lease().mac().value()).isEqualTo("52:54:00:12:34:56");
        assertThat(e.lease().hostname()).isEqualTo("alice-laptop");
        assertThat(e.lease().expiresAt()).isEqualTo(Instant.parse("2026-11-25T13:00:00Z"));
        assertThat(e.lease().source()).isEqualTo("dnsmasq-lab");
        assertThat(e.lease().network()).isEqualTo("lab0");
        assertThat(e.observedAt()).isEqualTo(FakeOrchestrator.T0);
    }

    @Test
    void bearerTokenWorksTooAndMinimalEventsAreAccepted() throws Exception {
        String minimal = "{\"type\":\"RELEASED\",\"duid\":\"000100012c5f\",\"iaid\":7,\"address\":\"fd00::7\",\"source\":\"s1\",\"expiresAt\":1795000000}";
        assertThat(post("Authorization", "Bearer " + TestServer.TOKEN, minimal).statusCode()).isEqualTo(204);
        LeaseEvent e = server.sink.accepted.get(0);
        assertThat(e.type()).isEqualTo(LeaseEventType.RELEASED);
        assertThat(e.lease().mac()).isNull();
        assertThat(e.lease().hostname()).isNull();
        assertThat(e.lease().network()).isNull();
        assertThat(e.lease().expiresAt()).isEqualTo(Instant.ofEpochSecond(1795000000L));
    }

    @Test
    void missingTokenIs401AndWrongTokenIs403() throws Exception {
        assertThat(post(null, null, EVENT).statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = post("X-Orchestrator-Token", TestServer.TOKEN + "x", EVENT);
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertThat(wrong.body()).doesNotContain(TestServer.TOKEN);
        assertThat(post("X-Orchestrator-Token", "", EVENT).statusCode()).isEqualTo(401);
        assertThat(post("Authorization", "Bearer nope", EVENT).statusCode()).isEqualTo(403);
        assertThat(post("Authorization", TestServer.basic("admin", "admin-pw"), EVENT).statusCode()).isEqualTo(401);
        assertThat(server.sink.accepted).isEmpty();
    }

    @Test
    void emptyConfiguredTokenDisablesTheEndpoint() throws Exception {
        server.close();
        server = TestServer.start(ApiSettings.defaults(""), FakeOrchestrator.standard(), Map.of());
        HttpResponse<String> r = post("X-Orchestrator-Token", "", EVENT);
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(post("X-Orchestrator-Token", "anything", EVENT).statusCode()).isEqualTo(403);
        assertThat(TestServer.json(r).get("error").asText()).contains("disabled");
        assertThat(server.sink.accepted).isEmpty();
    }

    @Test
    void invalidEventsAre400() throws Exception {
        String[] bad = {
            "{", "[]", "null",
            EVENT.replace("\"added\"", "\"exploded\""),
            EVENT.replace("00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56", "xyz"),
            EVENT.replace("\"305419896\"", "\"4294967296\""),
            EVENT.replace("\"305419896\"", "-1"),
            EVENT.replace("\"305419896\"", "1.5"),
            EVENT.replace("fd00:10:0:0::100", "10.0.0.1"),
            EVENT.replace("fd00:10:0:0::100", "example.com"),
            EVENT.replace("52-54-00-12-34-56", "52:54:00"),
            EVENT.replace("Alice-Laptop", "rm -rf /;"),
            EVENT.replace("2026-11-25T13:00:00Z", "tomorrow"),
            EVENT.replace("dnsmasq-lab", "Bad Source!"),
            EVENT.replace("\"lab0\"", "\"../lab0\""),
            EVENT.replace("\"source\":\"dnsmasq-lab\",", ""),
            EVENT.replace("\"type\":\"added\",", ""),
        };
        for (String body : bad) {
            HttpResponse<String> r = post("X-Orchestrator-Token", TestServer.TOKEN, body);
            assertThat(r.statusCode()).as(body).isEqualTo(400);
            assertThat(TestServer.json(r).get("error").asText()).as(body).isNotBlank();
        }
        assertThat(server.sink.accepted).isEmpty();
    }

    @Test
    void oversizeIs413AndSinkFailuresAreMapped() throws Exception {
        String big = EVENT.replace("\"futureField\":true", "\"pad\":\"" + "z".repeat(70_000) + "\"");
        assertThat(post("X-Orchestrator-Token", TestServer.TOKEN, big).statusCode()).isEqualTo(413);
        assertThat(server.postChunked(server.api("lease-events").header("X-Orchestrator-Token", TestServer.TOKEN), big.getBytes())
            .statusCode()).isEqualTo(413);

        server.sink.failure = new IllegalStateException("store is down");
        assertThat(post("X-Orchestrator-Token", TestServer.TOKEN, EVENT).statusCode()).isEqualTo(503);
        server.sink.failure = new IllegalArgumentException("address held by another client");
        HttpResponse<String> conflict = post("X-Orchestrator-Token", TestServer.TOKEN, EVENT);
        assertThat(conflict.statusCode()).isEqualTo(400);
        assertThat(TestServer.json(conflict).get("error").asText()).contains("another client");

        server.sink.failure = null;
        server.sinkSlot.unbind(server.sink);
        assertThat(post("X-Orchestrator-Token", TestServer.TOKEN, EVENT).statusCode()).isEqualTo(503);
    }
}
