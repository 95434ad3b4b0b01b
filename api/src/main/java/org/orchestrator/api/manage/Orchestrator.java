package org.orchestrator.api.manage;

import java.net.Inet6Address;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;

/**
 * The management view of the platform, used by the shell, REST and the web console. Core
 * registers exactly one. Reads come from the store; writes change desired state and let the
 * reconciler converge. Thread-safe. Failures are {@link OrchestratorException}s.
 */
public interface Orchestrator {

    /** @return every client the store knows, most recently updated first */
    List<ClientView> clients();

    /** @return the client, or empty */
    Optional<ClientView> client(Duid duid);

    /** @return the client whose device holds {@code address}, or empty */
    Optional<ClientView> clientByAddress(Inet6Address address);

    /** @return every instance the store knows that is not yet destroyed */
    List<InstanceView> instances();

    /** @return the instance, or empty */
    Optional<InstanceView> instance(String instanceId);

    /** @return the active leases in the store */
    List<Lease> leases();

    /** @return the DHCP sources, providers and networks known to core */
    List<ComponentView> components();

    /**
     * Wants an instance for a client regardless of its lease (an administrator's hold, kept until
     * {@link #deprovision}), and waits until it is READY or FAILED or the timeout passes.
     *
     * @return the client's state when the wait ended
     * @throws OrchestratorException NOT_FOUND for an unknown client, CONFLICT when the instance
     *                               limit is reached
     */
    ClientView provision(Duid duid, Duration wait);

    /**
     * Releases a client's instance now (no grace period), and waits until it is GONE or FAILED or
     * the timeout passes.
     *
     * @throws OrchestratorException NOT_FOUND for an unknown client
     */
    ClientView deprovision(Duid duid, Duration wait);

    /**
     * Exports an instance as an image.
     *
     * @throws OrchestratorException NOT_FOUND for an unknown instance, UNAVAILABLE when its provider
     *                               is missing
     */
    ExportResult export(ExportRequest request);

    /** Runs a full reconciliation pass now and reports it. */
    ReconcileReport reconcile();

    /**
     * @param afterSeq return entries with a larger sequence number ({@code 0} for the first)
     * @param limit    at most this many (1..10000)
     * @return audit-log entries in ascending order
     */
    List<EventRecord> events(long afterSeq, int limit);

    /** @return the newest {@code limit} audit-log entries, in ascending order */
    List<EventRecord> recentEvents(int limit);

    /** @return the platform's health */
    Health health();

    /** @return counters and the lease-to-ready histogram since core started */
    Statistics statistics();

    /**
     * The warm pools of spare instances, one per policy (provider, network, image, limits).
     * Added in 1.1; the default returns an empty list (no pools).
     *
     * @return one view per configured pool, empty when pooling is disabled
     * @since 1.1
     */
    default List<PoolView> pool() {
        return List.of();
    }
}
