package org.orchestrator.itests.bench;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The benchmark's reading of dhclient lease files ({@link DhclientLease}). A plain unit test, named
 * {@code *IT} because this module runs its tests with failsafe only (surefire is skipped here);
 * it needs no machine set-up. Run alone: {@code mvn verify -pl itests -Dit.test=DhclientLeaseIT}.
 */
class DhclientLeaseIT {

    /** A lease file as dhclient 4.4 wrote it on this machine. */
    static final String HEX = """
        default-duid "\\000\\001\\000\\0012\\231\\231r\\012u\\021$\\304l";
        lease6 {
          interface "eth0";
          ia-na 11:24:c4:6c {
            starts 1795611891;
            renew 300;
            rebind 525;
            iaaddr fd00:79:d::17d4 {
              starts 1795611891;
              preferred-life 600;
              max-life 600;
            }
          }
          option dhcp6.client-id 0:1:0:1:32:99:99:72:a:75:11:24:c4:6c;
          option dhcp6.server-id 0:1:0:1:32:99:99:6e:c6:85:8e:33:63:a1;
          option dhcp6.status-code success "success";
        }
        """;

    @Test
    void readsTheHexFormWithoutLeadingZeros() {
        assertThat(DhclientLease.clientId(HEX)).isEqualTo("00:01:00:01:32:99:99:72:0a:75:11:24:c4:6c");
        assertThat(DhclientLease.parse(HEX)).isEqualTo(new DhclientLease("fd00:79:d::17d4", "00:01:00:01:32:99:99:72:0a:75:11:24:c4:6c"));
    }

    @Test
    void readsTheQuotedFormWithOctalAndBackslashEscapes() {
        // bytes 00 01 00 01 32('2') 99 99 72('r') 0a 75('u') 22(") 5c(\) 41('A') 6c('l')
        String text = "lease6 {\n  iaaddr fd00:7c:d::1a2b {\n  }\n"
            + "  option dhcp6.client-id \"\\000\\001\\000\\0012\\231\\231r\\012u\\\"\\\\Al\";\n}\n";
        assertThat(DhclientLease.clientId(text)).isEqualTo("00:01:00:01:32:99:99:72:0a:75:22:5c:41:6c");
        assertThat(DhclientLease.parse(text).clientId()).isEqualTo("00:01:00:01:32:99:99:72:0a:75:22:5c:41:6c");
        // an escape of fewer than three octal digits is a plain character after a backslash
        assertThat(DhclientLease.clientId("option dhcp6.client-id \"AB\\9\";")).isEqualTo("41:42:39");
    }

    @Test
    void aFileCutAfterTheAddressHasNoClientIdYet() {
        String cut = HEX.substring(0, HEX.indexOf("option dhcp6.client-id") + "option dhcp6.client-id 0:1:0:1:3".length());
        DhclientLease lease = DhclientLease.parse(cut);
        assertThat(lease.address()).isEqualTo("fd00:79:d::17d4");
        assertThat(lease.clientId()).as("a half-written client-id is no client-id").isNull();
        assertThat(DhclientLease.parse(HEX.substring(0, HEX.indexOf("iaaddr")))).isEqualTo(new DhclientLease(null, null));
        assertThat(DhclientLease.parse("")).isEqualTo(new DhclientLease(null, null));
        assertThat(DhclientLease.parse(null)).isEqualTo(new DhclientLease(null, null));
    }

    @Test
    void addressAndClientIdComeFromTheSameNewestBlock() {
        String older = HEX.replace("fd00:79:d::17d4", "fd00:79:d::1111");
        String newest = HEX.substring(HEX.indexOf("lease6 {")).replace("0:1:0:1:32:99:99:72:a:75:11:24:c4:6c", "0:3:0:1:2:42:ac:11:0:2");
        // the newest block is cut before its client-id: the older block's client-id must not be taken for it
        String cutNewest = newest.substring(0, newest.indexOf("option dhcp6.client-id"));
        assertThat(DhclientLease.parse(older + cutNewest)).isEqualTo(new DhclientLease("fd00:79:d::17d4", null));
        assertThat(DhclientLease.parse(older + newest)).isEqualTo(new DhclientLease("fd00:79:d::17d4", "00:03:00:01:02:42:ac:11:00:02"));
    }
}
