package org.orchestrator.api.lease;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Test;

class IdentifiersTest {

    @ParameterizedTest
    @CsvSource({
        "fd00:79:d:0:0:0:0:1eff, fd00:79:d::1eff",
        "0:0:0:0:0:0:0:1, ::1",
        "0:0:0:0:0:0:0:0, ::",
        "2001:db8:0:0:1:0:0:1, 2001:db8::1:0:0:1",
        "2001:db8:0:1:1:1:1:1, 2001:db8:0:1:1:1:1:1",
        "fe80:0:0:0:0:0:0:0, fe80::",
        "2001:0:0:1:0:0:0:1, 2001:0:0:1::1",
    })
    void formatsAddressesCanonically(String in, String expected) {
        assertThat(Identifiers.format(Identifiers.ipv6(in))).isEqualTo(expected);
        assertThat(Identifiers.ipv6(Identifiers.format(Identifiers.ipv6(in)))).isEqualTo(Identifiers.ipv6(in));
    }

    @Test
    void formatsNullAsDash() {
        assertThat(Identifiers.format(null)).isEqualTo("-");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "example.com", "127.0.0.1", "fd00::1%eth0", "fd00::1; rm -rf /", "::g", "1:2:3:4:5:6:7:8:9"})
    void rejectsWhatIsNotAnIpv6Literal(String text) {
        assertThatThrownBy(() -> Identifiers.ipv6(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"00:01:00:01:2c:aa:bb:cc", "000100012caabbcc", "00-01-00-01-2C-AA-BB-CC"})
    void parsesDuidsToOneCanonicalForm(String text) {
        assertThat(Duid.parse(text).value()).isEqualTo("00:01:00:01:2c:aa:bb:cc");
    }

    @ParameterizedTest
    @ValueSource(strings = {"", "zz:01:02", "0:1", "00:01:0g", "$(touch /tmp/x)", "00:01:02:"})
    void rejectsMalformedDuids(String text) {
        assertThatThrownBy(() -> Duid.parse(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void rejectsOverlongDuids() {
        assertThatThrownBy(() -> Duid.parse("ab".repeat(131))).isInstanceOf(IllegalArgumentException.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"host;reboot", "a..b", "-lead", "trail-", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "caf\u00e9", "a b"})
    void rejectsBadHostnames(String text) {
        assertThatThrownBy(() -> Identifiers.hostname(text)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void quotesHostileTextSafely() {
        assertThat(Identifiers.quote("a\nb\u0000c\"")).isEqualTo("\"a\\u000ab\\u0000c\\u0022\"");
        assertThat(Identifiers.quote("x".repeat(200))).contains("(200 chars)").hasSizeLessThan(110);
    }
}
