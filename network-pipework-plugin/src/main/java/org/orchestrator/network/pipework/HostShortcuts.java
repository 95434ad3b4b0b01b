package org.orchestrator.network.pipework;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Ways for {@link PipeworkAttacher} to change the host without starting a process, for the steps
 * on a device's way to its instance: a long-lived {@code nft -i} for the allowed pairs
 * ({@link NftSession}) and sysfs for host link aliases ({@link SysfsAliases}). Each falls back to
 * a process of its own when it cannot be used. {@link #none()} runs every change as a process
 * through the attacher's {@link CommandRunner} (tests that model the host in memory).
 */
public final class HostShortcuts implements AutoCloseable {

    private final NftSession nft;
    private final SysfsAliases aliases;

    private HostShortcuts(NftSession nft, SysfsAliases aliases) {
        this.nft = nft;
        this.aliases = aliases;
    }

    /** No shortcuts: every change is a process. */
    public static HostShortcuts none() {
        return new HostShortcuts(null, null);
    }

    /**
     * The shortcuts of this host: {@code nft -i} and {@code /sys/class/net}.
     *
     * @param timeout how long nft may take to answer one command
     */
    public static HostShortcuts live(Duration timeout) {
        return new HostShortcuts(new NftSession(timeout), new SysfsAliases(Path.of("/sys/class/net")));
    }

    /** @return the nft session, or null */
    NftSession nft() {
        return nft;
    }

    /** @return the alias writer, or null */
    SysfsAliases aliases() {
        return aliases;
    }

    /** Ends the nft session. */
    @Override
    public void close() {
        if (nft != null) {
            nft.close();
        }
    }
}
