package org.orchestrator.itests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A simulated device: a network namespace on the device bridge, linked by a veth pair, running a
 * real DHCPv6 client ({@code dhclient -6} or {@code dhcpcd}). Each device keeps its client's state
 * in its own folder, so devices have distinct DUIDs.
 */
public final class Device implements AutoCloseable {

    /** Which DHCPv6 client a device runs. */
    public enum Client { DHCLIENT, DHCPCD }

    private static final Pattern GLOBAL_V6 = Pattern.compile("inet6 (fd[0-9a-f:]+)/128");

    private final String ns;
    private final String hostVeth;
    private final Client client;
    private final Path state;

    private Device(String ns, String hostVeth, Client client, Path state) {
        this.ns = ns;
        this.hostVeth = hostVeth;
        this.client = client;
        this.state = state;
    }

    /**
     * Creates namespace {@code ns} with {@code eth0} linked to {@code bridge}.
     *
     * @param hostVeth the host end's name (at most 15 characters)
     */
    public static Device create(String ns, String hostVeth, String bridge, Client client, Path stateRoot) throws IOException {
        Host.sweepOne(ns, hostVeth);
        Host.guardResolvConf(ns);
        Path state = stateRoot.resolve(ns);
        Files.createDirectories(state);
        Host.must("ip", "netns", "add", ns);
        Host.must("ip", "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ns);
        Host.must("ip", "link", "set", hostVeth, "master", bridge);
        Host.must("ip", "link", "set", hostVeth, "up");
        Host.must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=0");
        Host.must("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0");
        Host.must("ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up");
        Host.must("ip", "netns", "exec", ns, "ip", "link", "set", "eth0", "up");
        return new Device(ns, hostVeth, client, state);
    }

    public String namespace() {
        return ns;
    }

    /** Asks for a lease (one shot: the client exits or backgrounds once it has one). */
    public void requestLease() {
        if (client == Client.DHCLIENT) {
            Host.must("ip", "netns", "exec", ns, "dhclient", "-6", "-1", "-nw",
                "-lf", state.resolve("dhclient6.leases").toString(),
                "-pf", state.resolve("dhclient6.pid").toString(),
                "-sf", "/bin/true", "eth0");
        } else {
            // private DUID and lease state per device (a tmpfs over dhcpcd's folders in a mount namespace)
            Host.must("ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
                "mount -t tmpfs none /var/lib/dhcpcd && mount -t tmpfs none /run/dhcpcd && exec dhcpcd -6 -1 -B -t 30 eth0",
                "dhcpcd-" + ns);
        }
    }

    /** Waits until eth0 holds a global (ULA) /128 address from DHCPv6. dhclient with -sf /bin/true does not configure it, so read its lease file too. */
    public String awaitAddress(Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            Optional<String> a = address();
            if (a.isPresent()) {
                return a.get();
            }
            Thread.sleep(200);
        }
        throw new AssertionError("device " + ns + " got no DHCPv6 address within " + timeout);
    }

    /** The address the client holds, if any; dhclient's is taken from its lease file and configured on eth0. */
    public Optional<String> address() throws IOException {
        if (client == Client.DHCLIENT) {
            Path leases = state.resolve("dhclient6.leases");
            if (Files.exists(leases)) {
                Matcher m = Pattern.compile("iaaddr ([0-9a-f:]+) \\{").matcher(Files.readString(leases));
                String last = null;
                while (m.find()) {
                    last = m.group(1);
                }
                if (last != null) {
                    Host.run("ip", "netns", "exec", ns, "ip", "-6", "addr", "replace", last + "/128", "dev", "eth0");
                    return Optional.of(last);
                }
            }
            return Optional.empty();
        }
        Matcher m = GLOBAL_V6.matcher(Host.run("ip", "netns", "exec", ns, "ip", "-6", "addr", "show", "dev", "eth0").out());
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The DUID the client presents, lowercase hex pairs with colons (dhclient only; dhcpcd's is read from the platform). */
    public Optional<String> duid() throws IOException {
        Path leases = state.resolve("dhclient6.leases");
        if (client != Client.DHCLIENT || !Files.exists(leases)) {
            return Optional.empty();
        }
        // dhclient writes a byte as a backslash and three octal digits, and the quote and backslash bytes escaped with a backslash
        Matcher m = Pattern.compile("default-duid \"((?:\\\\.|[^\"\\\\])*)\"").matcher(Files.readString(leases));
        if (!m.find()) {
            return Optional.empty();
        }
        String esc = m.group(1);
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < esc.length(); i++) {
            int b;
            if (esc.charAt(i) == '\\' && i + 3 < esc.length() + 1 && Character.isDigit(esc.charAt(i + 1))) {
                b = Integer.parseInt(esc.substring(i + 1, i + 4), 8);
                i += 3;
            } else if (esc.charAt(i) == '\\' && i + 1 < esc.length()) {
                b = esc.charAt(i + 1);
                i += 1;
            } else {
                b = esc.charAt(i);
            }
            if (hex.length() > 0) {
                hex.append(':');
            }
            hex.append(String.format("%02x", b & 0xff));
        }
        return Optional.of(hex.toString());
    }

    /** Adds a default route via the host's address on the device bridge, so the device reaches instance networks. */
    public void routeVia(String gateway) {
        Host.run("ip", "netns", "exec", ns, "ip", "-6", "route", "replace", "default", "via", gateway, "dev", "eth0");
    }

    /** HTTP GET from inside the device; returns the body, or empty when the request fails. */
    public Optional<String> httpGet(String address, int timeoutSeconds) {
        // curl, not busybox wget: busybox 1.35's wget -T crashes on this Debian release
        Host.Result r = Host.run(timeoutSeconds + 5, "ip", "netns", "exec", ns, "curl", "-6", "-g", "-s", "-f",
            "-m", Integer.toString(timeoutSeconds), "http://[" + address + "]/");
        return r.ok() ? Optional.of(r.out()) : Optional.empty();
    }

    /** Releases the lease (the client sends RELEASE and exits). */
    public void release() {
        if (client == Client.DHCLIENT) {
            Host.run(30, "ip", "netns", "exec", ns, "dhclient", "-6", "-r",
                "-lf", state.resolve("dhclient6.leases").toString(),
                "-pf", state.resolve("dhclient6.pid").toString(),
                "-sf", "/bin/true", "eth0");
        } else {
            Host.run(30, "ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
                "mount -t tmpfs none /run/dhcpcd; dhcpcd -6 -k eth0", "dhcpcd-" + ns);
        }
    }

    @Override
    public void close() {
        Host.sweepOne(ns, hostVeth);
    }
}
