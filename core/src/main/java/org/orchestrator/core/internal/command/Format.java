package org.orchestrator.core.internal.command;

import java.net.Inet6Address;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

import org.orchestrator.api.lease.Identifiers;

/** Cell formatting shared by the commands. */
final class Format {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private Format() {
    }

    static String time(Instant t) {
        return t == null ? "-" : TIME.format(t);
    }

    /** Canonical (RFC 5952) text, {@code -} for none. */
    static String address(Inet6Address a) {
        return Identifiers.format(a);
    }

    static String text(Object o) {
        return o == null ? "-" : o.toString();
    }
}
