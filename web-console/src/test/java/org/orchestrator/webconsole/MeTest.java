package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.LeaseStatus;

import com.fasterxml.jackson.databind.JsonNode;

/** GET me: the caller found by its source IPv6 address (here ::1), JSON or HTML. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MeTest {

    private TestServer server;

    @BeforeAll
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
    }

    private HttpResponse<String> me(String accept, boolean v6) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(v6 ? server.uri6("/orchestrator/api/v1/me") : server.uri("/orchestrator/api/v1/me"))
            .timeout(Duration.ofSeconds(10)).GET();
        if (accept != null) {
            b.header("Accept", accept);
        }
        return server.send(b.build());
    }

    private void loopbackIsAlice() {
        server.orchestrator.clients.removeIf(c -> Identifiers.ipv6("::1").equals(c.address()));
        server.orchestrator.clients.add(new ClientView(FakeOrchestrator.ALICE, 1, Identifiers.ipv6("::1"), "alice<script>", null, "s1",
            null, LeaseStatus.ACTIVE, null, ClientState.READY, null, "inst-alice", FakeOrchestrator.T0, FakeOrchestrator.T0));
    }

    @Test
    void unknownAddressIs404InJsonAndHtml() throws Exception {
        server.orchestrator.clients.removeIf(c -> Identifiers.ipv6("::1").equals(c.address()));
        HttpResponse<String> json = me(null, true);
        assertThat(json.statusCode()).isEqualTo(404);
        assertThat(TestServer.json(json).get("error").asText()).contains("::1");
        HttpResponse<String> html = me("text/html,application/xhtml+xml,*/*;q=0.8", true);
        assertThat(html.statusCode()).isEqualTo(404);
        assertThat(html.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
    }

    @Test
    void ipv4CallerIs404() throws Exception {
        loopbackIsAlice();
        HttpResponse<String> r = me("application/json", false);
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(TestServer.json(r).get("error").asText()).contains("IPv4");
    }

    @Test
    void knownAddressGetsItsClientAndInstanceAsJson() throws Exception {
        loopbackIsAlice();
        HttpResponse<String> r = me("*/*", true);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = TestServer.json(r);
        assertThat(body.get("client").get("duid").asText()).isEqualTo(FakeOrchestrator.ALICE.value());
        assertThat(body.get("instance").get("address").asText()).isEqualTo("fd00:20::2");
    }

    @Test
    void browsersGetEscapedHtml() throws Exception {
        loopbackIsAlice();
        HttpResponse<String> r = me("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(r.body()).contains("<!DOCTYPE html>", "id=\"me-instance\"", "http://[fd00:20::2]/", "alice&lt;script&gt;")
            .doesNotContain("alice<script>");
        assertThat(r.headers().firstValue("Content-Security-Policy")).hasValueSatisfying(v -> assertThat(v).contains("default-src 'none'"));
        assertThat(r.headers().firstValue("X-Content-Type-Options")).contains("nosniff");
        assertThat(r.headers().firstValue("Cache-Control")).contains("no-store");
    }
}
