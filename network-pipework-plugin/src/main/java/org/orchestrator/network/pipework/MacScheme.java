package org.orchestrator.network.pipework;

import java.util.Locale;

/** Where the MAC address of the interface inside an instance comes from. */
public enum MacScheme {
    /** Whatever the kernel picks (random). */
    KERNEL,
    /** Derived from a hash of network and instance id: locally administered, unicast, stable. */
    HASH;

    /** @throws IllegalArgumentException unless the text is {@code kernel} or {@code hash} */
    public static MacScheme parse(String text) {
        String value = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        return switch (value) {
            case "kernel", "random" -> KERNEL;
            case "hash" -> HASH;
            default -> throw new IllegalArgumentException("MAC scheme must be 'kernel' or 'hash', got '" + text + "'");
        };
    }
}
