package org.orchestrator.network.pipework;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Alias writes into a folder laid out like {@code /sys/class/net}; the real sysfs is used in {@link PipeworkAttacherRootTest}. */
class SysfsAliasesTest {

    @TempDir
    Path classNet;

    private Path link(String name) throws IOException {
        Path dir = Files.createDirectories(classNet.resolve(name));
        Files.writeString(dir.resolve("ifalias"), "");
        return dir.resolve("ifalias");
    }

    @Test
    void writesNothingBeforeTheBridgeWasSeen() throws IOException {
        Path alias = link("opwab12");
        SysfsAliases aliases = new SysfsAliases(classNet);
        assertThat(aliases.set("opwab12", "orchestrator net=n id=i")).isEmpty();
        assertThat(aliases.verify("opw-br0")).as("no such bridge here: another namespace's sysfs").isFalse();
        assertThat(aliases.set("opwab12", "orchestrator net=n id=i")).isEmpty();
        assertThat(Files.readString(alias)).isEmpty();
    }

    @Test
    void writesTheAliasOfALinkAndTellsAGoneLinkApart() throws IOException {
        link("opw-br0");
        Path alias = link("opwab12");
        SysfsAliases aliases = new SysfsAliases(classNet);
        assertThat(aliases.verify("opw-br0")).isTrue();
        assertThat(aliases.set("opwab12", "orchestrator net=n id=i peer=fd00::1")).isEqualTo(Optional.of(true));
        assertThat(Files.readString(alias)).isEqualTo("orchestrator net=n id=i peer=fd00::1");
        assertThat(aliases.set("opwgone", "orchestrator net=n id=j")).as("gone").isEqualTo(Optional.of(false));
        assertThat(classNet.resolve("opwgone")).as("nothing made in its place").doesNotExist();
    }

    @Test
    void namesThatAreNotLinkNamesAndOddAliasesAreLeftToIp() throws IOException {
        link("opw-br0");
        SysfsAliases aliases = new SysfsAliases(classNet);
        aliases.verify("opw-br0");
        assertThat(aliases.set("../opw-br0", "x")).isEmpty();
        assertThat(aliases.set("..", "x")).isEmpty();
        assertThat(aliases.set("a-name-longer-than-15", "x")).isEmpty();
        assertThat(aliases.set("opw-br0", "two\nlines")).isEmpty();
        assertThat(aliases.set("opw-br0", "")).isEmpty();
        assertThat(aliases.set("opw-br0", "x".repeat(256))).isEmpty();
        assertThat(Files.readString(classNet.resolve("opw-br0").resolve("ifalias"))).isEmpty();
    }
}
