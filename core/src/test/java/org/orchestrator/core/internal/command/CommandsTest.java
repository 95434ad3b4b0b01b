package org.orchestrator.core.internal.command;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
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

/** The shell commands against a double of the management service. */
class CommandsTest {

    private static final Duid DUID = Duid.parse("00:01:00:01:2c:aa:bb:cc");
    private static final Inet6Address DEVICE = Identifiers.ipv6("fd00:1::101");
    private static final Instant T = Instant.parse("2026-11-25T12:00:00Z");

    /** Management double: one READY client with one instance; provision/deprovision flip the state. */
    static final class FakeOrchestrator implements Orchestrator {
        volatile ClientState state = ClientState.READY;
        final List<String> calls = new ArrayList<>();

        ClientView view() {
            return new ClientView(DUID, 7, DEVICE, "alice", null, "lan", "eth0", LeaseStatus.ACTIVE, T.plusSeconds(3600), state,
                state == ClientState.READY ? null : "in progress", "i-abc", T, T);
        }

        @Override
        public List<ClientView> clients() {
            return List.of(view());
        }

        @Override
        public Optional<ClientView> client(Duid duid) {
            return duid.equals(DUID) ? Optional.of(view()) : Optional.empty();
        }

        @Override
        public Optional<ClientView> clientByAddress(Inet6Address address) {
            return Optional.empty();
        }

        @Override
        public List<InstanceView> instances() {
            return List.of(new InstanceView("i-abc", DUID, "docker", "0123456789abcdef0123", "devices", "orchestrator/client:latest",
                InstanceState.RUNNING, Identifiers.ipv6("fd00:99::2"), T, null));
        }

        @Override
        public Optional<InstanceView> instance(String instanceId) {
            return instances().stream().filter(i -> i.id().equals(instanceId)).findFirst();
        }

        @Override
        public List<Lease> leases() {
            return List.of(new Lease(DUID, 7, DEVICE, null, "alice", T.plusSeconds(3600), "lan", "eth0"));
        }

        @Override
        public List<ComponentView> components() {
            return List.of(new ComponentView(ComponentKind.PROVIDER, "docker", 57, "org.orchestrator.provider.docker", "ACTIVE", true, null),
                new ComponentView(ComponentKind.NETWORK, "devices", 58, "org.orchestrator.network.pipework", "RESOLVED", false, null));
        }

        @Override
        public ClientView provision(Duid duid, Duration wait) {
            if (!duid.equals(DUID)) {
                throw new OrchestratorException(OrchestratorException.Reason.NOT_FOUND, "unknown client " + duid);
            }
            calls.add("provision " + wait.toSeconds());
            state = ClientState.PROVISIONING;
            ClientView v = view();
            state = ClientState.READY; // becomes READY by the first poll
            return v;
        }

        @Override
        public ClientView deprovision(Duid duid, Duration wait) {
            calls.add("deprovision " + wait.toSeconds());
            state = ClientState.GONE;
            return view();
        }

        @Override
        public ExportResult export(ExportRequest request) {
            calls.add("export " + request.instanceId() + " " + request.imageTag() + " " + request.archiveName());
            return new ExportResult("sha256:feed", request.imageTag(), Path.of("/exports/" + request.archiveName()), 1234);
        }

        @Override
        public ReconcileReport reconcile() {
            return new ReconcileReport(3, 1, 2, List.of("destroyed orphan instance i-x at docker"), Duration.ofMillis(12));
        }

        @Override
        public List<EventRecord> events(long afterSeq, int limit) {
            return recentEvents(limit);
        }

        @Override
        public List<EventRecord> recentEvents(int limit) {
            calls.add("events " + limit);
            return List.of(new EventRecord(41, T, "LEASE_ADDED", DUID, null, "new client"),
                new EventRecord(42, T, "STATE", DUID, "i-abc", "ATTACHING -> READY"));
        }

        @Override
        public Health health() {
            return new Health(true, "h2", components());
        }

        @Override
        public Statistics statistics() {
            return new Statistics(Map.of(), Map.of(), 0, List.of(), List.of(), 0, 0);
        }
    }

    private final FakeOrchestrator orchestrator = new FakeOrchestrator();
    private final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
    private final PrintStream out = new PrintStream(bytes, true, StandardCharsets.UTF_8);

    private String output() {
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @Test
    void clientsShowsOneRowPerClient() {
        new ClientsCommand(orchestrator, out).execute();
        assertThat(output()).contains("DUID", "State", DUID.value(), "READY", "fd00:1::101", "alice", "i-abc", "ACTIVE");
    }

    @Test
    void instancesShowsProviderAndAddress() {
        new InstancesCommand(orchestrator, out).execute();
        assertThat(output()).contains("i-abc", DUID.value(), "docker", "devices", "fd00:99::2", "RUNNING");
    }

    @Test
    void leasesShowsTheActiveLeases() {
        new LeasesCommand(orchestrator, out).execute();
        assertThat(output()).contains(DUID.value(), "7", "lan", "eth0", "2026-11-25 13:00:00Z");
    }

    @Test
    void providersShowsBundlesAndAvailability() {
        new ProvidersCommand(orchestrator, out).execute();
        assertThat(output()).contains("PROVIDER", "docker", "57", "org.orchestrator.provider.docker", "ACTIVE",
            "NETWORK", "devices", "RESOLVED", "no");
    }

    @Test
    void provisionPrintsProgressUntilReady() throws Exception {
        new ProvisionCommand(orchestrator, out, "00-01-00-01-2C-AA-BB-CC", 10).execute();
        assertThat(output()).contains("provisioning " + DUID, DUID + ": PROVISIONING", DUID + ": READY");
        assertThat(orchestrator.calls).contains("provision 2");
    }

    @Test
    void provisionRejectsBadInput() {
        assertThatThrownBy(() -> new ProvisionCommand(orchestrator, out, "not-a-duid;rm", 10).execute())
            .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new ProvisionCommand(orchestrator, out, DUID.value(), -1).execute())
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void deprovisionWaitsForGone() throws Exception {
        new DeprovisionCommand(orchestrator, out, DUID.value(), 5).execute();
        assertThat(output()).contains(DUID + ": GONE");
    }

    @Test
    void exportDelegatesAndReportsTheArchive() {
        new ExportCommand(orchestrator, out, "i-abc", "visitors/alice:1", "alice.tar").execute();
        assertThat(orchestrator.calls).contains("export i-abc visitors/alice:1 alice.tar");
        assertThat(output()).contains("visitors/alice:1", "sha256:feed", "/exports/alice.tar", "1234 bytes");
        assertThatThrownBy(() -> new ExportCommand(orchestrator, out, "i-abc", "Bad Tag", null).execute())
            .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void reconcileReportsCountsAndActions() {
        new ReconcileCommand(orchestrator, out).execute();
        assertThat(output()).contains("checked 3 clients, repaired 1, removed 2 orphans", "destroyed orphan instance i-x");
    }

    @Test
    void eventsShowsTheNewestEntries() {
        new EventsCommand(orchestrator, out, 5).execute();
        assertThat(orchestrator.calls).contains("events 5");
        assertThat(output()).contains("41", "LEASE_ADDED", "42", "ATTACHING -> READY", "i-abc");
        assertThatThrownBy(() -> new EventsCommand(orchestrator, out, 0).execute()).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void completersOfferKnownDuidsAndInstances() {
        assertThat(new DuidCompleter(orchestrator).candidates()).containsExactly(DUID.value());
        assertThat(new InstanceIdCompleter(orchestrator).candidates()).containsExactly("i-abc");
    }
}
