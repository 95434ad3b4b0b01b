package org.orchestrator.api.manage;

/** Whether a client's lease is in force, as last reported. */
public enum LeaseStatus {
    /** Granted or renewed, not expired. */
    ACTIVE,
    /** Released by the client or deleted by the source. */
    RELEASED,
    /** Ran out without renewal. */
    EXPIRED
}
