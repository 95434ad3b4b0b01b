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
    private Process dhcpcd;

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
            // on a loaded machine dhclient now and then exits 1 without a word right after the
            // veth came up; a second start a moment later works (bounded: 3 starts, about 2 s)
            Host.Result r = null;
            for (int attempt = 1; attempt <= 3; attempt++) {
                r = Host.run(30, "ip", "netns", "exec", ns, "dhclient", "-6", "-1", "-nw",
                    "-lf", state.resolve("dhclient6.leases").toString(),
                    "-pf", state.resolve("dhclient6.pid").toString(),
                    "-sf", "/bin/true", "eth0");
                if (r.ok()) {
                    return;
                }
                try {
                    Thread.sleep(1000);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
            }
            throw new IllegalStateException("dhclient -6 in " + ns + " exited " + r.exit() + " three times: " + r.out());
        } else {
            // private DUID and lease state per device (a tmpfs over dhcpcd's folders in a mount
            // namespace; /run/dhcpcd does not exist on every machine, so the tmpfs covers /run).
            // dhcpcd stays in the foreground, logging its DUID, so it renews and can be told to release.
            if (dhcpcd != null && dhcpcd.isAlive()) {
                return;
            }
            try {
                dhcpcd = new ProcessBuilder("ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
                    "mount -t tmpfs none /var/lib/dhcpcd && mount -t tmpfs none /run && mkdir /run/dhcpcd && exec dhcpcd -6 -B -d eth0",
                    "dhcpcd-" + ns)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(state.resolve("dhcpcd.log").toFile()))
                    .start();
                dhcpcd.getOutputStream().close();
            } catch (IOException e) {
                throw new IllegalStateException("cannot start dhcpcd in " + ns, e);
            }
        }
    }

    /** The DHCPv6 client this device runs. */
    public Client client() {
        return client;
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

    /** The DUID the client presents, lowercase hex pairs with colons (dhclient: its lease file; dhcpcd: its debug log). */
    public Optional<String> duid() throws IOException {
        if (client == Client.DHCPCD) {
            Path log = state.resolve("dhcpcd.log");
            if (!Files.exists(log)) {
                return Optional.empty();
            }
            Matcher m = Pattern.compile("(?m)^DUID ([0-9a-f]{2}(?::[0-9a-f]{2})+)\\s*$").matcher(Files.readString(log));
            String last = null;
            while (m.find()) {
                last = m.group(1);
            }
            return Optional.ofNullable(last);
        }
        Path leases = state.resolve("dhclient6.leases");
        if (client != Client.DHCLIENT || !Files.exists(leases)) {
            return Optional.empty();
        }
        // dhclient escapes non-printable bytes as \ooo and a backslash or quote as \\ or \"
        Matcher m = Pattern.compile("default-duid \"((?:[^\"\\\\]|\\\\.)*)\";")
            .matcher(Files.readString(leases, java.nio.charset.StandardCharsets.ISO_8859_1));
        if (!m.find()) {
            return Optional.empty();
        }
        String esc = m.group(1);
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < esc.length(); i++) {
            int b;
            if (esc.charAt(i) == '\\' && i + 3 < esc.length() && esc.substring(i + 1, i + 4).matches("[0-7]{3}")) {
                b = Integer.parseInt(esc.substring(i + 1, i + 4), 8);
                i += 3;
            } else if (esc.charAt(i) == '\\' && i + 1 < esc.length()) {
                b = esc.charAt(++i);
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

    /**
     * Adds a default route via the host's address on the device bridge, so the device reaches
     * instance networks. The gateway is first made on-link by a host route: a DHCPv6 address is a
     * /128, and the prefix route otherwise comes only with a router advertisement, which may not have
     * arrived yet right after the lease (then the default route was refused, unnoticed, and the
     * device could reach neither the gateway nor its instance for a second or more).
     */
    public void routeVia(String gateway) {
        onLinkVia(ns, gateway);
    }

    /**
     * What a device's DHCPv6 client script does with its lease, in one process ({@code ip -batch}):
     * the leased address as a /128 on eth0, the gateway on-link and the default route through it.
     * The bench does this between the Reply and the device's first request, so it costs one
     * process start instead of three. Fails when any of it fails.
     */
    public void takeLease(String address, String gateway) throws IOException {
        for (String a : new String[] {address, gateway}) {
            if (a == null || !a.matches("[0-9a-fA-F:]{2,39}")) {
                throw new IllegalArgumentException("not an IPv6 address: " + a);
            }
        }
        Path batch = state.resolve("lease.ip-batch");
        Files.writeString(batch, "addr replace " + address + "/128 dev eth0\n"
            + "route replace " + gateway + "/128 dev eth0\n"
            + "route replace default via " + gateway + " dev eth0\n");
        Host.must("ip", "-n", ns, "-6", "-batch", batch.toString());
    }

    /** Makes {@code gateway} on-link in namespace {@code ns} and routes everything else through it; fails when it cannot. */
    private static void onLinkVia(String ns, String gateway) {
        Host.must("ip", "-n", ns, "-6", "route", "replace", gateway + "/128", "dev", "eth0");
        Host.must("ip", "-n", ns, "-6", "route", "replace", "default", "via", gateway, "dev", "eth0");
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
        } else if (dhcpcd != null) {
            // dhcpcd drops SIGALRM while it is busy with an exchange: ask again until it has released and exited
            for (int attempt = 0; attempt < 10 && dhcpcd.isAlive(); attempt++) {
                Host.run("kill", "-ALRM", Long.toString(dhcpcd.pid()));
                try {
                    dhcpcd.waitFor(3, java.util.concurrent.TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
            if (dhcpcd.isAlive()) {
                throw new IllegalStateException("dhcpcd in " + ns + " did not release within 30 s");
            }
            dhcpcd = null;
        }
    }

    @Override
    public void close() {
        if (dhcpcd != null) {
            dhcpcd.destroyForcibly();
        }
        Host.sweepOne(ns, hostVeth);
    }
}
