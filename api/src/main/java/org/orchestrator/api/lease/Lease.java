package org.orchestrator.api.lease;

import java.net.Inet6Address;
import java.time.Instant;
import java.util.Objects;

/**
 * One stateful DHCPv6 address lease as a DHCP source sees it. Immutable; every field has been
 * validated by the constructor.
 *
 * @param duid      the client's DUID
 * @param iaid      the identity association id of the address ({@code 0..2^32-1})
 * @param address   the leased address
 * @param mac       the client's link-layer address, or {@code null} when the source does not know it
 * @param hostname  the (validated, lowercase) host name the client supplied, or {@code null}
 * @param expiresAt when the lease ends unless renewed, or {@code null} for an infinite lease
 * @param source    the name of the {@link DhcpSource} that granted the lease
 * @param network   the interface or network name on which it was granted, or {@code null} if unknown
 */
public record Lease(Duid duid, long iaid, Inet6Address address, MacAddress mac, String hostname,
                    Instant expiresAt, String source, String network) {

    /**
     * @throws NullPointerException     when duid, address or source is null
     * @throws IllegalArgumentException when the IAID, host name, source or network name is invalid
     */
    public Lease {
        Objects.requireNonNull(duid, "duid");
        Objects.requireNonNull(address, "address");
        Identifiers.checkIaid(iaid);
        Identifiers.name(Objects.requireNonNull(source, "source"));
        if (hostname != null) {
            hostname = Identifiers.hostname(hostname);
        }
        if (network != null) {
            Identifiers.name(network);
        }
    }

    /**
     * @return whether the lease has an expiry at or before {@code now}
     */
    public boolean expiredAt(Instant now) {
        return expiresAt != null && !expiresAt.isAfter(now);
    }

    /** @return a copy with another expiry */
    public Lease withExpiresAt(Instant newExpiry) {
        return new Lease(duid, iaid, address, mac, hostname, newExpiry, source, network);
    }
}
