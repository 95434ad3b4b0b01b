package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.Reservation;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.LeaseStatus;
import org.orchestrator.api.manage.OrchestratorException;
import org.orchestrator.api.manage.ReconcileReport;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.ProviderException;

/** Behaviour of the engine against in-memory doubles of the plug-ins and a real (H2) store. */
class EngineTest {

    private Harness h;

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    private ClientView ready(int n) {
        return h.awaitState(n, ClientState.READY);
    }

    @Test
    void leaseAddedGoesThroughTheStateMachineToReady() {
        h = new Harness(Harness.fastPolicy().build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);

        ClientView c = ready(1);
        assertThat(c.instanceId()).isNotNull();
        assertThat(c.leaseStatus()).isEqualTo(LeaseStatus.ACTIVE);
        Instance inst = h.provider.instances().get(c.instanceId());
        assertThat(inst).isNotNull();
        assertThat(inst.client()).isEqualTo(lease.duid());
        Attachment att = h.network.attachments().get(c.instanceId());
        assertThat(att.peer()).isEqualTo(lease.address());
        Reservation pin = h.source.pins().get(lease.duid());
        assertThat(pin.address()).isEqualTo(lease.address());
        assertThat(pin.instanceAddress()).isEqualTo(att.address());
        assertThat(pin.iaid()).isEqualTo(lease.iaid());
        assertThat(h.engine.instance(c.instanceId()).orElseThrow().address()).isEqualTo(att.address());

        List<String> transitions = h.engine.recentEvents(100).stream().filter(e -> e.kind().equals("STATE"))
            .map(EventRecord::message).toList();
        assertThat(String.join("\n", transitions)).contains("PENDING -> PROVISIONING", "PROVISIONING -> ATTACHING",
            "ATTACHING -> READY");
        assertThat(h.engine.recentEvents(100)).extracting(EventRecord::kind)
            .contains("LEASE_ADDED", "PROVISIONED", "ATTACHED", "PINNED");
        Statistics s = h.engine.statistics();
        assertThat(s.counters()).containsEntry("lease.added", 1L).containsEntry("provision.ok", 1L);
        assertThat(s.readyLatencyCount()).isEqualTo(1);
        assertThat(s.clientsByState()).containsEntry(ClientState.READY, 1L);
        assertThat(s.instances()).isEqualTo(1);
        assertThat(h.engine.leases()).containsExactly(lease);
        assertThat(h.engine.activeLeases("lan")).containsExactly(lease);
        assertThat(h.engine.clientByAddress(lease.address())).map(ClientView::duid).contains(lease.duid());
        h.assertNoOverlap();
    }

    @Test
    void replayedEventsAreIdempotentAndRenewalsOnlyMoveTheExpiry() {
        h = new Harness(Harness.fastPolicy().build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        String id = ready(1).instanceId();

        Instant later = Instant.now().plus(Duration.ofHours(2)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        h.send(LeaseEventType.RENEWED, lease.withExpiresAt(later));
        h.send(LeaseEventType.ADDED, lease.withExpiresAt(later));
        h.engine.reconcile();

        ClientView c = h.client(1).orElseThrow();
        assertThat(c.state()).isEqualTo(ClientState.READY);
        assertThat(c.instanceId()).isEqualTo(id);
        assertThat(c.leaseExpiresAt()).isEqualTo(later);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(1);
        assertThat(h.network.attachCalls.get()).isEqualTo(1);
        assertThat(h.engine.statistics().readyLatencyCount()).isEqualTo(1);
    }

    @Test
    void aRenewalThatOnlyMovesTheExpiryLaterReconcilesNothingButTheLeaseStillRunsOutAtItsNewEnd() throws Exception {
        h = new Harness(Harness.fastPolicy().build());
        Instant start = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MILLIS);
        Lease lease = Harness.lease(1, start.plusMillis(1500));
        h.send(LeaseEventType.ADDED, lease);
        ready(1);
        long before = reconciliations();
        for (int i = 1; i <= 5; i++) {
            h.send(LeaseEventType.RENEWED, lease.withExpiresAt(start.plusMillis(1500 + i * 300L)));
        }
        Thread.sleep(300);
        assertThat(reconciliations()).as("client reconciliations after renewals that only move the expiry later")
            .isEqualTo(before);
        // The timer armed at the first expiry fires, finds the lease renewed and re-arms at the new end.
        Thread.sleep(Duration.between(Instant.now(), start.plusMillis(1900)).toMillis());
        assertThat(h.client(1).orElseThrow().leaseStatus()).isEqualTo(LeaseStatus.ACTIVE);
        assertThat(reconciliations()).isGreaterThan(before);
        ClientView gone = h.await(1, c -> c.leaseStatus() == LeaseStatus.EXPIRED, "lease expired at its renewed end");
        assertThat(Duration.between(start.plusMillis(3000), Instant.now()).toMillis()).isGreaterThanOrEqualTo(0);
        assertThat(gone.leaseExpiresAt()).isEqualTo(start.plusMillis(3000));
    }

    @Test
    void aRenewalThatShortensTheLeaseOrHitsAClientNotReadyIsReconciled() {
        h = new Harness(Harness.fastPolicy().build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        ready(1);
        long before = reconciliations();
        h.send(LeaseEventType.RENEWED, lease.withExpiresAt(lease.expiresAt().minusSeconds(60)));
        h.await(1, c -> reconciliations() > before, "reconciled after a shorter lease");

        h.provider.failNextProvision(new ProviderException("image not found", false));
        Lease second = Harness.lease(2);
        h.send(LeaseEventType.ADDED, second);
        h.awaitState(2, ClientState.FAILED);
        long failed = reconciliations();
        h.send(LeaseEventType.RENEWED, second.withExpiresAt(second.expiresAt().plusSeconds(60)));
        h.await(2, c -> reconciliations() > failed, "a FAILED client is reconciled on renewal");
    }

    private long reconciliations() {
        return h.engine.statistics().counters().get("reconcile.clients");
    }

    @Test
    void aStoppedInstanceThatWillNotStartIsReplacedUnderTheSameId() {
        h = new Harness(Harness.fastPolicy().build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        String id = ready(1).instanceId();
        h.provider.stop(id);
        h.provider.failNextStart(new ProviderException("id already in use", true));
        h.engine.reconcile();

        ClientView c = h.awaitState(1, ClientState.READY);
        assertThat(c.instanceId()).isEqualTo(id);
        assertThat(h.provider.instances().get(id).state()).isEqualTo(InstanceState.RUNNING);
        assertThat(h.provider.provisionCalls.get()).as("provisioned again after the failed start").isEqualTo(2);
        assertThat(h.engine.recentEvents(50)).extracting(EventRecord::message)
            .anyMatch(m -> m.contains("does not start (id already in use); replacing it"));
    }

    @Test
    void anAddressHeldByAnotherActiveLeaseIsRejected() {
        h = new Harness(Harness.fastPolicy().build());
        Lease first = Harness.lease(1);
        h.send(LeaseEventType.ADDED, first);
        Lease thief = new Lease(Harness.duid(2), 7, first.address(), null, null, null, "lan", null);
        assertThatThrownBy(() -> h.send(LeaseEventType.RENEWED, thief)).isInstanceOf(IllegalArgumentException.class)
            .hasMessageContaining("leased to client");
        assertThat(h.client(2)).isEmpty();
        assertThat(h.engine.statistics().counters()).containsEntry("lease.rejected", 1L);
    }

    @Test
    void releaseWithinGraceKeepsTheInstanceAndAfterGraceItIsDestroyed() {
        h = new Harness(Harness.fastPolicy().releaseGrace(Duration.ofSeconds(3)).build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        String id = ready(1).instanceId();

        h.send(LeaseEventType.RELEASED, lease);
        ClientView released = h.await(1, c -> c.leaseStatus() == LeaseStatus.RELEASED, "released");
        assertThat(released.state()).isEqualTo(ClientState.READY);
        h.send(LeaseEventType.ADDED, lease);
        ClientView back = h.await(1, c -> c.leaseStatus() == LeaseStatus.ACTIVE, "back");
        assertThat(back.instanceId()).isEqualTo(id);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(1);
        assertThat(h.source.pins()).containsKey(lease.duid());

        Instant releasedAt = Instant.now();
        h.send(LeaseEventType.RELEASED, lease);
        ClientView gone = h.awaitState(1, ClientState.GONE);
        // the timer fires at the end of the grace period, not at the next periodic pass (an hour away)
        assertThat(Duration.between(releasedAt, Instant.now())).isBetween(Duration.ofMillis(2900), Duration.ofSeconds(8));
        assertThat(gone.instanceId()).isNull();
        assertThat(h.provider.instances()).isEmpty();
        assertThat(h.network.attachments()).isEmpty();
        assertThat(h.source.pins()).isEmpty();
        assertThat(h.engine.instances()).isEmpty();
    }

    @Test
    void leaseThatRunsOutIsExpiredByCoreItself() {
        h = new Harness(Harness.fastPolicy().build());
        h.send(LeaseEventType.ADDED, Harness.lease(1, Instant.now().plusMillis(2000)));
        ready(1);
        ClientView gone = h.awaitState(1, ClientState.GONE);
        assertThat(gone.leaseStatus()).isEqualTo(LeaseStatus.EXPIRED);
        assertThat(h.provider.instances()).isEmpty();
        assertThat(h.engine.recentEvents(50)).extracting(EventRecord::kind).contains("LEASE_EXPIRED", "DESTROYED");
    }

    @Test
    void ttlDestroysTheInstanceOnTimeAndTheNextLeaseGetsANewOne() {
        h = new Harness(Harness.fastPolicy().instanceTtl(Duration.ofSeconds(2)).build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        String first = ready(1).instanceId();
        assertThat(h.engine.instance(first).orElseThrow().expiresAt()).isNotNull();

        ClientView spent = h.awaitState(1, ClientState.GONE);
        assertThat(spent.reason()).contains("TTL");
        assertThat(h.provider.instances()).isEmpty();
        // a renewal does not bring it back
        h.send(LeaseEventType.RENEWED, lease.withExpiresAt(Instant.now().plus(Duration.ofHours(3))));
        h.engine.reconcile();
        assertThat(h.client(1).orElseThrow().state()).isEqualTo(ClientState.GONE);

        h.send(LeaseEventType.ADDED, lease);
        ClientView again = h.await(1, c -> c.state() == ClientState.READY && c.instanceId() != null
            && !c.instanceId().equals(first), "READY with a new instance");
        assertThat(h.provider.instances()).containsOnlyKeys(again.instanceId());
    }

    @Test
    void maxInstancesKeepsClientsPendingUntilAnInstanceIsFreed() {
        h = new Harness(Harness.fastPolicy().maxInstances(2).build());
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.send(LeaseEventType.ADDED, Harness.lease(2));
        ready(1);
        ready(2);
        h.send(LeaseEventType.ADDED, Harness.lease(3));
        ClientView waiting = h.await(3, c -> c.reason() != null && c.reason().contains("instance limit"), "limited");
        assertThat(waiting.state()).isEqualTo(ClientState.PENDING);
        assertThat(h.provider.instances()).hasSize(2);
        assertThatThrownBy(() -> h.engine.provision(Harness.duid(3), Duration.ZERO))
            .isInstanceOf(OrchestratorException.class)
            .extracting(e -> ((OrchestratorException) e).reason()).isEqualTo(OrchestratorException.Reason.CONFLICT);

        h.send(LeaseEventType.RELEASED, Harness.lease(1));
        h.awaitState(1, ClientState.GONE);
        h.engine.reconcile();
        ready(3);
        assertThat(h.provider.instances()).hasSize(2);
    }

    @Test
    void transientFailureIsRetriedWithBackoffUntilItSucceeds() {
        h = new Harness(Harness.fastPolicy().build());
        h.provider.failNextProvision(new ProviderException("daemon down", true));
        h.provider.failNextProvision(new ProviderException("daemon still down", true));
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ClientView c = ready(1);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(3);
        assertThat(h.provider.instances()).hasSize(1).containsKey(c.instanceId());
        assertThat(h.engine.recentEvents(100)).extracting(EventRecord::kind).contains("FAILED");
        assertThat(h.engine.statistics().counters()).containsEntry("provision.failed", 2L).containsEntry("provision.ok", 1L);
    }

    @Test
    void permanentFailureLeavesTheClientFailedWithReasonUntilTheNextEvent() {
        h = new Harness(Harness.fastPolicy().build());
        h.provider.failNextProvision(new ProviderException("image not found", false));
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ClientView failed = h.awaitState(1, ClientState.FAILED);
        assertThat(failed.reason()).contains("image not found");
        // the periodic pass respects the (capped) backoff: no new attempt
        h.engine.fullPass(false);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(1);
        assertThat(h.client(1).orElseThrow().state()).isEqualTo(ClientState.FAILED);
        // an explicit reconciliation retries, and succeeds now
        h.engine.reconcile();
        ready(1);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(2);
    }

    @Test
    void missingProviderMakesClientsWaitAndTheyResumeWhenItAppears() {
        h = new Harness(Harness.fastPolicy().routes(List.of("lan=docker,devices")).build(), false);
        h.registry.add(ComponentKind.DHCP_SOURCE, h.source, Harness.ORIGIN);
        h.registry.add(ComponentKind.NETWORK, h.network, Harness.ORIGIN);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ClientView waiting = h.await(1, c -> "waiting for provider docker".equals(c.reason()), "waiting");
        assertThat(waiting.state()).isEqualTo(ClientState.PENDING);
        assertThat(h.engine.components()).extracting(ComponentView::name).containsExactlyInAnyOrder("lan", "devices");

        h.registry.add(ComponentKind.PROVIDER, h.provider, Harness.ORIGIN);
        ready(1);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(1);
        assertThat(h.provider.instances()).hasSize(1);
    }

    @Test
    void providerUnboundAndReboundReadoptsExistingInstances() {
        h = new Harness(Harness.fastPolicy().build());
        for (int i = 1; i <= 3; i++) {
            h.send(LeaseEventType.ADDED, Harness.lease(i));
        }
        for (int i = 1; i <= 3; i++) {
            ready(i);
        }
        int attaches = h.network.attachCalls.get();
        h.registry.remove(ComponentKind.PROVIDER, h.provider);
        h.send(LeaseEventType.ADDED, Harness.lease(4));
        h.await(4, c -> c.reason() != null && c.reason().startsWith("waiting for"), "waiting");
        assertThat(h.engine.components()).filteredOn(c -> c.kind() == ComponentKind.PROVIDER)
            .singleElement().extracting(ComponentView::available).isEqualTo(false);
        // while it is away, READY clients stay READY
        h.engine.reconcile();
        assertThat(h.client(1).orElseThrow().state()).isEqualTo(ClientState.READY);

        h.registry.add(ComponentKind.PROVIDER, h.provider, Harness.ORIGIN);
        ready(4);
        h.engine.reconcile();
        assertThat(h.provider.provisionCalls.get()).isEqualTo(4);
        assertThat(h.provider.createdCount.get()).isEqualTo(4);
        assertThat(h.network.attachCalls.get()).isEqualTo(attaches + 1);
    }

    @Test
    void restartOfCoreLosesNothingAndRecreatesNothing() {
        Policy policy = Harness.fastPolicy().build();
        h = new Harness(policy);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        String id = ready(1).instanceId();
        h.restart(policy);
        h.engine.reconcile();
        ClientView c = h.client(1).orElseThrow();
        assertThat(c.state()).isEqualTo(ClientState.READY);
        assertThat(c.instanceId()).isEqualTo(id);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(1);
    }

    @Test
    void instanceStoredButNeverCreatedIsProvisionedWithTheSameIdAfterACrash() {
        Policy policy = Harness.fastPolicy().build();
        h = new Harness(policy);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        String id = ready(1).instanceId();
        // the crash happened between storing the id and the provider creating it
        h.provider.removeBehindOurBack(id);
        h.network.removeBehindOurBack(id);
        h.restart(policy);
        h.await(1, c -> h.provider.instances().containsKey(id), "re-provisioned under the same id");
        ready(1);
        assertThat(h.client(1).orElseThrow().instanceId()).isEqualTo(id);
        assertThat(h.network.attachments()).containsKey(id);
    }

    @Test
    void reconcileRepairsEveryKindOfDrift() {
        h = new Harness(Harness.fastPolicy().build());
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.send(LeaseEventType.ADDED, Harness.lease(2));
        h.send(LeaseEventType.ADDED, Harness.lease(3));
        String id1 = ready(1).instanceId();
        String id2 = ready(2).instanceId();
        ready(3);

        h.provider.removeBehindOurBack(id1);                       // missing instance
        h.network.removeBehindOurBack(id2);                        // missing attachment
        h.source.removeBehindOurBack(Harness.duid(3));             // missing pin
        h.provider.addStray("i-stray", Harness.duid(99));          // orphan instance
        h.network.addStray("i-gone");                              // orphan attachment
        h.source.pin(new Reservation(Harness.duid(98), 1, Identifiers.ipv6("fd00:1::98"), null, null)); // stale pin

        ReconcileReport report = h.engine.reconcile();

        assertThat(report.clientsChecked()).isEqualTo(3);
        assertThat(report.repaired()).isEqualTo(3);
        assertThat(report.orphansRemoved()).isEqualTo(3);
        assertThat(h.provider.instances()).containsOnlyKeys(id1, id2, h.client(3).orElseThrow().instanceId());
        assertThat(h.network.attachments()).containsOnlyKeys(h.provider.instances().keySet());
        assertThat(h.source.pins()).containsOnlyKeys(Harness.duid(1), Harness.duid(2), Harness.duid(3));
        for (int i = 1; i <= 3; i++) {
            assertThat(h.client(i).orElseThrow().state()).isEqualTo(ClientState.READY);
        }
        assertThat(h.engine.recentEvents(200)).extracting(EventRecord::kind)
            .contains("DRIFT", "ORPHAN_DESTROYED", "ORPHAN_DETACHED", "ORPHAN_UNPINNED");
        // a second pass finds nothing to do
        ReconcileReport second = h.engine.reconcile();
        assertThat(second.repaired()).isZero();
        assertThat(second.orphansRemoved()).isZero();
        h.assertNoOverlap();
    }

    @Test
    void staleAddressInPinAndPeerIsRepairedAfterTheDeviceChangesAddress() {
        h = new Harness(Harness.fastPolicy().build());
        Lease first = Harness.lease(1);
        h.send(LeaseEventType.ADDED, first);
        String id = ready(1).instanceId();
        Lease moved = new Lease(first.duid(), first.iaid(), Identifiers.ipv6("fd00:1::beef"), null, "dev1",
            first.expiresAt(), "lan", "eth0");
        h.send(LeaseEventType.RENEWED, moved);
        Harness.awaitTrue(() -> moved.address().equals(h.network.attachments().get(id).peer()), "peer updated");
        Harness.awaitTrue(() -> moved.address().equals(h.source.pins().get(first.duid()).address()), "pin updated");
        assertThat(h.client(1).orElseThrow().instanceId()).isEqualTo(id);
    }

    @Test
    void instanceRemovedBehindOurBackIsRepairedOnTheProvidersReport() {
        h = new Harness(Harness.fastPolicy().build());
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        String id = ready(1).instanceId();
        h.provider.removeBehindOurBack(id);
        h.engine.instanceChanged("docker", id, InstanceState.REMOVED, "removed by hand");
        Harness.awaitTrue(() -> h.provider.instances().containsKey(id), "instance back");
        ready(1);
        assertThat(h.provider.provisionCalls.get()).isEqualTo(2);
        assertThat(h.engine.recentEvents(100)).extracting(EventRecord::kind).contains("INSTANCE_CHANGED", "DRIFT");
    }

    @Test
    void provisionAndDeprovisionByAnAdministrator() {
        h = new Harness(Harness.fastPolicy().releaseGrace(Duration.ofHours(1)).build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        ready(1);
        ClientView gone = h.engine.deprovision(Harness.duid(1), Duration.ofSeconds(10));
        assertThat(gone.state()).isEqualTo(ClientState.GONE);
        assertThat(h.provider.instances()).isEmpty();
        // the active lease does not bring it back until the administrator asks
        h.engine.reconcile();
        assertThat(h.provider.instances()).isEmpty();
        ClientView back = h.engine.provision(Harness.duid(1), Duration.ofSeconds(10));
        assertThat(back.state()).isEqualTo(ClientState.READY);
        // held: survives the release of the lease
        h.send(LeaseEventType.RELEASED, lease);
        h.engine.reconcile();
        assertThat(h.client(1).orElseThrow().state()).isEqualTo(ClientState.READY);
        assertThatThrownBy(() -> h.engine.provision(Harness.duid(77), Duration.ZERO)).isInstanceOf(OrchestratorException.class)
            .extracting(e -> ((OrchestratorException) e).reason()).isEqualTo(OrchestratorException.Reason.NOT_FOUND);
        assertThat(h.engine.export(new org.orchestrator.api.provider.ExportRequest(back.instanceId(), "visitors/dev1:1", null))
            .imageTag()).isEqualTo("visitors/dev1:1");
        assertThatThrownBy(() -> h.engine.export(new org.orchestrator.api.provider.ExportRequest("i-none", "x:1", null)))
            .isInstanceOf(OrchestratorException.class);
    }

    @Test
    void manyConcurrentEventsForOneClientNeverOverlap() throws Exception {
        h = new Harness(Harness.fastPolicy().releaseGrace(Duration.ofMillis(100)).build());
        h.provider.operationMillis = 3;
        Lease lease = Harness.lease(1);
        ExecutorService senders = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            int k = i;
            futures.add(senders.submit(() -> {
                go.await();
                LeaseEventType type = switch (k % 4) {
                    case 0 -> LeaseEventType.ADDED;
                    case 1 -> LeaseEventType.RENEWED;
                    case 2 -> LeaseEventType.RELEASED;
                    default -> LeaseEventType.ADDED;
                };
                h.send(type, lease.withExpiresAt(Instant.now().plus(Duration.ofHours(1)).plusMillis(k)));
                if (k % 10 == 0) {
                    h.engine.instanceChanged("docker", "i-none", InstanceState.DEAD, "noise");
                }
                return null;
            }));
        }
        go.countDown();
        for (Future<?> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        senders.shutdown();
        h.send(LeaseEventType.ADDED, lease);
        ClientView c = ready(1);
        h.engine.reconcile();
        h.assertNoOverlap();
        assertThat(h.provider.instances()).containsOnlyKeys(c.instanceId());
    }

    @Test
    void twoHundredClientsBecomeReadyExactlyOnce() throws Exception {
        h = new Harness(Harness.fastPolicy().maxInstances(0).concurrency(8).build());
        h.provider.operationMillis = 1;
        ExecutorService senders = Executors.newFixedThreadPool(8);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 1; i <= 200; i++) {
            int n = i;
            futures.add(senders.submit(() -> {
                h.send(LeaseEventType.ADDED, Harness.lease(n));
                h.send(LeaseEventType.RENEWED, Harness.lease(n));
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(30, TimeUnit.SECONDS);
        }
        senders.shutdown();
        Harness.awaitTrue(() -> h.engine.statistics().clientsByState().getOrDefault(ClientState.READY, 0L) == 200, "200 READY");
        h.engine.reconcile();
        Set<String> ids = new HashSet<>();
        for (ClientView c : h.engine.clients()) {
            assertThat(c.state()).isEqualTo(ClientState.READY);
            ids.add(c.instanceId());
        }
        assertThat(ids).hasSize(200);
        assertThat(h.provider.instances()).hasSize(200);
        assertThat(h.provider.createdCount.get()).isEqualTo(200);
        assertThat(h.network.attachments()).hasSize(200);
        assertThat(h.source.pins()).hasSize(200);
        List<EventRecord> log = h.engine.events(0, 10000);
        java.util.Map<org.orchestrator.api.lease.Duid, Long> readyTransitions = log.stream()
            .filter(e -> e.kind().equals("STATE") && e.message().contains("-> READY"))
            .collect(java.util.stream.Collectors.groupingBy(EventRecord::client, java.util.stream.Collectors.counting()));
        List<String> twice = log.stream().filter(e -> readyTransitions.getOrDefault(e.client(), 0L) > 1)
            .map(e -> e.seq() + " " + e.client() + " " + e.kind() + " " + e.message()).toList();
        assertThat(twice).as("clients that became READY more than once").isEmpty();
        assertThat(readyTransitions).hasSize(200);
        assertThat(h.engine.statistics().readyLatencyCount()).isEqualTo(200);
        h.assertNoOverlap();
    }

    @Test
    void storeDownFailsClearlyAndNothingIsDeleted() {
        h = new Harness(Harness.fastPolicy().build());
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ready(1);
        h.dataSource.close();
        assertThatThrownBy(() -> h.send(LeaseEventType.ADDED, Harness.lease(2))).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("retry");
        assertThatThrownBy(() -> h.engine.clients()).isInstanceOf(OrchestratorException.class)
            .extracting(e -> ((OrchestratorException) e).reason()).isEqualTo(OrchestratorException.Reason.UNAVAILABLE);
        assertThatThrownBy(() -> h.engine.reconcile()).isInstanceOf(OrchestratorException.class);
        assertThat(h.engine.health().storeUp()).isFalse();
        assertThat(h.provider.instances()).hasSize(1);
        assertThat(h.provider.destroyCalls.get()).isZero();
    }

    @Test
    void healthAndComponentsReportPlugins() {
        h = new Harness(Harness.fastPolicy().build());
        assertThat(h.engine.health().up()).isTrue();
        assertThat(h.engine.components()).extracting(ComponentView::kind, ComponentView::name, ComponentView::bundleId,
            ComponentView::bundleState).contains(
                org.assertj.core.groups.Tuple.tuple(ComponentKind.PROVIDER, "docker", 42L, "ACTIVE"));
        h.registry.remove(ComponentKind.NETWORK, h.network);
        assertThat(h.engine.health().up()).isFalse();
    }

    @Test
    void passesDoNotStarveWithASingleWorkerThread() {
        h = new Harness(Harness.fastPolicy().concurrency(1).routes(List.of("*=docker,devices")).build(), false);
        h.registry.add(ComponentKind.DHCP_SOURCE, h.source, Harness.ORIGIN);
        h.registry.add(ComponentKind.NETWORK, h.network, Harness.ORIGIN);
        for (int i = 1; i <= 5; i++) {
            h.send(LeaseEventType.ADDED, Harness.lease(i));
        }
        for (int i = 1; i <= 5; i++) {
            int n = i;
            h.await(n, c -> c.reason() != null && c.reason().startsWith("waiting for provider"), "waiting");
        }
        // binding schedules a full pass, which waits for per-client work on the only worker
        h.registry.add(ComponentKind.PROVIDER, h.provider, Harness.ORIGIN);
        for (int i = 1; i <= 5; i++) {
            ready(i);
        }
        assertThat(h.engine.reconcile().clientsChecked()).isEqualTo(5);
    }

    @Test
    void aStoreThatComesUpLateIsReconciledWithoutWaitingForThePeriodicPass() {
        Policy policy = Harness.fastPolicy().build();
        h = new Harness(policy);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        String id = ready(1).instanceId();
        h.engine.close();
        // core restarts while its database is still unreachable; meanwhile the instance vanished
        h.provider.removeBehindOurBack(id);
        java.util.concurrent.atomic.AtomicBoolean up = new java.util.concurrent.atomic.AtomicBoolean(false);
        org.orchestrator.core.internal.store.JdbcStore flaky = new org.orchestrator.core.internal.store.JdbcStore(() -> {
            if (!up.get()) {
                throw new org.orchestrator.core.internal.store.StoreException("database not reachable", null);
            }
            return h.dataSource;
        }, "flaky", java.time.Clock.systemUTC());
        h.engine = new Engine(flaky, h.registry, policy, java.time.Clock.systemUTC());
        h.engine.start();
        assertThatThrownBy(() -> h.engine.clients()).isInstanceOf(OrchestratorException.class);
        up.set(true);
        Harness.awaitTrue(() -> h.provider.instances().containsKey(id), "instance re-provisioned after the store came up");
        ready(1);
    }

    @Test
    void aFailedClientWhoseLeaseEndsIsCleanedUpWithoutWaitingForTheBackoff() {
        h = new Harness(Harness.fastPolicy().retryMax(Duration.ofMinutes(10)).build());
        Lease lease = Harness.lease(1);
        h.send(LeaseEventType.ADDED, lease);
        ready(1);
        // the device changes address; attaching the new peer fails for good
        Lease moved = new Lease(lease.duid(), lease.iaid(), Identifiers.ipv6("fd00:1::beef"), null, "dev1", lease.expiresAt(), "lan", "eth0");
        h.network.failNextAttach(new org.orchestrator.api.network.NetworkException("bridge is gone", false));
        h.send(LeaseEventType.RENEWED, moved);
        ClientView failed = h.awaitState(1, ClientState.FAILED);
        assertThat(failed.reason()).contains("bridge is gone");
        h.send(LeaseEventType.RELEASED, moved);
        h.awaitState(1, ClientState.GONE);
        assertThat(h.provider.instances()).isEmpty();
        assertThat(h.network.attachments()).isEmpty();
    }
}
