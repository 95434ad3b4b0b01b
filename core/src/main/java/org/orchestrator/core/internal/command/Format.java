package org.orchestrator.core.internal.command;

import java.net.Inet6Address;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;

/** Cell formatting shared by the commands. */
final class Format {

    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss'Z'").withZone(ZoneOffset.UTC);

    private Format() {
    }

    static String time(Instant t) {
        return t == null ? "-" : TIME.format(t);
    }

    static String address(Inet6Address a) {
        if (a == null) {
            return "-";
        }
        String s = a.getHostAddress();
        int zone = s.indexOf('%');
        return zone < 0 ? s : s.substring(0, zone);
    }

    static String text(Object o) {
        return o == null ? "-" : o.toString();
    }
}
