package org.orchestrator.api.manage;

import java.net.Inet6Address;
import java.time.Instant;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.MacAddress;

/**
 * A client as stored. Nullable fields are documented.
 *
 * @param duid           the client's DUID
 * @param iaid           the IAID of its lease
 * @param address        the device's leased address, or {@code null} when it never had one
 * @param hostname       the device's host name, or {@code null}
 * @param mac            the device's MAC address, or {@code null}
 * @param source         the DHCP source of its lease, or {@code null} for a manual client
 * @param network        the DHCP network/interface of its lease, or {@code null}
 * @param leaseStatus    the lease's status
 * @param leaseExpiresAt when the lease ends, or {@code null}
 * @param state          the client's state
 * @param reason         why it is in that state (the last error for FAILED), or {@code null}
 * @param instanceId     its current instance, or {@code null}
 * @param since          when the state was entered
 * @param updatedAt      when the record last changed
 */
public record ClientView(Duid duid, long iaid, Inet6Address address, String hostname, MacAddress mac,
                         String source, String network, LeaseStatus leaseStatus, Instant leaseExpiresAt,
                         ClientState state, String reason, String instanceId, Instant since, Instant updatedAt) {
}
