package org.orchestrator.api.lease;

import java.net.Inet6Address;
import java.util.Objects;

/**
 * A pinned address: the DHCP source always gives {@code address} to {@code duid}+{@code iaid}.
 *
 * @param duid            the client
 * @param iaid            the identity association the pin applies to
 * @param address         the address the client keeps
 * @param hostname        the client's host name, or {@code null}
 * @param instanceAddress the address of the client's instance, for a DNS record, or {@code null}
 */
public record Reservation(Duid duid, long iaid, Inet6Address address, String hostname, Inet6Address instanceAddress) {

    public Reservation {
        Objects.requireNonNull(duid, "duid");
        Objects.requireNonNull(address, "address");
        Identifiers.checkIaid(iaid);
        if (hostname != null) {
            hostname = Identifiers.hostname(hostname);
        }
    }
}
