package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Predicate;

import com.fasterxml.jackson.databind.JsonNode;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.orchestrator.itests.support.Device;
import org.orchestrator.itests.support.Host;
import org.orchestrator.itests.support.Http;
import org.orchestrator.itests.support.KarafInstance;

/**
 * The warm pool against the real distribution: spares are started ahead of demand, a real device's
 * path from lease to ready claims one (no container is created for it) and its page names the
 * device, a burst larger than the pool falls back to provisioning while the pool refills, a
 * restart keeps the pool consistent, and {@code poolSize = 0} turns it off. Prints the
 * lease-to-ready time with and without the pool.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class PoolIT {

    static final String PREFIX = "orch-wp";
    static final String DEVICE_BRIDGE = "orch-wp-dev0";
    static final String INSTANCE_BRIDGE = "orch-wp-br0";
    static final String DEVICE_GW = "fd00:7f:d::1";
    static final String INSTANCE_PREFIX = "fd00:7f:1:";
    static final String PROVIDER = "docker-wp";
    static final int POOL = 3;
    static final int BURST = 6;

    static KarafInstance karaf;
    static Http api;
    static String admin;
    static final List<Device> devices = new ArrayList<>();
    static final Map<String, Long> latencies = new LinkedHashMap<>();

    @BeforeAll
    static void boot() throws Exception {
        Host.sweep(PREFIX);
        removeContainers();
        karaf = KarafInstance.prepare("pool");
        karaf.config("org.orchestrator.dhcp.dnsmasq-wp", Map.of(
            "dhcp.source.name", "wp-lan",
            "interfaceName", DEVICE_BRIDGE,
            "listenAddress", DEVICE_GW,
            "prefixLength", "64",
            "leaseTime", "600"));
        karaf.config("org.orchestrator.network.pipework-wp", Map.of(
            "network.name", "wp-inst",
            "bridge", INSTANCE_BRIDGE,
            "prefix", "fd00:7f:1::/64",
            "deviceInterface", DEVICE_BRIDGE,
            "devicePrefix", "fd00:7f:d::/64",
            "vethPrefix", "owp",
            "nftTable", "orch_wp_inst"));
        karaf.config("org.orchestrator.provider.docker-wp", Map.of("name", PROVIDER));
        coreConfig(POOL);
        Duration boot = karaf.start(Duration.ofSeconds(120));
        System.out.printf("PoolIT: distribution booted in %d ms%n", boot.toMillis());
        api = new Http("http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1/");
        admin = karaf.adminPassword();
    }

    @AfterAll
    static void shutdown() throws Exception {
        try {
            for (Device d : devices) {
                d.close();
            }
            if (karaf != null) {
                karaf.stop(Duration.ofSeconds(60));
            }
        } finally {
            Host.sweep(PREFIX);
            removeContainers();
            System.out.println("PoolIT: lease-to-ready (ms) " + latencies);
        }
    }

    @Test
    @Order(1)
    void thePoolFillsWithUnreachableSpares() throws Exception {
        JsonNode pool = awaitPool(p -> p.path("ready").asInt() == POOL && p.path("starting").asInt() == 0);
        assertThat(pool.path("size").asInt()).isEqualTo(POOL);
        assertThat(pool.path("provider").asText()).isEqualTo(PROVIDER);
        assertThat(pool.path("network").asText()).isEqualTo("wp-inst");
        assertThat(spareContainers()).hasSize(POOL);
        assertThat(json("instances")).as("spares are no client's instances").isEmpty();
        // pipework isolates, so each spare is attached ahead: a link with an address and no device as peer
        Map<String, String> ahead = spareLinks();
        assertThat(ahead).as("spares attached ahead without a peer").hasSize(POOL);
        assertThat(ahead.values()).allMatch(a -> a.startsWith(INSTANCE_PREFIX));
        String shell = karaf.exec("orchestrator:pool");
        assertThat(FoundationIT.rowOf(shell, PROVIDER)).contains("wp-inst").contains(" " + POOL + " ");
        HttpResponse<String> m = api.call("metrics").basic("admin", admin).send();
        assertThat(m.statusCode()).isEqualTo(200);
        assertThat(m.body()).containsPattern("(?m)^orchestrator_gauge\\{name=\"pool\\.ready\"\\} " + POOL + "(\\.0)?$");
    }

    @Test
    @Order(2)
    void aDeviceClaimsASpareCreatesNoContainerAndItsPageNamesIt() throws Exception {
        Set<String> spares = spareContainers();
        Map<String, String> aheadBefore = spareLinks();
        Instant from = Instant.now();
        Device d = device(1);
        String duid = d.duid().orElseThrow();
        JsonNode client = awaitReady(duid);
        Instant to = Instant.now();

        List<String> kinds = kindsOf(duid);
        assertThat(kinds).contains("CLAIMED", "PERSONALISED", "ATTACHED").doesNotContain("PROVISIONED");
        JsonNode instance = json("instances/" + client.path("instanceId").asText());
        String containerId = instance.path("providerRef").asText();
        assertThat(spares).as("the device got a container that existed before its lease").contains(containerId);
        // Docker created containers meanwhile only to refill the pool, none for the device
        List<String> created = Host.lines("docker", "events", "--since", Long.toString(from.getEpochSecond() - 1), "--until",
            Long.toString(to.getEpochSecond() + 1), "--filter", "type=container", "--filter", "event=create", "--filter",
            "label=org.orchestrator.provider=" + PROVIDER, "--format",
            "{{.ID}} {{index .Actor.Attributes \"org.orchestrator.client\"}} {{index .Actor.Attributes \"orchestrator.pool\"}}");
        assertThat(created).noneMatch(l -> l.contains(duid)).allMatch(l -> l.split(" ").length == 3, "a spare");
        // the rename is cosmetic and comes ~1.5 s after personalising, off the device's way
        String tail = duid.replace(":", "").substring(duid.replace(":", "").length() - 12);
        String name = "";
        for (Instant until = Instant.now().plusSeconds(10); Instant.now().isBefore(until) && !name.endsWith(tail); Thread.sleep(100)) {
            name = Host.must("docker", "inspect", "-f", "{{.Name}}", containerId).trim();
        }
        assertThat(name).as("container renamed after its device").endsWith(tail);

        Map<String, String> ahead = spareLinks();
        String page = FoundationIT.awaitHttp(d, instanceAddress(duid));
        assertThat(page).contains("Hello, device " + duid).contains("<code id=duid>" + duid + "</code>");
        assertThat(aheadBefore.values()).as("the claimed spare kept the address it was attached ahead with")
            .contains(instanceAddress(duid));
        assertThat(ahead.values()).as("no spare left with the device's instance address").doesNotContain(instanceAddress(duid));
        // the device that reaches its own instance reaches none of the spares attached ahead
        for (String spare : ahead.values()) {
            Host.Result r = Host.run(10, "ip", "netns", "exec", d.namespace(), "curl", "-6", "-g", "-s", "-f",
                "--connect-timeout", "1", "-m", "2", "http://[" + spare + "]/");
            assertThat(r.ok()).as("device %s reaches spare %s: %s", duid, spare, r.out()).isFalse();
        }
        assertThat(Host.must("ip", "netns", "exec", d.namespace(), "curl", "-6", "-g", "-s", "-f", "-m", "5",
            "http://[" + instanceAddress(duid) + "]/duid").trim()).isEqualTo(duid);
        latencies.put("pooled", latency(duid));
        System.out.printf("PoolIT: lease-to-ready WITH the pool (claimed spare): %d ms%n", latencies.get("pooled"));

        awaitPool(p -> p.path("ready").asInt() == POOL && p.path("claimed").asLong() >= 1);
        // core's counter, the listener's claim counter and the lease-to-ready histogram with pool="true"
        // (the listener runs right after READY is stored: allow it a moment)
        String body = "";
        for (Instant until = Instant.now().plusSeconds(10); Instant.now().isBefore(until); Thread.sleep(200)) {
            body = api.call("metrics").basic("admin", admin).send().body();
            if (body.contains("orchestrator_provision_latency_seconds_count{pool=\"true\"} 1")) {
                break;
            }
        }
        assertThat(body).containsPattern("(?m)^orchestrator_events_total\\{event=\"pool\\.hit\"\\} 1(\\.0)?$")
            .containsPattern("(?m)^orchestrator_pool_claims_total\\{result=\"hit\"\\} 1(\\.0)?$")
            .containsPattern("(?m)^orchestrator_provision_latency_seconds_count\\{pool=\"true\"\\} 1(\\.0)?$")
            .containsPattern("(?m)^orchestrator_provider_provision_seconds_count\\{pool=\"true\",provider=\"" + PROVIDER + "\"\\} 1(\\.0)?$");
    }

    @Test
    @Order(3)
    void aBurstLargerThanThePoolFallsBackToProvisioningWhileItRefills() throws Exception {
        awaitPool(p -> p.path("ready").asInt() == POOL);
        List<Device> burst = new ArrayList<>();
        for (int n = 2; n < 2 + BURST; n++) {
            burst.add(Device.create(PREFIX + "-d" + n, PREFIX + "-d" + n + "h", DEVICE_BRIDGE, Device.Client.DHCLIENT,
                karaf.home().resolve("devices")));
        }
        devices.addAll(burst);
        for (Device d : burst) {
            d.requestLease();
        }
        Set<String> instances = new HashSet<>();
        int pooled = 0;
        int provisioned = 0;
        for (Device d : burst) {
            d.awaitAddress(Duration.ofSeconds(60));
            d.routeVia(DEVICE_GW);
            String duid = d.duid().orElseThrow();
            JsonNode c = awaitReady(duid);
            assertThat(instances.add(c.path("instanceId").asText())).as("instance of %s is its own", duid).isTrue();
            List<String> kinds = kindsOf(duid);
            if (kinds.contains("CLAIMED") && !kinds.contains("PROVISIONED")) {
                pooled++;
                latencies.put("burst-pooled-" + pooled, latency(duid));
            } else {
                assertThat(kinds).contains("PROVISIONED");
                provisioned++;
                latencies.put("burst-provisioned-" + provisioned, latency(duid));
            }
            assertThat(FoundationIT.awaitHttp(d, instanceAddress(duid))).contains("Hello, device " + duid);
        }
        System.out.printf("PoolIT: burst of %d with a pool of %d: %d claimed, %d provisioned%n", BURST, POOL, pooled, provisioned);
        assertThat(pooled).isGreaterThanOrEqualTo(POOL);
        assertThat(provisioned).as("the burst outran the pool").isGreaterThanOrEqualTo(1);
        awaitPool(p -> p.path("ready").asInt() == POOL && p.path("starting").asInt() == 0);
        assertThat(containers()).hasSize(1 + BURST + POOL);
    }

    @Test
    @Order(4)
    void aRestartKeepsThePoolConsistent() throws Exception {
        Set<String> before = containers();
        Set<String> sparesBefore = spareContainers();
        Map<String, String> linksBefore = spareLinks();
        karaf.stop(Duration.ofSeconds(60));
        karaf.start(Duration.ofSeconds(120));
        api = new Http("http://127.0.0.1:" + karaf.httpPort() + "/orchestrator/api/v1/");
        for (Device d : devices) {
            awaitReady(d.duid().orElseThrow());
        }
        awaitPool(p -> p.path("ready").asInt() == POOL && p.path("starting").asInt() == 0);
        karaf.exec("orchestrator:reconcile");
        awaitPool(p -> p.path("ready").asInt() == POOL && p.path("starting").asInt() == 0);
        assertThat(containers()).as("no container leaked or recreated").isEqualTo(before);
        Set<String> owned = new HashSet<>();
        for (JsonNode i : json("instances")) {
            assertThat(owned.add(i.path("providerRef").asText())).as("no container serves two clients").isTrue();
        }
        assertThat(owned).hasSize(devices.size()).doesNotContainAnyElementsOf(sparesBefore);
        assertThat(spareContainers()).isEqualTo(sparesBefore);
        assertThat(spareLinks()).as("spares keep the links and addresses they were attached ahead with").isEqualTo(linksBefore);
        for (Device d : devices) {
            String duid = d.duid().orElseThrow();
            assertThat(FoundationIT.awaitHttp(d, instanceAddress(duid))).contains("Hello, device " + duid);
        }
    }

    @Test
    @Order(5)
    void poolSizeZeroRetiresTheSparesAndProvisionsAsBefore() throws Exception {
        coreConfig(0);
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!spareContainers().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(300);
        }
        assertThat(spareContainers()).as("spares retired").isEmpty();
        assertThat(json("pool")).isEmpty();
        assertThat(spareLinks()).as("retired spares detached").isEmpty();
        Device d = device(9);
        String duid = d.duid().orElseThrow();
        awaitReady(duid);
        assertThat(kindsOf(duid)).contains("PROVISIONED").doesNotContain("CLAIMED");
        assertThat(FoundationIT.awaitHttp(d, instanceAddress(duid))).contains("Hello, device " + duid);
        latencies.put("unpooled", latency(duid));
        System.out.printf("PoolIT: lease-to-ready WITHOUT the pool (provisioned): %d ms (with the pool: %d ms)%n",
            latencies.get("unpooled"), latencies.get("pooled"));
        assertThat(containers()).hasSize(devices.size());
    }

    // ---------------------------------------------------------------------------------------

    static void coreConfig(int poolSize) throws Exception {
        karaf.config("org.orchestrator.core", Map.of(
            "routes", "wp-lan=" + PROVIDER + ",wp-inst",
            "releaseGraceSeconds", "5",
            "reconcileIntervalSeconds", "10",
            "poolSize", Integer.toString(poolSize),
            "poolRefillConcurrency", "1"));
    }

    static Device device(int n) throws Exception {
        Device d = Device.create(PREFIX + "-d" + n, PREFIX + "-d" + n + "h", DEVICE_BRIDGE, Device.Client.DHCLIENT,
            karaf.home().resolve("devices"));
        devices.add(d);
        d.requestLease();
        d.awaitAddress(Duration.ofSeconds(30));
        d.routeVia(DEVICE_GW);
        return d;
    }

    static JsonNode json(String path) throws Exception {
        HttpResponse<String> r = api.call(path).basic("admin", admin).send();
        assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
        return Http.json(r);
    }

    static JsonNode awaitPool(Predicate<JsonNode> condition) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            JsonNode pools = json("pool");
            last = pools;
            if (pools.size() == 1 && condition.test(pools.get(0))) {
                return pools.get(0);
            }
            Thread.sleep(250);
        }
        throw new AssertionError("pool not as expected within 90 s: " + last);
    }

    static JsonNode awaitReady(String duid) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        JsonNode last = null;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = api.call("clients/" + duid).basic("admin", admin).send();
            if (r.statusCode() == 200) {
                last = Http.json(r);
                if ("READY".equals(last.path("state").asText())) {
                    return last;
                }
            }
            Thread.sleep(100);
        }
        throw new AssertionError("client " + duid + " not READY within 90 s: " + last + "\n" + kindsOf(duid));
    }

    static List<JsonNode> eventsOf(String duid) throws Exception {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode e : json("events?limit=5000")) {
            if (duid.equals(e.path("client").asText())) {
                out.add(e);
            }
        }
        return out;
    }

    static List<String> kindsOf(String duid) throws Exception {
        return eventsOf(duid).stream().map(e -> e.path("kind").asText()).toList();
    }

    /** @return ms from the first lease event of the client to its first READY, from core's event log */
    static long latency(String duid) throws Exception {
        Instant lease = null;
        Instant ready = null;
        for (JsonNode e : eventsOf(duid)) {
            if (lease == null && e.path("kind").asText().startsWith("LEASE_")) {
                lease = Instant.parse(e.path("at").asText());
            }
            if (ready == null && e.path("kind").asText().equals("STATE") && e.path("message").asText().contains("-> READY")) {
                ready = Instant.parse(e.path("at").asText());
            }
        }
        assertThat(lease).isNotNull();
        assertThat(ready).isNotNull();
        return Duration.between(lease, ready).toMillis();
    }

    static String instanceAddress(String duid) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            for (JsonNode i : json("instances")) {
                String address = i.path("address").asText();
                if (duid.equals(i.path("client").asText()) && address.startsWith(INSTANCE_PREFIX)) {
                    return address;
                }
            }
            Thread.sleep(200);
        }
        throw new AssertionError("no instance address for " + duid);
    }

    /**
     * @return host link → address of every link on the instance bridge whose alias (pipework's
     * {@code orchestrator net=… id=… addr=… peer=…}) names no peer: spares attached ahead
     */
    static Map<String, String> spareLinks() {
        Map<String, String> out = new LinkedHashMap<>();
        java.util.regex.Pattern alias = java.util.regex.Pattern.compile("alias orchestrator net=\\S+ id=\\S+ addr=(\\S+) peer=-");
        for (String line : Host.lines("ip", "-o", "link", "show", "master", INSTANCE_BRIDGE)) {
            java.util.regex.Matcher m = alias.matcher(line);
            if (m.find()) {
                out.put(line.split(":")[1].strip().split("@")[0], m.group(1));
            }
        }
        return out;
    }

    static Set<String> containers() {
        return new HashSet<>(Host.lines("docker", "ps", "-aq", "--no-trunc", "--filter", "label=org.orchestrator.provider=" + PROVIDER));
    }

    /** @return the containers still carrying the placeholder client and not claimed by any client */
    static Set<String> spareContainers() throws Exception {
        Set<String> spares = containers();
        if (api != null) {
            for (JsonNode i : json("instances")) {
                spares.remove(i.path("providerRef").asText());
            }
        }
        return spares;
    }

    static void removeContainers() {
        for (String id : Host.lines("docker", "ps", "-aq", "--filter", "label=org.orchestrator.provider=" + PROVIDER)) {
            Host.run("docker", "rm", "-f", id);
        }
    }
}
