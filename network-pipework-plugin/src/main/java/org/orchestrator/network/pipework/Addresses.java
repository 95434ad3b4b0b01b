package org.orchestrator.network.pipework;

import java.net.Inet6Address;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.Ipv6Prefix;

/** Text forms of IPv6 addresses for command arguments, aliases and logs. */
final class Addresses {

    private Addresses() {
    }

    /** @return the RFC 5952 compressed form, without zone */
    static String text(Inet6Address address) {
        return Identifiers.format(address);
    }

    /** @return {@code address/length} with the address compressed */
    static String text(Ipv6Prefix prefix) {
        return text(prefix.network()) + "/" + prefix.length();
    }
}
