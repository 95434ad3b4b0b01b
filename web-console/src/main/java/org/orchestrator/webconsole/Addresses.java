package org.orchestrator.webconsole;

import java.net.Inet6Address;
import java.util.Optional;

import org.orchestrator.api.lease.Identifiers;

/** Formatting and parsing of IPv6 addresses for JSON, HTML and the caller's remote address. */
public final class Addresses {

    private Addresses() {
    }

    /**
     * @return the address in the RFC 5952 text form ({@code fd00::1}), without a zone, or
     *         {@code null} for {@code null}
     */
    public static String format(Inet6Address address) {
        return address == null ? null : Identifiers.format(address);
    }

    /**
     * Parses what {@code HttpServletRequest#getRemoteAddr} returns for an IPv6 peer: with or
     * without brackets, possibly with a zone id.
     *
     * @return the address, or empty for an IPv4 peer or anything that is not an IPv6 literal
     */
    public static Optional<Inet6Address> remote(String remoteAddr) {
        if (remoteAddr == null) {
            return Optional.empty();
        }
        String text = remoteAddr.trim();
        if (text.startsWith("[") && text.endsWith("]")) {
            text = text.substring(1, text.length() - 1);
        }
        int zone = text.indexOf('%');
        if (zone >= 0) {
            text = text.substring(0, zone);
        }
        try {
            Inet6Address address = Identifiers.ipv6(text);
            return Optional.of(address);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }
}
