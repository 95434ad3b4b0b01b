package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;

/** GET clients/{duid} with state and wait: answers when the client gets there, or after the wait. */
class ClientWaitTest {

    private TestServer server;

    @BeforeEach
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        server.close();
    }

    private void makeCarol(ClientState state) {
        FakeOrchestrator o = server.orchestrator;
        ClientView carol = o.clients.stream().filter(c -> c.duid().equals(FakeOrchestrator.CAROL)).findFirst().orElseThrow();
        o.clients.set(o.clients.indexOf(carol), new ClientView(carol.duid(), carol.iaid(), carol.address(), carol.hostname(),
            carol.mac(), carol.source(), carol.network(), carol.leaseStatus(), carol.leaseExpiresAt(), state, carol.reason(),
            carol.instanceId(), carol.since(), carol.updatedAt()));
    }

    @Test
    void answersAsSoonAsTheClientIsInAWantedState() throws Exception {
        CompletableFuture<HttpResponse<String>> asked = CompletableFuture.supplyAsync(() -> {
            try {
                return server.get("clients/" + FakeOrchestrator.CAROL + "?state=READY&state=failed&wait=20");
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        Thread.sleep(300);
        assertThat(asked).as("still waiting while Carol is PENDING").isNotDone();
        makeCarol(ClientState.READY);
        HttpResponse<String> r = asked.get(5, TimeUnit.SECONDS);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(TestServer.json(r).get("state").asText()).isEqualTo("READY");
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
