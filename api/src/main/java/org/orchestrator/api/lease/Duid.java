package org.orchestrator.api.lease;

import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;

/**
 * A DHCPv6 client identifier (RFC 8415 DUID), the key by which the platform knows a device.
 *
 * <p>Canonical form: lowercase hex byte pairs separated by colons ({@code 00:01:00:01:2c:...}).
 * {@link #parse(String)} accepts colon-separated pairs or plain hex and rejects anything else.
 * Instances are immutable and thread-safe.
 *
 * @param value canonical form; use {@link #parse(String)} to build one from outside input
 */
public record Duid(String value) implements Comparable<Duid> {

    /** Shortest DUID accepted: a 2-byte type and at least one byte of identifier. */
    public static final int MIN_BYTES = 3;
    /** Longest DUID accepted: a 2-byte type and at most 128 bytes of identifier (RFC 8415 §11.1). */
    public static final int MAX_BYTES = 130;

    /**
     * @throws IllegalArgumentException when {@code value} is not in canonical form
     */
    public Duid {
        Objects.requireNonNull(value, "value");
        if (!isCanonical(value)) {
            canonical(value); // throws with the problem named when the text is no DUID at all
            throw new IllegalArgumentException("DUID is not in canonical form (lowercase hex pairs separated by ':'): " + Texts.quote(value));
        }
    }

    /**
     * Parses a DUID from outside input.
     *
     * @param text hex pairs separated by {@code :} or {@code -}, or plain hex, case-insensitive
     * @return the DUID in canonical form
     * @throws IllegalArgumentException with a message naming the problem when the text is not a DUID
     */
    public static Duid parse(String text) {
        return new Duid(canonical(text));
    }

    /** @return the raw bytes of this DUID */
    public byte[] bytes() {
        return HexFormat.of().parseHex(value.replace(":", ""));
    }

    /** @return the DUID as plain lowercase hex without separators, safe for file names and labels */
    public String hex() {
        return value.replace(":", "");
    }

    @Override
    public int compareTo(Duid other) {
        return value.compareTo(other.value);
    }

    @Override
    public String toString() {
        return value;
    }

    /**
     * The same test as {@code text.equals(canonical(text))} in one pass without allocating: every
     * DUID read from core's store is built through the constructor.
     */
    private static boolean isCanonical(String text) {
        int n = text.length();
        if ((n + 1) % 3 != 0 || (n + 1) / 3 < MIN_BYTES || (n + 1) / 3 > MAX_BYTES) {
            return false;
        }
        for (int i = 0; i < n; i++) {
            char ch = text.charAt(i);
            boolean ok = i % 3 == 2 ? ch == ':' : (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f');
            if (!ok) {
                return false;
            }
        }
        return true;
    }

    private static String canonical(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("DUID is empty");
        }
        if (text.length() > MAX_BYTES * 3) {
            throw new IllegalArgumentException("DUID is too long: " + text.length() + " characters");
        }
        String hex;
        if (text.indexOf(':') >= 0 || text.indexOf('-') >= 0) {
            String[] parts = text.split("[:-]", -1);
            StringBuilder sb = new StringBuilder(parts.length * 2);
            for (String part : parts) {
                if (part.length() == 1) {
                    sb.append('0');
                } else if (part.length() != 2) {
                    throw new IllegalArgumentException("DUID must be hex byte pairs separated by ':': " + Texts.quote(text));
                }
                sb.append(part);
            }
            hex = sb.toString();
        } else {
            hex = text;
        }
        if (hex.length() % 2 != 0) {
            throw new IllegalArgumentException("DUID has an odd number of hex digits: " + Texts.quote(text));
        }
        for (int i = 0; i < hex.length(); i++) {
            if (Character.digit(hex.charAt(i), 16) < 0 || hex.charAt(i) > 'f') {
                throw new IllegalArgumentException("DUID contains a character that is not hex: " + Texts.quote(text));
            }
        }
        int bytes = hex.length() / 2;
        if (bytes < MIN_BYTES || bytes > MAX_BYTES) {
            throw new IllegalArgumentException("DUID must be " + MIN_BYTES + " to " + MAX_BYTES + " bytes, got " + bytes);
        }
        String lower = hex.toLowerCase(Locale.ROOT);
        StringBuilder out = new StringBuilder(bytes * 3);
        for (int i = 0; i < lower.length(); i += 2) {
            if (i > 0) {
                out.append(':');
            }
            out.append(lower, i, i + 2);
        }
        return out.toString();
    }
}
