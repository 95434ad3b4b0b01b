package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.orchestrator.itests.support.Device;
import org.orchestrator.itests.support.Host;
import org.orchestrator.itests.support.Http;
import org.orchestrator.itests.support.WebLab;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The REST API of the real distribution over real HTTP: every endpoint's status codes and JSON
 * shape, Basic authentication and roles against Karaf's JAAS realm, the token of the lease-event
 * endpoint, input validation, and a real DHCPv6 device asking {@code GET me} from its own namespace
 * before an administrator deprovisions its instance through {@code DELETE instances/{id}}.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class WebConsoleIT {

    static final WebLab.Names NAMES = new WebLab.Names("1", "iw-lan", "iw-inst");
    /** An unrouted source: a hook-delivered client stays PENDING and gets no container. */
    static final String HOOK_SOURCE = "iw-hook";
    static final String FAKE_DUID = "00:03:00:01:02:00:00:7a:00:01";
    static final String FAKE_ADDRESS = "fd00:7a:d1::7a:1";
    /** Another client that claims {@link #FAKE_ADDRESS} while FAKE_DUID holds it. */
    static final String THIEF_DUID = "00:03:00:01:02:00:00:7a:00:02";

    static WebLab lab;
    static Http api;
    static String admin;
    static Device device;
    static String deviceDuid;
    static String instanceId;

    @BeforeAll
    static void boot() throws Exception {
        lab = WebLab.boot("webconsole", NAMES, Duration.ofSeconds(180));
        api = new Http(lab.apiBase());
        admin = lab.adminPassword();
        // the REST servlet registers once core and Jersey are up: wait for health, bounded
        awaitStatus(() -> api.call("health").send(), 200, Duration.ofSeconds(60));
    }

    @AfterAll
    static void shutdown() throws Exception {
        try {
            if (device != null) {
                device.close();
            }
        } finally {
            if (lab != null) {
                lab.close();
            }
        }
        assertThat(WebLab.containers()).as("containers of %s left", WebLab.PROVIDER).isEmpty();
        assertThat(Host.lines("ip", "netns", "list")).noneMatch(l -> l.startsWith(WebLab.PREFIX));
    }

    // ------------------------------------------------------------------ open endpoints

    @Test
    @Order(1)
    void healthIsOpenAndNamesEveryPart() throws Exception {
        HttpResponse<String> r = api.call("health").send();
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode h = Http.json(r);
        assertThat(h.path("up").asBoolean()).isTrue();
        assertThat(h.path("store").path("up").asBoolean()).isTrue();
        assertThat(h.path("store").path("detail").asText()).startsWith("jdbc:");
        assertThat(h.path("sources").asBoolean()).isTrue();
        assertThat(h.path("providers").asBoolean()).isTrue();
        assertThat(h.path("networks").asBoolean()).isTrue();
        assertThat(h.path("components").isArray()).isTrue();
    }

    @Test
    @Order(2)
    void openApiIsOpenValidJsonAndListsEveryRoute() throws Exception {
        HttpResponse<String> r = api.call("openapi.json").send();
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode doc = Http.json(r);
        assertThat(doc.path("openapi").asText()).isEqualTo("3.0.3");
        JsonNode paths = doc.path("paths");
        Map<String, List<String>> expected = Map.ofEntries(
            Map.entry("/clients", List.of("get")), Map.entry("/clients/{duid}", List.of("get")),
            Map.entry("/instances", List.of("get", "post")), Map.entry("/instances/{id}", List.of("get", "delete")),
            Map.entry("/instances/{id}/export", List.of("post")), Map.entry("/reconcile", List.of("post")),
            Map.entry("/leases", List.of("get")), Map.entry("/providers", List.of("get")),
            Map.entry("/events", List.of("get")), Map.entry("/health", List.of("get")),
            Map.entry("/metrics", List.of("get")), Map.entry("/lease-events", List.of("post")),
            Map.entry("/me", List.of("get")), Map.entry("/openapi.json", List.of("get")));
        expected.forEach((path, methods) -> {
            assertThat(paths.has(path)).as("openapi.json lists %s", path).isTrue();
            methods.forEach(m -> assertThat(paths.path(path).has(m)).as("%s %s", m, path).isTrue());
        });
    }

    // ------------------------------------------------------------------ authentication and roles

    @Test
    @Order(3)
    void readsNeedCredentialsOfAViewer() throws Exception {
        HttpResponse<String> none = api.call("clients").send();
        assertThat(none.statusCode()).isEqualTo(401);
        assertThat(none.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(
            v -> assertThat(v).startsWith("Basic").contains("realm=\"karaf\""));
        assertError(none, 401);

        assertThat(api.call("clients").basic("admin", admin + "x").send().statusCode()).isEqualTo(401);
        assertThat(api.call("clients").basic("nobody", admin).send().statusCode()).isEqualTo(401);
        HttpResponse<String> anonymousScrape = api.call("metrics").send();
        assertThat(anonymousScrape.statusCode()).isEqualTo(401);
        assertThat(anonymousScrape.body()).doesNotContain("orchestrator_");

        assertThat(api.call("clients").basic(WebLab.VIEWER, lab.viewerPassword()).send().statusCode()).isEqualTo(200);
        assertThat(api.call("clients").basic("admin", admin).send().statusCode()).isEqualTo(200);
    }

    @Test
    @Order(4)
    void writesNeedTheAdminRole() throws Exception {
        String viewerPw = lab.viewerPassword();
        HttpResponse<String> reconcile = api.call("reconcile").basic(WebLab.VIEWER, viewerPw).method("POST").send();
        assertThat(reconcile.statusCode()).isEqualTo(403);
        assertError(reconcile, 403);
        assertThat(api.call("instances").basic(WebLab.VIEWER, viewerPw).json("POST", "{\"duid\":\"" + FAKE_DUID + "\"}")
            .send().statusCode()).isEqualTo(403);
        assertThat(api.call("instances/some-instance").basic(WebLab.VIEWER, viewerPw).method("DELETE").send().statusCode())
            .isEqualTo(403);
        assertThat(api.call("instances/some-instance/export").basic(WebLab.VIEWER, viewerPw)
            .json("POST", "{\"image\":\"iw/test:1\"}").send().statusCode()).isEqualTo(403);
        assertThat(api.call("reconcile").method("POST").send().statusCode()).isEqualTo(401);

        HttpResponse<String> ok = api.call("reconcile").basic("admin", admin).method("POST").send();
        assertThat(ok.statusCode()).isEqualTo(200);
        JsonNode report = Http.json(ok);
        for (String field : List.of("clientsChecked", "repaired", "orphansRemoved", "actions", "tookMillis")) {
            assertThat(report.has(field)).as("ReconcileReport.%s in %s", field, report).isTrue();
        }
    }

    // ------------------------------------------------------------------ reads

    @Test
    @Order(5)
    void providersListEverySourceProviderAndNetwork() throws Exception {
        JsonNode all = getJson("providers");
        assertThat(all.isArray()).isTrue();
        assertThat(component(all, "DHCP_SOURCE", NAMES.source())).hasValueSatisfying(c -> {
            assertThat(c.path("available").asBoolean()).isTrue();
            assertThat(c.path("bundleSymbolicName").asText()).startsWith("org.orchestrator.");
            assertThat(c.path("bundleState").asText()).isNotBlank();
            assertThat(c.path("bundleId").isNumber()).isTrue();
            assertThat(c.has("detail")).isTrue();
        });
        assertThat(component(all, "PROVIDER", WebLab.PROVIDER)).hasValueSatisfying(c -> assertThat(c.path("available").asBoolean()).isTrue());
        assertThat(component(all, "NETWORK", NAMES.network())).hasValueSatisfying(c -> assertThat(c.path("available").asBoolean()).isTrue());

        JsonNode providers = getJson("providers?kind=PROVIDER");
        assertThat(providers.size()).isPositive();
        providers.forEach(c -> assertThat(c.path("kind").asText()).isEqualTo("PROVIDER"));
        assertError(viewer("providers?kind=BOGUS"), 400);
    }

    @Test
    @Order(6)
    void collectionsAreJsonArrays() throws Exception {
        for (String path : List.of("clients", "instances", "leases")) {
            HttpResponse<String> r = viewer(path);
            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
            assertThat(Http.json(r).isArray()).as(path).isTrue();
        }
    }

    @Test
    @Order(10)
    void eventsPageBySequenceNumber() throws Exception {
        JsonNode recent = getJson("events?limit=5");
        assertThat(recent.isArray()).isTrue();
        assertThat(recent.size()).isBetween(1, 5);
        List<Long> seqs = new ArrayList<>();
        recent.forEach(e -> {
            for (String field : List.of("seq", "at", "kind", "client", "instanceId", "message")) {
                assertThat(e.has(field)).as("Event.%s in %s", field, e).isTrue();
            }
            seqs.add(e.path("seq").asLong());
        });
        assertThat(seqs).isSorted();
        long first = seqs.get(0);
        JsonNode after = getJson("events?since=" + first + "&limit=10000");
        assertThat(after.size()).isGreaterThanOrEqualTo(seqs.size() - 1);
        after.forEach(e -> assertThat(e.path("seq").asLong()).isGreaterThan(first));
        assertThat(getJson("events?since=" + seqs.get(seqs.size() - 1) + "000000").size()).isZero();

        assertError(viewer("events?since=abc"), 400);
        assertError(viewer("events?limit=-1"), 400);
    }

    @Test
    @Order(7)
    void metricsArePrometheusTextFromMicrometer() throws Exception {
        HttpResponse<String> r = viewer("metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        // Prometheus text 0.0.4 (Jersey may reorder the parameters)
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(
            Arrays.stream(v.split(";")).map(String::trim).map(String::toLowerCase).toList())
            .containsExactlyInAnyOrder("text/plain", "version=0.0.4", "charset=utf-8"));
        assertThat(r.body())
            .contains("# TYPE orchestrator_events_total counter")
            .contains("# TYPE orchestrator_lease_events_total counter")
            .contains("# TYPE orchestrator_failures_total counter")
            .contains("# TYPE orchestrator_clients gauge")
            .contains("# TYPE orchestrator_instances gauge")
            .contains("# TYPE orchestrator_instances_by_state gauge")
            .contains("# TYPE orchestrator_provision_latency_seconds histogram")
            .contains("# TYPE orchestrator_pool_claims_total counter")
            .contains("# TYPE orchestrator_pool_refill_seconds histogram")
            // JVM and process meters of Micrometer's binders, in OSGi
            .contains("# TYPE jvm_memory_used_bytes gauge")
            .contains("# TYPE process_cpu_usage gauge")
            .contains("# TYPE process_uptime_seconds gauge");
        List<Sample> m = samples(r.body());
        assertThat(metric(m, "orchestrator_up", Map.of())).isEqualTo(1);
        assertThat(metric(m, "process_resident_memory_bytes", Map.of())).isGreaterThan(64.0 * 1024 * 1024);
        assertThat(metric(m, "process_uptime_seconds", Map.of())).isPositive();
        assertThat(metric(m, "process_files_open_files", Map.of())).isPositive();
        // the lease-to-ready histogram has exactly the documented buckets, for both pool labels
        for (String pool : List.of("false", "true")) {
            assertThat(m.stream().filter(s -> s.name().equals("orchestrator_provision_latency_seconds_bucket")
                    && pool.equals(s.labels().get("pool"))).map(s -> s.labels().get("le")).map(WebConsoleIT::number).toList())
                .containsExactly(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, Double.POSITIVE_INFINITY);
        }
        for (String operation : List.of("provision", "attach", "pin", "deprovision", "pool.refill")) {
            assertThat(metric(m, "orchestrator_failures_total", Map.of("operation", operation))).as(operation).isNotNegative();
        }
        assertThat(metric(m, "orchestrator_clients", Map.of("state", "READY"))).isNotNegative();
    }

    // ------------------------------------------------------------------ lease events

    @Test
    @Order(8)
    void leaseEventsNeedTheToken() throws Exception {
        String event = leaseEvent("ADDED", FAKE_DUID, FAKE_ADDRESS);
        HttpResponse<String> missing = api.call("lease-events").json("POST", event).send();
        assertThat(missing.statusCode()).isEqualTo(401);
        assertThat(missing.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        // Basic credentials of the admin do not count
        assertThat(api.call("lease-events").basic("admin", admin).json("POST", event).send().statusCode()).isEqualTo(401);
        HttpResponse<String> wrong = api.call("lease-events").header("X-Orchestrator-Token", lab.token() + "0").json("POST", event).send();
        assertThat(wrong.statusCode()).isEqualTo(403);
        assertError(wrong, 403);
        assertThat(api.call("lease-events").header("Authorization", "Bearer nope").json("POST", event).send().statusCode())
            .isEqualTo(403);
        // nothing was stored by the refused calls
        assertThat(viewer("clients/" + FAKE_DUID).statusCode()).isEqualTo(404);

        List<Sample> scrapeBefore = samples(viewer("metrics").body());
        HttpResponse<String> ok = api.call("lease-events").header("X-Orchestrator-Token", lab.token()).json("POST", event).send();
        assertThat(ok.statusCode()).as(ok.body()).isEqualTo(204);
        // core rejects a second client on the same address: 400, counted as a rejected lease event
        HttpResponse<String> thief = api.call("lease-events").header("X-Orchestrator-Token", lab.token())
            .json("POST", leaseEvent("ADDED", THIEF_DUID, FAKE_ADDRESS)).send();
        assertError(thief, 400);
        List<Sample> scrapeAfter = samples(viewer("metrics").body());
        Map<String, String> added = Map.of("type", "ADDED", "outcome", "accepted");
        Map<String, String> rejected = Map.of("type", "ADDED", "outcome", "rejected");
        assertThat(metric(scrapeAfter, "orchestrator_lease_events_total", added))
            .isEqualTo(metric(scrapeBefore, "orchestrator_lease_events_total", added) + 1);
        assertThat(metric(scrapeAfter, "orchestrator_lease_events_total", rejected))
            .isEqualTo(metric(scrapeBefore, "orchestrator_lease_events_total", rejected) + 1);
        Map<String, String> coreRejected = Map.of("event", "lease.rejected");
        assertThat(metric(scrapeAfter, "orchestrator_events_total", coreRejected))
            .isEqualTo(metricOr(scrapeBefore, "orchestrator_events_total", coreRejected, 0) + 1);

        JsonNode clients = getJson("clients");
        JsonNode c = find(clients, "duid", FAKE_DUID).orElseThrow(() -> new AssertionError("no client " + FAKE_DUID + " in " + clients));
        assertThat(c.path("address").asText()).isEqualTo(FAKE_ADDRESS);
        assertThat(c.path("iaid").asLong()).isEqualTo(305419896L);
        assertThat(c.path("hostname").asText()).isEqualTo("iw-hooked");
        assertThat(c.path("mac").asText()).isEqualTo("52:54:00:7a:00:01");
        assertThat(c.path("source").asText()).isEqualTo(HOOK_SOURCE);
        assertThat(c.path("leaseStatus").asText()).isEqualTo("ACTIVE");
        for (String field : List.of("network", "leaseExpiresAt", "state", "reason", "instanceId", "since", "updatedAt")) {
            assertThat(c.has(field)).as("Client.%s in %s", field, c).isTrue();
        }
        JsonNode one = getJson("clients/" + FAKE_DUID);
        assertThat(one.path("duid").asText()).isEqualTo(FAKE_DUID);
        // the DUID in other spellings names the same client
        assertThat(getJson("clients/" + FAKE_DUID.replace(':', '-').toUpperCase()).path("duid").asText()).isEqualTo(FAKE_DUID);
        assertThat(find(getJson("leases"), "duid", FAKE_DUID)).hasValueSatisfying(
            l -> assertThat(l.path("address").asText()).isEqualTo(FAKE_ADDRESS));

        HttpResponse<String> released = api.call("lease-events").header("Authorization", "Bearer " + lab.token())
            .json("POST", leaseEvent("released", FAKE_DUID, FAKE_ADDRESS)).send();
        assertThat(released.statusCode()).as(released.body()).isEqualTo(204);
        JsonNode after = awaitJson("clients/" + FAKE_DUID, j -> "RELEASED".equals(j.path("leaseStatus").asText()), Duration.ofSeconds(20));
        assertThat(after.path("duid").asText()).isEqualTo(FAKE_DUID);
        assertThat(find(getJson("leases"), "duid", FAKE_DUID)).isEmpty();
    }

    // ------------------------------------------------------------------ bad input

    @Test
    @Order(9)
    void badInputIsRefusedWithJsonErrors() throws Exception {
        // malformed JSON
        assertError(api.call("lease-events").header("X-Orchestrator-Token", lab.token()).json("POST", "{\"type\": ").send(), 400);
        assertError(admin("instances").json("POST", "{duid:").send(), 400);
        assertError(admin("instances").json("POST", "[1,2]").send(), 400);
        assertError(admin("instances").json("POST", "{\"duid\":\"" + FAKE_DUID + "\",\"bogus\":1}").send(), 400);
        // a lease event naming a bad field: 400 naming the field
        HttpResponse<String> badAddress = api.call("lease-events").header("X-Orchestrator-Token", lab.token())
            .json("POST", leaseEvent("ADDED", FAKE_DUID, "not-an-address")).send();
        assertError(badAddress, 400);
        assertThat(Http.json(badAddress).path("error").asText()).containsIgnoringCase("address");
        // unknown and bad DUIDs
        String unknown = "00:03:00:01:02:00:00:7a:ff:ff";
        assertError(viewer("clients/" + unknown), 404);
        assertError(admin("instances").json("POST", "{\"duid\":\"" + unknown + "\"}").send(), 404);
        assertError(viewer("clients/zz-not-a-duid"), 400);
        assertError(admin("instances").json("POST", "{\"duid\":\"zz\"}").send(), 400);
        assertError(viewer("instances/no-such-instance"), 404);
        assertError(admin("instances/no-such-instance").method("DELETE").send(), 404);
        // oversize bodies (default maxBodyBytes 65536)
        String huge = "{\"duid\":\"" + "a".repeat(70_000) + "\"}";
        assertError(admin("instances").json("POST", huge).send(), 413);
        assertError(api.call("lease-events").header("X-Orchestrator-Token", lab.token()).json("POST", huge).send(), 413);
        // unknown route and wrong method
        assertError(viewer("no-such-route"), 404);
        HttpResponse<String> wrongMethod = admin("leases").method("DELETE").send();
        assertError(wrongMethod, 405);
        assertThat(wrongMethod.headers().firstValue("Allow")).hasValueSatisfying(v -> assertThat(v).contains("GET"));
    }

    // ------------------------------------------------------------------ a real device

    @Test
    @Order(11)
    void aRealDeviceGetsAnInstanceShownByTheApi() throws Exception {
        Map<String, String> provisioned = Map.of("pool", "false");
        Map<String, String> byProvider = Map.of("provider", WebLab.PROVIDER, "pool", "false");
        List<Sample> before = samples(viewer("metrics").body());
        double readyBefore = metric(before, "orchestrator_provision_latency_seconds_count", provisioned);
        double providerBefore = metricOr(before, "orchestrator_provider_provision_seconds_count", byProvider, 0);
        device = lab.device("d1");
        device.requestLease();
        String address = device.awaitAddress(Duration.ofSeconds(30));
        deviceDuid = device.duid().orElseThrow();
        device.routeVia(NAMES.deviceGateway());

        JsonNode client = awaitJson("clients/" + deviceDuid, j -> "READY".equals(j.path("state").asText()), Duration.ofSeconds(60));
        assertThat(client.path("address").asText()).isEqualTo(address);
        assertThat(client.path("source").asText()).isEqualTo(NAMES.source());
        instanceId = client.path("instanceId").asText();
        assertThat(instanceId).isNotBlank();

        JsonNode inst = find(getJson("instances"), "id", instanceId)
            .orElseThrow(() -> new AssertionError("GET instances lacks " + instanceId));
        assertThat(inst.path("client").asText()).isEqualTo(deviceDuid);
        assertThat(inst.path("provider").asText()).isEqualTo(WebLab.PROVIDER);
        assertThat(inst.path("network").asText()).isEqualTo(NAMES.network());
        assertThat(inst.path("image").asText()).isEqualTo("orchestrator/client:latest");
        assertThat(inst.path("state").asText()).isEqualTo("RUNNING");
        assertThat(inst.path("address").asText()).startsWith(NAMES.instancePrefixStart());
        assertThat(inst.path("ageSeconds").isNumber()).isTrue();
        assertThat(inst.has("ttlSeconds")).isTrue();
        assertThat(inst.has("expiresAt")).isTrue();
        assertThat(WebLab.containers()).anyMatch(id -> id.startsWith(inst.path("providerRef").asText()));

        JsonNode one = getJson("instances/" + instanceId);
        assertThat(one.path("id").asText()).isEqualTo(instanceId);
        assertThat(one.path("client").asText()).isEqualTo(deviceDuid);
        assertThat(viewer("metrics").body()).containsPattern("(?m)^orchestrator_instances [1-9]");

        // core told the web console's Micrometer listener: one more lease-to-ready observation (the
        // listener runs right after READY is stored, so allow it a moment), one more provider call
        List<Sample> after = awaitMetrics(s -> metric(s, "orchestrator_provision_latency_seconds_count", provisioned)
            >= readyBefore + 1, Duration.ofSeconds(10));
        assertThat(metric(after, "orchestrator_provision_latency_seconds_count", provisioned)).isEqualTo(readyBefore + 1);
        assertThat(metric(after, "orchestrator_provision_latency_seconds_sum", provisioned))
            .isGreaterThan(metric(before, "orchestrator_provision_latency_seconds_sum", provisioned));
        assertThat(metric(after, "orchestrator_provision_latency_seconds_bucket",
            Map.of("pool", "false", "le", "+Inf"))).isEqualTo(readyBefore + 1);
        assertThat(metric(after, "orchestrator_provider_provision_seconds_count", byProvider)).isEqualTo(providerBefore + 1);
        assertThat(metric(after, "orchestrator_instances_by_state", Map.of("state", "RUNNING"))).isGreaterThanOrEqualTo(1);
        assertThat(metric(after, "orchestrator_clients", Map.of("state", "READY"))).isGreaterThanOrEqualTo(1);
    }

    @Test
    @Order(12)
    void theDeviceAsksWhatIsMineFromItsNamespace() throws Exception {
        String url = "http://[" + NAMES.deviceGateway() + "]:" + lab.karaf().httpPort() + "/orchestrator/api/v1/me";
        Host.Result json = curl(url, "application/json");
        assertThat(json.ok()).as("curl from %s exited %d: %s; routes: %s", device.namespace(), json.exit(), json.out(),
            Host.run("ip", "-n", device.namespace(), "-6", "route").out()).isTrue();
        JsonNode me = Http.JSON.readTree(json.out());
        assertThat(me.path("client").path("duid").asText()).isEqualTo(deviceDuid);
        assertThat(me.path("client").path("state").asText()).isEqualTo("READY");
        assertThat(me.path("instance").path("id").asText()).isEqualTo(instanceId);
        String instanceAddress = me.path("instance").path("address").asText();
        assertThat(instanceAddress).startsWith(NAMES.instancePrefixStart());

        Host.Result html = curl(url, "text/html,application/xhtml+xml");
        assertThat(html.ok()).as(html.out()).isTrue();
        assertThat(html.out()).startsWith("<!DOCTYPE html>").contains("Your instance").contains(deviceDuid)
            .contains(instanceId).contains("id=\"me-instance-link\" href=\"http://[" + instanceAddress + "]/\"");

        // loopback over IPv4 is no device: 404 with a JSON error
        assertError(api.call("me").send(), 404);
    }

    @Test
    @Order(13)
    void deleteAsAdminDeprovisionsTheInstance() throws Exception {
        assertThat(api.call("instances/" + instanceId).basic(WebLab.VIEWER, lab.viewerPassword()).method("DELETE").send()
            .statusCode()).isEqualTo(403);
        assertThat(getJson("instances/" + instanceId).path("id").asText()).isEqualTo(instanceId);

        HttpResponse<String> r = admin("instances/" + instanceId).method("DELETE").send();
        assertThat(r.statusCode()).as(r.body()).isIn(200, 202);
        assertThat(Http.json(r).path("client").path("duid").asText()).isEqualTo(deviceDuid);

        // core keeps removed instances as history: gone from the list, REMOVED (or unknown) by id
        awaitJson("instances", list -> find(list, "id", instanceId).isEmpty(), Duration.ofSeconds(60));
        HttpResponse<String> byId = viewer("instances/" + instanceId);
        if (byId.statusCode() != 404) {
            assertThat(byId.statusCode()).isEqualTo(200);
            assertThat(Http.json(byId).path("state").asText()).isEqualTo("REMOVED");
        }
        JsonNode client = awaitJson("clients/" + deviceDuid, c -> "GONE".equals(c.path("state").asText()), Duration.ofSeconds(30));
        assertThat(client.path("instanceId").isNull()).as("instanceId of %s", client).isTrue();
        Instant deadline = Instant.now().plusSeconds(30);
        while (!WebLab.containers().isEmpty() && Instant.now().isBefore(deadline)) {
            Thread.sleep(300);
        }
        assertThat(WebLab.containers()).as("the instance's container is removed").isEmpty();
        assertThat(Host.lines("ip", "-o", "link", "show", "master", NAMES.instanceBridge())).as("veths on the instance bridge").isEmpty();
    }

    // ------------------------------------------------------------------ helpers

    /** One sample of the Prometheus text format. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\",?");

    /** Parses every sample line (label values stay escaped). */
    static List<Sample> samples(String text) {
        List<Sample> out = new ArrayList<>();
        for (String line : text.split("\n")) {
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("sample line: %s", line).isTrue();
            Map<String, String> labels = new HashMap<>();
            if (m.group(2) != null) {
                Matcher l = LABEL.matcher(m.group(2));
                while (l.find()) {
                    labels.put(l.group(1), l.group(2));
                }
            }
            out.add(new Sample(m.group(1), labels, number(m.group(3))));
        }
        return out;
    }

    /** A number of the text format: Go-style, with +Inf, -Inf and NaN. */
    static double number(String text) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(text);
        };
    }

    static double metric(List<Sample> samples, String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).findFirst()
            .orElseThrow(() -> new AssertionError("no sample " + name + labels)).value();
    }

    static double metricOr(List<Sample> samples, String name, Map<String, String> labels, double otherwise) {
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).findFirst()
            .map(Sample::value).orElse(otherwise);
    }

    static List<Sample> awaitMetrics(Predicate<List<Sample>> condition, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        List<Sample> last = samples(viewer("metrics").body());
        while (!condition.test(last) && Instant.now().isBefore(deadline)) {
            Thread.sleep(200);
            last = samples(viewer("metrics").body());
        }
        return last;
    }

    static Host.Result curl(String url, String accept) {
        // -S: a failure prints curl's reason (HTTP status, refused, no route) into the result
        return Host.run(20, "ip", "netns", "exec", device.namespace(), "curl", "-6", "-g", "-sS", "-f", "-m", "10",
            "-H", "Accept: " + accept, url);
    }

    static String leaseEvent(String type, String duid, String address) {
        return "{\"type\":\"" + type + "\",\"duid\":\"" + duid + "\",\"iaid\":305419896,\"address\":\"" + address
            + "\",\"mac\":\"52:54:00:7a:00:01\",\"hostname\":\"iw-hooked\",\"expiresAt\":\""
            + Instant.now().plusSeconds(3600).truncatedTo(java.time.temporal.ChronoUnit.SECONDS)
            + "\",\"source\":\"" + HOOK_SOURCE + "\",\"network\":null,\"hookVersion\":\"ignored\"}";
    }

    static Http.Call admin(String path) throws Exception {
        return api.call(path).basic("admin", admin);
    }

    static HttpResponse<String> viewer(String path) throws Exception {
        return api.call(path).basic(WebLab.VIEWER, lab.viewerPassword()).send();
    }

    static JsonNode getJson(String path) throws Exception {
        HttpResponse<String> r = viewer(path);
        assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
        return Http.json(r);
    }

    static JsonNode awaitJson(String path, Predicate<JsonNode> condition, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        String last = "";
        while (Instant.now().isBefore(deadline)) {
            HttpResponse<String> r = viewer(path);
            last = r.statusCode() + " " + r.body();
            if (r.statusCode() == 200) {
                JsonNode j = Http.json(r);
                if (condition.test(j)) {
                    return j;
                }
            }
            Thread.sleep(300);
        }
        throw new AssertionError("GET " + path + " did not reach the expected state within " + timeout + "; last: " + last
            + "\n--- karaf.log ---\n" + lab.karaf().logTail(40));
    }

    interface Call {
        HttpResponse<String> send() throws Exception;
    }

    static HttpResponse<String> awaitStatus(Call call, int status, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        String last = "";
        while (Instant.now().isBefore(deadline)) {
            try {
                HttpResponse<String> r = call.send();
                if (r.statusCode() == status) {
                    return r;
                }
                last = r.statusCode() + " " + r.body();
            } catch (java.io.IOException e) {
                last = e.toString();
            }
            Thread.sleep(300);
        }
        throw new AssertionError("no HTTP " + status + " within " + timeout + "; last: " + last);
    }

    static void assertError(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as("%s %s: %s", r.request().method(), r.uri(), r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).as("error content type of %s", r.uri())
            .hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
        JsonNode body = Http.json(r);
        assertThat(body.path("status").asInt()).as("status in %s", body).isEqualTo(status);
        assertThat(body.path("error").asText()).as("error in %s", body).isNotBlank();
    }

    static Optional<JsonNode> component(JsonNode all, String kind, String name) {
        for (JsonNode c : all) {
            if (kind.equals(c.path("kind").asText()) && name.equals(c.path("name").asText())) {
                return Optional.of(c);
            }
        }
        return Optional.empty();
    }

    static Optional<JsonNode> find(JsonNode array, String field, String value) {
        for (JsonNode n : array) {
            if (value.equals(n.path(field).asText())) {
                return Optional.of(n);
            }
        }
        return Optional.empty();
    }
}
