package org.orchestrator.network.pipework;

import java.util.Locale;

/** How an instance gets its address on a pipework network. */
public enum Addressing {
    /** The next free address of the prefix, from the core's {@code AddressPool}. */
    STATIC,
    /** A DHCPv6 client in the instance's namespace, supervised by the plugin. */
    DHCP;

    /** @throws IllegalArgumentException unless the text is {@code static} or {@code dhcp} */
    public static Addressing parse(String text) {
        String value = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "static" -> STATIC;
            case "dhcp" -> DHCP;
            default -> throw new IllegalArgumentException("addressing must be 'static' or 'dhcp', got '" + text + "'");
        };
    }
}
