package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Test network: namespaces {@code orch-dq-devN} on veth pairs {@code odq-vN} attached to the
 * bridge, DHCPv6 clients inside them, and a sweep of everything with our prefixes.
 */
final class NetLab implements AutoCloseable {

    static final String BRIDGE = "odq-br0";
    static final String NS_PREFIX = "orch-dq-";
    private static final Pattern GLOBAL = Pattern.compile("inet6 ([0-9a-f:]+)/\\d+ scope global");

    private final Path dir;
    private final List<Process> clients = new ArrayList<>();
    private final List<String> namespaces = new ArrayList<>();

    NetLab(Path dir) {
        this.dir = dir;
    }

    static void requireTools() {
        for (String tool : List.of("/usr/sbin/dnsmasq", "/usr/sbin/dhclient", "/usr/sbin/dhcpcd", "/usr/bin/unshare", "/usr/bin/perl")) {
            if (!Files.isExecutable(Path.of(tool))) {
                throw new AssertionError(tool + " is missing: run scripts/test-env.sh (packages dnsmasq-base, isc-dhcp-client, dhcpcd-base, util-linux, perl-base)");
            }
        }
    }

    /** Removes leftovers of earlier runs: processes, namespaces, links, /etc/netns folders, temp folders. */
    static void sweep() throws IOException {
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : procs.filter(x -> x.getFileName().toString().matches("\\d+")).toList()) {
                try {
                    String cmd = new String(Files.readAllBytes(p.resolve("cmdline")), StandardCharsets.ISO_8859_1);
                    if ((cmd.startsWith("/usr/sbin/dnsmasq") || cmd.contains("dhclient") || cmd.contains("dhcpcd"))
                            && cmd.contains("orch-dq-")) {
                        ProcessHandle.of(Long.parseLong(p.getFileName().toString())).ifPresent(ProcessHandle::destroyForcibly);
                    }
                } catch (IOException | RuntimeException e) {
                    // the process went away
                }
            }
        }
        for (String ns : sh("ip", "netns", "list").lines().map(l -> l.split(" ")[0]).toList()) {
            if (ns.startsWith(NS_PREFIX)) {
                killNamespace(ns);
            }
        }
        for (String line : sh("ip", "-o", "link", "show").lines().toList()) {
            String[] f = line.split(":\\s+");
            if (f.length > 1) {
                String name = f[1].split("@")[0];
                if (name.startsWith("odq-")) {
                    sh("ip", "link", "del", "dev", name);
                }
            }
        }
        try (var netns = Files.list(Path.of("/etc/netns"))) {
            for (Path p : netns.filter(x -> x.getFileName().toString().startsWith(NS_PREFIX)).toList()) {
                Files2.deleteTree(p);
            }
        } catch (java.nio.file.NoSuchFileException e) {
            // no /etc/netns at all
        }
        try (var tmp = Files.list(Path.of("/tmp"))) {
            for (Path p : tmp.filter(x -> x.getFileName().toString().startsWith(NS_PREFIX)).toList()) {
                Files2.deleteTree(p);
            }
        }
    }

    private static void killNamespace(String ns) {
        for (String pid : sh("ip", "netns", "pids", ns).lines().toList()) {
            if (pid.matches("\\d+")) {
                ProcessHandle.of(Long.parseLong(pid)).ifPresent(ProcessHandle::destroyForcibly);
            }
        }
        sh("ip", "netns", "del", ns);
    }

    /** Runs a command, returns stdout; failures are returned as text, not thrown. */
    static String sh(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return out;
        } catch (IOException e) {
            return e.toString();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return e.toString();
        }
    }

    static String check(String... cmd) {
        try {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
                throw new AssertionError(String.join(" ", cmd) + " failed: " + out);
            }
            return out;
        } catch (IOException e) {
            throw new AssertionError(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Creates namespace orch-dq-dev{n} with eth0 on the bridge; DAD off so clients can bind at once. */
    String device(int n) throws IOException {
        String ns = NS_PREFIX + "dev" + n;
        Path etc = Files.createDirectories(Path.of("/etc/netns", ns));
        Files.writeString(etc.resolve("resolv.conf"), "");
        check("ip", "netns", "add", ns);
        namespaces.add(ns);
        check("ip", "link", "add", "odq-v" + n, "type", "veth", "peer", "name", "odq-p" + n);
        check("ip", "link", "set", "odq-p" + n, "netns", ns);
        check("ip", "-n", ns, "link", "set", "odq-p" + n, "name", "eth0");
        check("ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.eth0.accept_dad=0");
        check("ip", "-n", ns, "link", "set", "lo", "up");
        check("ip", "-n", ns, "link", "set", "eth0", "up");
        check("ip", "link", "set", "odq-v" + n, "master", BRIDGE);
        check("ip", "link", "set", "odq-v" + n, "up");
        return ns;
    }

    Path leaseFile(String ns) {
        return dir.resolve(ns + ".leases");
    }

    /** dhclient -6 with its own lease and pid file; returns once it has a lease (it then runs in the background). */
    void dhclient(String ns) {
        check("ip", "netns", "exec", ns, "dhclient", "-6", "-1", "-lf", leaseFile(ns).toString(),
                "-pf", dir.resolve(ns + ".pid").toString(), "eth0");
    }

    /**
     * Makes dhclient forget its earlier leases but keep its DUID: otherwise it asks for its last
     * address again, which dnsmasq grants when no pin says otherwise.
     */
    void dhclientForgetLeases(String ns) throws IOException {
        List<String> keep = Files.readAllLines(leaseFile(ns), StandardCharsets.ISO_8859_1).stream()
                .filter(l -> l.startsWith("default-duid ")).toList();
        if (keep.isEmpty()) {
            throw new AssertionError("no default-duid in the lease file of " + ns);
        }
        Files.write(leaseFile(ns), keep, StandardCharsets.ISO_8859_1);
    }

    /** dhclient -6 -r: releases the lease and stops the client. */
    void dhclientRelease(String ns) {
        check("ip", "netns", "exec", ns, "dhclient", "-6", "-r", "-lf", leaseFile(ns).toString(),
                "-pf", dir.resolve(ns + ".pid").toString(), "eth0");
    }

    /** dhcpcd in the foreground with private state (tmpfs over /var/lib/dhcpcd and /run: /run/dhcpcd may not exist). */
    Process dhcpcd(String ns) throws IOException {
        Process p = new ProcessBuilder("ip", "netns", "exec", ns, "unshare", "-m", "sh", "-c",
                "mount -t tmpfs none /var/lib/dhcpcd && mount -t tmpfs none /run && mkdir /run/dhcpcd && exec dhcpcd -6 -B -d eth0")
                .redirectErrorStream(true).redirectOutput(dir.resolve(ns + ".dhcpcd.log").toFile()).start();
        clients.add(p);
        return p;
    }

    /** The output of the dhcpcd of a namespace, for failure messages. */
    String clientLog(String ns) {
        try {
            String log = Files.readString(dir.resolve(ns + ".dhcpcd.log"), StandardCharsets.UTF_8);
            return log;
        } catch (IOException e) {
            return e.toString();
        }
    }

    /** dhcpcd's DUID as its debug log prints it ({@code DUID 00:01:...}). */
    String dhcpcdDuid(String ns) {
        Matcher m = Pattern.compile("(?m)^DUID ([0-9a-f:]+)$").matcher(clientLog(ns));
        if (!m.find()) {
            throw new AssertionError("no DUID in the dhcpcd log of " + ns);
        }
        return m.group(1);
    }

    /** dhcpcd's IAID as its debug log prints it ({@code eth0: IAID 86:38:5b:c1}). */
    long dhcpcdIaid(String ns) {
        Matcher m = Pattern.compile("eth0: IAID ([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})").matcher(clientLog(ns));
        if (!m.find()) {
            throw new AssertionError("no IAID in the dhcpcd log of " + ns);
        }
        return Long.parseLong(m.group(1) + m.group(2) + m.group(3) + m.group(4), 16);
    }

    /** The global addresses in the namespace. */
    static List<String> globalAddresses(String ns) {
        List<String> out = new ArrayList<>();
        Matcher m = GLOBAL.matcher(sh("ip", "-n", ns, "-6", "addr", "show", "dev", "eth0"));
        while (m.find()) {
            out.add(m.group(1));
        }
        return out;
    }

    /** dhclient's DUID from its lease file ({@code default-duid "\000\001...";}, octal escapes). */
    String dhclientDuid(String ns) throws IOException {
        String text = Files.readString(leaseFile(ns), StandardCharsets.ISO_8859_1);
        Matcher m = Pattern.compile("default-duid \"((?:[^\"\\\\]|\\\\.)*)\";").matcher(text);
        if (!m.find()) {
            throw new AssertionError("no default-duid in " + text);
        }
        String esc = m.group(1);
        StringBuilder hex = new StringBuilder();
        for (int i = 0; i < esc.length(); i++) {
            int b;
            char c = esc.charAt(i);
            if (c == '\\' && i + 3 < esc.length() + 1 && Character.isDigit(esc.charAt(i + 1))) {
                b = Integer.parseInt(esc.substring(i + 1, i + 4), 8);
                i += 3;
            } else if (c == '\\') {
                b = esc.charAt(++i);
            } else {
                b = c;
            }
            if (hex.length() > 0) {
                hex.append(':');
            }
            hex.append(String.format("%02x", b & 0xff));
        }
        return hex.toString();
    }

    /** dhclient's IAID from its lease file ({@code ia-na 1a:2b:3c:4d}). */
    long dhclientIaid(String ns) throws IOException {
        // dhclient may write the lease after its parent returned: wait (bounded) for it.
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (System.nanoTime() < deadline && !Files.readString(leaseFile(ns), StandardCharsets.ISO_8859_1).contains("ia-na ")) {
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        // dhclient prints the IAID as hex pairs, or as a quoted string (octal escapes) when all
        // four bytes happen to be printable (its print_hex_or_string)
        Matcher m = Pattern.compile("ia-na (?:([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2}):([0-9a-f]{2})|\"((?:[^\"\\\\]|\\\\.)*)\")")
                .matcher(Files.readString(leaseFile(ns), StandardCharsets.ISO_8859_1));
        Long last = null;
        while (m.find()) {
            if (m.group(1) != null) {
                last = Long.parseLong(m.group(1) + m.group(2) + m.group(3) + m.group(4), 16);
            } else {
                long v = 0;
                for (int b : unescape(m.group(5))) {
                    v = (v << 8) | (b & 0xff);
                }
                last = v;
            }
        }
        if (last == null) {
            throw new AssertionError("no ia-na in the lease file of " + ns);
        }
        return last;
    }

    /** The bytes of a dhclient quoted string: octal escapes {@code \ooo}, and {@code \x} for x. */
    static int[] unescape(String esc) {
        int[] out = new int[esc.length()];
        int n = 0;
        for (int i = 0; i < esc.length(); i++) {
            char c = esc.charAt(i);
            if (c == '\\' && i + 3 < esc.length() + 1 && Character.isDigit(esc.charAt(i + 1))) {
                out[n++] = Integer.parseInt(esc.substring(i + 1, i + 4), 8);
                i += 3;
            } else if (c == '\\') {
                out[n++] = esc.charAt(++i);
            } else {
                out[n++] = c;
            }
        }
        return java.util.Arrays.copyOf(out, n);
    }

    @Override
    public void close() {
        for (Process p : clients) {
            p.toHandle().descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly();
        }
        for (String ns : namespaces) {
            killNamespace(ns);
            try {
                Files2.deleteTree(Path.of("/etc/netns", ns));
            } catch (IOException e) {
                // swept next time
            }
        }
    }
}
