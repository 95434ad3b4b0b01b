package org.orchestrator.api.manage;

import java.time.Instant;

import org.orchestrator.api.lease.Duid;

/**
 * One entry of the append-only audit log.
 *
 * @param seq        the entry's sequence number, strictly increasing
 * @param at         when it was written
 * @param kind       what happened, e.g. {@code LEASE_ADDED}, {@code STATE}, {@code PROVISIONED}
 * @param client     the client concerned, or {@code null}
 * @param instanceId the instance concerned, or {@code null}
 * @param message    a human-readable description
 */
public record EventRecord(long seq, Instant at, String kind, Duid client, String instanceId, String message) {
}
