package org.orchestrator.api.lease;

/** What happened to a lease. */
public enum LeaseEventType {
    /** A new lease was granted. */
    ADDED,
    /** An existing lease was renewed or replayed (state unchanged or expiry moved). */
    RENEWED,
    /** The client released the lease, or the source deleted it. */
    RELEASED,
    /** The lease ran out without renewal. */
    EXPIRED
}
