package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.provider.InstanceState;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * GET clients/{duid} with state and wait: answers when the client gets there (core's awaitClient),
 * or after the wait; at most 64 wait at once. One client's answer names its instance's address.
 */
class ClientWaitTest {

    private TestServer server;
    private ExecutorService askers;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
        askers = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stop() throws Exception {
        askers.shutdownNow();
        server.close();
    }

    private void makeCarol(ClientState state) {
        makeCarol(state, null);
    }

    private void makeCarol(ClientState state, String instanceId) {
        FakeOrchestrator o = server.orchestrator;
        ClientView carol = o.clients.stream().filter(c -> c.duid().equals(FakeOrchestrator.CAROL)).findFirst().orElseThrow();
        o.clients.set(o.clients.indexOf(carol), new ClientView(carol.duid(), carol.iaid(), carol.address(), carol.hostname(),
            carol.mac(), carol.source(), carol.network(), carol.leaseStatus(), carol.leaseExpiresAt(), state, carol.reason(),
            instanceId, carol.since(), carol.updatedAt()));
    }

    private void giveCarolInstance(InstanceState state, String address) {
        server.orchestrator.instances.removeIf(i -> i.id().equals("inst-carol"));
        server.orchestrator.instances.add(new InstanceView("inst-carol", FakeOrchestrator.CAROL, "docker", "cafe", "lab0",
            "orchestrator/client:latest", state, address == null ? null : Identifiers.ipv6(address), FakeOrchestrator.T0, null));
    }

    /** Asks on a thread of its own: waiting requests block their caller. */
    private CompletableFuture<HttpResponse<String>> getAsync(String path) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return server.get(path);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }, askers);
    }

    @Test
    void answersAsSoonAsTheClientIsInAWantedStateWithItsInstanceAddress() throws Exception {
        CompletableFuture<HttpResponse<String>> asked = getAsync("clients/" + FakeOrchestrator.CAROL + "?state=READY&state=failed&wait=20");
        Thread.sleep(300);
        assertThat(asked).as("still waiting while Carol is PENDING").isNotDone();
        giveCarolInstance(InstanceState.RUNNING, "fd00:20::3");
        makeCarol(ClientState.READY, "inst-carol");
        HttpResponse<String> r = asked.get(5, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode carol = TestServer.json(r);
        assertThat(carol.get("state").asText()).isEqualTo("READY");
        assertThat(carol.get("instanceId").asText()).isEqualTo("inst-carol");
        assertThat(carol.get("instanceAddress").asText()).as("one request tells where the instance is").isEqualTo("fd00:20::3");
        assertThat(server.orchestrator.calls).as("the waiting is core's awaitClient, with the states asked for and the wait")
            .containsExactly("awaitClient " + FakeOrchestrator.CAROL + " [READY, FAILED] PT20S");
    }

    @Test
    void noWaitOrAClientAlreadyThereAsksCoreOnceWithoutWaiting() throws Exception {
        assertThat(server.get("clients/" + FakeOrchestrator.ALICE + "?state=READY&wait=20").statusCode()).isEqualTo(200);
        assertThat(server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY").statusCode()).isEqualTo(200);
        assertThat(server.get("clients/" + FakeOrchestrator.CAROL + "?wait=5").statusCode()).isEqualTo(200);
        assertThat(server.orchestrator.calls).as("nothing waited").isEmpty();
    }

    @Test
    void atMost64WaitAtOnceAndTheNextGets429() throws Exception {
        server.orchestrator.awaitGate = new CountDownLatch(1);
        List<CompletableFuture<HttpResponse<String>>> waiting = new ArrayList<>();
        try {
            for (int k = 0; k < 64; k++) {
                waiting.add(getAsync("clients/" + FakeOrchestrator.CAROL + "?state=READY&wait=20"));
            }
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
            while (server.orchestrator.calls.size() < 64 && System.nanoTime() < deadline) {
                Thread.sleep(10);
            }
            assertThat(server.orchestrator.calls).as("64 requests waiting in core").hasSize(64);
            HttpResponse<String> more = server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY&wait=20");
            assertThat(more.statusCode()).isEqualTo(429);
            assertThat(TestServer.json(more).get("error").asText()).contains("64");
            assertThat(server.get("clients/" + FakeOrchestrator.CAROL).statusCode()).as("asking without wait still works")
                .isEqualTo(200);
        } finally {
            makeCarol(ClientState.READY);
            server.orchestrator.awaitGate.countDown();
        }
        for (CompletableFuture<HttpResponse<String>> w : waiting) {
            assertThat(w.get(10, TimeUnit.SECONDS).statusCode()).isEqualTo(200);
        }
        server.orchestrator.awaitGate = null;
        assertThat(server.get("clients/" + FakeOrchestrator.CAROL + "?state=FAILED&wait=1").statusCode())
            .as("the slots are free again").isEqualTo(200);
    }

    @Test
    void instanceAddressOnlyWhileTheInstanceIsAttachedAndLive() throws Exception {
        giveCarolInstance(InstanceState.RUNNING, null);
        makeCarol(ClientState.ATTACHING, "inst-carol");
        assertThat(carolInstanceAddress()).as("not attached yet").isNull();
        giveCarolInstance(InstanceState.RUNNING, "fd00:20::3");
        assertThat(carolInstanceAddress()).as("attached").isEqualTo("fd00:20::3");
        makeCarol(ClientState.READY, "inst-carol");
        assertThat(carolInstanceAddress()).isEqualTo("fd00:20::3");
        giveCarolInstance(InstanceState.DEAD, "fd00:20::3");
        assertThat(carolInstanceAddress()).as("dead").isNull();
        giveCarolInstance(InstanceState.RUNNING, "fd00:20::3");
        makeCarol(ClientState.RELEASING, "inst-carol");
        assertThat(carolInstanceAddress()).as("being released").isNull();
        makeCarol(ClientState.READY, "inst-gone");
        assertThat(carolInstanceAddress()).as("instance unknown").isNull();
    }

    private String carolInstanceAddress() throws Exception {
        HttpResponse<String> r = server.get("clients/" + FakeOrchestrator.CAROL);
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode carol = TestServer.json(r);
        assertThat(carol.has("instanceAddress")).as("the field is always there").isTrue();
        return carol.get("instanceAddress").isNull() ? null : carol.get("instanceAddress").asText();
    }

    @Test
    void answersWhatTheClientIsWhenTheWaitIsOver() throws Exception {
        long t0 = System.nanoTime();
        HttpResponse<String> r = server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY&wait=1");
        assertThat(System.nanoTime() - t0).as("waited the second").isGreaterThanOrEqualTo(1_000_000_000L);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(TestServer.json(r).get("state").asText()).isEqualTo("PENDING");
        // already there, or no wait asked: at once
        assertThat(TestServer.json(server.get("clients/" + FakeOrchestrator.ALICE + "?state=READY&wait=20")).get("state").asText())
            .isEqualTo("READY");
        assertThat(server.get("clients/00:01:02:03:04:05?state=READY&wait=1").statusCode()).as("never there").isEqualTo(404);
    }

    @Test
    void refusesUnknownStatesAndWaitsOutOfRange() throws Exception {
        HttpResponse<String> state = server.get("clients/" + FakeOrchestrator.CAROL + "?state=SLEEPING&wait=1");
        assertThat(state.statusCode()).isEqualTo(400);
        assertThat(TestServer.json(state).get("error").asText()).contains("SLEEPING").contains("READY");
        assertThat(server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY&wait=-1").statusCode()).isEqualTo(400);
        assertThat(server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY&wait=100000").statusCode()).isEqualTo(400);
        assertThat(server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY&wait=soon").statusCode()).isEqualTo(400);
    }
}
