package org.orchestrator.webconsole.auth;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.Locale;
import java.util.Optional;

/** Parsing of HTTP credentials and constant-time token comparison. */
public final class Credentials {

    /** A user name and password from a Basic header. */
    public record Basic(String user, char[] password) {
    }

    private static final int MAX_HEADER = 8192;

    private Credentials() {
    }

    /** @return the Basic credentials of an {@code Authorization} header, or empty when absent or malformed */
    public static Optional<Basic> basic(String authorization) {
        String encoded = scheme(authorization, "basic");
        if (encoded == null) {
            return Optional.empty();
        }
        byte[] decoded;
        try {
            decoded = Base64.getDecoder().decode(encoded);
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
        String text = new String(decoded, StandardCharsets.UTF_8);
        int colon = text.indexOf(':');
        if (colon <= 0) {
            return Optional.empty();
        }
        return Optional.of(new Basic(text.substring(0, colon), text.substring(colon + 1).toCharArray()));
    }

    /** @return the token of an {@code Authorization: Bearer} header, or {@code null} */
    public static String bearer(String authorization) {
        return scheme(authorization, "bearer");
    }

    /**
     * Compares a presented token with the configured one in time that does not depend on where
     * they differ or on their lengths: both are hashed first, then compared with
     * {@link MessageDigest#isEqual}.
     */
    public static boolean tokenMatches(String presented, String expected) {
        if (presented == null || expected == null || expected.isEmpty()) {
            return false;
        }
        return MessageDigest.isEqual(sha256(presented), sha256(expected));
    }

    private static String scheme(String header, String scheme) {
        if (header == null || header.length() > MAX_HEADER) {
            return null;
        }
        String trimmed = header.trim();
        int space = trimmed.indexOf(' ');
        if (space <= 0 || !trimmed.substring(0, space).toLowerCase(Locale.ROOT).equals(scheme)) {
            return null;
        }
        String value = trimmed.substring(space + 1).trim();
        return value.isEmpty() ? null : value;
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
