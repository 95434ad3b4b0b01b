package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Basic auth and roles: 401 with a challenge for missing or wrong credentials, 403 for a missing role. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestAuthTest {

    private TestServer server;

    @BeforeAll
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
    }

    @ParameterizedTest
    @ValueSource(strings = {"clients", "clients/00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56", "instances", "instances/inst-alice",
        "leases", "providers", "pool", "events", "metrics"})
    void readsNeedCredentialsAndTheViewerRole(String path) throws Exception {
        HttpResponse<String> anonymous = server.send(server.api(path).GET().build());
        assertThat(anonymous.statusCode()).isEqualTo(401);
        assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Basic realm=\"karaf\""));
        assertThat(TestServer.json(anonymous).get("status").asInt()).isEqualTo(401);

        assertThat(server.getAs("viewer", "wrong", path).statusCode()).isEqualTo(401);
        assertThat(server.getAs("ghost", "viewer-pw", path).statusCode()).isEqualTo(401);
        assertThat(server.getAs("nobody", "nobody-pw", path).statusCode()).isEqualTo(403);
        assertThat(server.getAs("viewer", "viewer-pw", path).statusCode()).isEqualTo(200);
        assertThat(server.getAs("admin", "admin-pw", path).statusCode()).isEqualTo(200);
    }

    @Test
    void malformedAuthorizationHeadersAre401() throws Exception {
        for (String header : new String[] {"Basic !!!notbase64", "Basic " + java.util.Base64.getEncoder().encodeToString("nocolon".getBytes()),
            "Bearer abc", "Basic", "Digest username=\"viewer\""}) {
            HttpResponse<String> r = server.send(server.api("clients").header("Authorization", header).GET().build());
            assertThat(r.statusCode()).as(header).isEqualTo(401);
        }
    }

    @Test
    void writesNeedTheAdminRole() throws Exception {
        String provision = "{\"duid\":\"" + FakeOrchestrator.CAROL + "\"}";
        assertThat(server.send(server.api("instances").header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(provision)).build()).statusCode()).isEqualTo(401);
        assertThat(server.postJson("viewer", "viewer-pw", "instances", provision).statusCode()).isEqualTo(403);
        assertThat(server.postJson("viewer", "viewer-pw", "reconcile", "").statusCode()).isEqualTo(403);
        assertThat(server.postJson("viewer", "viewer-pw", "instances/inst-alice/export", "{\"image\":\"x/y:1\"}").statusCode()).isEqualTo(403);
        assertThat(server.send(server.api("instances/inst-alice").header("Authorization", TestServer.basic("viewer", "viewer-pw"))
            .DELETE().build()).statusCode()).isEqualTo(403);
        assertThat(server.orchestrator.calls).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"health", "openapi.json"})
    void openEndpointsNeedNoCredentials(String path) throws Exception {
        assertThat(server.send(server.api(path).GET().build()).statusCode()).isEqualTo(200);
    }

    @Test
    void leaseEventsIgnoreBasicCredentials() throws Exception {
        HttpResponse<String> r = server.postJson("admin", "admin-pw", "lease-events", "{}");
        assertThat(r.statusCode()).isEqualTo(401);
        assertThat(r.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
    }
}
