package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

import com.fasterxml.jackson.databind.JsonNode;

/** GET endpoints: status codes and JSON shapes against the in-memory orchestrator. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class RestReadTest {

    private TestServer server;

    @BeforeAll
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
    }

    @Test
    void clientsListsEveryClientWithItsFields() throws Exception {
        HttpResponse<String> r = server.get("clients");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode list = TestServer.json(r);
        assertThat(list.isArray()).isTrue();
        assertThat(list).hasSize(3);
        JsonNode alice = list.get(0);
        assertThat(alice.get("duid").asText()).isEqualTo(FakeOrchestrator.ALICE.value());
        assertThat(alice.get("address").asText()).isEqualTo("fd00:10::100");
        assertThat(alice.get("state").asText()).isEqualTo("READY");
        assertThat(alice.get("instanceId").asText()).isEqualTo("inst-alice");
        assertThat(alice.get("leaseExpiresAt").asText()).isEqualTo("2026-11-25T13:00:00Z");
        assertThat(alice.get("mac").asText()).isEqualTo("52:54:00:12:34:56");
        assertThat(list.get(2).get("address").isNull()).isTrue();
    }

    @Test
    void clientByDuidAcceptsAnySpellingOfTheDuid() throws Exception {
        HttpResponse<String> r = server.get("clients/" + FakeOrchestrator.ALICE.hex().toUpperCase());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(TestServer.json(r).get("hostname").asText()).isEqualTo("alice-laptop");
    }

    @Test
    void oneClientNamesTheAddressOfItsAttachedInstanceTheListDoesNot() throws Exception {
        JsonNode alice = TestServer.json(server.get("clients/" + FakeOrchestrator.ALICE));
        assertThat(alice.get("instanceId").asText()).isEqualTo("inst-alice");
        assertThat(alice.get("instanceAddress").asText()).isEqualTo("fd00:20::2");
        JsonNode bob = TestServer.json(server.get("clients/" + FakeOrchestrator.BOB));
        assertThat(bob.has("instanceAddress")).isTrue();
        assertThat(bob.get("instanceAddress").isNull()).as("no instance").isTrue();
        for (JsonNode c : TestServer.json(server.get("clients"))) {
            assertThat(c.has("instanceAddress")).as("the list reads no instances").isFalse();
        }
    }

    @Test
    void unknownDuidIs404AndBadDuidIs400WithErrorBody() throws Exception {
        HttpResponse<String> missing = server.get("clients/00:01:02:03:04:05");
        assertThat(missing.statusCode()).isEqualTo(404);
        assertThat(TestServer.json(missing).get("status").asInt()).isEqualTo(404);
        assertThat(TestServer.json(missing).get("error").asText()).contains("00:01:02:03:04:05");

        HttpResponse<String> bad = server.get("clients/not-a-duid");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(TestServer.json(bad).get("error").asText()).containsIgnoringCase("DUID");
        assertThat(TestServer.json(bad).get("status").asInt()).isEqualTo(400);
    }

    @Test
    void instancesCarryAddressAgeAndTtl() throws Exception {
        HttpResponse<String> r = server.get("instances");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode i = TestServer.json(r).get(0);
        assertThat(i.get("id").asText()).isEqualTo("inst-alice");
        assertThat(i.get("address").asText()).isEqualTo("fd00:20::2");
        assertThat(i.get("state").asText()).isEqualTo("RUNNING");
        assertThat(i.get("ageSeconds").asLong()).isEqualTo(120);
        assertThat(i.get("ttlSeconds").asLong()).isEqualTo(3600);
        assertThat(i.get("client").asText()).isEqualTo(FakeOrchestrator.ALICE.value());

        assertThat(server.get("instances/inst-alice").statusCode()).isEqualTo(200);
        assertThat(server.get("instances/nope").statusCode()).isEqualTo(404);
        assertThat(server.get("instances/%2e%2e%2fetc").statusCode()).isIn(400, 404);
        assertThat(server.get("instances/bad%20id").statusCode()).isEqualTo(400);
    }

    @Test
    void leasesAndProviders() throws Exception {
        JsonNode leases = TestServer.json(server.get("leases"));
        assertThat(leases).hasSize(1);
        assertThat(leases.get(0).get("source").asText()).isEqualTo("dnsmasq-lab");
        assertThat(leases.get(0).get("iaid").asLong()).isEqualTo(1);

        JsonNode components = TestServer.json(server.get("providers"));
        assertThat(components).hasSize(3);
        assertThat(components.get(1).get("bundleSymbolicName").asText()).isEqualTo("org.orchestrator.provider.docker");
        assertThat(components.get(1).get("available").asBoolean()).isTrue();

        JsonNode providers = TestServer.json(server.get("providers?kind=provider"));
        assertThat(providers).hasSize(1);
        assertThat(providers.get(0).get("kind").asText()).isEqualTo("PROVIDER");
        assertThat(server.get("providers?kind=toaster").statusCode()).isEqualTo(400);
    }

    @Test
    void poolListsEveryPolicyPool() throws Exception {
        assertThat(TestServer.json(server.get("pool"))).isEmpty();
        server.orchestrator.pools.add(new org.orchestrator.api.manage.PoolView("docker", "lab0", "orchestrator/client:latest",
            "0123456789abcdef", 3, 2, 1, 7));
        try {
            JsonNode pools = TestServer.json(server.get("pool"));
            assertThat(pools).hasSize(1);
            assertThat(pools.get(0).get("provider").asText()).isEqualTo("docker");
            assertThat(pools.get(0).get("size").asInt()).isEqualTo(3);
            assertThat(pools.get(0).get("ready").asInt()).isEqualTo(2);
            assertThat(pools.get(0).get("starting").asInt()).isEqualTo(1);
            assertThat(pools.get(0).get("claimed").asLong()).isEqualTo(7);
        } finally {
            server.orchestrator.pools.clear();
        }
    }

    @Test
    void eventsHonourSinceAndLimitAndRejectNonsense() throws Exception {
        JsonNode recent = TestServer.json(server.get("events?limit=2"));
        assertThat(seqs(recent)).containsExactly(4L, 5L);
        JsonNode after = TestServer.json(server.get("events?since=2&limit=2"));
        assertThat(seqs(after)).containsExactly(3L, 4L);
        assertThat(after.get(0).get("kind").asText()).isEqualTo("LEASE_ADDED");
        assertThat(after.get(0).get("at").asText()).isEqualTo("2026-11-25T12:00:03Z");
        assertThat(seqs(TestServer.json(server.get("events")))).containsExactly(1L, 2L, 3L, 4L, 5L);

        assertThat(server.get("events?since=abc").statusCode()).isEqualTo(400);
        assertThat(server.get("events?limit=0").statusCode()).isEqualTo(400);
        assertThat(server.get("events?limit=10001").statusCode()).isEqualTo(400);
        assertThat(server.get("events?since=-1").statusCode()).isEqualTo(400);
        assertThat(server.get("events?since=99999999999999999999999").statusCode()).isEqualTo(400);
    }

    @Test
    void healthIsOpenAndUpWhenEverythingIs() throws Exception {
        HttpResponse<String> r = server.send(server.api("health").GET().build());
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode h = TestServer.json(r);
        assertThat(h.get("up").asBoolean()).isTrue();
        assertThat(h.get("store").get("up").asBoolean()).isTrue();
        assertThat(h.get("sources").asBoolean()).isTrue();
        assertThat(h.get("providers").asBoolean()).isTrue();
        assertThat(h.get("networks").asBoolean()).isTrue();
        assertThat(h.get("components")).hasSize(3);
    }

    @Test
    void unknownRouteAndWrongMethodAreJsonErrors() throws Exception {
        HttpResponse<String> r = server.get("toasters");
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(TestServer.json(r).get("status").asInt()).isEqualTo(404);

        HttpResponse<String> m = server.send(server.api("leases").header("Authorization", TestServer.basic("admin", "admin-pw"))
            .DELETE().build());
        assertThat(m.statusCode()).isEqualTo(405);
        assertThat(TestServer.json(m).get("status").asInt()).isEqualTo(405);
    }

    @Test
    void noWadl() throws Exception {
        assertThat(server.get("application.wadl").statusCode()).isEqualTo(404);
    }

    private static List<Long> seqs(JsonNode list) {
        List<Long> out = new ArrayList<>();
        list.forEach(e -> out.add(e.get("seq").asLong()));
        return out;
    }
}
