package org.orchestrator.dhcp.dnsmasq;

import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.Map;
import java.util.Objects;

import org.orchestrator.api.lease.Identifiers;

/**
 * One call of the hook as received: named raw values ({@code action}, {@code duid},
 * {@code address}, {@code hostname} for dnsmasq's arguments, {@code DNSMASQ_*} for its
 * environment). Nothing in it is validated; see {@link HookEventParser}. Immutable.
 */
final class HookRecord {

    private final Map<String, byte[]> fields;

    HookRecord(Map<String, byte[]> fields) {
        this.fields = Collections.unmodifiableMap(Objects.requireNonNull(fields, "fields"));
    }

    /** @return whether the field is present (possibly empty) */
    boolean has(String name) {
        return fields.containsKey(name);
    }

    /**
     * @return the field as printable ASCII, or {@code null} when absent
     * @throws IllegalArgumentException when the value holds a byte outside printable ASCII
     */
    String ascii(String name) {
        byte[] value = fields.get(name);
        if (value == null) {
            return null;
        }
        for (byte b : value) {
            if (b < 0x20 || b > 0x7e) {
                throw new IllegalArgumentException(name + " holds a control or non-ASCII byte: " + quote(value));
            }
        }
        return new String(value, StandardCharsets.US_ASCII);
    }

    /** @return the field names, for diagnostics */
    java.util.Set<String> names() {
        return fields.keySet();
    }

    /** Quotes raw bytes for a log line: non-ASCII bytes appear as escapes, bounded length. */
    static String quote(byte[] value) {
        return Identifiers.quote(new String(value, StandardCharsets.ISO_8859_1));
    }
}
