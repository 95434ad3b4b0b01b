package org.orchestrator.core.internal.engine;

import java.net.Inet6Address;

import org.orchestrator.api.lease.Identifiers;

/** Formatting of addresses for log lines and messages. */
final class Addresses {

    private Addresses() {
    }

    /** Canonical (RFC 5952) text, {@code -} for none. */
    static String text(Inet6Address address) {
        return Identifiers.format(address);
    }
}
