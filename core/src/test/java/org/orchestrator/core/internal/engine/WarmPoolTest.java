package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.PoolView;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.core.internal.store.PoolMemberRecord;
import org.orchestrator.core.internal.store.StoreTx;
import org.orchestrator.core.internal.testing.FakePoolingProvider;

/** The warm pool: claims, fallback to provisioning, refill, restart, concurrency, policy changes. */
class WarmPoolTest {

    private Harness h;
    private final FakePoolingProvider pooling = new FakePoolingProvider("docker");

    @AfterEach
    void tearDown() {
        if (h != null) {
            h.close();
        }
    }

    private void start(int poolSize) {
        start(Harness.fastPolicy().poolSize(poolSize).poolRefillConcurrency(2).build());
    }

    private void start(Policy policy) {
        start(policy, false);
    }

    /** @param isolating whether the network keeps attachments without a peer unreachable (spares are attached ahead) */
    private void start(Policy policy, boolean isolating) {
        h = new Harness(policy, false);
        h.network.isolating = isolating;
        h.registry.add(ComponentKind.DHCP_SOURCE, h.source, Harness.ORIGIN);
        h.registry.add(ComponentKind.PROVIDER, pooling, Harness.ORIGIN);
        h.registry.add(ComponentKind.NETWORK, h.network, Harness.ORIGIN);
    }

    private PoolView awaitReady(int ready) {
        return Harness.awaitValue(() -> h.engine.pool().isEmpty() ? null : h.engine.pool().get(0),
            v -> v != null && v.ready() == ready && v.starting() == 0, "pool with " + ready + " ready spares");
    }

    private List<EventRecord> eventsOf(Duid duid) {
        return h.engine.recentEvents(1000).stream().filter(e -> duid.equals(e.client())).toList();
    }

    @Test
    void aClaimUsesASpareCreatesNothingAndTheSpareIsReplaced() {
        start(3);
        PoolView pool = awaitReady(3);
        assertThat(pool.size()).isEqualTo(3);
        assertThat(pool.provider()).isEqualTo("docker");
        assertThat(pool.network()).isEqualTo("devices");
        Set<String> spares = new HashSet<>();
        pooling.spares().forEach(i -> spares.add(i.id()));
        assertThat(spares).hasSize(3);
        assertThat(h.network.attachments()).as("spares are reachable by no device").isEmpty();
        int created = pooling.delegate.createdCount.get();

        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ClientView c = h.awaitState(1, ClientState.READY);

        assertThat(spares).contains(c.instanceId());
        assertThat(pooling.personalised()).containsEntry(c.instanceId(), Harness.duid(1));
        assertThat(h.network.attachments().get(c.instanceId()).peer()).isEqualTo(Harness.lease(1).address());
        List<String> kinds = eventsOf(Harness.duid(1)).stream().map(EventRecord::kind).toList();
        assertThat(kinds).contains("CLAIMED", "PERSONALISED", "ATTACHED", "PINNED").doesNotContain("PROVISIONED");
        String states = String.join("\n", eventsOf(Harness.duid(1)).stream().filter(e -> e.kind().equals("STATE"))
            .map(EventRecord::message).toList());
        assertThat(states).as("binding the spare shows no ATTACHING").contains("PROVISIONING -> READY").doesNotContain("ATTACHING");
        assertThat(h.engine.instance(c.instanceId()).orElseThrow().client()).isEqualTo(Harness.duid(1));

        PoolView after = awaitReady(3);
        assertThat(after.claimed()).isEqualTo(1);
        assertThat(pooling.delegate.createdCount.get()).as("exactly one replacement spare").isEqualTo(created + 1);
        Statistics s = h.engine.statistics();
        assertThat(s.counters()).containsEntry("pool.hit", 1L).containsEntry("pool.miss", 0L);
        assertThat(s.counters().get("pool.refill.ok")).isEqualTo(4L);
        assertThat(s.gauges()).containsEntry("pool.ready", 3L).containsEntry("pool.size", 3L);
        assertThat(s.instances()).as("spares are not client instances").isEqualTo(1);

        // A full pass neither treats spares as orphans nor the claimed spare as one.
        h.engine.reconcile();
        assertThat(pooling.delegate.instances()).containsKey(c.instanceId()).hasSize(4);
        assertThat(pooling.violations()).isEmpty();
    }

    @Test
    void aClaimIsReplacedOnlyOnceItsClientIsReady() throws InterruptedException {
        start(2);
        h.engine.warmPool().refillLatestAfterClaim(java.time.Duration.ofMinutes(1));
        awaitReady(2);
        int created = pooling.delegate.createdCount.get();
        h.network.holdAttaches();
        try {
            h.send(LeaseEventType.ADDED, Harness.lease(1));
            Harness.awaitValue(() -> pooling.personalised().containsValue(Harness.duid(1)) ? Boolean.TRUE : null,
                v -> v != null, "the spare personalised for client 1");
            // the claim committed before personalising; the earlier policy refilled 0.5 s after it
            Thread.sleep(1500);
            assertThat(pooling.delegate.createdCount.get()).as("spares started while the device waits for its attach")
                .isEqualTo(created);
        } finally {
            h.network.releaseAttaches();
        }
        h.awaitState(1, ClientState.READY);
        awaitReady(2);
        assertThat(pooling.delegate.createdCount.get()).as("one replacement, started when the client was READY")
            .isEqualTo(created + 1);
    }

    @Test
    void aReplacementLeavesTheDeviceAMomentAfterItsInstanceIsReady() throws InterruptedException {
        start(1);
        h.engine.warmPool().refillAfterSettled(java.time.Duration.ofSeconds(2));
        awaitReady(1);
        int created = pooling.delegate.createdCount.get();
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        Thread.sleep(500);
        assertThat(pooling.delegate.createdCount.get()).as("no container started while the device makes its first request")
            .isEqualTo(created);
        awaitReady(1);
        assertThat(pooling.delegate.createdCount.get()).as("replaced after the delay").isEqualTo(created + 1);
    }

    @Test
    void aClaimWhoseClientIsNotReadyIsReplacedAfterAWhileAllTheSame() {
        start(2);
        h.engine.warmPool().refillLatestAfterClaim(java.time.Duration.ofMillis(300));
        awaitReady(2);
        int created = pooling.delegate.createdCount.get();
        h.network.holdAttaches();
        try {
            h.send(LeaseEventType.ADDED, Harness.lease(1));
            Harness.awaitValue(() -> pooling.delegate.createdCount.get() > created ? Boolean.TRUE : null,
                v -> v != null, "a replacement spare while client 1 waits");
            awaitReady(2);
            assertThat(pooling.delegate.createdCount.get()).isEqualTo(created + 1);
            assertThat(h.engine.client(Harness.duid(1)).orElseThrow().state()).as("still waiting for its attach")
                .isNotEqualTo(ClientState.READY);
        } finally {
            h.network.releaseAttaches();
        }
        h.awaitState(1, ClientState.READY);
    }

    @Test
    void aPoolGrowsWithDemandUpToItsMaximumAndShrinksBackWhenDemandFalls() {
        start(Harness.fastPolicy().poolSize(1).poolMax(3).poolRefillConcurrency(2).build());
        PoolView idle = awaitReady(1);
        assertThat(idle.size()).isEqualTo(1);
        assertThat(idle.min()).isEqualTo(1);
        assertThat(idle.max()).isEqualTo(3);
        for (int n = 1; n <= 5; n++) {
            h.send(LeaseEventType.ADDED, Harness.lease(n));
        }
        for (int n = 1; n <= 5; n++) {
            h.awaitState(n, ClientState.READY);
        }
        PoolView grown = awaitReady(3);
        assertThat(grown.size()).as("five requests in the window, capped at the maximum").isEqualTo(3);
        assertThat(pooling.spares()).hasSize(3);

        h.engine.warmPool().demandWindow(java.time.Duration.ofMillis(1));
        h.engine.reconcile();
        PoolView shrunk = awaitReady(1);
        assertThat(shrunk.size()).isEqualTo(1);
        assertThat(pooling.spares()).as("the surplus spares destroyed").hasSize(1);
        assertThat(h.engine.recentEvents(1000).stream().filter(e -> e.kind().equals("POOL_RETIRED")).count())
            .isGreaterThanOrEqualTo(2);
        assertThat(pooling.violations()).isEmpty();
    }

    @Test
    void aBurstLargerThanThePoolFallsBackToProvisioningWhileItRefills() {
        start(2);
        awaitReady(2);
        for (int n = 1; n <= 6; n++) {
            h.send(LeaseEventType.ADDED, Harness.lease(n));
        }
        Set<String> ids = new HashSet<>();
        for (int n = 1; n <= 6; n++) {
            ids.add(h.awaitState(n, ClientState.READY).instanceId());
        }
        assertThat(ids).hasSize(6);
        Statistics s = h.engine.statistics();
        long hits = s.counters().get("pool.hit");
        long misses = s.counters().get("pool.miss");
        assertThat(hits).isGreaterThanOrEqualTo(2);
        assertThat(hits + misses).isEqualTo(6);
        long provisioned = h.engine.recentEvents(1000).stream().filter(e -> e.kind().equals("PROVISIONED")).count();
        assertThat(provisioned).as("misses were provisioned").isEqualTo(misses);
        awaitReady(2);
        assertThat(pooling.violations()).isEmpty();
    }

    @Test
    void twoDevicesNeverClaimTheSameSpare() {
        start(Harness.fastPolicy().poolSize(8).poolRefillConcurrency(4).concurrency(16).build());
        for (int round = 0; round < 3; round++) {
            awaitReady(8);
            int base = round * 16;
            for (int n = base + 1; n <= base + 16; n++) {
                h.send(LeaseEventType.ADDED, Harness.lease(n));
            }
            for (int n = base + 1; n <= base + 16; n++) {
                h.awaitState(n, ClientState.READY);
            }
        }
        Set<String> ids = new HashSet<>();
        h.engine.clients().forEach(c -> assertThat(ids.add(c.instanceId())).as("instance of " + c.duid() + " unique").isTrue());
        assertThat(ids).hasSize(48);
        assertThat(h.engine.statistics().counters().get("pool.hit")).isGreaterThanOrEqualTo(8);
        assertThat(pooling.violations()).isEmpty();
        long claims = h.engine.recentEvents(5000).stream().filter(e -> e.kind().equals("CLAIMED")).map(EventRecord::instanceId)
            .distinct().count();
        assertThat(claims).isEqualTo(h.engine.statistics().counters().get("pool.hit"));
    }

    @Test
    void poolSizeZeroOrAProviderWithoutPoolingProvisionsAsBefore() {
        start(0);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        h.awaitState(1, ClientState.READY);
        assertThat(h.engine.pool()).isEmpty();
        assertThat(pooling.spares()).isEmpty();
        assertThat(eventsOf(Harness.duid(1))).extracting(EventRecord::kind).contains("PROVISIONED").doesNotContain("CLAIMED");
        h.close();

        h = new Harness(Harness.fastPolicy().poolSize(3).build()); // plain FakeProvider declines pooling
        h.send(LeaseEventType.ADDED, Harness.lease(2));
        h.awaitState(2, ClientState.READY);
        h.engine.reconcile();
        assertThat(h.provider.instances()).hasSize(1);
        assertThat(h.engine.statistics().counters()).containsEntry("pool.hit", 0L).containsEntry("pool.miss", 0L);
    }

    @Test
    void aFailedPersonalisationDestroysTheSpareAndProvisions() {
        start(1);
        awaitReady(1);
        // the provider may still hold a spare being retired besides the pool's one
        Set<String> spares = new HashSet<>();
        pooling.spares().forEach(i -> spares.add(i.id()));
        pooling.failPersonalise(true);
        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ClientView c = h.awaitState(1, ClientState.READY);
        String spare = c.instanceId();
        assertThat(spares).as("the client got a spare's id").contains(spare);
        assertThat(pooling.delegate.instances().get(spare).client()).as("provisioned afresh for the client")
            .isEqualTo(Harness.duid(1));
        assertThat(eventsOf(Harness.duid(1))).extracting(EventRecord::kind).contains("CLAIMED", "POOL_FALLBACK", "PROVISIONED");
        assertThat(h.engine.statistics().counters()).containsEntry("pool.miss", 1L);
    }

    @Test
    void aRestartFindsTheSparesAgainAndRemovesStrays() {
        start(2);
        awaitReady(2);
        Set<String> before = new HashSet<>();
        pooling.spares().forEach(i -> before.add(i.id()));
        int created = pooling.delegate.createdCount.get();

        pooling.delegate.addStray("i-stray", PoolingProvider.UNASSIGNED);
        h.restart(Harness.fastPolicy().poolSize(2).build());
        awaitReady(2);
        Set<String> after = new HashSet<>();
        pooling.spares().forEach(i -> after.add(i.id()));
        assertThat(after).isEqualTo(before);
        assertThat(pooling.delegate.createdCount.get()).isEqualTo(created);
        assertThat(pooling.delegate.instances()).doesNotContainKey("i-stray");

        // A spare that vanished is replaced at the next pass; one reported dead at once.
        String lost = before.iterator().next();
        pooling.delegate.removeBehindOurBack(lost);
        h.engine.reconcile();
        awaitReady(2);
        assertThat(pooling.spares()).extracting(i -> i.id()).doesNotContain(lost);
        String dying = pooling.spares().get(0).id();
        pooling.delegate.stop(dying);
        h.engine.instanceChanged("docker", dying, InstanceState.STOPPED, "exited");
        Harness.awaitTrue(() -> !pooling.delegate.instances().containsKey(dying), "dead spare destroyed");
        awaitReady(2);
        assertThat(h.engine.recentEvents(200)).extracting(EventRecord::kind).contains("POOL_RETIRED");
    }

    @Test
    void aPolicyChangeRetiresSparesOfTheOldPolicy() {
        start(2);
        awaitReady(2);
        Set<String> old = new HashSet<>();
        pooling.spares().forEach(i -> old.add(i.id()));
        String oldKey = h.engine.pool().get(0).poolKey();
        h.engine.updatePolicy(Harness.fastPolicy().poolSize(2).image("other/image:1").build());
        Harness.awaitTrue(() -> pooling.delegate.instances().keySet().stream().noneMatch(old::contains), "old spares retired");
        PoolView v = awaitReady(2);
        assertThat(v.poolKey()).isNotEqualTo(oldKey);
        assertThat(v.image()).isEqualTo("other/image:1");
        assertThat(pooling.spares()).allMatch(i -> i.image().equals("other/image:1"));

        h.engine.updatePolicy(Harness.fastPolicy().poolSize(0).build());
        Harness.awaitTrue(() -> pooling.delegate.instances().isEmpty(), "pool emptied when disabled");
        assertThat(h.engine.pool()).isEmpty();
    }

    private Set<String> spareIds() {
        Set<String> ids = new HashSet<>();
        pooling.spares().forEach(i -> ids.add(i.id()));
        return ids;
    }

    private long attachedAhead() {
        return h.network.attachments().values().stream().filter(a -> a.peer() == null).count();
    }

    @Test
    void whereTheNetworkIsolatesSparesAreAttachedAheadAndAClaimOnlyBindsTheDevice() {
        start(Harness.fastPolicy().poolSize(2).poolRefillConcurrency(2).build(), true);
        awaitReady(2);
        Set<String> spares = spareIds();
        Map<String, Attachment> ahead = h.network.attachments();
        assertThat(ahead.keySet()).as("every spare attached ahead").isEqualTo(spares);
        assertThat(ahead.values()).as("with no device as peer").allMatch(a -> a.peer() == null);
        assertThat(h.network.requests).allMatch(r -> r.peer() == null && r.client().equals(PoolingProvider.UNASSIGNED));

        h.send(LeaseEventType.ADDED, Harness.lease(1));
        ClientView c = h.awaitState(1, ClientState.READY);

        assertThat(spares).contains(c.instanceId());
        Attachment bound = h.network.attachments().get(c.instanceId());
        assertThat(bound.peer()).isEqualTo(Harness.lease(1).address());
        assertThat(bound.address()).as("the address it had as a spare").isEqualTo(ahead.get(c.instanceId()).address());
        assertThat(h.engine.instance(c.instanceId()).orElseThrow().address()).isEqualTo(bound.address());
        List<AttachRequest> forIt = h.network.requests.stream().filter(r -> r.instanceId().equals(c.instanceId())).toList();
        assertThat(forIt).as("attached ahead once, then bound once").hasSize(2);
        assertThat(forIt.get(1).client()).isEqualTo(Harness.duid(1));
        assertThat(forIt.get(1).netns()).isEqualTo(forIt.get(0).netns());
        assertThat(eventsOf(Harness.duid(1))).extracting(EventRecord::kind).contains("CLAIMED", "ATTACHED")
            .doesNotContain("PROVISIONED");

        awaitReady(2);
        Harness.awaitTrue(() -> attachedAhead() == 2, "the replacement attached ahead");
    }

    @Test
    void retiredAndDeadSparesAreDetachedAndAFailedAttachRetiresTheSpare() {
        start(Harness.fastPolicy().poolSize(2).poolRefillConcurrency(2).build(), true);
        awaitReady(2);
        String dying = spareIds().iterator().next();
        pooling.delegate.stop(dying);
        h.engine.instanceChanged("docker", dying, InstanceState.STOPPED, "exited");
        Harness.awaitTrue(() -> !h.network.attachments().containsKey(dying), "dead spare detached");
        awaitReady(2);
        Harness.awaitTrue(() -> attachedAhead() == 2, "its replacement attached ahead");

        // a spare whose attach fails never becomes ready: it is destroyed, and the pool tries again
        h.network.failNextAttach(new NetworkException("no address left", true));
        String victim = spareIds().iterator().next();
        pooling.delegate.stop(victim);
        h.engine.instanceChanged("docker", victim, InstanceState.STOPPED, "exited");
        Harness.awaitTrue(() -> h.engine.statistics().counters().getOrDefault("pool.refill.failed", 0L) == 1L,
            "the failed attach counted as a failed refill");
        awaitReady(2);
        Harness.awaitTrue(() -> attachedAhead() == 2 && h.network.attachments().keySet().equals(spareIds()),
            "two spares, each attached ahead");
        assertThat(spareIds()).doesNotContain(victim);

        h.engine.updatePolicy(Harness.fastPolicy().poolSize(0).build());
        Harness.awaitTrue(() -> pooling.delegate.instances().isEmpty(), "pool emptied when disabled");
        assertThat(h.network.attachments()).as("retired spares are detached").isEmpty();
    }

    @Test
    void aNetworkThatStopsIsolatingGetsItsSparesReplacedByUnattachedOnes() {
        start(Harness.fastPolicy().poolSize(2).poolRefillConcurrency(2).build(), true);
        awaitReady(2);
        Set<String> attached = spareIds();
        h.network.isolating = false;
        h.engine.reconcile();
        Harness.awaitTrue(() -> spareIds().stream().noneMatch(attached::contains), "spares attached ahead replaced");
        awaitReady(2);
        assertThat(h.network.attachments()).as("devices could reach a spare attached now").isEmpty();
    }

    @Test
    void aSpareLeftHalfMadeByARestartIsAttachedBeforeItIsClaimed() {
        start(Harness.fastPolicy().poolSize(2).poolRefillConcurrency(2).build(), true);
        awaitReady(2);
        // as if core stopped between starting the spare and attaching it
        String half = spareIds().iterator().next();
        h.store.transaction(tx -> {
            PoolMemberRecord m = tx.poolMembers().stream().filter(x -> x.id().equals(half)).findFirst().orElseThrow();
            tx.savePoolMember(m.withProviderState(null, null));
            tx.deleteAttachments(half);
            return null;
        });
        h.network.detach(half);
        int created = pooling.delegate.createdCount.get();

        h.restart(Harness.fastPolicy().poolSize(2).poolRefillConcurrency(2).build());
        awaitReady(2);
        assertThat(spareIds()).as("adopted, not replaced").contains(half);
        assertThat(pooling.delegate.createdCount.get()).isEqualTo(created);
        assertThat(h.network.attachments().get(half)).as("attached when adopted").isNotNull();
        assertThat(h.network.attachments().get(half).peer()).isNull();
        assertThat(h.store.transaction((StoreTx tx) -> tx.attachments(half))).hasSize(1);
    }

    @Test
    void aClaimedSpareIsAttachedWhileItIsPersonalised() {
        start(Harness.fastPolicy().poolSize(1).poolRefillConcurrency(1).build(), true);
        awaitReady(1);
        String spare = spareIds().iterator().next();
        pooling.holdPersonalise();
        try {
            h.send(LeaseEventType.ADDED, Harness.lease(1));
            Harness.awaitTrue(() -> h.network.requests.stream()
                    .anyMatch(r -> r.instanceId().equals(spare) && Harness.lease(1).address().equals(r.peer())),
                "the spare bound to the device while its personalisation is still held");
            assertThat(pooling.personalised()).as("not personalised yet").doesNotContainKey(spare);
            assertThat(h.client(1).orElseThrow().state()).isNotEqualTo(ClientState.READY);
        } finally {
            pooling.releasePersonalise();
        }
        ClientView c = h.awaitState(1, ClientState.READY);
        assertThat(c.instanceId()).isEqualTo(spare);
        assertThat(pooling.personalised()).containsEntry(spare, Harness.duid(1));
        assertThat(h.network.requests.stream().filter(r -> r.instanceId().equals(spare))).as("attached ahead, then bound once")
            .hasSize(2);
        assertThat(eventsOf(Harness.duid(1))).extracting(EventRecord::kind).contains("PERSONALISED", "ATTACHED")
            .doesNotContain("PROVISIONED", "POOL_FALLBACK");
    }
}
