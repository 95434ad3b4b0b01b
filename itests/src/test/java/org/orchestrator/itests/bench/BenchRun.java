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
import java.util.concurrent.CompletableFuture;
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
    private static final Pattern PROBER_OK = Pattern.compile("OK ([0-9]+[.,][0-9]+) ([0-9]+) ([0-9]+[.,][0-9]+)");
    private static final Pattern METRIC_COUNTER = Pattern.compile("(?m)^orchestrator_events_total\\{event=\"([^\"]+)\"\\} ([0-9.eE+]+)$");

    private final BenchSettings settings;
    private final BenchResult result = new BenchResult();
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
        .connectTimeout(Duration.ofSeconds(5)).build();
    private final Map<String, String> instanceAddresses = new ConcurrentHashMap<>();
    /** Runs each device's look-up of its instance address beside the device's own set-up. */
    private final ExecutorService lookups = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "bench-lookup");
        t.setDaemon(true);
        return t;
    });
    private KarafInstance karaf;
    private Process protoHttpd;
    private Process protoDnsmasq;
    private volatile boolean polling;
    private final java.util.concurrent.atomic.AtomicInteger restErrors = new java.util.concurrent.atomic.AtomicInteger();
    private volatile String lastRestError = "";
    private final String token = java.util.UUID.randomUUID().toString();
    private volatile String authorization;

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
        if (settings.poolSequential() > 0) {
            log("orchestrator with a warm pool of %d: %d devices one at a time", settings.poolSize(), settings.poolSequential());
            runOrchestratorPooled();
        }
        collectEvents();
        checkDuplicates();
        measureLookupCost();
        Host.Result heap = Host.run(30, "jcmd", Long.toString(result.karafPid), "GC.heap_info");
        result.heapInfo = heap.ok() ? heap.out().trim() : "(jcmd GC.heap_info failed: " + heap.out().trim() + ")";
        Host.Result flags = Host.run(30, "jcmd", Long.toString(result.karafPid), "VM.flags");
        result.vmFlags = flags.ok() ? flags.out().trim() : "";
        result.finalRssKb = rssKb("VmRSS");
        result.hwmRssKb = rssKb("VmHWM");
        result.instanceRecords = restList("/instances").size();
        result.clientRecords = restList("/clients").size();
        if (settings.records() > 0) {
            log("store with %d instance records: ghost clients, Karaf stopped, historic instance rows added, Karaf started",
                settings.records());
            fillRecords();
        }
        result.restErrors = restErrors.get();
        return result;
    }

    private void bootKaraf() throws Exception {
        karaf = KarafInstance.prepare("bench");
        String extra = System.getProperty("bench.karafJavaOpts", "");
        if (!extra.isBlank()) {
            // replaces the JVM bounds bin/setenv sets when EXTRA_JAVA_OPTS is not exported (e.g. -Xmx256m)
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
        coreConfig(0);
        Duration boot = karaf.start(Duration.ofSeconds(180));
        result.bootMillis = boot.toMillis();
        awaitPlatform();
        result.karafPid = karaf.process().orElseThrow().pid();
        result.bootRssKb = rssKb("VmRSS");
    }

    /** Writes core's policy; {@code poolSize} 0 turns the warm pool off. */
    private void coreConfig(int poolSize) throws IOException {
        karaf.config("org.orchestrator.core", Map.of(
            "routes", SOURCE + "=" + PROVIDER + "," + NETWORK,
            "releaseGraceSeconds", "600",
            "reconcileIntervalSeconds", "120",
            "maxInstances", "0",
            "concurrency", Integer.toString(settings.concurrency()),
            "poolSize", Integer.toString(poolSize)));
    }

    /** Waits (60 s at most) until provider, DHCP source and network are available and the device bridge exists. */
    private void awaitPlatform() throws Exception {
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
        int port = Host.freeTcpPort();
        Files.writeString(proto.resolve("handler.url"), "http://[::1]:" + port + "/cgi-bin/event\n");
        bridge(PROTO_DEV_BRIDGE, PROTO_DEV_GW + "/64");
        bridge(PROTO_INST_BRIDGE, PROTO_INST_PREFIX + "1/64");
        // The prototype's instance address is known before its container exists, so curl tries at once and the
        // host's neighbour solicitation for it is pending: with the default 1 s between solicitations the device
        // would reach its instance up to a second late. Solicit every 10 ms on this (the harness's own) bridge.
        Host.must("sysctl", "-qw", "net.ipv6.neigh." + PROTO_INST_BRIDGE + ".retrans_time_ms=10");
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
                follow(p, PROTO_DEV_GW, target, System.currentTimeMillis() + 60_000, ONE_AT_A_TIME);
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

    /**
     * How often a follower looks. One at a time nothing else runs, so the device's own client and
     * instance are asked for directly and curl is retried every {@value #FINE_MILLIS} ms (default): the
     * harness must not add the ~100 ms that the warm pool's target (120 ms) cannot afford. In a
     * burst, a shared poll of {@code GET /instances} every {@value #SHARED_POLL_MILLIS} ms serves
     * every follower (a hundred followers asking every 10 ms would be the load being measured).
     *
     * @param leaseMillis  between reads of the device's lease file
     * @param lookupMillis between looks for the instance address
     * @param curlMillis   between HTTP attempts from the device
     */
    record Pace(long leaseMillis, long lookupMillis, long curlMillis) {
    }

    static final long FINE_MILLIS = 10;
    static final long SHARED_POLL_MILLIS = 200;
    /** Look-up and curl intervals can be changed ({@code -Dbench.lookupMillis}, {@code -Dbench.curlMillis}) to see the harness's share. */
    static final Pace ONE_AT_A_TIME = new Pace(FINE_MILLIS, Long.getLong("bench.lookupMillis", FINE_MILLIS),
        Long.getLong("bench.curlMillis", FINE_MILLIS));
    static final Pace BURST = new Pace(20, 40, 40);
    /** How often a device in the burst asks for its instance directly when the shared poll lacks it. */
    static final long BURST_DIRECT_MILLIS = 5000;
    /** How long one device's client look-up waits in the REST API for READY (one at a time). */
    static final int CLIENT_WAIT_SECONDS = 15;

    private void runOrchestratorSequential() throws Exception {
        List<Probe> seq = devices("orch-bn-d", "obn-d", DEV_BRIDGE, settings.sequential());
        for (Probe p : seq) {
            p.requestedAt = System.currentTimeMillis();
            p.device.requestLease();
            follow(p, DEV_GW, this::directAddress, System.currentTimeMillis() + 90_000, ONE_AT_A_TIME);
        }
        result.sequential.addAll(seq);
    }

    private void runOrchestratorBurst() throws Exception {
        List<Probe> burst = devices("orch-bn-b", "obn-b", DEV_BRIDGE, settings.burst());
        Thread poller = startInstancePoller(SHARED_POLL_MILLIS);
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
            result.burstStart = burst(burst, DEV_GW, this::sharedAddress);
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

    /**
     * The warm pool on: {@code poolSize} spares, then devices one at a time, each started only when
     * at least one spare is ready (30 s at most), followed like the other one-at-a-time devices.
     * The pool is turned off again (and its spares retired) afterwards, also on failure.
     */
    private void runOrchestratorPooled() throws Exception {
        Map<String, Long> before = metricCounters();
        long t0 = System.currentTimeMillis();
        coreConfig(settings.poolSize());
        try {
            List<Probe> probes = devices("orch-bn-w", "obn-w", DEV_BRIDGE, settings.poolSequential());
            JsonNode full = awaitPool(p -> p.path("ready").asInt() >= settings.poolSize() && p.path("starting").asInt() == 0,
                180_000);
            if (full == null) {
                result.notes.add("warm pool: not full within 180 s after poolSize=" + settings.poolSize() + " (last: "
                    + restGet("/pool") + "); devices joined anyway");
            } else {
                result.poolFillMillis = System.currentTimeMillis() - t0;
            }
            for (Probe p : probes) {
                JsonNode pool = awaitPool(x -> x.path("ready").asInt() >= 1, 30_000);
                if (pool == null) {
                    result.notes.add("warm pool: no spare ready within 30 s before " + p.ns + " (last: " + restGet("/pool") + ")");
                } else {
                    p.poolReadyBefore = pool.path("ready").asInt();
                }
                p.requestedAt = System.currentTimeMillis();
                p.device.requestLease();
                follow(p, DEV_GW, this::directAddress, System.currentTimeMillis() + 90_000, ONE_AT_A_TIME);
            }
            result.pooled.addAll(probes);
            Map<String, Long> after = metricCounters();
            result.poolMetricHits = after.getOrDefault("pool.hit", 0L) - before.getOrDefault("pool.hit", 0L);
            result.poolMetricMisses = after.getOrDefault("pool.miss", 0L) - before.getOrDefault("pool.miss", 0L);
        } finally {
            coreConfig(0);
            long deadline = System.currentTimeMillis() + 90_000;
            List<JsonNode> pools = restList("/pool");
            java.util.Set<String> spares = spareContainers();
            while ((!pools.isEmpty() || !spares.isEmpty()) && System.currentTimeMillis() < deadline) {
                sleep(250);
                pools = restList("/pool");
                spares = spareContainers();
            }
            if (!pools.isEmpty() || !spares.isEmpty()) {
                result.notes.add("warm pool: 90 s after poolSize=0 still listed " + pools + ", spare containers " + spares);
            }
        }
    }

    /**
     * Polls {@code GET /pool} (every 50 ms, at most {@code timeoutMillis}) until its one pool
     * satisfies {@code condition}; null when it did not in time.
     */
    private JsonNode awaitPool(java.util.function.Predicate<JsonNode> condition, long timeoutMillis) {
        long deadline = System.currentTimeMillis() + timeoutMillis;
        do {
            for (JsonNode pool : restList("/pool")) {
                if (PROVIDER.equals(pool.path("provider").asText()) && condition.test(pool)) {
                    return pool;
                }
            }
            sleep(50);
        } while (System.currentTimeMillis() < deadline);
        return null;
    }

    /** Instance labels of the provider's containers that are no live instance (spares, or orphans). */
    private java.util.Set<String> spareContainers() {
        java.util.Set<String> out = new java.util.HashSet<>(Host.lines("docker", "ps", "-a", "--filter",
            "label=org.orchestrator.provider=" + PROVIDER, "--format", "{{.Label \"org.orchestrator.instance\"}}"));
        out.removeIf(String::isBlank);
        for (JsonNode i : restList("/instances")) {
            out.remove(i.path("id").asText());
        }
        return out;
    }

    /** Core's counters from {@code GET /metrics} (Prometheus text): {@code orchestrator_events_total{event="x"} n}. */
    private Map<String, Long> metricCounters() {
        Map<String, Long> out = new HashMap<>();
        String text = restText("/metrics");
        if (text != null) {
            Matcher m = METRIC_COUNTER.matcher(text);
            while (m.find()) {
                out.put(m.group(1), (long) Double.parseDouble(m.group(2)));
            }
        }
        return out;
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
                follow(p, gateway, target, deadline, BURST);
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

    /**
     * The device's own instance address, asked directly: {@code GET /clients/{duid}}, whose answer
     * names the instance and, once it is attached, its address ({@code instanceAddress}); only when
     * it names no address (FAILED, or a REST API without the field), {@code GET /instances/{id}}.
     */
    private Optional<String> directAddress(Probe p) {
        return lookUp(p, true);
    }

    /**
     * @param wait whether the client look-up waits in the REST API until the client is READY (or
     *             FAILED) — one request instead of one every few milliseconds, whose CPU the Karaf
     *             JVM would take from the work measured; its waiting is not counted as look-up time
     */
    private Optional<String> lookUp(Probe p, boolean wait) {
        if (p.instanceId == null) {
            long t0 = System.nanoTime();
            if (wait) {
                p.askedAt = System.currentTimeMillis();
            }
            JsonNode c = restGet("/clients/" + p.duid + (wait ? "?state=READY&state=FAILED&wait=" + CLIENT_WAIT_SECONDS : ""), true);
            if (wait) {
                p.answeredAt = System.currentTimeMillis();
            } else {
                p.lookupNanos += System.nanoTime() - t0;
                p.directLookups++;
            }
            String id = c == null ? null : text(c, "instanceId");
            if (id == null) {
                return Optional.empty();
            }
            p.instanceId = id;
            String address = text(c, "instanceAddress");
            if (address != null) {
                return Optional.of(address);
            }
        }
        long t0 = System.nanoTime();
        JsonNode i = restGet("/instances/" + p.instanceId, true);
        p.lookupNanos += System.nanoTime() - t0;
        p.directLookups++;
        if (i == null) {
            // the instance was replaced (a pool fallback keeps the id; a repair may not): ask for the client again
            p.instanceId = null;
            return Optional.empty();
        }
        return p.duid.equals(text(i, "client")) ? Optional.ofNullable(text(i, "address")) : Optional.empty();
    }

    /**
     * The instance address from the shared poll, or (at most every {@value #BURST_DIRECT_MILLIS} ms per
     * device, a fallback) asked directly: a hundred devices asking every second cost the Karaf JVM
     * about half of its CPU in the burst (JFR: Jetty and Jersey threads), CPU the floor never spends.
     */
    private Optional<String> sharedAddress(Probe p) {
        String a = instanceAddresses.get(p.duid);
        if (a == null && System.currentTimeMillis() - p.lastDirectLookup > BURST_DIRECT_MILLIS) {
            p.lastDirectLookup = System.currentTimeMillis();
            a = lookUp(p, false).orElse(null);
        }
        return Optional.ofNullable(a);
    }

    private Thread startInstancePoller(long periodMillis) {
        polling = true;
        Thread t = new Thread(() -> {
            while (polling) {
                try {
                    for (JsonNode i : restList("/instances")) {
                        String client = text(i, "client");
                        String address = text(i, "address");
                        if (client != null && address != null) {
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

    /** A JSON field's text, or null when it is missing, null or empty. */
    private static String text(JsonNode node, String field) {
        JsonNode v = node.path(field);
        return v.isMissingNode() || v.isNull() || v.asText("").isEmpty() ? null : v.asText();
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
        /** From handing the instance address to the prober until its successful curl exited. */
        volatile long httpCallMillis = -1;
        /** The successful HTTP request itself (curl's time_total). */
        volatile long httpRequestMillis = -1;
        volatile String address;
        volatile String duid;
        volatile String instanceId;
        volatile String instanceAddress;
        volatile String error;
        volatile long lastDirectLookup;
        /** REST calls made to learn the instance address, and the time spent in them. */
        volatile int directLookups;
        volatile long lookupNanos;
        volatile int curlAttempts;
        /** Harness times (epoch ms, 0 = never): lease seen in the file, the waiting client look-up sent and answered, address handed to the prober. */
        volatile long leaseSeenAt;
        volatile long askedAt;
        volatile long answeredAt;
        volatile long givenAt;
        /** Set when the harness stops following the device: its look-up, if still running, stops too. */
        volatile boolean followEnded;
        /** Warm-pool phase: spares ready when the device was started (-1 = not known). */
        volatile int poolReadyBefore = -1;
        final Map<String, Long> events = new ConcurrentHashMap<>();

        Probe(String ns, Device device, Path leaseFile) {
            this.ns = ns;
            this.device = device;
            this.leaseFile = leaseFile;
        }

        double latency() {
            return leaseAt > 0 && httpAt > 0 ? httpAt - leaseAt : Double.NaN;
        }

        /** Warm-pool phase: the client claimed a spare and kept it (no fallback to provisioning). */
        boolean poolHit() {
            return events.containsKey("claimed") && !events.containsKey("fallback") && !events.containsKey("provisioned");
        }
    }

    /** How a device learns the address of its instance. */
    interface Target {
        Optional<String> instanceAddress(Probe p) throws Exception;
    }

    private List<Probe> devices(String nsPrefix, String vethPrefix, String bridge, int n) throws Exception {
        Path root = RUN.resolve("devices");
        Files.createDirectories(root);
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
     * holds an address (dhclient writes it when it binds the lease). Address and DUID are taken
     * from one read of the file: dhclient rewrites it (truncate, write), and a second read could
     * see it cut short.
     */
    void follow(Probe p, String gateway, Target target, long deadline, Pace pace) {
        Process prober = null;
        try {
            // started before the lease: its own start (ip netns exec, bash) is not on the measured path
            prober = startProber(p, deadline, pace);
            while (true) {
                DhclientLease lease = Files.exists(p.leaseFile)
                    ? DhclientLease.parse(Files.readString(p.leaseFile, StandardCharsets.ISO_8859_1))
                    : new DhclientLease(null, null);
                if (lease.address() != null && p.leaseAt == 0) {
                    p.leaseAt = Files.getLastModifiedTime(p.leaseFile).toMillis();
                }
                if (lease.address() != null && lease.clientId() != null) {
                    p.leaseSeenAt = System.currentTimeMillis();
                    p.address = lease.address();
                    p.duid = lease.clientId();
                    break;
                }
                if (System.currentTimeMillis() > deadline) {
                    p.error = lease.address() == null ? "no lease"
                        : "duid unknown: the lease file holds " + lease.address() + " but no option dhcp6.client-id";
                    return;
                }
                sleep(pace.leaseMillis());
            }
            // The device configures its lease while it asks for its instance, as a device would:
            // neither waits for the other, and the first request needs both.
            CompletableFuture<String> asked = CompletableFuture.supplyAsync(() -> awaitInstanceAddress(p, target, deadline, pace), lookups);
            p.device.takeLease(p.address, gateway);
            p.instanceAddress = asked.get(Math.max(1, deadline - System.currentTimeMillis()) + 5_000, TimeUnit.MILLISECONDS);
            if (p.instanceAddress == null) {
                p.error = p.error != null ? p.error : "no instance address: " + whyNoAddress(p);
                return;
            }
            long given = System.currentTimeMillis();
            p.givenAt = given;
            try (java.io.Writer w = new java.io.OutputStreamWriter(prober.getOutputStream(), StandardCharsets.US_ASCII)) {
                w.write(p.instanceAddress + " " + p.duid + "\n");
            }
            boolean ended = prober.waitFor(Math.max(1, deadline - System.currentTimeMillis()) + 5_000, TimeUnit.MILLISECONDS);
            String out = ended ? new String(prober.getInputStream().readAllBytes(), StandardCharsets.UTF_8) : "";
            Matcher ok = PROBER_OK.matcher(out);
            if (ended && prober.exitValue() == 0 && ok.find()) {
                p.httpAt = Math.round(Double.parseDouble(ok.group(1).replace(',', '.')) * 1000);
                p.curlAttempts = Integer.parseInt(ok.group(2));
                p.httpRequestMillis = Math.round(Double.parseDouble(ok.group(3).replace(',', '.')) * 1000);
                p.httpCallMillis = p.httpAt - given;
            } else {
                p.error = "no HTTP answer naming " + p.duid + " from " + p.instanceAddress + " by the deadline ("
                    + (ended ? "prober exited " + prober.exitValue() + ": " + out.trim() : "prober still running") + ")";
            }
        } catch (Exception e) {
            p.error = e.toString();
        } finally {
            p.followEnded = true;
            if (prober != null && prober.isAlive()) {
                prober.descendants().forEach(ProcessHandle::destroyForcibly);
                prober.destroyForcibly();
            }
        }
    }

    /** The instance address as {@code target} tells it, asked every {@code pace.lookupMillis()} until the deadline; null when never. */
    private String awaitInstanceAddress(Probe p, Target target, long deadline, Pace pace) {
        try {
            while (System.currentTimeMillis() <= deadline && !p.followEnded) {
                Optional<String> a = target.instanceAddress(p);
                if (a.isPresent()) {
                    return a.get();
                }
                sleep(pace.lookupMillis());
            }
        } catch (Exception e) {
            p.error = "instance address look-up failed: " + e;
        }
        return null;
    }

    /**
     * The device's HTTP prober: bash inside the device's namespace, started before the device has
     * its lease, that reads the instance address and the device's DUID from its input and then runs curl (every
     * {@code curlMillis}, bounded in attempts) until the answer names the device's DUID. It prints
     * {@code OK <epoch seconds> <attempts> <curl time_total>} with the time taken in the namespace
     * right after curl exited, so neither {@code ip netns exec} nor the JVM's process handling is
     * part of the measured time; only curl's own start is. A connection not made within 0.2 s is
     * tried again: a SYN lost while the instance is still being wired would otherwise wait for
     * TCP's retransmission a second later.
     */
    private static Process startProber(Probe p, long deadline, Pace pace) throws IOException {
        long attempts = Math.max(1, (deadline - System.currentTimeMillis()) / Math.max(1, pace.curlMillis()));
        ProcessBuilder pb = new ProcessBuilder("ip", "netns", "exec", p.ns, "bash", "-c", PROBER, "bench-prober",
            Long.toString(Math.min(attempts, 100_000)), String.format(java.util.Locale.ROOT, "%.3f", pace.curlMillis() / 1000.0))
            .redirectErrorStream(true);
        pb.environment().put("LC_ALL", "C");
        return pb.start();
    }

    /** $1 = most attempts, $2 = seconds between attempts; input: the instance address and the text the page must hold (the DUID). */
    private static final String PROBER = """
        read -r addr want || exit 3
        n=0
        while [ "$n" -lt "$1" ]; do
          n=$((n + 1))
          if out=$(curl -6 -g -s -f --connect-timeout 0.2 -m 2 -w '\n%{time_total}' "http://[$addr]/"); then
            at=$EPOCHREALTIME
            case "$out" in *"$want"*) echo "OK $at $n ${out##*$'\n'}"; exit 0 ;; esac
          fi
          sleep "$2"
        done
        echo "FAIL after $n attempts"
        exit 1
        """;

    /** Why a device with a known DUID never learnt its instance address, in the orchestrator's words. */
    private String whyNoAddress(Probe p) {
        String rest = " (" + restErrors.get() + " failed REST calls so far, last: " + lastRestError + ")";
        if (p.duid == null) {
            return "duid unknown" + rest;
        }
        JsonNode c = restGet("/clients/" + p.duid, true);
        if (c == null) {
            return "core has no client " + p.duid + rest;
        }
        String id = text(c, "instanceId");
        if (id == null) {
            return "client " + p.duid + " has no instance: state " + text(c, "state") + ", reason " + text(c, "reason") + rest;
        }
        JsonNode i = restGet("/instances/" + id, true);
        if (i == null) {
            return "client " + p.duid + " names instance " + id + ", which core does not know" + rest;
        }
        return "instance " + id + " of client " + p.duid + " (state " + text(c, "state") + ") has no address: " + i + rest;
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
        for (List<Probe> l : List.of(result.sequential, result.burst, result.pooled)) {
            for (Probe p : l) {
                if (p.duid != null) {
                    byDuid.put(p.duid, p);
                }
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
                    case "CLAIMED" -> "claimed";
                    case "PERSONALISED" -> "personalised";
                    case "POOL_FALLBACK" -> "fallback";
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

    /**
     * Duplicates: two containers for one instance, two instances for one client, one instance
     * address twice, one device address twice. Containers are grouped by their instance label: a
     * claimed spare keeps the spare's client label (Docker cannot change labels).
     */
    private void checkDuplicates() throws Exception {
        Map<String, Integer> perInstance = new HashMap<>();
        for (String instance : Host.lines("docker", "ps", "-a", "--filter", "label=org.orchestrator.provider=" + PROVIDER,
                "--format", "{{.Label \"org.orchestrator.instance\"}}")) {
            perInstance.merge(instance.trim(), 1, Integer::sum);
        }
        int dup = 0;
        for (int c : perInstance.values()) {
            dup += Math.max(0, c - 1);
        }
        result.containers = perInstance.values().stream().mapToInt(Integer::intValue).sum();
        Map<String, Integer> instancesPerClient = new HashMap<>();
        Map<String, Integer> perAddress = new HashMap<>();
        for (JsonNode i : restList("/instances")) {
            instancesPerClient.merge(i.path("client").asText(), 1, Integer::sum);
            String a = text(i, "address");
            if (a != null) {
                perAddress.merge(a, 1, Integer::sum);
            }
            perInstance.remove(i.path("id").asText());
        }
        for (int c : instancesPerClient.values()) {
            dup += Math.max(0, c - 1);
        }
        for (int c : perAddress.values()) {
            dup += Math.max(0, c - 1);
        }
        Map<String, Integer> deviceAddresses = new HashMap<>();
        for (List<Probe> l : List.of(result.sequential, result.burst, result.pooled)) {
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
        // the pool is off again by now: a container of the provider that is no live instance is an orphan (or a spare not retired)
        result.orphanContainers = perInstance.values().stream().mapToInt(Integer::intValue).sum();
        if (result.orphanContainers > 0) {
            result.notes.add("containers of " + PROVIDER + " that are no live instance (orphans or spares not retired): "
                + perInstance.keySet());
        }
    }

    /**
     * What one direct look-up costs the Karaf JVM: 100 {@code GET /instances/{id}} of a device's
     * instance in a row, with the JVM's CPU time (utime + stime) before and after. The one-at-a-time
     * followers make tens of these per device; the report says how much of the measured JVM's time
     * that is.
     */
    private void measureLookupCost() throws IOException {
        Probe probe = null;
        for (List<Probe> l : List.of(result.pooled, result.sequential)) {
            for (Probe p : l) {
                if (probe == null && p.instanceId != null) {
                    probe = p;
                }
            }
        }
        if (probe == null) {
            return;
        }
        int n = 100;
        long[] cpu0 = cpuTicks();
        long t0 = System.nanoTime();
        for (int k = 0; k < n; k++) {
            restGet("/instances/" + probe.instanceId, true);
        }
        long wall = System.nanoTime() - t0;
        long[] cpu1 = cpuTicks();
        result.lookupWallMillis = wall / 1e6 / n;
        result.lookupCpuMillis = (cpu1[0] + cpu1[1] - cpu0[0] - cpu0[1]) * 1000.0 / clockTicks() / n;
    }

    /**
     * Makes the store hold {@code settings.records()} instance records and as many clients, then
     * samples the Karaf JVM's RSS. Clients: ghost clients through the REST lease-event intake, from
     * a source that no route serves (they stay PENDING: no containers). Instance records: an
     * instance row is kept after its container is destroyed ({@code destroyed_at} set), so Karaf is
     * stopped, the ghost clients are given historic (destroyed) instance rows, each with its
     * {@code DESTROYED} audit entry, through JDBC in the H2 file store, and Karaf is started again.
     * After a reconcile pass and reads of {@code /instances}, {@code /clients}, {@code /events} and
     * every historic instance, the RSS is sampled every 200 ms for 10 s; the maximum is reported.
     */
    private void fillRecords() throws Exception {
        long t0 = System.currentTimeMillis();
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
        String url = storeUrl();
        if (url == null) {
            return;
        }
        karaf.stop(Duration.ofSeconds(90));
        List<String> historic = addHistoricInstances(url, settings.records());
        Duration boot = karaf.start(Duration.ofSeconds(180));
        result.restartMillis = boot.toMillis();
        awaitPlatform();
        result.karafPid = karaf.process().orElseThrow().pid();
        HttpResponse<String> reconcile = restCall("POST", "/reconcile", null, Duration.ofSeconds(300), false);
        if (reconcile == null || reconcile.statusCode() != 200) {
            result.notes.add("records: the reconcile pass after the restart failed: "
                + (reconcile == null ? lastRestError : reconcile.statusCode() + " " + reconcile.body()));
        }
        int live = restList("/instances").size();
        result.recordsClients = restList("/clients").size();
        result.recordsEvents = restList("/events?limit=10000").size();
        int found = 0;
        for (String id : historic) {
            JsonNode i = restGet("/instances/" + id);
            if (i != null && id.equals(text(i, "id"))) {
                found++;
            }
        }
        result.recordsLiveInstances = live;
        result.recordsHistoricInstances = found;
        if (found < historic.size()) {
            result.notes.add("records: " + (historic.size() - found) + " of " + historic.size()
                + " historic instance rows written through JDBC were not found through GET /instances/{id}");
        }
        long max = 0;
        for (int k = 0; k < 50; k++) {
            max = Math.max(max, rssKb("VmRSS"));
            sleep(200);
        }
        result.recordsRssKb = max;
        result.recordsMillis = System.currentTimeMillis() - t0;
    }

    /**
     * The store's JDBC URL: {@code jdbcUrl} of {@code etc/org.orchestrator.core.store.cfg}, else
     * core's default H2 file; null (with a note) when it is not an H2 file this harness can open.
     */
    private String storeUrl() throws IOException {
        String url = "jdbc:h2:file:${karaf.data}/orchestrator/store";
        Path cfg = karaf.home().resolve("etc/org.orchestrator.core.store.cfg");
        if (Files.exists(cfg)) {
            for (String line : Files.readAllLines(cfg)) {
                Matcher m = Pattern.compile("^\\s*jdbcUrl\\s*[=:]\\s*(\\S.*?)\\s*$").matcher(line);
                if (m.matches()) {
                    url = m.group(1);
                }
            }
        }
        url = url.replace("${karaf.data}", karaf.home().resolve("data").toString());
        if (!url.startsWith("jdbc:h2:file:")) {
            result.notes.add("records: the store is not an H2 file (" + url.replaceAll("[;?].*", "")
                + "); no historic instance rows were added");
            return null;
        }
        return url;
    }

    /**
     * Adds destroyed instance rows (as core leaves them: state REMOVED, {@code destroyed_at} set,
     * one {@code DESTROYED} audit entry each) for the ghost clients until the {@code instance}
     * table holds {@code target} rows. Karaf must be stopped (H2 locks its file).
     *
     * @return the ids of the rows added
     */
    private List<String> addHistoricInstances(String url, int target) throws Exception {
        List<String> ids = new ArrayList<>();
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url, "", "")) {
            c.setAutoCommit(false);
            int have;
            try (java.sql.Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM instance")) {
                rs.next();
                have = rs.getInt(1);
            }
            List<String> ghosts = new ArrayList<>();
            try (java.sql.Statement st = c.createStatement();
                 java.sql.ResultSet rs = st.executeQuery("SELECT duid FROM client WHERE source = 'bn-ghost' ORDER BY duid")) {
                while (rs.next()) {
                    ghosts.add(rs.getString(1));
                }
            }
            if (ghosts.isEmpty()) {
                ghosts.add("00:04:6f:72:63:68:62:6e:ff:ff");
                result.notes.add("records: no ghost clients; historic instance rows name a client that does not exist");
            }
            java.util.Random random = new java.util.Random(42);
            long now = System.currentTimeMillis();
            try (java.sql.PreparedStatement ins = c.prepareStatement("INSERT INTO instance (id, duid, provider, provider_ref,"
                    + " network, image, state, address, created_at, expires_at, destroyed_at)"
                    + " VALUES (?, ?, ?, ?, ?, ?, 'REMOVED', ?, ?, NULL, ?)");
                 java.sql.PreparedStatement ev = c.prepareStatement("INSERT INTO event_log (logged_at, kind, duid, instance_id, message)"
                    + " VALUES (?, 'DESTROYED', ?, ?, ?)")) {
                for (int k = 0; have + k < target; k++) {
                    String id = "i-" + Long.toHexString(random.nextLong() | Long.MIN_VALUE);
                    String duid = ghosts.get(k % ghosts.size());
                    long created = now - 86_400_000L + k * 60_000L % 43_200_000L;
                    long destroyed = created + 600_000L;
                    ins.setString(1, id);
                    ins.setString(2, duid);
                    ins.setString(3, PROVIDER);
                    ins.setString(4, String.format("%016x%016x%016x%016x", random.nextLong(), random.nextLong(), random.nextLong(),
                        random.nextLong()));
                    ins.setString(5, NETWORK);
                    ins.setString(6, IMAGE);
                    ins.setString(7, String.format("fd00:7c:1::e:%x", k + 1));
                    ins.setLong(8, created);
                    ins.setLong(9, destroyed);
                    ins.addBatch();
                    ev.setLong(1, destroyed);
                    ev.setString(2, duid);
                    ev.setString(3, id);
                    ev.setString(4, "destroyed " + id + " at " + PROVIDER + ": historic record added by the benchmark");
                    ev.addBatch();
                    ids.add(id);
                }
                ins.executeBatch();
                ev.executeBatch();
            }
            c.commit();
        }
        return ids;
    }

    // ---------------------------------------------------------------------------------- helpers

    private JsonNode restGet(String path) {
        return restGet(path, false);
    }

    /**
     * GET under the REST base as admin; null when it failed. A failure is counted (and named in the
     * report) unless it is a 404 and {@code notFoundIsAbsent}: a client or instance not there yet.
     */
    private JsonNode restGet(String path, boolean notFoundIsAbsent) {
        HttpResponse<String> r = restCall("GET", path, null, Duration.ofSeconds(20), notFoundIsAbsent);
        if (r == null || r.statusCode() != 200) {
            return null;
        }
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            restErrors.incrementAndGet();
            lastRestError = "GET " + path + ": " + e;
            return null;
        }
    }

    private String restText(String path) {
        HttpResponse<String> r = restCall("GET", path, null, Duration.ofSeconds(20), false);
        return r == null || r.statusCode() != 200 ? null : r.body();
    }

    private HttpResponse<String> restCall(String method, String path, String body, Duration timeout, boolean notFoundIsAbsent) {
        try {
            if (authorization == null) {
                authorization = "Basic " + Base64.getEncoder().encodeToString(("admin:" + karaf.adminPassword())
                    .getBytes(StandardCharsets.UTF_8));
            }
            HttpRequest req = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1" + path))
                .timeout(timeout)
                .header("Authorization", authorization)
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body))
                .build();
            HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() / 100 != 2 && !(notFoundIsAbsent && r.statusCode() == 404)) {
                restErrors.incrementAndGet();
                lastRestError = method + " " + path + " answered " + r.statusCode() + ": "
                    + r.body().substring(0, Math.min(200, r.body().length()));
            }
            return r;
        } catch (Exception e) {
            restErrors.incrementAndGet();
            lastRestError = method + " " + path + ": " + e;
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
        lookups.shutdownNow();
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
