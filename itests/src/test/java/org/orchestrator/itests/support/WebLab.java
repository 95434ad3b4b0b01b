package org.orchestrator.itests.support;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * A booted distribution for the web-console tests: a managed dnsmasq on a device bridge, the
 * Docker provider {@value #PROVIDER}, a pipework network, the REST API with a lease-event token
 * and a viewer-only user besides the generated admin. Every host resource is named with
 * {@value #PREFIX} (nft tables {@code orch_iw_*}, ULA prefixes below {@code fd00:7a::/32}) and is
 * removed by {@link #close()} and by the sweep at the start.
 */
public final class WebLab implements AutoCloseable {

    /** Prefix of every bridge, namespace and veth the web-console tests create. */
    public static final String PREFIX = "orch-iw";
    /** The Docker provider's name; its containers carry the label org.orchestrator.provider=docker-iw. */
    public static final String PROVIDER = "docker-iw";
    /** Name of the viewer-only user. */
    public static final String VIEWER = "viewer";

    /**
     * The names of one lab.
     *
     * @param id         distinguishes labs of different test classes: one hex digit (device prefix
     *                   fd00:7a:d&lt;id&gt;::/64, instances fd00:7a:&lt;id&gt;::/64)
     * @param source     the dnsmasq source's name
     * @param network    the pipework network's name
     */
    public record Names(String id, String source, String network) {

        public String deviceBridge() {
            return PREFIX + "-dev" + id;
        }

        public String instanceBridge() {
            return PREFIX + "-br" + id;
        }

        public String deviceGateway() {
            return "fd00:7a:d" + id + "::1";
        }

        public String devicePrefix() {
            return "fd00:7a:d" + id + "::/64";
        }

        /** The instance prefix without the length, for matching addresses by their start. */
        public String instancePrefixStart() {
            return "fd00:7a:" + id + ":";
        }

        public String instancePrefix() {
            return "fd00:7a:" + id + "::/64";
        }

        public String nftTable() {
            return "orch_iw_inst" + id;
        }
    }

    private final KarafInstance karaf;
    private final Names names;
    private final String token;
    private final String viewerPassword;

    private WebLab(KarafInstance karaf, Names names, String token, String viewerPassword) {
        this.karaf = karaf;
        this.names = names;
        this.token = token;
        this.viewerPassword = viewerPassword;
    }

    /** Sweeps leftovers, prepares a copy of the distribution named {@code karafName}, configures and boots it. */
    public static WebLab boot(String karafName, Names names, Duration timeout) throws Exception {
        sweep();
        KarafInstance karaf = KarafInstance.prepare(karafName);
        String token = randomHex(32);
        String viewerPassword = randomHex(12);
        WebLab lab = new WebLab(karaf, names, token, viewerPassword);
        karaf.config("org.orchestrator.dhcp.dnsmasq-iw", Map.of(
            "dhcp.source.name", names.source(),
            "interfaceName", names.deviceBridge(),
            "listenAddress", names.deviceGateway(),
            "prefixLength", "64",
            "leaseTime", "600"));
        karaf.config("org.orchestrator.network.pipework-iw", Map.of(
            "network.name", names.network(),
            "bridge", names.instanceBridge(),
            "prefix", names.instancePrefix(),
            "deviceInterface", names.deviceBridge(),
            "devicePrefix", names.devicePrefix(),
            "vethPrefix", PREFIX,
            "nftTable", names.nftTable()));
        karaf.config("org.orchestrator.provider.docker-iw", Map.of("name", PROVIDER));
        karaf.config("org.orchestrator.core", Map.of(
            "routes", names.source() + "=" + PROVIDER + "," + names.network(),
            "releaseGraceSeconds", "5",
            "reconcileIntervalSeconds", "10"));
        karaf.config("org.orchestrator.webconsole", Map.of(
            "leaseEventToken", token,
            "operationWaitSeconds", "20"));
        // no "admin =" line: bin/setenv then generates the admin user and both groups at first start
        Files.writeString(karaf.home().resolve("etc/users.properties"),
            "\n" + VIEWER + " = " + viewerPassword + ",_g_:viewergroup\n", StandardOpenOption.APPEND);
        try {
            Duration took = karaf.start(timeout);
            System.out.printf("WebLab %s: distribution booted in %d ms%n", karafName, took.toMillis());
        } catch (Throwable e) {
            try {
                lab.close();
            } catch (Throwable t) {
                e.addSuppressed(t);
            }
            throw e;
        }
        List<String> users = Files.readAllLines(karaf.home().resolve("etc/users.properties"));
        if (users.stream().noneMatch(l -> l.startsWith("_g_\\:viewergroup"))) {
            lab.close();
            throw new IllegalStateException("bin/setenv did not define _g_:viewergroup in etc/users.properties");
        }
        return lab;
    }

    public KarafInstance karaf() {
        return karaf;
    }

    public Names names() {
        return names;
    }

    public String token() {
        return token;
    }

    public String viewerPassword() {
        return viewerPassword;
    }

    public String adminPassword() throws IOException {
        return karaf.adminPassword();
    }

    /** Base URL of the REST API on loopback. */
    public String apiBase() {
        return "http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1/";
    }

    /** Creates a device with dhclient on this lab's device bridge. */
    public Device device(String suffix) throws IOException {
        return Device.create(PREFIX + "-" + suffix, PREFIX + "-" + suffix + "h", names.deviceBridge(),
            Device.Client.DHCLIENT, karaf.home().resolve("devices"));
    }

    /** IDs of this lab's containers (the provider's label). */
    public static List<String> containers() {
        return Host.lines("docker", "ps", "-aq", "--no-trunc", "--filter", "label=org.orchestrator.provider=" + PROVIDER);
    }

    /** Removes every host resource of the web-console tests. */
    public static void sweep() {
        Host.sweep(PREFIX);
        for (String id : containers()) {
            Host.run("docker", "rm", "-f", id);
        }
    }

    /** Stops Karaf (its dnsmasq ends with it) and sweeps; fails when a dnsmasq of this lab is left. */
    @Override
    public void close() throws Exception {
        long t0 = System.nanoTime();
        try {
            karaf.stop(Duration.ofSeconds(60));
            System.out.printf("WebLab %s: stopped in %d ms%n", karaf.home().getFileName(), (System.nanoTime() - t0) / 1_000_000);
        } finally {
            sweep();
        }
        List<String> left = Host.lines("pgrep", "-f", "dnsmasq.*" + names.deviceBridge());
        if (!left.isEmpty()) {
            throw new AssertionError("dnsmasq left running: " + left);
        }
        if (karaf.process().isPresent()) {
            throw new AssertionError("Karaf JVM left running: " + karaf.process().get().pid());
        }
    }

    static String randomHex(int bytes) {
        byte[] b = new byte[bytes];
        new java.security.SecureRandom().nextBytes(b);
        return java.util.HexFormat.of().formatHex(b);
    }
}
