package org.orchestrator.api.manage;

import java.net.Inet6Address;
import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;

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

    /**
     * Waits until a client is in one of {@code states}, and returns it then: at once when it
     * already is, as soon as it gets there, or at the end of {@code wait} as it is then (in another
     * state, or not known at all). A client that does not exist yet may come into being while the
     * call waits (its first lease). Added in 1.4 for callers that wait for a device's instance (the
     * REST API's {@code GET clients/{duid}?state=…&wait=…}); it only reads, it changes nothing.
     *
     * <p>The default polls {@link #client(Duid)} every 10 ms until the
     * client is in one of the states or {@code wait} is over. An implementation may instead wake up
     * when the stored client changes (core does), and then answers within a store read of the
     * change. An interrupted caller gets the client as it is then, with its interrupt status set.
     *
     * @param duid   the client
     * @param states the states to wait for; not empty
     * @param wait   how long to wait at most; {@link Duration#ZERO} reads once
     * @return the client when it reached one of the states or the wait was over; empty when it does
     *         not exist at the end of the wait
     * @throws NullPointerException     when an argument, or an element of {@code states}, is null
     * @throws IllegalArgumentException when {@code states} is empty or {@code wait} is negative
     * @throws OrchestratorException    UNAVAILABLE when the store cannot be read
     * @since 1.4
     */
    default Optional<ClientView> awaitClient(Duid duid, Set<ClientState> states, Duration wait) {
        long deadline = System.nanoTime() + checkAwait(duid, states, wait);
        while (true) {
            Optional<ClientView> client = client(duid);
            long left = deadline - System.nanoTime();
            if (client.isPresent() && states.contains(client.get().state()) || left <= 0) {
                return client;
            }
            try {
                TimeUnit.NANOSECONDS.sleep(Math.min(left, TimeUnit.MILLISECONDS.toNanos(10)));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return client(duid);
            }
        }
    }

    /**
     * Checks the arguments of {@link #awaitClient} as its contract says (for implementations that
     * override it) and converts the wait.
     *
     * @return {@code wait} in nanoseconds, at most {@code Long.MAX_VALUE / 2} (about 146 years), so
     *         that a deadline {@code System.nanoTime() + nanos} cannot overflow
     * @throws NullPointerException     when an argument, or an element of {@code states}, is null
     * @throws IllegalArgumentException when {@code states} is empty or {@code wait} is negative
     * @since 1.4
     */
    static long checkAwait(Duid duid, Set<ClientState> states, Duration wait) {
        Objects.requireNonNull(duid, "duid");
        Objects.requireNonNull(states, "states");
        Objects.requireNonNull(wait, "wait");
        if (states.isEmpty()) {
            throw new IllegalArgumentException("states must name at least one client state to wait for");
        }
        for (ClientState s : states) {
            Objects.requireNonNull(s, "states must not contain null");
        }
        if (wait.isNegative()) {
            throw new IllegalArgumentException("wait must not be negative: " + wait);
        }
        long cap = Long.MAX_VALUE / 2;
        return wait.compareTo(Duration.ofNanos(cap)) >= 0 ? cap : wait.toNanos();
    }

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
