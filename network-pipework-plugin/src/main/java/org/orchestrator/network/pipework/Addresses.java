package org.orchestrator.network.pipework;

import java.net.Inet6Address;

import org.orchestrator.api.network.Ipv6Prefix;

/** Text forms of IPv6 addresses for command arguments, aliases and logs. */
final class Addresses {

    private Addresses() {
    }

    /** @return the RFC 5952 compressed form, without zone */
    static String text(Inet6Address address) {
        byte[] bytes = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((bytes[2 * i] & 0xff) << 8) | (bytes[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLength = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLength) {
                bestStart = i;
                bestLength = j - i;
            }
            i = j;
        }
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                text.append("::");
                i += bestLength - 1;
                continue;
            }
            if (text.length() > 0 && text.charAt(text.length() - 1) != ':') {
                text.append(':');
            }
            text.append(Integer.toHexString(groups[i]));
        }
        return text.toString();
    }

    /** @return {@code address/length} with the address compressed */
    static String text(Ipv6Prefix prefix) {
        return text(prefix.network()) + "/" + prefix.length();
    }
}
