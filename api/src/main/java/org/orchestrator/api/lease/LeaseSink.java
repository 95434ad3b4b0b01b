package org.orchestrator.api.lease;

import java.util.List;

/**
 * The single entry point for lease events into the platform. Core registers exactly one; every
 * DHCP source and the REST lease-events endpoint deliver through it.
 *
 * <p>Contract:
 * <ul>
 * <li>{@link #accept(LeaseEvent)} is durable: when it returns, the event's state is stored and the
 *     client is queued for reconciliation. The caller may then acknowledge the event upstream.</li>
 * <li>Idempotent and state-based: delivering the same event again, or a replayed {@code RENEWED}
 *     for a known lease, changes nothing but the lease's expiry.</li>
 * <li>Thread-safe; it never blocks on a provider or a network (that work is asynchronous).</li>
 * </ul>
 */
public interface LeaseSink {

    /**
     * Records a lease event and schedules the client's reconciliation.
     *
     * @throws IllegalArgumentException when the event is inconsistent (for example RENEWED of an
     *                                  address that another client holds)
     * @throws IllegalStateException    when the store cannot be written; the caller should retry
     *                                  or spool the event
     */
    void accept(LeaseEvent event);

    /**
     * The leases that the platform holds as active for one source, as stored. A source that owns
     * no lease database (dnsmasq with {@code --leasefile-ro}) replays these to its DHCP server at
     * start-up.
     *
     * @param source the source's {@link DhcpSource#name()}
     * @throws IllegalStateException when the store cannot be read
     */
    List<Lease> activeLeases(String source);
}
