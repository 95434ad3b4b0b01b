package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;

/** {@code Engine.awaitClient}: answers at once, when the state is reached, or at the deadline. */
class EngineAwaitClientTest {

    private static final Set<ClientState> READY_OR_FAILED = EnumSet.of(ClientState.READY, ClientState.FAILED);

    private Harness h;
    private ExecutorService waiter;
    private volatile Thread waiting;

    @BeforeEach
    void start() {
        h = new Harness(Harness.fastPolicy().build());
        waiter = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "await-client-test");
            waiting = t;
            return t;
        });
    }

    @AfterEach
    void tearDown() {
        waiter.shutdownNow();
        h.close();
    }

    private CompletableFuture<Optional<ClientView>> awaitAsync(int n, Set<ClientState> states, Duration wait) {
        return CompletableFuture.supplyAsync(() -> h.engine.awaitClient(Harness.duid(n), states, wait), waiter);
    }

    /** A client that was READY and is GONE now (its lease released, no grace). */
    private Lease gone(int n) {
        Lease lease = Harness.lease(n);
        h.send(LeaseEventType.ADDED, lease);
        h.awaitState(n, ClientState.READY);
        h.send(LeaseEventType.RELEASED, lease);
        h.awaitState(n, ClientState.GONE);
        return lease;
    }

    @Test
    void answersAtOnceWhenTheClientIsAlreadyInAState() throws Exception {
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        // an hour's wait that returns within the test's seconds did not wait
        Optional<ClientView> c = awaitAsync(1, READY_OR_FAILED, Duration.ofHours(1)).get(10, TimeUnit.SECONDS);
        assertThat(c).map(ClientView::state).contains(ClientState.READY);
        assertThat(h.engine.awaitClient(Harness.duid(1), Set.of(ClientState.READY), Duration.ZERO))
            .map(ClientView::state).contains(ClientState.READY);
    }

    @Test
    void wakesWhenTheClientReachesTheStateWhileItWaits() throws Exception {
        Lease lease = gone(1);
        CompletableFuture<Optional<ClientView>> asked = awaitAsync(1, READY_OR_FAILED, Duration.ofMinutes(10));
        Harness.awaitTrue(() -> waiting != null && waiting.getState() == Thread.State.TIMED_WAITING, "the call to wait");
        assertThat(asked).as("waiting while the client is GONE").isNotDone();

        h.send(LeaseEventType.ADDED, lease);
        // long before the ten minutes: it woke up when the client got there
        Optional<ClientView> c = asked.get(20, TimeUnit.SECONDS);
        assertThat(c).isPresent();
        assertThat(c.get().state()).isEqualTo(ClientState.READY);
        assertThat(c.get().instanceId()).isNotNull();
        assertThat(h.engine.instance(c.get().instanceId()).orElseThrow().address()).as("attached by READY").isNotNull();
    }

    @Test
    void answersTheClientAsItIsWhenTheWaitIsOver() {
        gone(1);
        assertThat(h.engine.awaitClient(Harness.duid(1), READY_OR_FAILED, Duration.ofMillis(300)))
            .map(ClientView::state).contains(ClientState.GONE);
        assertThat(h.engine.awaitClient(Harness.duid(1), READY_OR_FAILED, Duration.ZERO))
            .map(ClientView::state).contains(ClientState.GONE);
    }

    @Test
    void anUnknownClientIsEmptyAtTheEnd() {
        assertThat(h.engine.awaitClient(Harness.duid(99), READY_OR_FAILED, Duration.ofMillis(300))).isEmpty();
        assertThat(h.engine.awaitClient(Harness.duid(99), READY_OR_FAILED, Duration.ZERO)).isEmpty();
    }

    @Test
    void aClientThatComesIntoBeingWhileItWaitsIsAnswered() throws Exception {
        CompletableFuture<Optional<ClientView>> asked = awaitAsync(2, Set.of(ClientState.READY), Duration.ofMinutes(10));
        Harness.awaitTrue(() -> waiting != null && waiting.getState() == Thread.State.TIMED_WAITING, "the call to wait");
        h.send(LeaseEventType.ADDED, Harness.lease(2));
        assertThat(asked.get(20, TimeUnit.SECONDS)).map(ClientView::state).contains(ClientState.READY);
    }

    @Test
    void refusesBadArgumentsWithClearMessages() {
        Set<ClientState> withNull = new HashSet<>();
        withNull.add(null);
        assertThatThrownBy(() -> h.engine.awaitClient(null, READY_OR_FAILED, Duration.ZERO))
            .isInstanceOf(NullPointerException.class).hasMessage("duid");
        assertThatThrownBy(() -> h.engine.awaitClient(Harness.duid(1), null, Duration.ZERO))
            .isInstanceOf(NullPointerException.class).hasMessage("states");
        assertThatThrownBy(() -> h.engine.awaitClient(Harness.duid(1), READY_OR_FAILED, null))
            .isInstanceOf(NullPointerException.class).hasMessage("wait");
        assertThatThrownBy(() -> h.engine.awaitClient(Harness.duid(1), withNull, Duration.ZERO))
            .isInstanceOf(NullPointerException.class).hasMessageContaining("states must not contain null");
        assertThatThrownBy(() -> h.engine.awaitClient(Harness.duid(1), Set.of(), Duration.ZERO))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one client state");
        assertThatThrownBy(() -> h.engine.awaitClient(Harness.duid(1), READY_OR_FAILED, Duration.ofMillis(-1)))
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("wait must not be negative");
    }

    @Test
    void anInterruptedCallerGetsTheClientAsItIsAndKeepsItsInterrupt() {
        gone(1);
        Thread.currentThread().interrupt();
        try {
            assertThat(h.engine.awaitClient(Harness.duid(1), READY_OR_FAILED, Duration.ofMinutes(10)))
                .map(ClientView::state).contains(ClientState.GONE);
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
    }

    @Test
    void aWaitTooLongForNanosecondsIsAllowed() {
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        assertThat(h.engine.awaitClient(Harness.duid(1), READY_OR_FAILED, Duration.ofSeconds(Long.MAX_VALUE)))
            .map(ClientView::state).contains(ClientState.READY);
    }
}
