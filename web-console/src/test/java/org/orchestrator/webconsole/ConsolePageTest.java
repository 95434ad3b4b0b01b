package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Map;

import javax.servlet.http.HttpServlet;
import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.webconsole.console.ConsolePage;
import org.orchestrator.webconsole.rest.ApiSettings;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The web console page's servlet mounted as Felix mounts plugins (/system/console/orchestrator...):
 * page fragment, assets, data.json and the actions with their CSRF guard.
 */
class ConsolePageTest {

    private TestServer server;
    private FakeOrchestrator orchestrator;
    private ServiceSlot<org.orchestrator.api.manage.Orchestrator> slot;

    @BeforeEach
    void start() throws Exception {
        orchestrator = FakeOrchestrator.standard();
        slot = ServiceSlot.of("the orchestrator core", orchestrator);
        ConsolePage page = new ConsolePage(slot, new Operations(slot, Duration.ofSeconds(1)), TestServer.CLOCK);
        HttpServlet servlet = new HttpServlet() {
            private static final long serialVersionUID = 1L;

            @Override
            protected void doGet(HttpServletRequest req, HttpServletResponse resp) throws IOException {
                page.doGet(req, resp);
            }

            @Override
            protected void doPost(HttpServletRequest req, HttpServletResponse resp) throws IOException {
                page.doPost(req, resp);
            }
        };
        server = TestServer.start(ApiSettings.defaults(TestServer.TOKEN), orchestrator, Map.of("/system/console/*", servlet));
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private HttpResponse<String> get(String path) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/system/console/orchestrator" + path)).GET().build());
    }

    private HttpResponse<String> action(String json) throws Exception {
        return server.send(HttpRequest.newBuilder(server.uri("/system/console/orchestrator/action"))
            .header("Content-Type", "application/json").header("X-Requested-By", "orchestrator-console")
            .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    @Test
    void pageFragmentHasTheStableIdsAndAbsoluteAssetUrls() throws Exception {
        HttpResponse<String> r = get("");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/html"));
        assertThat(r.body()).contains("id=\"orchestrator-console\"", "data-root=\"/system/console/orchestrator\"",
            "table id=\"instances\"", "table id=\"clients\"", "table id=\"leases\"", "table id=\"components\"", "table id=\"events\"",
            "table id=\"pools\"",
            "id=\"refresh-status\"", "id=\"reconcile\"", "id=\"health-badge\"", "id=\"export-form\"",
            "src=\"/system/console/orchestrator/orchestrator.js\"", "href=\"/system/console/orchestrator/orchestrator.css\"")
            .doesNotContain("${root}").doesNotContain("<html");
    }

    @Test
    void assetsAreServedWithTheirTypes() throws Exception {
        HttpResponse<String> js = get("/orchestrator.js");
        assertThat(js.statusCode()).isEqualTo(200);
        assertThat(js.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/javascript"));
        assertThat(js.body()).contains("data.json", "X-Requested-By", "textContent").doesNotContain("innerHTML");
        HttpResponse<String> css = get("/orchestrator.css");
        assertThat(css.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/css"));
        assertThat(css.body()).contains(".badge.state-READY");
        assertThat(get("/../../etc/passwd").statusCode()).isIn(400, 404);
        assertThat(get("/nothing.txt").statusCode()).isEqualTo(404);
    }

    @Test
    void dataJsonHasEverythingThePageShows() throws Exception {
        orchestrator.pools.add(new org.orchestrator.api.manage.PoolView("docker", "lab", "orchestrator/client:latest",
            "0123456789abcdef", 3, 2, 1, 7, 2, 6));
        HttpResponse<String> r = get("/data.json");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Cache-Control")).contains("no-store");
        JsonNode d = TestServer.json(r);
        assertThat(d.get("health").get("up").asBoolean()).isTrue();
        assertThat(d.get("clients")).hasSize(3);
        assertThat(d.get("instances").get(0).get("ageSeconds").asLong()).isEqualTo(120);
        assertThat(d.get("leases")).hasSize(1);
        assertThat(d.get("components")).hasSize(3);
        assertThat(d.get("events")).hasSize(5);
        JsonNode pool = d.get("pools").get(0);
        assertThat(pool.get("size").asInt()).isEqualTo(3);
        assertThat(pool.get("ready").asInt()).isEqualTo(2);
        assertThat(pool.get("min").asInt()).isEqualTo(2);
        assertThat(pool.get("max").asInt()).isEqualTo(6);
        assertThat(pool.get("claimed").asLong()).isEqualTo(7);
        assertThat(d.get("counts").get("clients").asInt()).isEqualTo(3);
        assertThat(d.get("counts").get("clientsByState").get("FAILED").asInt()).isEqualTo(1);
        assertThat(d.get("counts").get("instancesByState").get("RUNNING").asInt()).isEqualTo(1);
        assertThat(d.get("errors").size()).isZero();
    }

    @Test
    void dataJsonDegradesWhenTheStoreOrCoreIsDown() throws Exception {
        orchestrator.storeUp = false;
        JsonNode d = TestServer.json(get("/data.json"));
        assertThat(d.get("errors").get("clients").asText()).contains("store is down");
        assertThat(d.get("health").get("up").asBoolean()).isFalse();
        assertThat(d.get("components")).hasSize(3);

        slot.unbind(orchestrator);
        HttpResponse<String> missing = get("/data.json");
        assertThat(missing.statusCode()).isEqualTo(503);
        assertThat(TestServer.json(missing).get("error").asText()).contains("not available");
    }

    @Test
    void actionsCallTheOrchestrator() throws Exception {
        HttpResponse<String> depro = action("{\"action\":\"deprovision\",\"instanceId\":\"inst-alice\"}");
        assertThat(depro.statusCode()).isEqualTo(200);
        assertThat(TestServer.json(depro).get("message").asText()).contains("GONE");
        HttpResponse<String> export = action("{\"action\":\"export\",\"instanceId\":\"inst-alice\",\"image\":\"v/alice:1\",\"archive\":\"\"}");
        assertThat(export.statusCode()).isEqualTo(200);
        HttpResponse<String> reconcile = action("{\"action\":\"reconcile\"}");
        assertThat(TestServer.json(reconcile).get("report").get("repaired").asInt()).isEqualTo(1);
        assertThat(action("{\"action\":\"provision\",\"duid\":\"" + FakeOrchestrator.CAROL + "\"}").statusCode()).isEqualTo(200);
        assertThat(orchestrator.calls).containsExactly("deprovision " + FakeOrchestrator.ALICE, "export inst-alice v/alice:1 null",
            "reconcile", "provision " + FakeOrchestrator.CAROL);
    }

    @Test
    void badActionsAreRejectedWithoutSideEffects() throws Exception {
        assertThat(action("{\"action\":\"explode\"}").statusCode()).isEqualTo(400);
        assertThat(action("{\"action\":\"deprovision\",\"instanceId\":\"nope\"}").statusCode()).isEqualTo(404);
        assertThat(action("{\"action\":\"export\",\"instanceId\":\"inst-alice\",\"image\":\"BAD TAG\"}").statusCode()).isEqualTo(400);
        assertThat(action("{not json").statusCode()).isEqualTo(400);
        assertThat(action("{\"action\":\"reconcile\",\"pad\":\"" + "x".repeat(70_000) + "\"}").statusCode()).isEqualTo(413);
        // a cross-site form can send neither the header nor a JSON content type
        HttpResponse<String> noHeader = server.send(HttpRequest.newBuilder(server.uri("/system/console/orchestrator/action"))
            .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"action\":\"reconcile\"}")).build());
        assertThat(noHeader.statusCode()).isEqualTo(403);
        HttpResponse<String> form = server.send(HttpRequest.newBuilder(server.uri("/system/console/orchestrator/action"))
            .header("Content-Type", "application/x-www-form-urlencoded").header("X-Requested-By", "orchestrator-console")
            .POST(HttpRequest.BodyPublishers.ofString("action=reconcile")).build());
        assertThat(form.statusCode()).isEqualTo(415);
        assertThat(orchestrator.calls).isEmpty();
    }
}
