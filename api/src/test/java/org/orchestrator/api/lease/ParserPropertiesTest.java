package org.orchestrator.api.lease;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.HexFormat;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.api.provider.ExportRequest;

/**
 * Property-based tests (jqwik) of every parser of outside input in the API: for any text they
 * either accept it or throw {@link IllegalArgumentException} (nothing else), accepted values
 * round-trip, and the output is canonical.
 */
class ParserPropertiesTest {

    /** Text near the valid forms: hex digits, separators and a few hostile characters. */
    @Provide
    Arbitrary<String> nearlyValid() {
        return Arbitraries.strings().withChars("0123456789abcdefABCDEF:-./%gz \n\t;$`'\u00e9\u0000").ofMaxLength(80);
    }

    @Provide
    Arbitrary<String> anyText() {
        return Arbitraries.oneOf(nearlyValid(), Arbitraries.strings().ofMaxLength(300), Arbitraries.just(null));
    }

    // ---------------------------------------------------------------- DUID

    @Property(tries = 2000)
    void duidParseOnlyThrowsIllegalArgument(@ForAll("anyText") String text) {
        Duid d;
        try {
            d = Duid.parse(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertThat(d.value()).matches("[0-9a-f]{2}(:[0-9a-f]{2})+");
        assertThat(Duid.parse(d.value())).isEqualTo(d);
        assertThat(new Duid(d.value())).isEqualTo(d);
        assertThat(d.bytes().length).isBetween(Duid.MIN_BYTES, Duid.MAX_BYTES);
    }

    @Provide
    Arbitrary<byte[]> duidBytes() {
        return Arbitraries.bytes().array(byte[].class).ofMinSize(Duid.MIN_BYTES).ofMaxSize(Duid.MAX_BYTES);
    }

    @Property(tries = 500)
    void everyDuidSpellingParsesToTheSameCanonicalValue(@ForAll("duidBytes") byte[] bytes) {
        String plain = HexFormat.of().formatHex(bytes);
        String colons = HexFormat.ofDelimiter(":").formatHex(bytes);
        String dashesUpper = HexFormat.ofDelimiter("-").withUpperCase().formatHex(bytes);
        Duid d = Duid.parse(colons);
        assertThat(d.value()).isEqualTo(colons);
        assertThat(d.bytes()).isEqualTo(bytes);
        assertThat(Duid.parse(plain)).isEqualTo(d);
        assertThat(Duid.parse(dashesUpper)).isEqualTo(d);
    }

    // ---------------------------------------------------------------- MAC

    @Property(tries = 2000)
    void macParseOnlyThrowsIllegalArgument(@ForAll("anyText") String text) {
        MacAddress m;
        try {
            m = MacAddress.parse(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertThat(m.value()).matches("[0-9a-f]{2}(:[0-9a-f]{2}){5}");
        assertThat(MacAddress.parse(m.value())).isEqualTo(m);
    }

    @Property(tries = 300)
    void everyMacRoundTrips(@ForAll @Size(6) byte[] bytes) {
        String upper = HexFormat.ofDelimiter(":").withUpperCase().formatHex(bytes);
        MacAddress m = MacAddress.parse(upper);
        assertThat(m.value()).isEqualTo(upper.toLowerCase());
    }

    // ---------------------------------------------------------------- host names, names, IAIDs

    @Provide
    Arbitrary<String> hostnameLike() {
        return Arbitraries.oneOf(anyText(),
            Arbitraries.strings().withChars("abcXYZ019-.").ofMinLength(1).ofMaxLength(300));
    }

    @Property(tries = 2000)
    void hostnameOnlyThrowsIllegalArgumentAndIsCanonical(@ForAll("hostnameLike") String text) {
        String h;
        try {
            h = Identifiers.hostname(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertThat(h).isEqualTo(h.toLowerCase()).hasSizeBetween(1, Identifiers.MAX_HOSTNAME).matches("[a-z0-9.-]+");
        assertThat(Identifiers.hostname(h)).isEqualTo(h);
    }

    @Property(tries = 2000)
    void nameOnlyThrowsIllegalArgument(@ForAll("hostnameLike") String text) {
        String n;
        try {
            n = Identifiers.name(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertThat(n).matches("[a-z0-9][a-z0-9._-]{0,62}");
        assertThat(Identifiers.name(n)).isEqualTo(n);
    }

    @Property(tries = 2000)
    void iaidTextOnlyThrowsIllegalArgument(@ForAll("anyText") String text) {
        long v;
        try {
            v = Identifiers.iaid(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertThat(v).isBetween(0L, 0xFFFF_FFFFL);
        assertThat(Identifiers.iaid(Long.toString(v))).isEqualTo(v);
    }

    @Property(tries = 500)
    void iaidRoundTripsAndRangeIsEnforced(@ForAll @LongRange(min = -10, max = 0x1_0000_0010L) long v) {
        boolean valid = v >= 0 && v <= 0xFFFF_FFFFL;
        if (valid) {
            assertThat(Identifiers.iaid(Long.toString(v))).isEqualTo(v);
            assertThat(Identifiers.checkIaid(v)).isEqualTo(v);
        } else {
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Identifiers.checkIaid(v)).isInstanceOf(IllegalArgumentException.class);
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> Identifiers.iaid(Long.toString(v))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    // ---------------------------------------------------------------- IPv6 addresses and prefixes

    @Property(tries = 3000)
    void ipv6OnlyThrowsIllegalArgument(@ForAll("anyText") String text) {
        Inet6Address a;
        try {
            a = Identifiers.ipv6(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        String canonical = Identifiers.format(a);
        assertThat(Identifiers.ipv6(canonical)).isEqualTo(a);
        assertThat(Identifiers.format(Identifiers.ipv6(canonical))).isEqualTo(canonical);
    }

    @Property(tries = 2000)
    void everyAddressFormatsCanonicallyAndRoundTrips(@ForAll @Size(16) byte[] bytes) throws Exception {
        Inet6Address a = (Inet6Address) InetAddress.getByAddress(bytes);
        String canonical = Identifiers.format(a);
        // RFC 5952: lowercase, at most one "::", no leading zeros, no "::" for a single zero group
        assertThat(canonical).isEqualTo(canonical.toLowerCase()).doesNotContain(":::");
        assertThat(canonical.indexOf("::")).isEqualTo(canonical.lastIndexOf("::"));
        for (String group : canonical.split(":")) {
            assertThat(group.length()).isLessThanOrEqualTo(4);
            if (group.length() > 1) {
                assertThat(group).doesNotStartWith("0");
            }
        }
        Inet6Address back = Identifiers.ipv6(canonical);
        assertThat(back.getAddress()).isEqualTo(bytes);
        // the uncompressed JDK form parses to the same canonical text
        assertThat(Identifiers.format(Identifiers.ipv6(a.getHostAddress()))).isEqualTo(canonical);
    }

    @Property(tries = 2000)
    void prefixParseOnlyThrowsIllegalArgument(@ForAll("prefixLike") String text) {
        Ipv6Prefix p;
        try {
            p = Ipv6Prefix.parse(text);
        } catch (IllegalArgumentException e) {
            return;
        }
        assertThat(p.length()).isBetween(1, 128);
        assertThat(Ipv6Prefix.parse(p.toString())).isEqualTo(p);
        assertThat(p.contains(p.network())).isTrue();
    }

    @Provide
    Arbitrary<String> prefixLike() {
        Arbitrary<String> structured = Combinators.combine(
            Arbitraries.bytes().array(byte[].class).ofSize(16),
            Arbitraries.integers().between(-2, 130))
            .as((b, len) -> {
                try {
                    return InetAddress.getByAddress(b).getHostAddress() + "/" + len;
                } catch (Exception e) {
                    return "";
                }
            });
        return Arbitraries.oneOf(anyText(), structured);
    }

    @Property(tries = 500)
    void prefixFromMaskedAddressRoundTrips(@ForAll @Size(16) byte[] bytes, @ForAll @IntRange(min = 1, max = 128) int length)
            throws Exception {
        byte[] masked = bytes.clone();
        for (int bit = length; bit < 128; bit++) {
            masked[bit / 8] &= (byte) ~(0x80 >>> (bit % 8));
        }
        String text = Identifiers.format((Inet6Address) InetAddress.getByAddress(masked)) + "/" + length;
        Ipv6Prefix p = Ipv6Prefix.parse(text);
        assertThat(p.length()).isEqualTo(length);
        assertThat(p.network().getAddress()).isEqualTo(masked);
    }

    // ---------------------------------------------------------------- export requests

    @Provide
    Arbitrary<String> tagOrArchive() {
        return Arbitraries.oneOf(anyText(),
            Arbitraries.strings().withChars("abcXYZ019._-/:..").ofMinLength(1).ofMaxLength(140));
    }

    @Property(tries = 3000)
    void exportRequestOnlyThrowsIllegalArgument(@ForAll("tagOrArchive") String tag, @ForAll("tagOrArchive") String archive) {
        ExportRequest r;
        try {
            r = new ExportRequest("inst-1", tag, archive);
        } catch (IllegalArgumentException e) {
            return;
        }
        // Docker's tag grammar ([\w][\w.-]{0,127}) allows "a.."; a tag is never a path. The repository part is one.
        assertThat(r.imageTag()).isNotBlank().doesNotContain(" ");
        String repository = r.imageTag().contains(":") ? r.imageTag().substring(0, r.imageTag().indexOf(':')) : r.imageTag();
        assertThat(repository).doesNotContain("..").doesNotStartWith("/").doesNotStartWith(".");
        if (r.archiveName() != null) {
            assertThat(r.archiveName()).doesNotContain("/").doesNotContain("..").doesNotStartWith(".").doesNotContain("\u0000");
        }
    }
}
