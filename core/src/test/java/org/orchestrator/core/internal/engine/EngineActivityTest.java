package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ActivityListener;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.core.internal.testing.FakePoolingProvider;
import org.orchestrator.api.manage.ComponentKind;

/** What the engine tells its activity listeners, next to what it counts in {@link Statistics}. */
class EngineActivityTest {

    private Harness h;
    private final RecordingListener listener = new RecordingListener();

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    private void start() {
        h = new Harness(Harness.fastPolicy().build());
        h.engine.addListener("recording", () -> listener);
    }

    @Test
    void aLeaseThatLeadsToAnInstanceIsReportedOnceWithItsLatencyAndProviderTime() {
        start();
        Instant before = Instant.now();
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        Duration bound = Duration.between(before, Instant.now());
        // the listener is called after READY is stored: wait for the call, not only the state
        Harness.awaitTrue(() -> !listener.seen("leaseToReady").isEmpty(), "leaseToReady");
        h.send(LeaseEventType.RENEWED, Harness.lease(1));
        h.engine.reconcile();

        assertThat(listener.seen("leaseEvent")).containsExactly("leaseEvent ADDED true", "leaseEvent RENEWED true");
        assertThat(listener.seen("leaseToReady")).hasSize(1).allMatch(s -> s.endsWith(" false"));
        assertThat(listener.latencies()).singleElement().satisfies(d -> assertThat(d).isBetween(Duration.ZERO, bound));
        assertThat(listener.seen("provisioned")).hasSize(1).allMatch(s -> s.startsWith("provisioned docker ") && s.endsWith(" false"));
        assertThat(listener.seen("failed")).isEmpty();
        Statistics s = h.engine.statistics();
        assertThat(s.readyLatencyCount()).isEqualTo(1);
        assertThat(s.counters()).containsEntry("lease.added", 1L).containsEntry("lease.renewed", 1L)
            .containsEntry("provision.ok", 1L);
    }

    @Test
    void aRejectedLeaseIsReportedAsNotAccepted() {
        start();
        Lease first = Harness.lease(1);
        h.send(LeaseEventType.ADDED, first);
        Lease thief = new Lease(Harness.duid(2), 7, first.address(), null, null, null, "lan", null);
        assertThatThrownBy(() -> h.send(LeaseEventType.RENEWED, thief)).isInstanceOf(IllegalArgumentException.class);
        assertThat(listener.seen("leaseEvent")).containsExactly("leaseEvent ADDED true", "leaseEvent RENEWED false");
        assertThat(h.engine.statistics().counters()).containsEntry("lease.rejected", 1L);
    }

    @Test
    void failuresNameTheOperationThatFailedWhileCoreCountsThemAsProvisionFailures() {
        start();
        h.provider.failNextProvision(new ProviderException("daemon down", true));
        h.network.failNextAttach(new NetworkException("bridge missing", true));
        h.source.failNextPin(new IllegalStateException("hosts file not writable"));
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        Harness.awaitTrue(() -> !listener.seen("leaseToReady").isEmpty(), "leaseToReady");

        assertThat(listener.seen("failed")).containsExactly("failed provision", "failed attach", "failed pin");
        assertThat(h.engine.statistics().counters()).containsEntry("provision.failed", 3L).containsEntry("provision.ok", 1L);
        // the latency covers the failed attempts: one observation, after the last retry
        assertThat(listener.seen("leaseToReady")).hasSize(1);
    }

    @Test
    void aFailingListenerChangesNothingForCoreOrForTheOtherListeners() {
        h = new Harness(Harness.fastPolicy().build());
        h.engine.addListener("throws", () -> new ActivityListener() {
            @Override
            public void leaseEvent(LeaseEventType type, boolean accepted) {
                throw new IllegalStateException("listener bug");
            }

            @Override
            public void leaseToReady(Duration latency, boolean fromPool) {
                throw new NoClassDefFoundError("org/example/Gone");
            }
        });
        h.engine.addListener("recording", () -> listener);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        Harness.awaitTrue(() -> !listener.seen("leaseToReady").isEmpty(), "leaseToReady");
        assertThat(listener.seen("leaseEvent")).containsExactly("leaseEvent ADDED true");
        assertThat(h.engine.statistics().readyLatencyCount()).isEqualTo(1);
    }

    @Test
    void aRemovedListenerHearsNothingMore() {
        start();
        h.engine.removeListener("recording");
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        assertThat(listener.seen()).isEmpty();
    }

    @Test
    void aWarmPoolClaimIsReportedAsFromThePool() {
        FakePoolingProvider pooling = new FakePoolingProvider("docker");
        h = new Harness(Harness.fastPolicy().poolSize(1).poolRefillConcurrency(1).build(), false);
        h.engine.addListener("recording", () -> listener);
        h.registry.add(ComponentKind.DHCP_SOURCE, h.source, Harness.ORIGIN);
        h.registry.add(ComponentKind.PROVIDER, pooling, Harness.ORIGIN);
        h.registry.add(ComponentKind.NETWORK, h.network, Harness.ORIGIN);
        Harness.awaitTrue(() -> !h.engine.pool().isEmpty() && h.engine.pool().get(0).ready() == 1, "one ready spare");
        // the refill is reported after its spare is stored as ready: the pool can say so first
        Harness.awaitTrue(() -> !listener.seen("poolRefilled").isEmpty(), "poolRefilled");
        assertThat(listener.seen("poolRefilled")).hasSize(1);

        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        Harness.awaitTrue(() -> !listener.seen("leaseToReady").isEmpty(), "leaseToReady");
        assertThat(listener.seen("poolClaim")).containsExactly("poolClaim true");
        assertThat(listener.seen("leaseToReady")).singleElement().satisfies(s -> assertThat(s).endsWith(" true"));
        assertThat(listener.seen("provisioned")).singleElement()
            .satisfies(s -> assertThat(s).startsWith("provisioned docker ").endsWith(" true"));

        // the pool is empty until it refills: the next client is a miss and provisioned afresh
        pooling.delegate.operationMillis = 300;
        h.send(LeaseEventType.ADDED, Harness.lease(2));
        h.awaitState(2, ClientState.READY);
        Harness.awaitTrue(() -> listener.seen("leaseToReady").size() == 2, "second leaseToReady");
        Statistics s = h.engine.statistics();
        assertThat(listener.seen("poolClaim")).hasSize((int) (s.counters().get("pool.hit") + s.counters().get("pool.miss")));
        assertThat(listener.seen("poolClaim").stream().filter(c -> c.equals("poolClaim true")).count())
            .isEqualTo(s.counters().get("pool.hit"));
        assertThat(listener.seen("leaseToReady").stream().filter(c -> c.endsWith(" true")).count())
            .isEqualTo(s.counters().get("pool.hit"));
    }
}
