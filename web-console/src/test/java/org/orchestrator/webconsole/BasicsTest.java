package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.Base64;

import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.webconsole.auth.Credentials;

/** Plain helpers: bounded stream, address text, credentials and token comparison, HTML escaping. */
class BasicsTest {

    @Test
    void boundedStreamAllowsExactlyTheLimit() throws Exception {
        try (InputStream in = new BoundedInputStream(new ByteArrayInputStream(new byte[100]), 100)) {
            assertThat(in.readAllBytes()).hasSize(100);
        }
        try (InputStream in = new BoundedInputStream(new ByteArrayInputStream(new byte[101]), 100)) {
            assertThatThrownBy(in::readAllBytes).isInstanceOf(BodyTooLargeException.class);
        }
        try (InputStream in = new BoundedInputStream(new ByteArrayInputStream(new byte[101]), 100)) {
            for (int i = 0; i < 100; i++) {
                assertThat(in.read()).isZero();
            }
            assertThatThrownBy(in::read).isInstanceOf(BodyTooLargeException.class);
        }
    }

    @Test
    void addressesUseRfc5952Text() {
        assertThat(Addresses.format(Identifiers.ipv6("fd00:0:0:0:0:0:0:1"))).isEqualTo("fd00::1");
        assertThat(Addresses.format(Identifiers.ipv6("::1"))).isEqualTo("::1");
        assertThat(Addresses.format(Identifiers.ipv6("::"))).isEqualTo("::");
        assertThat(Addresses.format(Identifiers.ipv6("fd00:0:1:0:0:1:0:0"))).isEqualTo("fd00:0:1::1:0:0");
        assertThat(Addresses.format(Identifiers.ipv6("fd00:1:2:3:4:5:6:7"))).isEqualTo("fd00:1:2:3:4:5:6:7");
        assertThat(Addresses.format(Identifiers.ipv6("FD00:ABCD::"))).isEqualTo("fd00:abcd::");
        assertThat(Addresses.format(null)).isNull();
    }

    @Test
    void remoteAddressesAcceptBracketsAndZonesAndRejectIpv4() {
        assertThat(Addresses.remote("[::1]")).contains(Identifiers.ipv6("::1"));
        assertThat(Addresses.remote("0:0:0:0:0:0:0:1")).contains(Identifiers.ipv6("::1"));
        assertThat(Addresses.remote("fe80::1%eth0")).contains(Identifiers.ipv6("fe80::1"));
        assertThat(Addresses.remote("127.0.0.1")).isEmpty();
        assertThat(Addresses.remote("::ffff:127.0.0.1")).isEmpty();
        assertThat(Addresses.remote(null)).isEmpty();
        assertThat(Addresses.remote("localhost")).isEmpty();
    }

    @Test
    void basicCredentialsParse() {
        String header = "Basic " + Base64.getEncoder().encodeToString("karaf:pa:ss wörd".getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Credentials.Basic basic = Credentials.basic(header).orElseThrow();
        assertThat(basic.user()).isEqualTo("karaf");
        assertThat(new String(basic.password())).isEqualTo("pa:ss wörd");
        assertThat(Credentials.basic("basic " + Base64.getEncoder().encodeToString("a:b".getBytes()))).isPresent();
        assertThat(Credentials.basic(null)).isEmpty();
        assertThat(Credentials.basic("Basic %%%")).isEmpty();
        assertThat(Credentials.basic("Basic " + Base64.getEncoder().encodeToString(":nouser".getBytes()))).isEmpty();
        assertThat(Credentials.bearer("Bearer  tok ")).isEqualTo("tok");
        assertThat(Credentials.bearer("Basic tok")).isNull();
    }

    @Test
    void tokensCompareExactly() {
        assertThat(Credentials.tokenMatches("abc", "abc")).isTrue();
        assertThat(Credentials.tokenMatches("abd", "abc")).isFalse();
        assertThat(Credentials.tokenMatches("abcd", "abc")).isFalse();
        assertThat(Credentials.tokenMatches("", "")).isFalse();
        assertThat(Credentials.tokenMatches(null, "abc")).isFalse();
        assertThat(Credentials.tokenMatches("abc", "")).isFalse();
    }

    @Test
    void htmlEscapes() {
        assertThat(Html.escape("<a href=\"x\">'&'</a>")).isEqualTo("&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
        assertThat(Html.escape(null)).isEmpty();
    }
}
