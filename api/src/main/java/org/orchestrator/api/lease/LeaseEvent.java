package org.orchestrator.api.lease;

import java.time.Instant;
import java.util.Objects;

/**
 * A change of a lease, reported by a {@link DhcpSource} (or the REST lease-events endpoint) to the
 * {@link LeaseSink}. Events are hints about the latest state of one lease: a sink treats them as
 * state, so a repeated or replayed event has no further effect.
 *
 * @param type       what happened
 * @param lease      the lease as it is after the event
 * @param observedAt when the source saw it
 */
public record LeaseEvent(LeaseEventType type, Lease lease, Instant observedAt) {

    public LeaseEvent {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(lease, "lease");
        Objects.requireNonNull(observedAt, "observedAt");
    }
}
