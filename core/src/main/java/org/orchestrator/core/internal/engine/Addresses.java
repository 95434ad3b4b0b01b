package org.orchestrator.core.internal.engine;

import java.net.Inet6Address;

/** Formatting of addresses for log lines and messages. */
final class Addresses {

    private Addresses() {
    }

    static String text(Inet6Address address) {
        if (address == null) {
            return "-";
        }
        String s = address.getHostAddress();
        int zone = s.indexOf('%');
        return zone < 0 ? s : s.substring(0, zone);
    }
}
