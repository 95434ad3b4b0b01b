package org.orchestrator.api.lease;

import java.util.Locale;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * A link-layer (EUI-48) address in canonical form {@code aa:bb:cc:dd:ee:ff}. Immutable.
 *
 * @param value canonical form; use {@link #parse(String)} for outside input
 */
public record MacAddress(String value) {

    private static final Pattern CANONICAL = Pattern.compile("[0-9a-f]{2}(:[0-9a-f]{2}){5}");

    /**
     * @throws IllegalArgumentException when {@code value} is not in canonical form
     */
    public MacAddress {
        Objects.requireNonNull(value, "value");
        if (!CANONICAL.matcher(value).matches()) {
            throw new IllegalArgumentException("MAC address must be six hex pairs separated by ':': " + Texts.quote(value));
        }
    }

    /**
     * Parses a MAC address given with {@code :} or {@code -} separators, in any case.
     *
     * @throws IllegalArgumentException when the text is not a MAC address
     */
    public static MacAddress parse(String text) {
        if (text == null || text.length() > 17) {
            throw new IllegalArgumentException("MAC address must be six hex pairs separated by ':': " + Texts.quote(text));
        }
        return new MacAddress(text.replace('-', ':').toLowerCase(Locale.ROOT));
    }

    @Override
    public String toString() {
        return value;
    }
}
