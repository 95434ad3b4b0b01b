package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.orchestrator.itests.support.Device;
import org.orchestrator.itests.support.Host;
import org.orchestrator.itests.support.KarafBundles;
import org.orchestrator.itests.support.KarafInstance;

/**
 * Boots the real distribution as a process with a managed dnsmasq, the Docker provider and a
 * pipework network configured, and checks the platform as an operator would: bundles, DS
 * components, shell commands, a real device getting its instance, and a plugin bundle stopped and
 * started while core keeps its state.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class FoundationIT {

    static final String PREFIX = "orch-it";
    static final String DEVICE_BRIDGE = "orch-it-dev0";
    static final String INSTANCE_BRIDGE = "orch-it-br0";
    static final String DEVICE_GW = "fd00:79:d::1";
    static final String PROVIDER = "docker-it";

    static KarafInstance karaf;
    static Device device;
    static Duration bootTime;

    @BeforeAll
    static void boot() throws Exception {
        Host.sweep(PREFIX);
        removeContainers();
        karaf = KarafInstance.prepare("foundation");
        karaf.config("org.orchestrator.dhcp.dnsmasq-it", Map.of(
            "dhcp.source.name", "it-lan",
            "interfaceName", DEVICE_BRIDGE,
            "listenAddress", DEVICE_GW,
            "prefixLength", "64",
            "leaseTime", "600"));
        karaf.config("org.orchestrator.network.pipework-it", Map.of(
            "network.name", "it-inst",
            "bridge", INSTANCE_BRIDGE,
            "prefix", "fd00:79:1::/64",
            "deviceInterface", DEVICE_BRIDGE,
            "devicePrefix", "fd00:79:d::/64",
            "vethPrefix", "oit",
            "nftTable", "orch_it_inst"));
        karaf.config("org.orchestrator.provider.docker-it", Map.of("name", PROVIDER));
        // the shipped 'docker' provider stays too: routes pick ours
        karaf.config("org.orchestrator.core", Map.of(
            "routes", "it-lan=" + PROVIDER + ",it-inst",
            "releaseGraceSeconds", "5",
            "reconcileIntervalSeconds", "10"));
        bootTime = karaf.start(Duration.ofSeconds(120));
        System.out.printf("FoundationIT: distribution booted (shell up, every bundle Active) in %d ms%n", bootTime.toMillis());
    }

    @AfterAll
    static void shutdown() throws Exception {
        try {
            if (device != null) {
                device.close();
            }
            if (karaf != null) {
                karaf.stop(Duration.ofSeconds(60));
            }
        } finally {
            Host.sweep(PREFIX);
            removeContainers();
        }
        assertThat(Host.lines("pgrep", "-f", "dnsmasq.*" + DEVICE_BRIDGE)).as("dnsmasq left running").isEmpty();
    }

    @Test
    @Order(1)
    void everyOrchestratorBundleIsActive() throws Exception {
        String bundles = karaf.exec("bundle:list -t 0 --no-format");
        List<String> ours = Arrays.stream(bundles.split("\n")).filter(l -> l.contains("Orchestrator ::")).toList();
        assertThat(ours).hasSize(6).allMatch(l -> l.contains("Active"), "Active");
        assertThat(ours).anyMatch(l -> l.contains("Orchestrator :: Core"))
            .anyMatch(l -> l.contains("dnsmasq")).anyMatch(l -> l.contains("Docker"))
            .anyMatch(l -> l.contains("pipework")).anyMatch(l -> l.contains("Web console"));
    }

    @Test
    @Order(2)
    void everyDsComponentIsSatisfied() throws Exception {
        // Felix SCR's scr:list prints only into a pipe when no terminal is attached
        String scr = karaf.execUntil("scr:list | grep -A3 org.orchestrator", out -> out.contains("DockerProviderComponent"),
            Duration.ofSeconds(30));
        for (String component : List.of("CoreComponent", "StoreComponent", "DnsmasqDhcpSource", "PipeworkNetwork",
                "DockerProviderComponent", "RestApiComponent", "OrchestratorConsolePlugin")) {
            assertThat(scr).as("component %s", component).containsPattern(component + " in bundle \\d+ .* enabled, [1-9]\\d* instance");
        }
        List<String> states = Arrays.stream(scr.split("\n")).filter(l -> l.contains("State:")).toList();
        assertThat(states).hasSizeGreaterThanOrEqualTo(8)
            .allMatch(l -> l.contains("State:ACTIVE") || l.contains("State:SATISFIED"), "ACTIVE or SATISFIED");
    }

    @Test
    @Order(3)
    void shellCommandsAnswer() throws Exception {
        assertThat(karaf.exec("orchestrator:providers")).contains(PROVIDER).contains("it-lan").contains("it-inst");
        assertThat(karaf.exec("orchestrator:clients")).containsIgnoringCase("duid");
        assertThat(karaf.exec("orchestrator:instances")).containsIgnoringCase("instance");
        assertThat(karaf.exec("orchestrator:leases")).containsIgnoringCase("address");
        assertThat(karaf.exec("orchestrator:events -n 5")).isNotBlank();
        assertThat(karaf.exec("orchestrator:reconcile")).containsIgnoringCase("clients");
        assertThat(karaf.exec("orchestrator:provision 00:01:02")).containsIgnoringCase("unknown client")
            .doesNotContain("Exception");
    }

    @Test
    @Order(4)
    void aDeviceReachesItsOwnInstance() throws Exception {
        device = Device.create("orch-it-d1", "orch-it-d1h", DEVICE_BRIDGE, Device.Client.DHCLIENT,
            karaf.home().resolve("devices"));
        device.requestLease();
        String address = device.awaitAddress(Duration.ofSeconds(30));
        String duid = device.duid().orElseThrow();
        device.routeVia(DEVICE_GW);

        String clients = karaf.execUntil("orchestrator:clients", out -> rowOf(out, duid).contains("READY"), Duration.ofSeconds(60));
        assertThat(rowOf(clients, duid)).contains(address);

        String instanceAddress = instanceAddressOf(duid);
        String page = awaitHttp(device, instanceAddress);
        assertThat(page).contains(duid);
    }

    @Test
    @Order(5)
    void stoppingAndStartingAPluginKeepsCoreAndState() throws Exception {
        String duid = device.duid().orElseThrow();
        String before = containerIdsOfProvider();
        assertThat(before).isNotBlank();
        String bundleId = bundleId("Docker");

        karaf.exec("bundle:stop " + bundleId);
        String providers = karaf.execUntil("orchestrator:providers", out -> rowOf(out, PROVIDER).contains("| no "),
            Duration.ofSeconds(20));
        assertThat(providers).contains("it-lan");
        // core runs on and still knows the client and its instance
        assertThat(rowOf(karaf.exec("orchestrator:clients"), duid)).isNotBlank();

        karaf.exec("bundle:start " + bundleId);
        karaf.execUntil("orchestrator:providers", out -> rowOf(out, PROVIDER).contains("| yes "), Duration.ofSeconds(30));
        karaf.exec("orchestrator:reconcile");
        karaf.execUntil("orchestrator:clients", out -> rowOf(out, duid).contains("READY"), Duration.ofSeconds(60));
        // re-adopted, not recreated: the same container
        assertThat(containerIdsOfProvider()).isEqualTo(before);
        assertThat(awaitHttp(device, instanceAddressOf(duid))).contains(duid);
    }

    @Test
    @Order(6)
    void restartingKarafLosesNothing() throws Exception {
        String duid = device.duid().orElseThrow();
        String before = containerIdsOfProvider();
        karaf.stop(Duration.ofSeconds(60));
        karaf.start(Duration.ofSeconds(120));
        karaf.execUntil("orchestrator:clients", out -> rowOf(out, duid).contains("READY"), Duration.ofSeconds(60));
        karaf.exec("orchestrator:reconcile");
        assertThat(containerIdsOfProvider()).isEqualTo(before);
        assertThat(awaitHttp(device, instanceAddressOf(duid))).contains(duid);
    }

    @Test
    @Order(7)
    void releaseDeprovisionsAfterTheGracePeriod() throws Exception {
        String duid = device.duid().orElseThrow();
        device.release();
        karaf.execUntil("orchestrator:clients", out -> rowOf(out, duid).contains("GONE"), Duration.ofSeconds(60));
        karaf.execUntil("orchestrator:instances", out -> !out.contains(duid), Duration.ofSeconds(30));
        assertThat(containerIdsOfProvider()).isBlank();
        assertThat(Host.lines("ip", "-o", "link", "show", "master", INSTANCE_BRIDGE)).isEmpty();
    }

    // ---------------------------------------------------------------------------------------

    static String rowOf(String table, String needle) {
        return Arrays.stream(table.split("\n")).filter(l -> l.contains(needle)).findFirst().orElse("");
    }

    static String instanceAddressOf(String duid) throws Exception {
        String row = rowOf(karaf.execUntil("orchestrator:instances", out -> rowOf(out, duid).contains("fd00:79:1:"),
            Duration.ofSeconds(30)), duid);
        Matcher m = Pattern.compile("(fd00:79:1:[0-9a-f:]+)").matcher(row);
        assertThat(m.find()).as("instance address in row: %s", row).isTrue();
        return m.group(1);
    }

    static String awaitHttp(Device d, String address) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            var body = d.httpGet(address, 3);
            if (body.isPresent()) {
                return body.get();
            }
            Thread.sleep(300);
        }
        throw new AssertionError("device " + d.namespace() + " could not reach http://[" + address + "]/ within 30 s");
    }

    static String bundleId(String nameFragment) throws Exception {
        return KarafBundles.id(karaf, nameFragment);
    }

    static String containerIdsOfProvider() {
        return String.join(",", Host.lines("docker", "ps", "-aq", "--no-trunc", "--filter",
            "label=org.orchestrator.provider=" + PROVIDER));
    }

    static void removeContainers() {
        for (String id : Host.lines("docker", "ps", "-aq", "--filter", "label=org.orchestrator.provider=" + PROVIDER)) {
            Host.run("docker", "rm", "-f", id);
        }
    }

}
