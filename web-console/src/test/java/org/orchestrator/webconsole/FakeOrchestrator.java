package org.orchestrator.webconsole;

import java.net.Inet6Address;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Function;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.MacAddress;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.Health;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.LeaseStatus;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.OrchestratorException;
import org.orchestrator.api.manage.ReconcileReport;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.InstanceState;

/** In-memory double of core's {@link Orchestrator}; records write calls. Thread-safe enough for tests. */
public final class FakeOrchestrator implements Orchestrator {

    public static final Instant T0 = Instant.parse("2026-11-25T12:00:00Z");
    public static final Duid ALICE = Duid.parse("00:01:00:01:2c:5f:aa:bb:52:54:00:12:34:56");
    public static final Duid BOB = Duid.parse("00:03:00:01:52:54:00:ab:cd:ef");
    public static final Duid CAROL = Duid.parse("00:04:11:22:33:44");
    public static final Inet6Address ALICE_ADDRESS = Identifiers.ipv6("fd00:10::100");
    public static final Inet6Address ALICE_INSTANCE_ADDRESS = Identifiers.ipv6("fd00:20::2");

    public final List<ClientView> clients = new CopyOnWriteArrayList<>();
    public final List<InstanceView> instances = new CopyOnWriteArrayList<>();
    public final List<Lease> leases = new CopyOnWriteArrayList<>();
    public final List<ComponentView> components = new CopyOnWriteArrayList<>();
    public final List<EventRecord> events = new CopyOnWriteArrayList<>();
    public final List<String> calls = new CopyOnWriteArrayList<>();
    public volatile boolean storeUp = true;
    /** While set, {@link #awaitClient} waits for it to open before it looks at the client. */
    public volatile CountDownLatch awaitGate;
    /** What provision makes of a client; default: READY with an instance. */
    public volatile Function<ClientView, ClientView> provisionOutcome = c -> with(c, ClientState.READY, "inst-" + c.duid().hex().substring(0, 8));
    public volatile Function<ClientView, ClientView> deprovisionOutcome = c -> with(c, ClientState.GONE, null);
    public volatile RuntimeException provisionFailure;
    public volatile Statistics statistics = new Statistics(
        Map.of("lease.added", 3L, "provision.ok", 2L, "provision.failed", 1L, "lease.rejected", 4L),
        Map.of(ClientState.READY, 1L, ClientState.FAILED, 1L), 1,
        List.of(0.5, 1.0, 5.0), List.of(0L, 1L, 2L), 2, 3.25);

    public final List<org.orchestrator.api.manage.PoolView> pools = new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public List<org.orchestrator.api.manage.PoolView> pool() {
        return List.copyOf(pools);
    }

    /** Alice READY with instance inst-alice; Bob FAILED without instance; Carol PENDING. */
    public static FakeOrchestrator standard() {
        FakeOrchestrator o = new FakeOrchestrator();
        o.clients.add(new ClientView(ALICE, 1, ALICE_ADDRESS, "alice-laptop", MacAddress.parse("52:54:00:12:34:56"), "dnsmasq-lab",
            "lab0", LeaseStatus.ACTIVE, T0.plusSeconds(3600), ClientState.READY, null, "inst-alice", T0, T0));
        o.clients.add(new ClientView(BOB, 7, Identifiers.ipv6("fd00:10::101"), null, null, "dnsmasq-lab", "lab0",
            LeaseStatus.ACTIVE, T0.plusSeconds(600), ClientState.FAILED, "image pull failed", null, T0, T0));
        o.clients.add(new ClientView(CAROL, 9, null, null, null, null, null, LeaseStatus.RELEASED, null,
            ClientState.PENDING, null, null, T0, T0));
        o.instances.add(new InstanceView("inst-alice", ALICE, "docker", "c0ffee", "lab0", "orchestrator/client:latest",
            InstanceState.RUNNING, ALICE_INSTANCE_ADDRESS, T0.minusSeconds(120), T0.plusSeconds(3600)));
        o.leases.add(new Lease(ALICE, 1, ALICE_ADDRESS, MacAddress.parse("52:54:00:12:34:56"), "alice-laptop",
            T0.plusSeconds(3600), "dnsmasq-lab", "lab0"));
        o.components.add(new ComponentView(ComponentKind.DHCP_SOURCE, "dnsmasq-lab", 41, "org.orchestrator.dhcp.dnsmasq", "ACTIVE", true, null));
        o.components.add(new ComponentView(ComponentKind.PROVIDER, "docker", 42, "org.orchestrator.provider.docker", "ACTIVE", true, "1 instance"));
        o.components.add(new ComponentView(ComponentKind.NETWORK, "pipework", 43, "org.orchestrator.network.pipework", "ACTIVE", true, null));
        for (int i = 1; i <= 5; i++) {
            o.events.add(new EventRecord(i, T0.plusSeconds(i), i % 2 == 0 ? "STATE" : "LEASE_ADDED", ALICE, null, "event " + i));
        }
        return o;
    }

    public static ClientView with(ClientView c, ClientState state, String instanceId) {
        return new ClientView(c.duid(), c.iaid(), c.address(), c.hostname(), c.mac(), c.source(), c.network(), c.leaseStatus(),
            c.leaseExpiresAt(), state, state == ClientState.FAILED ? "it failed" : null, instanceId, T0, T0);
    }

    @Override
    public List<ClientView> clients() {
        check();
        return List.copyOf(clients);
    }

    @Override
    public Optional<ClientView> client(Duid duid) {
        check();
        return clients.stream().filter(c -> c.duid().equals(duid)).findFirst();
    }

    @Override
    public Optional<ClientView> clientByAddress(Inet6Address address) {
        check();
        return clients.stream().filter(c -> address.equals(c.address())).findFirst();
    }

    @Override
    public List<InstanceView> instances() {
        check();
        return List.copyOf(instances);
    }

    /**
     * Records the call and, when {@link #awaitGate} is set, holds it until the gate opens; then
     * waits as the API's default does (polling {@link #client}).
     */
    @Override
    public Optional<ClientView> awaitClient(Duid duid, Set<ClientState> states, Duration wait) {
        calls.add("awaitClient " + duid + " " + EnumSet.copyOf(states) + " " + wait);
        CountDownLatch gate = awaitGate;
        if (gate != null) {
            try {
                gate.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return Orchestrator.super.awaitClient(duid, states, wait);
    }

    @Override
    public Optional<InstanceView> instance(String instanceId) {
        check();
        return instances.stream().filter(i -> i.id().equals(instanceId)).findFirst();
    }

    @Override
    public List<Lease> leases() {
        check();
        return List.copyOf(leases);
    }

    @Override
    public List<ComponentView> components() {
        return List.copyOf(components);
    }

    @Override
    public ClientView provision(Duid duid, Duration wait) {
        calls.add("provision " + duid);
        if (provisionFailure != null) {
            throw provisionFailure;
        }
        ClientView c = client(duid).orElseThrow(() -> new OrchestratorException(OrchestratorException.Reason.NOT_FOUND, "no client " + duid));
        ClientView after = provisionOutcome.apply(c);
        replace(after);
        return after;
    }

    @Override
    public ClientView deprovision(Duid duid, Duration wait) {
        calls.add("deprovision " + duid);
        ClientView c = client(duid).orElseThrow(() -> new OrchestratorException(OrchestratorException.Reason.NOT_FOUND, "no client " + duid));
        ClientView after = deprovisionOutcome.apply(c);
        replace(after);
        return after;
    }

    @Override
    public ExportResult export(ExportRequest request) {
        calls.add("export " + request.instanceId() + " " + request.imageTag() + " " + request.archiveName());
        if (instance(request.instanceId()).isEmpty()) {
            throw new OrchestratorException(OrchestratorException.Reason.NOT_FOUND, "no instance " + request.instanceId());
        }
        return new ExportResult("sha256:abc", request.imageTag(),
            request.archiveName() == null ? null : java.nio.file.Path.of("/var/lib/orchestrator/exports", request.archiveName()),
            request.archiveName() == null ? 0 : 1234);
    }

    @Override
    public ReconcileReport reconcile() {
        calls.add("reconcile");
        return new ReconcileReport(3, 1, 0, List.of("restarted inst-alice"), Duration.ofMillis(42));
    }

    @Override
    public List<EventRecord> events(long afterSeq, int limit) {
        if (limit < 1 || limit > 10_000) {
            throw new IllegalArgumentException("limit out of range");
        }
        return events.stream().filter(e -> e.seq() > afterSeq).limit(limit).toList();
    }

    @Override
    public List<EventRecord> recentEvents(int limit) {
        List<EventRecord> all = new ArrayList<>(events);
        return all.subList(Math.max(0, all.size() - limit), all.size());
    }

    @Override
    public Health health() {
        return new Health(storeUp, storeUp ? "jdbc:h2:mem:test" : "connection refused", components);
    }

    @Override
    public Statistics statistics() {
        return statistics;
    }

    private void replace(ClientView after) {
        clients.replaceAll(c -> c.duid().equals(after.duid()) ? after : c);
    }

    private void check() {
        if (!storeUp) {
            throw new OrchestratorException(OrchestratorException.Reason.UNAVAILABLE, "store is down");
        }
    }

    @Override
    public String toString() {
        return "FakeOrchestrator" + Objects.hashCode(this);
    }
}
