package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.Map;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.OrchestratorException;
import org.orchestrator.webconsole.rest.ApiSettings;

import com.fasterxml.jackson.databind.JsonNode;

/** Provision, deprovision, export, reconcile: outcomes, error mapping and input validation. */
class RestWriteTest {

    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private HttpResponse<String> post(String path, String json) throws Exception {
        return server.postJson("admin", "admin-pw", path, json);
    }

    private HttpResponse<String> delete(String path) throws Exception {
        return server.send(server.api(path).header("Authorization", TestServer.basic("admin", "admin-pw")).DELETE().build());
    }

    @Test
    void provisionThatBecomesReadyIs201WithLocation() throws Exception {
        server.orchestrator.instances.add(new org.orchestrator.api.manage.InstanceView("inst-00040011", FakeOrchestrator.CAROL, "docker",
            null, null, "img", null, null, FakeOrchestrator.T0, null));
        HttpResponse<String> r = post("instances", "{\"duid\":\"00-04-11-22-33-44\"}");
        assertThat(r.statusCode()).isEqualTo(201);
        assertThat(r.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).endsWith("/orchestrator/api/v1/instances/inst-00041122"));
        JsonNode body = TestServer.json(r);
        assertThat(body.get("client").get("state").asText()).isEqualTo("READY");
        assertThat(server.orchestrator.calls).containsExactly("provision " + FakeOrchestrator.CAROL);
    }

    @Test
    void provisionStillRunningIs202AndFailedIs502() throws Exception {
        server.orchestrator.provisionOutcome = c -> FakeOrchestrator.with(c, ClientState.PROVISIONING, null);
        assertThat(post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}").statusCode()).isEqualTo(202);
        server.orchestrator.provisionOutcome = c -> FakeOrchestrator.with(c, ClientState.FAILED, null);
        HttpResponse<String> failed = post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}");
        assertThat(failed.statusCode()).isEqualTo(502);
        assertThat(TestServer.json(failed).get("error").asText()).contains("it failed");
        assertThat(TestServer.json(failed).get("client").get("state").asText()).isEqualTo("FAILED");
    }

    @Test
    void provisionMapsOrchestratorFailures() throws Exception {
        assertThat(post("instances", "{\"duid\":\"00:01:02:03:04:05\"}").statusCode()).isEqualTo(404);
        server.orchestrator.provisionFailure = new OrchestratorException(OrchestratorException.Reason.CONFLICT, "instance limit reached");
        HttpResponse<String> conflict = post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}");
        assertThat(conflict.statusCode()).isEqualTo(409);
        assertThat(TestServer.json(conflict).get("error").asText()).isEqualTo("instance limit reached");
        server.orchestrator.provisionFailure = new OrchestratorException(OrchestratorException.Reason.UNAVAILABLE, "no provider");
        assertThat(post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}").statusCode()).isEqualTo(503);
        server.orchestrator.provisionFailure = new OrchestratorException(OrchestratorException.Reason.INVALID, "bad");
        assertThat(post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}").statusCode()).isEqualTo(400);
        server.orchestrator.provisionFailure = new IllegalArgumentException("nope");
        assertThat(post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}").statusCode()).isEqualTo(400);
        server.orchestrator.provisionFailure = new NullPointerException("bug");
        HttpResponse<String> bug = post("instances", "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}");
        assertThat(bug.statusCode()).isEqualTo(500);
        assertThat(TestServer.json(bug).get("error").asText()).isEqualTo("internal error");
    }

    @Test
    void badProvisionBodiesAre400() throws Exception {
        for (String body : new String[] {"", "{", "{\"duid\":", "[1,2]", "\"text\"", "{\"duid\": 42}", "{\"duid\":\"zz\"}",
            "{}", "{\"duid\":\"00:04:11:22:33:44\",\"extra\":1}", "{\"duid\":\"00:04:11:22:33:44\"} trailing",
            "{\"duid\":\"00:04:11:22:33:44\",\"duid\":\"00:04:11:22:33:44\"}"}) {
            HttpResponse<String> r = post("instances", body);
            assertThat(r.statusCode()).as(body).isEqualTo(400);
            assertThat(TestServer.json(r).get("status").asInt()).as(body).isEqualTo(400);
        }
        assertThat(server.orchestrator.calls).isEmpty();
    }

    @Test
    void oversizeBodiesAre413WithOrWithoutContentLength() throws Exception {
        String big = "{\"duid\":\"" + FakeOrchestrator.CAROL + "\",\"pad\":\"" + "x".repeat(ApiSettings.DEFAULT_MAX_BODY) + "\"}";
        HttpResponse<String> declared = post("instances", big);
        assertThat(declared.statusCode()).isEqualTo(413);
        assertThat(TestServer.json(declared).get("status").asInt()).isEqualTo(413);
        HttpResponse<String> chunked = server.postChunked(server.api("instances")
            .header("Authorization", TestServer.basic("admin", "admin-pw")), big.getBytes());
        assertThat(chunked.statusCode()).isEqualTo(413);
        // credentials are checked before the size: strangers learn nothing but 401
        HttpResponse<String> anonymous = server.send(server.api("instances").header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(big)).build());
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(server.orchestrator.calls).isEmpty();
    }

    @Test
    void smallerConfiguredLimitIsHonoured() throws Exception {
        server.close();
        server = TestServer.start(new ApiSettings(TestServer.TOKEN, 1024, "karaf", "viewer", "admin", java.time.Duration.ofSeconds(1)),
            FakeOrchestrator.standard(), Map.of());
        String pad = "{\"image\":\"a/b:1\",\"archive\":\"" + "y".repeat(1100) + "\"}";
        assertThat(post("instances/inst-alice/export", pad).statusCode()).isEqualTo(413);
        // exactly at the limit still passes the size check (and then fails validation)
        String exact = "{\"image\":\"a/b:1\",\"archive\":\"" + "y".repeat(1024 - 30) + "\"}";
        assertThat(exact.length()).isEqualTo(1024);
        assertThat(server.postChunked(server.api("instances/inst-alice/export")
            .header("Authorization", TestServer.basic("admin", "admin-pw")), exact.getBytes()).statusCode()).isEqualTo(400);
    }

    @Test
    void deprovisionByInstanceId() throws Exception {
        HttpResponse<String> r = delete("instances/inst-alice");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(TestServer.json(r).get("client").get("state").asText()).isEqualTo("GONE");
        assertThat(server.orchestrator.calls).containsExactly("deprovision " + FakeOrchestrator.ALICE);
        assertThat(delete("instances/no-such").statusCode()).isEqualTo(404);
        server.orchestrator.deprovisionOutcome = c -> FakeOrchestrator.with(c, ClientState.RELEASING, null);
        assertThat(delete("instances/inst-alice").statusCode()).isEqualTo(202);
        server.orchestrator.deprovisionOutcome = c -> FakeOrchestrator.with(c, ClientState.FAILED, null);
        assertThat(delete("instances/inst-alice").statusCode()).isEqualTo(502);
    }

    @Test
    void exportValidatesAndReports() throws Exception {
        HttpResponse<String> r = post("instances/inst-alice/export", "{\"image\":\"visitors/alice:2026-11-25\",\"archive\":\"alice.tar\"}");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = TestServer.json(r);
        assertThat(body.get("imageTag").asText()).isEqualTo("visitors/alice:2026-11-25");
        assertThat(body.get("archive").asText()).endsWith("/alice.tar");
        assertThat(body.get("sizeBytes").asLong()).isEqualTo(1234);
        assertThat(server.orchestrator.calls).containsExactly("export inst-alice visitors/alice:2026-11-25 alice.tar");

        assertThat(post("instances/inst-alice/export", "{\"image\":\"UPPER/case\"}").statusCode()).isEqualTo(400);
        assertThat(post("instances/inst-alice/export", "{\"image\":\"a/b\",\"archive\":\"../../etc/passwd\"}").statusCode()).isEqualTo(400);
        assertThat(post("instances/inst-alice/export", "{\"archive\":\"x.tar\"}").statusCode()).isEqualTo(400);
        assertThat(post("instances/nope/export", "{\"image\":\"a/b\"}").statusCode()).isEqualTo(404);
    }

    @Test
    void reconcileReports() throws Exception {
        HttpResponse<String> r = server.send(server.api("reconcile").header("Authorization", TestServer.basic("admin", "admin-pw"))
            .POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = TestServer.json(r);
        assertThat(body.get("clientsChecked").asInt()).isEqualTo(3);
        assertThat(body.get("actions").get(0).asText()).isEqualTo("restarted inst-alice");
        assertThat(body.get("tookMillis").asLong()).isEqualTo(42);
    }

    @Test
    void missingCoreIs503AndHealthSaysDown() throws Exception {
        server.orchestratorSlot.unbind(server.orchestrator);
        HttpResponse<String> r = server.get("clients");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(TestServer.json(r).get("error").asText()).contains("not available");
        HttpResponse<String> health = server.send(server.api("health").GET().build());
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(TestServer.json(health).get("up").asBoolean()).isFalse();
    }

    @Test
    void storeDownMakesHealth503AndReads503() throws Exception {
        server.orchestrator.storeUp = false;
        HttpResponse<String> health = server.send(server.api("health").GET().build());
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(TestServer.json(health).get("store").get("up").asBoolean()).isFalse();
        assertThat(server.get("clients").statusCode()).isEqualTo(503);
    }

    @Test
    void healthIsDownWithoutAProvider() throws Exception {
        server.orchestrator.components.removeIf(c -> c.kind() == org.orchestrator.api.manage.ComponentKind.PROVIDER);
        HttpResponse<String> health = server.send(server.api("health").GET().build());
        assertThat(health.statusCode()).isEqualTo(503);
        assertThat(TestServer.json(health).get("providers").asBoolean()).isFalse();
        assertThat(TestServer.json(health).get("sources").asBoolean()).isTrue();
    }
}
