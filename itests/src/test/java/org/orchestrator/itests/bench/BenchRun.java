package org.orchestrator.itests.bench;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.orchestrator.itests.support.Device;
import org.orchestrator.itests.support.Host;
import org.orchestrator.itests.support.KarafInstance;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One benchmark run on this machine: the floor (docker CLI + ip + curl, no platform), the
 * re-enacted prototype path (bench/prototype), and the orchestrator distribution with real
 * DHCPv6 devices, one at a time and in a burst. Produces a {@link BenchResult}; {@link Report}
 * turns it into report.md and PNG plots.
 *
 * <p>Resources: namespaces {@code orch-bn-*}, links {@code obn*}/{@code obp*}/{@code obq*}/{@code obf*},
 * containers {@code orch-bn-*} and those of provider {@code docker-bn}, nft table {@code orch_bn_inst},
 * files under {@code /run/orch-bn}; ULA prefixes under fd00:7c::/32. Swept at start and at the end.
 */
public final class BenchRun implements AutoCloseable {

    static final String PREFIX = "orch-bn";
    static final List<String> LINK_PREFIXES = List.of("obn", "obp", "obq", "obf");
    static final Path RUN = Path.of("/run/orch-bn");
    static final String IMAGE = "orchestrator/client:latest";

    static final String DEV_BRIDGE = "obn-dev0";
    static final String DEV_GW = "fd00:7c:d::1";
    static final String INST_BRIDGE = "obn-br0";
    static final String INST_PREFIX = "fd00:7c:1:";
    static final String FLOOR_BRIDGE = "obn-fl0";
    static final String FLOOR_PREFIX = "fd00:7c:2::";
    static final String PROTO_DEV_BRIDGE = "obn-pdev0";
    static final String PROTO_DEV_GW = "fd00:7c:e::1";
    static final String PROTO_INST_BRIDGE = "obn-pbr0";
    static final String PROTO_INST_PREFIX = "fd00:7c:3::";
    static final String PROVIDER = "docker-bn";
    static final String SOURCE = "bn-lan";
    static final String NETWORK = "bn-inst";

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern CLIENT_ID = Pattern.compile("option dhcp6.client-id ([0-9a-fA-F]{1,2}(?::[0-9a-fA-F]{1,2})+);");
    private static final Pattern IAADDR = Pattern.compile("iaaddr ([0-9a-f:]+) \\{");

    private final BenchSettings settings;
    private final BenchResult result = new BenchResult();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    private final Map<String, String> instanceAddresses = new ConcurrentHashMap<>();
    private KarafInstance karaf;
    private Process protoHttpd;
    private Process protoDnsmasq;
    private volatile boolean polling;
    private final java.util.concurrent.atomic.AtomicInteger restErrors = new java.util.concurrent.atomic.AtomicInteger();
    private volatile String lastRestError = "";
    private final String token = java.util.UUID.randomUUID().toString();

    public BenchRun(BenchSettings settings) {
        this.settings = settings;
        result.settings = settings;
    }

    // ------------------------------------------------------------------------------------- run

    /** Runs every phase and returns the measurements; resources are removed by {@link #close}. */
    public BenchResult run() throws Exception {
        sweep();
        Files.createDirectories(RUN);
        Files.createDirectories(settings.outDir());
        log("booting the distribution");
        bootKaraf();
        log("floor: %d one at a time, %d with parallelism %d", settings.floorSequential(), settings.floorParallel(),
            settings.parallelism());
        runFloor();
        log("prototype path: %d one at a time, burst of %d", settings.prototypeSequential(), settings.prototypeBurst());
        runPrototype();
        log("orchestrator: %d devices one at a time", settings.sequential());
        runOrchestratorSequential();
        log("orchestrator: burst of %d devices", settings.burst());
        runOrchestratorBurst();
        collectEvents();
        checkDuplicates();
        if (settings.records() > 0) {
            log("filling the store up to %d client records", settings.records());
            fillRecords();
        }
        Host.Result heap = Host.run(30, "jcmd", Long.toString(result.karafPid), "GC.heap_info");
        result.heapInfo = heap.ok() ? heap.out().trim() : "(jcmd GC.heap_info failed: " + heap.out().trim() + ")";
        Host.Result flags = Host.run(30, "jcmd", Long.toString(result.karafPid), "VM.flags");
        result.vmFlags = flags.ok() ? flags.out().trim() : "";
        result.finalRssKb = rssKb("VmRSS");
        result.hwmRssKb = rssKb("VmHWM");
        result.instanceRecords = restList("/instances").size();
        result.clientRecords = restList("/clients").size();
        result.restErrors = restErrors.get();
        return result;
    }

    private void bootKaraf() throws Exception {
        karaf = KarafInstance.prepare("bench");
        String extra = System.getProperty("bench.karafJavaOpts", "");
        if (!extra.isBlank()) {
            // Karaf 4.4's unix scripts set no heap limit (the JVM takes 1/4 of RAM); try e.g. -Xmx256m here
            if (!extra.matches("[A-Za-z0-9:=+._ -]+")) {
                throw new IllegalArgumentException("bench.karafJavaOpts: only JVM flags, got " + extra);
            }
            Files.writeString(karaf.home().resolve("bin/setenv"), "\nexport EXTRA_JAVA_OPTS=\"" + extra + "\"\n",
                java.nio.file.StandardOpenOption.APPEND);
            result.notes.add("Karaf JVM started with EXTRA_JAVA_OPTS=" + extra);
        }
        karaf.config("org.orchestrator.dhcp.dnsmasq-bn", Map.of(
            "dhcp.source.name", SOURCE,
            "interfaceName", DEV_BRIDGE,
            "listenAddress", DEV_GW,
            "prefixLength", "64",
            "leaseTime", "3600",
            "runFolder", RUN.resolve("dnsmasq").toString()));
        karaf.config("org.orchestrator.network.pipework-bn", Map.of(
            "network.name", NETWORK,
            "bridge", INST_BRIDGE,
            "prefix", INST_PREFIX + ":/64",
            "deviceInterface", DEV_BRIDGE,
            "devicePrefix", "fd00:7c:d::/64",
            "vethPrefix", "obn",
            "nftTable", "orch_bn_inst"));
        karaf.config("org.orchestrator.provider.docker-bn", Map.of("name", PROVIDER));
        karaf.config("org.orchestrator.webconsole", Map.of("leaseEventToken", token));
        karaf.config("org.orchestrator.core", Map.of(
            "routes", SOURCE + "=" + PROVIDER + "," + NETWORK,
            "releaseGraceSeconds", "600",
            "reconcileIntervalSeconds", "120",
            "maxInstances", "0",
            "concurrency", Integer.toString(settings.concurrency())));
        Duration boot = karaf.start(Duration.ofSeconds(180));
        result.bootMillis = boot.toMillis();
        long deadline = System.currentTimeMillis() + 60_000;
        while (true) {
            JsonNode health = restGet("/health");
            if (health != null && available(health, PROVIDER) && available(health, SOURCE) && available(health, NETWORK)
                    && Host.run("ip", "link", "show", DEV_BRIDGE).ok()) {
                break;
            }
            if (System.currentTimeMillis() > deadline) {
                throw new AssertionError("platform not ready (provider, source, network): " + health + "\n" + karaf.logTail(40));
            }
            Thread.sleep(250);
        }
        result.karafPid = karaf.process().orElseThrow().pid();
        result.bootRssKb = rssKb("VmRSS");
    }

    private static boolean available(JsonNode health, String name) {
        for (JsonNode c : health.path("components")) {
            if (name.equals(c.path("name").asText()) && c.path("available").asBoolean()) {
                return true;
            }
        }
        return false;
    }

    // ----------------------------------------------------------------------------------- floor

    private void runFloor() throws Exception {
        bridge(FLOOR_BRIDGE, FLOOR_PREFIX + "1/64");
        Path script = settings.repoRoot().resolve("bench/floor/floor-one.sh");
        try {
            for (int i = 1; i <= settings.floorSequential(); i++) {
                long t0 = System.currentTimeMillis();
                String out = mustScript(script, Integer.toString(i), FLOOR_BRIDGE, FLOOR_PREFIX, IMAGE);
                long ms = System.currentTimeMillis() - t0;
                result.floorSequential.add((double) ms);
                String[] parts = out.trim().split("\\s+");
                if (parts.length == 4) {
                    result.floorPhases.add(new double[] {Double.parseDouble(parts[1]), Double.parseDouble(parts[2]),
                        Double.parseDouble(parts[3])});
                }
            }
            removeContainers("label=orch-bn=floor");
            ExecutorService pool = Executors.newFixedThreadPool(settings.parallelism());
            long t0 = System.currentTimeMillis();
            List<Future<Long>> done = new ArrayList<>();
            for (int i = 1; i <= settings.floorParallel(); i++) {
                String idx = Integer.toString(1000 + i);
                done.add(pool.submit(() -> {
                    mustScript(script, idx, FLOOR_BRIDGE, FLOOR_PREFIX, IMAGE);
                    return System.currentTimeMillis();
                }));
            }
            for (Future<Long> f : done) {
                try {
                    result.floorParallelDone.add((double) (f.get(600, TimeUnit.SECONDS) - t0));
                } catch (Exception e) {
                    result.floorParallelFailures++;
                    result.notes.add("floor (parallel) failure: " + e.getMessage());
                }
            }
            pool.shutdownNow();
            result.floorParallelMillis = result.floorParallelDone.stream().mapToDouble(Double::doubleValue).max().orElse(Double.NaN);
        } finally {
            removeContainers("label=orch-bn=floor");
            Host.run("ip", "link", "delete", FLOOR_BRIDGE);
        }
    }

    private static String mustScript(Path script, String... args) {
        List<String> cmd = new ArrayList<>();
        cmd.add("sh");
        cmd.add(script.toString());
        cmd.addAll(List.of(args));
        Host.Result r = Host.run(120, cmd.toArray(String[]::new));
        if (!r.ok()) {
            throw new IllegalStateException(script.getFileName() + " " + String.join(" ", args) + " exited " + r.exit() + ": " + r.out());
        }
        return r.out();
    }

    // ------------------------------------------------------------------------------- prototype

    private void runPrototype() throws Exception {
        Path proto = RUN.resolve("proto");
        Path cgi = proto.resolve("www/cgi-bin");
        Files.createDirectories(cgi);
        Path src = settings.repoRoot().resolve("bench/prototype");
        Files.copy(src.resolve("dhcp-script.sh"), proto.resolve("dhcp-script.sh"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(src.resolve("pipework.sh"), proto.resolve("pipework.sh"), StandardCopyOption.REPLACE_EXISTING);
        Files.copy(src.resolve("handler.sh"), cgi.resolve("event"), StandardCopyOption.REPLACE_EXISTING);
        for (Path p : List.of(proto.resolve("dhcp-script.sh"), proto.resolve("pipework.sh"), cgi.resolve("event"))) {
            p.toFile().setExecutable(true, false);
        }
        Files.writeString(proto.resolve("proto.env"), "BRIDGE=" + PROTO_INST_BRIDGE + "\nPREFIX=" + PROTO_INST_PREFIX
            + "\nGATEWAY=" + PROTO_INST_PREFIX + "1\nIMAGE=" + IMAGE + "\n");
        int port = freePort();
        Files.writeString(proto.resolve("handler.url"), "http://[::1]:" + port + "/cgi-bin/event\n");
        bridge(PROTO_DEV_BRIDGE, PROTO_DEV_GW + "/64");
        bridge(PROTO_INST_BRIDGE, PROTO_INST_PREFIX + "1/64");
        try {
            protoHttpd = new ProcessBuilder("busybox", "httpd", "-f", "-p", "[::1]:" + port, "-h", proto.resolve("www").toString())
                .redirectErrorStream(true).redirectOutput(proto.resolve("httpd.log").toFile()).start();
            protoDnsmasq = new ProcessBuilder("dnsmasq", "--keep-in-foreground", "--port=0", "--interface=" + PROTO_DEV_BRIDGE,
                "--bind-interfaces", "--except-interface=lo", "--log-facility=-",
                "--pid-file=" + proto.resolve("dnsmasq.pid"), "--dhcp-range=fd00:7c:e::1000,fd00:7c:e::1fff,64,3600",
                "--enable-ra", "--leasefile-ro", "--dhcp-script=" + proto.resolve("dhcp-script.sh"))
                .redirectErrorStream(true).redirectOutput(proto.resolve("dnsmasq.out").toFile()).start();
            Thread.sleep(500);
            if (!protoDnsmasq.isAlive() || !protoHttpd.isAlive()) {
                throw new IllegalStateException("prototype dnsmasq/httpd did not start: "
                    + Files.readString(proto.resolve("dnsmasq.out")) + Files.readString(proto.resolve("httpd.log")));
            }
            Target target = p -> Optional.of(PROTO_INST_PREFIX + p.address.substring(p.address.lastIndexOf(':') + 1));
            List<Probe> seq = devices("orch-bn-q", "obn-q", PROTO_DEV_BRIDGE, settings.prototypeSequential());
            for (Probe p : seq) {
                p.requestedAt = System.currentTimeMillis();
                p.device.requestLease();
                follow(p, PROTO_DEV_GW, target, System.currentTimeMillis() + 60_000, 10);
            }
            result.prototypeSequential.addAll(seq);
            closeAll(seq);
            List<Probe> burst = devices("orch-bn-r", "obn-r", PROTO_DEV_BRIDGE, settings.prototypeBurst());
            result.prototypeBurstStart = burst(burst, PROTO_DEV_GW, target);
            result.prototypeBurst.addAll(burst);
            closeAll(burst);
        } finally {
            stopProcess(protoDnsmasq);
            stopProcess(protoHttpd);
            removeContainers("label=orch-bn=proto");
            Host.run("ip", "link", "delete", PROTO_DEV_BRIDGE);
            Host.run("ip", "link", "delete", PROTO_INST_BRIDGE);
        }
    }

    // ---------------------------------------------------------------------------- orchestrator

    private void runOrchestratorSequential() throws Exception {
        Thread poller = startInstancePoller(50);
        try {
            Target target = this::orchestratorAddress;
            List<Probe> seq = devices("orch-bn-d", "obn-d", DEV_BRIDGE, settings.sequential());
            for (Probe p : seq) {
                p.requestedAt = System.currentTimeMillis();
                p.device.requestLease();
                follow(p, DEV_GW, target, System.currentTimeMillis() + 90_000, 10);
            }
            result.sequential.addAll(seq);
        } finally {
            polling = false;
            poller.join(5000);
        }
    }

    private void runOrchestratorBurst() throws Exception {
        List<Probe> burst = devices("orch-bn-b", "obn-b", DEV_BRIDGE, settings.burst());
        Thread poller = startInstancePoller(200);
        List<long[]> rss = Collections.synchronizedList(new ArrayList<>());
        Thread sampler = new Thread(() -> {
            while (polling) {
                rss.add(new long[] {System.currentTimeMillis(), rssKb("VmRSS")});
                sleep(200);
            }
        }, "bench-rss");
        try {
            long[] cpu0 = cpuTicks();
            sampler.start();
            Target target = this::orchestratorAddress;
            result.burstStart = burst(burst, DEV_GW, target);
            long[] cpu1 = cpuTicks();
            result.burstCpuMillis = (cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1]) * 1000.0 / clockTicks();
            result.burst.addAll(burst);
        } finally {
            polling = false;
            poller.join(5000);
            sampler.join(5000);
        }
        result.rssSamples.addAll(rss);
        result.peakRssKb = rss.stream().mapToLong(s -> s[1]).max().orElse(0);
    }

    /** Starts every device's DHCP client within about a second, then follows all of them in parallel. */
    private long burst(List<Probe> probes, String gateway, Target target) throws Exception {
        long deadline = System.currentTimeMillis() + settings.burstTimeoutSeconds() * 1000L;
        ExecutorService starters = Executors.newFixedThreadPool(Math.min(16, probes.size()));
        ExecutorService followers = Executors.newFixedThreadPool(probes.size());
        long t0 = System.currentTimeMillis();
        for (Probe p : probes) {
            starters.submit(() -> {
                p.requestedAt = System.currentTimeMillis();
                p.device.requestLease();
            });
        }
        starters.shutdown();
        starters.awaitTermination(30, TimeUnit.SECONDS);
        List<Future<?>> follows = new ArrayList<>();
        for (Probe p : probes) {
            follows.add(followers.submit(() -> {
                follow(p, gateway, target, deadline, 20);
                return null;
            }));
        }
        for (Future<?> f : follows) {
            try {
                f.get(Math.max(1, deadline - System.currentTimeMillis()) + 10_000, TimeUnit.MILLISECONDS);
            } catch (Exception e) {
                result.notes.add("follower: " + e);
            }
        }
        followers.shutdownNow();
        return t0;
    }

    /** The instance address from the shared poll, or (at most once a second per device) asked directly. */
    private Optional<String> orchestratorAddress(Probe p) {
        if (p.duid == null) {
            return Optional.empty();
        }
        String a = instanceAddresses.get(p.duid);
        if (a == null && System.currentTimeMillis() - p.lastDirectLookup > 1000) {
            p.lastDirectLookup = System.currentTimeMillis();
            for (JsonNode i : restList("/instances")) {
                if (p.duid.equals(i.path("client").asText()) && !i.path("address").isNull() && !i.path("address").asText("").isEmpty()) {
                    a = i.path("address").asText();
                    p.directLookups++;
                }
            }
        }
        return Optional.ofNullable(a);
    }

    private Thread startInstancePoller(long periodMillis) {
        polling = true;
        Thread t = new Thread(() -> {
            while (polling) {
                try {
                    for (JsonNode i : restList("/instances")) {
                        String client = i.path("client").asText(null);
                        String address = i.path("address").asText(null);
                        if (client != null && address != null && !address.isEmpty() && !"null".equals(address)) {
                            instanceAddresses.put(client, address);
                        }
                    }
                } catch (Exception e) {
                    // keep polling: the platform is busy
                }
                sleep(periodMillis);
            }
        }, "bench-instances");
        t.setDaemon(true);
        t.start();
        return t;
    }

    // --------------------------------------------------------------------------------- devices

    /** A device under measurement and what happened to it (epoch milliseconds, 0 = never). */
    static final class Probe {
        final String ns;
        final Device device;
        final Path leaseFile;
        volatile long requestedAt;
        volatile long leaseAt;
        volatile long httpAt;
        volatile String address;
        volatile String duid;
        volatile String instanceAddress;
        volatile String error;
        volatile long lastDirectLookup;
        volatile int directLookups;
        final Map<String, Long> events = new HashMap<>();

        Probe(String ns, Device device, Path leaseFile) {
            this.ns = ns;
            this.device = device;
            this.leaseFile = leaseFile;
        }

        double latency() {
            return leaseAt > 0 && httpAt > 0 ? httpAt - leaseAt : Double.NaN;
        }
    }

    /** How a device learns the address of its instance. */
    interface Target {
        Optional<String> instanceAddress(Probe p) throws Exception;
    }

    private List<Probe> devices(String nsPrefix, String vethPrefix, String bridge, int n) throws Exception {
        Path root = RUN.resolve("devices");
        Files.createDirectories(root);
        List<Probe> probes = Collections.synchronizedList(new ArrayList<>());
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<Probe>> fs = new ArrayList<>();
        for (int i = 1; i <= n; i++) {
            String ns = nsPrefix + i;
            String veth = vethPrefix + i + "h";
            fs.add(pool.submit(() -> {
                Device d = Device.create(ns, veth, bridge, Device.Client.DHCLIENT, root);
                return new Probe(ns, d, root.resolve(ns).resolve("dhclient6.leases"));
            }));
        }
        List<Probe> out = new ArrayList<>();
        for (Future<Probe> f : fs) {
            out.add(f.get(120, TimeUnit.SECONDS));
        }
        pool.shutdown();
        return out;
    }

    /**
     * Follows one device from its DHCP request to its first successful HTTP request to its
     * instance. The Reply's time is the modification time of dhclient's lease file when it first
     * holds an address (dhclient writes it when it binds the lease).
     */
    private void follow(Probe p, String gateway, Target target, long deadline, long pollMillis) {
        try {
            while (p.address == null) {
                if (Files.exists(p.leaseFile)) {
                    String text = Files.readString(p.leaseFile);
                    Matcher m = IAADDR.matcher(text);
                    String last = null;
                    while (m.find()) {
                        last = m.group(1);
                    }
                    if (last != null) {
                        p.leaseAt = Files.getLastModifiedTime(p.leaseFile).toMillis();
                        p.address = last;
                        break;
                    }
                }
                if (System.currentTimeMillis() > deadline) {
                    p.error = "no lease";
                    return;
                }
                sleep(pollMillis);
            }
            p.duid = clientId(Files.readString(p.leaseFile));
            p.lastDirectLookup = System.currentTimeMillis();
            Host.run("ip", "-n", p.ns, "-6", "addr", "replace", p.address + "/128", "dev", "eth0");
            Host.run("ip", "-n", p.ns, "-6", "route", "replace", "default", "via", gateway, "dev", "eth0");
            while (p.instanceAddress == null) {
                p.instanceAddress = target.instanceAddress(p).orElse(null);
                if (p.instanceAddress != null) {
                    break;
                }
                if (System.currentTimeMillis() > deadline) {
                    p.error = "no instance address (" + restErrors.get() + " failed REST calls so far, last: " + lastRestError
                        + "; the client now: " + restGet("/clients/" + p.duid) + ")";
                    return;
                }
                sleep(pollMillis * 2);
            }
            while (true) {
                Host.Result r = Host.run(10, "ip", "netns", "exec", p.ns, "curl", "-6", "-g", "-s", "-f", "-m", "2",
                    "http://[" + p.instanceAddress + "]/");
                if (r.ok() && (p.duid == null || r.out().contains(p.duid))) {
                    p.httpAt = System.currentTimeMillis();
                    return;
                }
                if (System.currentTimeMillis() > deadline) {
                    p.error = "no HTTP answer from " + p.instanceAddress;
                    return;
                }
                sleep(pollMillis * 2);
            }
        } catch (Exception e) {
            p.error = e.toString();
        }
    }

    /**
     * The DUID the client presented, from its lease's {@code option dhcp6.client-id} (hex without
     * leading zeros); {@link Device#duid()} misreads a DUID holding the byte 0x5c (backslash).
     */
    static String clientId(String leaseFile) {
        Matcher m = CLIENT_ID.matcher(leaseFile);
        if (!m.find()) {
            return null;
        }
        StringBuilder sb = new StringBuilder();
        for (String part : m.group(1).split(":")) {
            if (sb.length() > 0) {
                sb.append(':');
            }
            sb.append(part.length() == 1 ? "0" + part : part);
        }
        return sb.toString().toLowerCase(java.util.Locale.ROOT);
    }

    private static void closeAll(List<Probe> probes) {
        for (Probe p : probes) {
            p.device.close();
        }
    }

    // ---------------------------------------------------------------------------- afterwards

    /** Reads the event log and attaches each bench client's phase timestamps to its probe. */
    private void collectEvents() throws Exception {
        Map<String, Probe> byDuid = new HashMap<>();
        for (Probe p : result.sequential) {
            if (p.duid != null) {
                byDuid.put(p.duid, p);
            }
        }
        for (Probe p : result.burst) {
            if (p.duid != null) {
                byDuid.put(p.duid, p);
            }
        }
        long since = 0;
        for (int page = 0; page < 100; page++) {
            List<JsonNode> events = restList("/events?since=" + since + "&limit=10000");
            if (events.isEmpty()) {
                break;
            }
            for (JsonNode e : events) {
                since = Math.max(since, e.path("seq").asLong());
                String kind = e.path("kind").asText();
                String message = e.path("message").asText("");
                if ("FAILED".equals(kind) || message.contains("-> FAILED")) {
                    result.failures++;
                }
                Probe p = byDuid.get(e.path("client").asText(""));
                if (p == null) {
                    continue;
                }
                long at = Instant.parse(e.path("at").asText()).toEpochMilli();
                String key = switch (kind) {
                    case "LEASE_ADDED" -> "lease";
                    case "STATE" -> message.contains("-> PROVISIONING") ? "provisioning"
                        : message.contains("READY") ? "ready" : null;
                    case "PROVISIONED" -> "provisioned";
                    case "ATTACHED" -> "attached";
                    case "PINNED" -> "pinned";
                    default -> null;
                };
                if (key != null) {
                    p.events.putIfAbsent(key, at);
                }
            }
        }
    }

    /** Duplicates: two containers for one client, two instances for one client, one address twice. */
    private void checkDuplicates() throws Exception {
        Map<String, Integer> perClient = new HashMap<>();
        for (String client : Host.lines("docker", "ps", "-a", "--filter", "label=org.orchestrator.provider=" + PROVIDER,
                "--format", "{{.Label \"org.orchestrator.client\"}}")) {
            perClient.merge(client.trim(), 1, Integer::sum);
        }
        int dup = 0;
        for (int c : perClient.values()) {
            dup += Math.max(0, c - 1);
        }
        result.containers = perClient.values().stream().mapToInt(Integer::intValue).sum();
        Map<String, Integer> instancesPerClient = new HashMap<>();
        Map<String, Integer> perAddress = new HashMap<>();
        for (JsonNode i : restList("/instances")) {
            instancesPerClient.merge(i.path("client").asText(), 1, Integer::sum);
            String a = i.path("address").asText("");
            if (!a.isEmpty() && !"null".equals(a)) {
                perAddress.merge(a, 1, Integer::sum);
            }
        }
        for (int c : instancesPerClient.values()) {
            dup += Math.max(0, c - 1);
        }
        for (int c : perAddress.values()) {
            dup += Math.max(0, c - 1);
        }
        Map<String, Integer> deviceAddresses = new HashMap<>();
        for (List<Probe> l : List.of(result.sequential, result.burst)) {
            for (Probe p : l) {
                if (p.address != null) {
                    deviceAddresses.merge(p.address, 1, Integer::sum);
                }
            }
        }
        for (int c : deviceAddresses.values()) {
            dup += Math.max(0, c - 1);
        }
        result.duplicated = dup;
    }

    /**
     * Adds client records up to {@code settings.records()} through the REST lease-event intake, from
     * a source that no route serves (they stay PENDING: records without containers), then samples
     * the Karaf JVM's RSS.
     */
    private void fillRecords() throws Exception {
        int have = restList("/clients").size();
        long expires = System.currentTimeMillis() / 1000 + 3600;
        for (int i = have; i < settings.records(); i++) {
            String body = String.format("{\"type\":\"ADDED\",\"duid\":\"00:04:6f:72:63:68:62:6e:%02x:%02x\",\"iaid\":%d,"
                + "\"address\":\"fd00:7c:f::%x\",\"source\":\"bn-ghost\",\"expiresAt\":%d}", (i >> 8) & 0xff, i & 0xff, i, i + 16, expires);
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1/lease-events"))
                .timeout(Duration.ofSeconds(20)).header("X-Orchestrator-Token", token).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2) {
                result.notes.add("lease-event POST answered " + r.statusCode() + ": " + r.body());
                break;
            }
        }
        sleep(3000);
        result.recordsRssKb = rssKb("VmRSS");
        result.recordsClients = restList("/clients").size();
    }

    // ---------------------------------------------------------------------------------- helpers

    private JsonNode restGet(String path) {
        try {
            String auth = "admin:" + karaf.adminPassword();
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1" + path))
                .timeout(Duration.ofSeconds(20))
                .header("Authorization", "Basic " + Base64.getEncoder().encodeToString(auth.getBytes(StandardCharsets.UTF_8)))
                .GET().build();
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200) {
                return JSON.readTree(r.body());
            }
            restErrors.incrementAndGet();
            lastRestError = "GET " + path + " answered " + r.statusCode() + ": " + r.body().substring(0, Math.min(200, r.body().length()));
            return null;
        } catch (Exception e) {
            restErrors.incrementAndGet();
            lastRestError = "GET " + path + ": " + e;
            return null;
        }
    }

    private List<JsonNode> restList(String path) {
        JsonNode n = restGet(path);
        List<JsonNode> out = new ArrayList<>();
        if (n != null && n.isArray()) {
            n.forEach(out::add);
        }
        return out;
    }

    long rssKb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc", Long.toString(result.karafPid), "status"))) {
                if (line.startsWith(field + ":")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // process gone
        }
        return 0;
    }

    private long[] cpuTicks() throws IOException {
        String stat = Files.readString(Path.of("/proc", Long.toString(result.karafPid), "stat"));
        // fields after the command name in parentheses; utime and stime are fields 14 and 15
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return new long[] {Long.parseLong(f[11]), Long.parseLong(f[12])};
    }

    private static long clockTicks() {
        Host.Result r = Host.run("getconf", "CLK_TCK");
        try {
            return r.ok() ? Long.parseLong(r.out().trim()) : 100;
        } catch (NumberFormatException e) {
            return 100;
        }
    }

    private static void bridge(String name, String cidr) {
        Host.run("ip", "link", "delete", name);
        Host.must("ip", "link", "add", name, "type", "bridge");
        Host.must("sysctl", "-qw", "net.ipv6.conf." + name + ".disable_ipv6=0");
        Host.must("ip", "-6", "addr", "add", cidr, "dev", name, "nodad");
        Host.must("ip", "link", "set", name, "up");
    }

    private static void removeContainers(String filter) {
        List<String> ids = Host.lines("docker", "ps", "-aq", "--filter", filter);
        if (!ids.isEmpty()) {
            List<String> cmd = new ArrayList<>(List.of("docker", "rm", "-f"));
            cmd.addAll(ids);
            Host.run(300, cmd.toArray(String[]::new));
        }
    }

    private static void stopProcess(Process p) {
        if (p != null && p.isAlive()) {
            p.destroy();
            try {
                if (!p.waitFor(5, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void log(String format, Object... args) {
        System.out.printf("[bench %s] %s%n", java.time.LocalTime.now().withNano(0), String.format(format, args));
    }

    /** Removes everything a run of the benchmark may have left (only its own names). */
    public static void sweep() {
        Host.sweep(PREFIX);
        removeContainers("label=org.orchestrator.provider=" + PROVIDER);
        removeContainers("label=orch-bn");
        for (String link : Host.lines("ip", "-o", "link", "show")) {
            String[] parts = link.split(":\\s+", 3);
            if (parts.length > 1) {
                String name = parts[1].split("@", 2)[0];
                if (LINK_PREFIXES.stream().anyMatch(name::startsWith)) {
                    Host.run("ip", "link", "delete", name);
                }
            }
        }
        Host.run("rm", "-rf", RUN.toString());
        for (String dir : Host.lines("ls", "/etc/netns")) {
            if (dir.startsWith(PREFIX)) {
                Host.run("rm", "-rf", "/etc/netns/" + dir);
            }
        }
    }

    @Override
    public void close() throws Exception {
        polling = false;
        try {
            stopProcess(protoDnsmasq);
            stopProcess(protoHttpd);
            if (karaf != null) {
                karaf.stop(Duration.ofSeconds(60));
            }
        } finally {
            sweep();
        }
    }
}
