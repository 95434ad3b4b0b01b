package org.orchestrator.dhcp.dnsmasq;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.nio.file.Path;
import java.util.Objects;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.Ipv6Prefix;

/**
 * The validated configuration of one served network. Immutable.
 *
 * @param name             the source name ({@code dhcp.source.name})
 * @param managed          whether the plugin runs dnsmasq itself (else: external mode)
 * @param iface            the interface (or bridge) dnsmasq serves
 * @param createBridge     whether to create the bridge when the interface is absent
 * @param listenAddress    the host's address on the interface
 * @param prefixLength     the prefix length of the served network
 * @param rangeStart       first address handed out
 * @param rangeEnd         last address handed out
 * @param leaseSeconds     lease time
 * @param routerAdvertisements whether dnsmasq sends router advertisements
 * @param dnsPort          DNS port, 0 for no DNS
 * @param domain           DNS domain for pinned instances, or {@code null}
 * @param runDir           the folder the plugin owns for this source
 * @param dnsmasqBinary    path of dnsmasq
 * @param minBackoffMillis first restart delay after dnsmasq died
 * @param maxBackoffMillis largest restart delay
 * @param sweepSeconds     period of the expiry sweep and spool retry
 * @param externalPidFile  external mode: the pid file of the operator's dnsmasq, or {@code null}
 * @param externalHostsDirs external mode: the operator's dnsmasq reads the pins from the folders
 *                         ({@code --dhcp-hostsdir}, {@code --hostsdir}) rather than the files
 * @param reloadDelayMillis quiet time after the last pin change that needs dnsmasq to re-read its
 *                         files before it gets SIGHUP
 */
record DnsmasqSettings(String name, boolean managed, String iface, boolean createBridge, Inet6Address listenAddress,
                       int prefixLength, Inet6Address rangeStart, Inet6Address rangeEnd, long leaseSeconds,
                       boolean routerAdvertisements, int dnsPort, String domain, Path runDir, Path dnsmasqBinary,
                       long minBackoffMillis, long maxBackoffMillis, int sweepSeconds,
                       Path externalPidFile, boolean externalHostsDirs, long reloadDelayMillis) {

    private static final Pattern IFACE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.-]{0,14}");
    /** Paths end up in dnsmasq's configuration and in the popen() of its init call: keep them plain. */
    private static final Pattern SAFE_PATH = Pattern.compile("/[A-Za-z0-9._/+-]{1,200}");

    DnsmasqSettings {
        Identifiers.name(name);
        if (iface == null || !IFACE.matcher(iface).matches()) {
            throw new IllegalArgumentException("interface must be 1-15 characters of [A-Za-z0-9_.-]: " + Identifiers.quote(iface));
        }
        Objects.requireNonNull(runDir, "runDir");
        if (!SAFE_PATH.matcher(runDir.toString()).matches() || runDir.toString().contains("..")) {
            throw new IllegalArgumentException("run folder must be an absolute path of [A-Za-z0-9._/+-]: " + Identifiers.quote(runDir.toString()));
        }
        if (runDir.toString().length() + "/private/hook.sock".length() > 100) {
            throw new IllegalArgumentException("run folder path is too long for a Unix socket path: " + runDir);
        }
        Objects.requireNonNull(dnsmasqBinary, "dnsmasqBinary");
        if (managed) {
            Objects.requireNonNull(listenAddress, "listenAddress");
            Objects.requireNonNull(rangeStart, "rangeStart");
            Objects.requireNonNull(rangeEnd, "rangeEnd");
            if (prefixLength < 64 || prefixLength > 120) {
                // dnsmasq's DHCPv6 ranges need a prefix of 64 bits or longer.
                throw new IllegalArgumentException("prefix length must be 64 to 120, got " + prefixLength);
            }
            Ipv6Prefix prefix = prefixOf(listenAddress, prefixLength);
            if (!prefix.contains(rangeStart) || !prefix.contains(rangeEnd)) {
                throw new IllegalArgumentException("range " + Identifiers.format(rangeStart) + " - " + Identifiers.format(rangeEnd)
                        + " is outside " + prefix);
            }
            if (prefix.offsetOf(rangeStart).compareTo(prefix.offsetOf(rangeEnd)) > 0) {
                throw new IllegalArgumentException("range start is after range end");
            }
            if (leaseSeconds < 120) {
                throw new IllegalArgumentException("lease time must be at least 120 seconds (dnsmasq's minimum), got " + leaseSeconds);
            }
            if (dnsPort < 0 || dnsPort > 65535) {
                throw new IllegalArgumentException("DNS port must be 0 to 65535, got " + dnsPort);
            }
        }
        if (domain != null) {
            domain = Identifiers.hostname(domain);
        }
        if (minBackoffMillis < 10 || maxBackoffMillis < minBackoffMillis) {
            throw new IllegalArgumentException("restart back-off must satisfy 10 <= min <= max");
        }
        if (externalPidFile != null && !externalPidFile.isAbsolute()) {
            throw new IllegalArgumentException("external pid file must be an absolute path: " + Identifiers.quote(externalPidFile.toString()));
        }
        if (reloadDelayMillis < 0 || reloadDelayMillis > 60_000) {
            throw new IllegalArgumentException("reload delay must be 0 to 60000 milliseconds, got " + reloadDelayMillis);
        }
        if (sweepSeconds < 1) {
            throw new IllegalArgumentException("sweep period must be at least 1 second");
        }
    }

    /** @return where dnsmasq finds the pins: one file per pin in folders, or one file for all */
    PinFiles.Layout pinLayout() {
        return managed || externalHostsDirs ? PinFiles.Layout.DIRS : PinFiles.Layout.FILES;
    }

    /** @return the network prefix of the listen address */
    Ipv6Prefix prefix() {
        return prefixOf(listenAddress, prefixLength);
    }

    /** @return whether DNS answers are published (DNS port set and a domain given) */
    boolean dnsEnabled() {
        return dnsPort > 0 && domain != null;
    }

    static Ipv6Prefix prefixOf(Inet6Address address, int length) {
        byte[] b = address.getAddress();
        BigInteger value = new BigInteger(1, b);
        BigInteger mask = BigInteger.ONE.shiftLeft(128 - length).subtract(BigInteger.ONE).not();
        BigInteger net = value.and(mask);
        byte[] raw = net.toByteArray();
        byte[] bytes = new byte[16];
        int copy = Math.min(raw.length, 16);
        System.arraycopy(raw, raw.length - copy, bytes, 16 - copy, copy);
        try {
            return new Ipv6Prefix((Inet6Address) java.net.InetAddress.getByAddress(bytes), length);
        } catch (java.net.UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The folder layout of a source. */
    Path confFile() {
        return runDir.resolve("dnsmasq.conf");
    }

    Path pidFile() {
        return runDir.resolve("dnsmasq.pid");
    }

    Path hookFile() {
        return runDir.resolve("dnsmasq-hook");
    }

    Path hostsFile() {
        return runDir.resolve("dhcp-hosts");
    }

    Path addnHostsFile() {
        return runDir.resolve("addn-hosts");
    }

    Path hostsDir() {
        return runDir.resolve("hosts.d");
    }

    Path dnsDir() {
        return runDir.resolve("dns.d");
    }

    Path pinsFile() {
        return runDir.resolve("pins");
    }

    Path serverDuidFile() {
        return runDir.resolve("server-duid");
    }

    Path privateDir() {
        return runDir.resolve("private");
    }

    Path socketFile() {
        return privateDir().resolve("hook.sock");
    }

    Path spoolDir() {
        return privateDir().resolve("spool");
    }
}
