package org.orchestrator.api.lease;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.regex.Pattern;

/**
 * Validation of identifiers that arrive from the network or from a user. Every method either
 * returns a value that is safe to store, log and pass as a process argument, or throws
 * {@link IllegalArgumentException} with a message that says what was wrong. No method performs a
 * name lookup.
 */
public final class Identifiers {

    /** Longest host name accepted (RFC 1035). */
    public static final int MAX_HOSTNAME = 253;

    private static final Pattern LABEL = Pattern.compile("[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?");
    private static final Pattern NAME = Pattern.compile("[a-z0-9][a-z0-9._-]{0,62}");
    private static final Pattern IPV6_CHARS = Pattern.compile("[0-9a-fA-F:.]{2,45}");

    private Identifiers() {
    }

    /**
     * Validates a host name (RFC 1123 labels, lowercased).
     *
     * @return the host name in lowercase
     * @throws IllegalArgumentException when it is empty, too long or has a character outside
     *         {@code [a-z0-9-.]}
     */
    public static String hostname(String text) {
        if (text == null || text.isEmpty()) {
            throw new IllegalArgumentException("host name is empty");
        }
        if (text.length() > MAX_HOSTNAME) {
            throw new IllegalArgumentException("host name is longer than " + MAX_HOSTNAME + " characters");
        }
        String lower = text.toLowerCase(Locale.ROOT);
        String trimmed = lower.endsWith(".") ? lower.substring(0, lower.length() - 1) : lower;
        for (String label : trimmed.split("\\.", -1)) {
            if (!LABEL.matcher(label).matches()) {
                throw new IllegalArgumentException("host name is not valid (letters, digits and '-' in dot-separated labels of 1-63 characters): " + Texts.quote(text));
            }
        }
        return trimmed;
    }

    /**
     * Validates the name of a DHCP source, provider, network or image-less object.
     *
     * @return the name unchanged
     * @throws IllegalArgumentException unless it matches {@code [a-z0-9][a-z0-9._-]{0,62}}
     */
    public static String name(String text) {
        if (text == null || !NAME.matcher(text).matches()) {
            throw new IllegalArgumentException("name must be 1-63 characters of [a-z0-9._-] starting with a letter or digit: " + Texts.quote(text));
        }
        return text;
    }

    /**
     * Parses an IPv6 address literal without any name lookup. Zone ids and IPv4 addresses are
     * rejected.
     *
     * @throws IllegalArgumentException when the text is not an IPv6 address
     */
    public static Inet6Address ipv6(String text) {
        if (text == null || !IPV6_CHARS.matcher(text).matches() || text.indexOf(':') < 0) {
            throw new IllegalArgumentException("not an IPv6 address: " + Texts.quote(text));
        }
        try {
            InetAddress address = InetAddress.getByName(text);
            if (address instanceof Inet6Address v6) {
                return v6;
            }
        } catch (UnknownHostException e) {
            // fall through to the uniform message
        }
        throw new IllegalArgumentException("not an IPv6 address: " + Texts.quote(text));
    }

    /**
     * Parses a DHCPv6 identity association id (a 32-bit unsigned number in decimal).
     *
     * @throws IllegalArgumentException when the text is not a number in {@code [0, 2^32-1]}
     */
    public static long iaid(String text) {
        if (text == null || text.isEmpty() || text.length() > 10) {
            throw new IllegalArgumentException("IAID must be a decimal number from 0 to 4294967295: " + Texts.quote(text));
        }
        for (int i = 0; i < text.length(); i++) {
            if (text.charAt(i) < '0' || text.charAt(i) > '9') {
                throw new IllegalArgumentException("IAID must be a decimal number from 0 to 4294967295: " + Texts.quote(text));
            }
        }
        long value = Long.parseLong(text);
        if (value > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("IAID is larger than 4294967295: " + text);
        }
        return value;
    }

    /**
     * Checks an IAID held as a number.
     *
     * @throws IllegalArgumentException when it is outside {@code [0, 2^32-1]}
     */
    public static long checkIaid(long iaid) {
        if (iaid < 0 || iaid > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("IAID must be from 0 to 4294967295, got " + iaid);
        }
        return iaid;
    }

    /**
     * Formats an IPv6 address in its canonical text form (RFC 5952: lowercase, leading zeros
     * dropped, the longest run of two or more zero groups written {@code ::}), without a zone id.
     * {@link java.net.InetAddress#getHostAddress()} does not compress.
     *
     * @return the canonical text, or {@code "-"} for {@code null}
     */
    public static String format(Inet6Address address) {
        if (address == null) {
            return "-";
        }
        byte[] b = address.getAddress();
        int[] groups = new int[8];
        for (int i = 0; i < 8; i++) {
            groups[i] = ((b[2 * i] & 0xff) << 8) | (b[2 * i + 1] & 0xff);
        }
        int bestStart = -1;
        int bestLen = 1;
        for (int i = 0; i < 8; ) {
            if (groups[i] != 0) {
                i++;
                continue;
            }
            int j = i;
            while (j < 8 && groups[j] == 0) {
                j++;
            }
            if (j - i > bestLen) {
                bestStart = i;
                bestLen = j - i;
            }
            i = j;
        }
        StringBuilder sb = new StringBuilder(39);
        for (int i = 0; i < 8; i++) {
            if (i == bestStart) {
                sb.append("::");
                i += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') {
                sb.append(':');
            }
            sb.append(Integer.toHexString(groups[i]));
        }
        return sb.toString();
    }

    /**
     * Quotes untrusted text for a log line or an error message: at most 80 characters, control and
     * non-printable characters escaped.
     */
    public static String quote(String text) {
        return Texts.quote(text);
    }
}
