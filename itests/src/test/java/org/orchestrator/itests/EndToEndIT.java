package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Predicate;
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
 * The whole platform end to end, with real components throughout: the built distribution as a
 * process, managed dnsmasq, dockerd, pipework with nftables isolation, and devices running real
 * {@code dhclient -6} and {@code dhcpcd} in namespaces. One Karaf serves every scenario, in order,
 * so the class stays within a few minutes: many devices and isolation, hot-swapped plug-in bundles,
 * a Karaf restart with devices active, release with and without a return within the grace period,
 * a second provider and device network joining and leaving, and the instance TTL.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EndToEndIT {

    static final String PREFIX = "orch-ie";
    static final String DEV0 = "orch-ie-dev0";
    static final String DEV1 = "orch-ie-dev1";
    static final String BR0 = "orch-ie-br0";
    static final String BR1 = "orch-ie-br1";
    static final String GW0 = "fd00:7b:d::1";
    static final String GW1 = "fd00:7b:e::1";
    static final String INST0 = "fd00:7b:1:";
    static final String INST1 = "fd00:7b:2:";
    static final String PROVIDER = "docker-ie";
    static final String PROVIDER2 = "docker-ie2";
    static final String NFT0 = "orch_ie_inst";
    static final String NFT1 = "orch_ie_inst2";
    static final Duration READY = Duration.ofSeconds(90);
    static final int GRACE_SECONDS = 20;

    static KarafInstance karaf;
    static final Map<String, Device> devices = new LinkedHashMap<>();
    static final Map<String, String> routes = new LinkedHashMap<>();

    @BeforeAll
    static void boot() throws Exception {
        sweep();
        karaf = KarafInstance.prepare("endtoend");
        karaf.config("org.orchestrator.dhcp.dnsmasq-ie", Map.of(
            "dhcp.source.name", "ie-lan",
            "interfaceName", DEV0,
            "listenAddress", GW0,
            "prefixLength", "64",
            "leaseTime", "600"));
        karaf.config("org.orchestrator.network.pipework-ie", Map.of(
            "network.name", "ie-inst",
            "bridge", BR0,
            "prefix", "fd00:7b:1::/64",
            "isolation", "true",
            "deviceInterface", DEV0,
            "devicePrefix", "fd00:7b:d::/64",
            "vethPrefix", "oia",
            "nftTable", NFT0));
        karaf.config("org.orchestrator.provider.docker-ie", Map.of("name", PROVIDER));
        routes.put("ie-lan", PROVIDER + ",ie-inst");
        coreConfig(0);
        Duration boot = karaf.start(Duration.ofSeconds(150));
        System.out.printf("EndToEndIT: distribution booted in %d ms%n", boot.toMillis());
        // The dnsmasq source is a delayed component: it starts (and creates the device bridge) when
        // core's first pass uses it, which can be after "every bundle Active" on a loaded machine.
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (!Host.run("ip", "link", "show", "dev", DEV0).ok()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("device bridge " + DEV0 + " not created within 60 s of boot:\n" + karaf.logTail(80));
            }
            Thread.sleep(100);
        }
    }

    @AfterAll
    static void shutdown() throws Exception {
        try {
            for (Device d : devices.values()) {
                d.close();
            }
            if (karaf != null) {
                karaf.stop(Duration.ofSeconds(60));
            }
        } finally {
            sweep();
        }
        assertThat(Host.lines("pgrep", "-f", "dnsmasq.*" + karaf.home())).as("dnsmasq left running").isEmpty();
    }

    // ---------------------------------------------------------------------------------------

    @Test
    @Order(1)
    void fiveDevicesEachReachTheirOwnInstanceAndNoOther() throws Exception {
        Map<String, Instant> asked = new LinkedHashMap<>();
        for (int i = 1; i <= 5; i++) {
            Device.Client c = i % 2 == 1 ? Device.Client.DHCLIENT : Device.Client.DHCPCD;
            Device d = device("d" + i, DEV0, c);
            asked.put("d" + i, Instant.now());
            d.requestLease();
        }
        Map<String, Long> leaseToReady = new LinkedHashMap<>();
        for (int i = 1; i <= 5; i++) {
            Device d = devices.get("d" + i);
            String address = d.awaitAddress(Duration.ofSeconds(45));
            d.routeVia(GW0);
            String duid = awaitDuid(d);
            Map<String, String> row = awaitClient(duid, r -> "READY".equals(r.get("State")), READY);
            assertThat(row.get("Address")).isEqualTo(address);
            leaseToReady.put(d.namespace() + " (" + d.client() + ")", Duration.between(asked.get("d" + i), Instant.now()).toMillis());
        }
        System.out.println("EndToEndIT: lease request to READY (ms, upper bound): " + leaseToReady);

        Set<String> instanceIds = new TreeSet<>();
        Set<String> duids = new TreeSet<>();
        for (int i = 1; i <= 5; i++) {
            Device d = devices.get("d" + i);
            String duid = d.duid().orElseThrow();
            Map<String, String> inst = instanceOf(duid);
            assertThat(inst.get("Provider")).isEqualTo(PROVIDER);
            assertThat(inst.get("Address")).startsWith(INST0);
            assertThat(awaitHttp(d, inst.get("Address"))).contains(duid);
            instanceIds.add(inst.get("ID"));
            duids.add(duid);
        }
        assertThat(duids).as("distinct DUIDs").hasSize(5);
        assertThat(instanceIds).as("one instance per device").hasSize(5);
        assertThat(containers(PROVIDER)).hasSize(5);

        // isolation: every device against the next device's instance (dhclient→dhcpcd and back)
        for (int i = 1; i <= 5; i++) {
            Device a = devices.get("d" + i);
            Device b = devices.get("d" + (i % 5 + 1));
            String other = instanceOf(b.duid().orElseThrow()).get("Address");
            assertThat(a.httpGet(other, 3)).as("%s reaching %s's instance %s", a.namespace(), b.namespace(), other).isEmpty();
        }
        // and the positive control right after: the isolation did not just break everything
        assertThat(awaitHttp(devices.get("d1"), instanceOf(devices.get("d1").duid().orElseThrow()).get("Address"))).isNotBlank();
    }

    @Test
    @Order(2)
    void dockerBundleStoppedUpdatedAndStartedWhileADeviceJoins() throws Exception {
        List<String> before = containers(PROVIDER);
        String bundle = bundleId("Docker");

        karaf.exec("bundle:stop " + bundle);
        karaf.execUntil("orchestrator:providers", out -> rowOf(out, PROVIDER).contains("| no "), Duration.ofSeconds(30));
        Device d6 = device("d6", DEV0, Device.Client.DHCPCD);
        d6.requestLease();
        d6.awaitAddress(Duration.ofSeconds(45));
        d6.routeVia(GW0);
        String duid6 = awaitDuid(d6);
        Map<String, String> waiting = awaitClient(duid6, r -> !r.isEmpty(), Duration.ofSeconds(30));
        assertThat(waiting.get("State")).as("client of a device that joined while the provider is away").isNotEqualTo("READY");
        assertThat(karaf.process()).as("Karaf keeps running").isPresent();

        karaf.exec("bundle:start " + bundle);
        awaitClient(duid6, r -> "READY".equals(r.get("State")), READY);
        assertThat(awaitHttp(d6, instanceOf(duid6).get("Address"))).contains(duid6);
        List<String> after = containers(PROVIDER);
        assertThat(after).as("existing containers re-adopted, not recreated").containsAll(before).hasSize(before.size() + 1);

        // bundle:update: a new bundle revision, same containers
        karaf.exec("bundle:update " + bundle);
        karaf.execUntil("orchestrator:providers", out -> rowOf(out, PROVIDER).contains("| yes "), Duration.ofSeconds(60));
        karaf.exec("orchestrator:reconcile");
        allReady();
        assertThat(containers(PROVIDER)).containsExactlyInAnyOrderElementsOf(after);
        assertThat(awaitHttp(devices.get("d1"), instanceOf(devices.get("d1").duid().orElseThrow()).get("Address"))).isNotBlank();
    }

    @Test
    @Order(3)
    void dnsmasqBundleStoppedUpdatedAndStartedWhileADeviceAsksForALease() throws Exception {
        List<String> before = containers(PROVIDER);
        String bundle = bundleId("dnsmasq");
        assertThat(dnsmasqPids()).as("managed dnsmasq runs").isNotEmpty();

        karaf.exec("bundle:stop " + bundle);
        awaitTrue("dnsmasq stopped with its bundle", () -> dnsmasqPids().isEmpty(), Duration.ofSeconds(20));
        Device d7 = device("d7", DEV0, Device.Client.DHCLIENT);
        d7.requestLease();
        Thread.sleep(3000); // no server: the client must still be soliciting after a few retransmissions
        assertThat(d7.address()).as("no lease without dnsmasq").isEmpty();
        assertThat(karaf.process()).as("Karaf keeps running").isPresent();

        karaf.exec("bundle:start " + bundle);
        d7.awaitAddress(Duration.ofSeconds(60));
        d7.routeVia(GW0);
        String duid7 = awaitDuid(d7);
        awaitClient(duid7, r -> "READY".equals(r.get("State")), READY);
        assertThat(awaitHttp(d7, instanceOf(duid7).get("Address"))).contains(duid7);
        assertThat(containers(PROVIDER)).containsAll(before).hasSize(before.size() + 1);

        List<String> withD7 = containers(PROVIDER);
        karaf.exec("bundle:update " + bundle);
        awaitTrue("dnsmasq back after bundle:update", () -> !dnsmasqPids().isEmpty(), Duration.ofSeconds(30));
        karaf.exec("orchestrator:reconcile");
        allReady();
        assertThat(containers(PROVIDER)).containsExactlyInAnyOrderElementsOf(withD7);
        for (Device d : devices.values()) {
            assertThat(awaitHttp(d, instanceOf(d.duid().orElseThrow()).get("Address"))).contains(d.duid().orElseThrow());
        }
    }

    @Test
    @Order(4)
    void restartingKarafWithDevicesActiveLosesAndDuplicatesNothing() throws Exception {
        karaf.exec("orchestrator:reconcile");
        allReady();
        List<String> containersBefore = containers(PROVIDER);
        List<String> vethsBefore = ports(BR0);
        List<String> elementsBefore = nftElements(NFT0);
        Map<String, Map<String, String>> instancesBefore = instancesByClient();
        assertThat(vethsBefore).hasSize(containersBefore.size());
        assertThat(elementsBefore).hasSize(containersBefore.size());

        karaf.stop(Duration.ofSeconds(60));
        Instant t0 = Instant.now();
        karaf.start(Duration.ofSeconds(150));
        karaf.exec("orchestrator:reconcile");
        allReady();
        System.out.printf("EndToEndIT: restart to every client READY in %d ms%n", Duration.between(t0, Instant.now()).toMillis());

        assertThat(containers(PROVIDER)).containsExactlyInAnyOrderElementsOf(containersBefore);
        assertThat(ports(BR0)).containsExactlyInAnyOrderElementsOf(vethsBefore);
        assertThat(nftElements(NFT0)).containsExactlyInAnyOrderElementsOf(elementsBefore);
        Map<String, Map<String, String>> instancesAfter = instancesByClient();
        assertThat(instancesAfter.keySet()).isEqualTo(instancesBefore.keySet());
        instancesBefore.forEach((duid, row) -> {
            assertThat(instancesAfter.get(duid).get("ID")).isEqualTo(row.get("ID"));
            assertThat(instancesAfter.get(duid).get("Address")).isEqualTo(row.get("Address"));
        });
        for (Device d : devices.values()) {
            assertThat(awaitHttp(d, instancesAfter.get(d.duid().orElseThrow()).get("Address"))).contains(d.duid().orElseThrow());
        }
    }

    @Test
    @Order(5)
    void releaseWithAndWithoutReturnWithinTheGracePeriod() throws Exception {
        Device back = devices.get("d1");   // dhclient: same DUID when it asks again
        Device gone = devices.get("d2");   // dhcpcd
        String backDuid = back.duid().orElseThrow();
        String goneDuid = gone.duid().orElseThrow();
        Map<String, String> backInst = instanceOf(backDuid);
        String backAddress = back.address().orElseThrow();
        String goneContainer = containerOfClient(goneDuid);
        int portsBefore = ports(BR0).size();

        Instant released = Instant.now();
        back.release();
        gone.release();
        awaitClient(backDuid, r -> !"READY".equals(r.get("State")) || "RELEASED".equals(r.get("Lease")), Duration.ofSeconds(30));
        awaitClient(goneDuid, r -> "RELEASED".equals(r.get("Lease")), Duration.ofSeconds(30));

        back.requestLease();
        assertThat(back.awaitAddress(Duration.ofSeconds(45))).isEqualTo(backAddress);
        back.routeVia(GW0);
        awaitClient(backDuid, r -> "READY".equals(r.get("State")) && "ACTIVE".equals(r.get("Lease")), READY);
        assertThat(Duration.between(released, Instant.now()).getSeconds()).as("came back within the grace period")
            .isLessThan(GRACE_SECONDS);
        Map<String, String> backAgain = instanceOf(backDuid);
        assertThat(backAgain.get("ID")).isEqualTo(backInst.get("ID"));
        assertThat(backAgain.get("Address")).isEqualTo(backInst.get("Address"));
        assertThat(awaitHttp(back, backAgain.get("Address"))).contains(backDuid);

        // the other one did not come back: its instance lives on during the grace period, then goes
        assertThat(containers(PROVIDER)).contains(goneContainer);
        awaitClient(goneDuid, r -> "GONE".equals(r.get("State")), Duration.ofSeconds(GRACE_SECONDS + 60));
        assertThat(Duration.between(released, Instant.now()).getSeconds()).as("not before the grace period ended")
            .isGreaterThanOrEqualTo(GRACE_SECONDS - 1);
        awaitTrue("container of the released device removed", () -> !containers(PROVIDER).contains(goneContainer), Duration.ofSeconds(30));
        assertThat(instancesByClient()).doesNotContainKey(goneDuid);
        assertThat(ports(BR0)).hasSize(portsBefore - 1);
        assertThat(nftElements(NFT0)).hasSize(portsBefore - 1);
        gone.close();
        devices.remove("d2");
    }

    @Test
    @Order(6)
    void aSecondProviderAndDeviceNetworkJoinServeAndLeave() throws Exception {
        List<String> firstBefore = containers(PROVIDER);
        karaf.config("org.orchestrator.provider.docker-ie2", Map.of("name", PROVIDER2));
        karaf.config("org.orchestrator.network.pipework-ie2", Map.of(
            "network.name", "ie-inst2",
            "bridge", BR1,
            "prefix", "fd00:7b:2::/64",
            "isolation", "true",
            "deviceInterface", DEV1,
            "devicePrefix", "fd00:7b:e::/64",
            "vethPrefix", "oib",
            "nftTable", NFT1));
        karaf.config("org.orchestrator.dhcp.dnsmasq-ie2", Map.of(
            "dhcp.source.name", "ie-lan2",
            "interfaceName", DEV1,
            "listenAddress", GW1,
            "prefixLength", "64",
            "leaseTime", "600"));
        routes.put("ie-lan2", PROVIDER2 + ",ie-inst2");
        coreConfig(0);
        karaf.execUntil("orchestrator:providers", out -> rowOf(out, PROVIDER2).contains("| yes ") && out.contains("ie-lan2")
            && out.contains("ie-inst2"), Duration.ofSeconds(60));
        awaitTrue("bridge " + DEV1 + " created by the second dnsmasq source", () -> Host.run("ip", "link", "show", DEV1).ok(),
            Duration.ofSeconds(30));

        // one new device on each network at the same time
        Device e1 = device("e1", DEV1, Device.Client.DHCLIENT);
        Device d8 = device("d8", DEV0, Device.Client.DHCPCD);
        e1.requestLease();
        d8.requestLease();
        assertThat(e1.awaitAddress(Duration.ofSeconds(45))).startsWith("fd00:7b:e:");
        assertThat(d8.awaitAddress(Duration.ofSeconds(45))).startsWith("fd00:7b:d:");
        e1.routeVia(GW1);
        d8.routeVia(GW0);
        String e1Duid = awaitDuid(e1);
        String d8Duid = awaitDuid(d8);
        awaitClient(e1Duid, r -> "READY".equals(r.get("State")), READY);
        awaitClient(d8Duid, r -> "READY".equals(r.get("State")), READY);
        Map<String, String> e1Inst = instanceOf(e1Duid);
        Map<String, String> d8Inst = instanceOf(d8Duid);
        assertThat(e1Inst.get("Provider")).isEqualTo(PROVIDER2);
        assertThat(e1Inst.get("Network")).isEqualTo("ie-inst2");
        assertThat(e1Inst.get("Address")).startsWith(INST1);
        assertThat(d8Inst.get("Provider")).isEqualTo(PROVIDER);
        assertThat(d8Inst.get("Address")).startsWith(INST0);
        assertThat(containers(PROVIDER2)).hasSize(1);
        assertThat(awaitHttp(e1, e1Inst.get("Address"))).contains(e1Duid);
        assertThat(awaitHttp(d8, d8Inst.get("Address"))).contains(d8Duid);
        // the networks stay apart: a device of one does not reach an instance of the other
        assertThat(e1.httpGet(d8Inst.get("Address"), 3)).isEmpty();
        assertThat(d8.httpGet(e1Inst.get("Address"), 3)).isEmpty();

        // the second provider leaves: the first provider's instances are untouched
        List<String> firstWithD8 = containers(PROVIDER);
        assertThat(firstWithD8).containsAll(firstBefore).hasSize(firstBefore.size() + 1);
        karaf.removeConfig("org.orchestrator.provider.docker-ie2");
        // core still lists a provider its clients name, as unavailable
        karaf.execUntil("orchestrator:providers", out -> !out.contains(PROVIDER2) || rowOf(out, PROVIDER2).contains("| no "),
            Duration.ofSeconds(30));
        assertThat(rowOf(karaf.exec("orchestrator:providers"), PROVIDER + " ")).contains("| yes ");
        karaf.exec("orchestrator:reconcile");
        Thread.sleep(2000); // give a wrong teardown the chance to show before checking nothing happened
        assertThat(containers(PROVIDER)).containsExactlyInAnyOrderElementsOf(firstWithD8);
        for (Device d : devices.values()) {
            if (!d.namespace().equals(ns("e1"))) {
                String duid = d.duid().orElseThrow();
                assertThat(rowOf(karaf.exec("orchestrator:clients"), duid)).contains("READY");
                assertThat(awaitHttp(d, instanceOf(duid).get("Address"))).contains(duid);
            }
        }
        assertThat(clientRow(e1Duid).get("State")).as("the second network's client waits for its provider").isNotEqualTo("GONE");
    }

    @Test
    @Order(7)
    void anInstanceSelfDestructsAfterItsTtlAndTheDeviceGetsANewOneOnItsNextLease() throws Exception {
        coreConfig(1);
        Thread.sleep(2000); // file install → ConfigAdmin → @Modified
        Device t1 = device("t1", DEV0, Device.Client.DHCLIENT);
        t1.requestLease();
        t1.awaitAddress(Duration.ofSeconds(45));
        t1.routeVia(GW0);
        String duid = awaitDuid(t1);
        awaitClient(duid, r -> "READY".equals(r.get("State")), READY);
        Map<String, String> first = instanceOf(duid);
        assertThat(first.get("Expires")).as("instance with a TTL shows its end").isNotBlank().isNotEqualTo("-");
        String container = containerOfClient(duid);
        assertThat(awaitHttp(t1, first.get("Address"))).contains(duid);
        Instant created = Instant.now();

        awaitTrue("instance of " + duid + " destroyed by its TTL", () -> {
            // one snapshot per poll: the instance may vanish between two reads
            Map<String, String> now = instancesByClient().get(duid);
            return now == null || !first.get("ID").equals(now.get("ID"));
        }, Duration.ofSeconds(150));
        System.out.printf("EndToEndIT: TTL of 1 min ended the instance after %d s%n", Duration.between(created, Instant.now()).getSeconds());
        awaitTrue("container removed after the TTL", () -> !containers(PROVIDER).contains(container), Duration.ofSeconds(30));
        assertThat(t1.httpGet(first.get("Address"), 3)).isEmpty();
        assertThat(karaf.exec("orchestrator:events -n 200")).contains("TTL_EXPIRED");

        // its next lease (a new ADDED) gives it a new instance
        t1.release();
        t1.requestLease();
        t1.awaitAddress(Duration.ofSeconds(45));
        t1.routeVia(GW0);
        awaitClient(duid, r -> "READY".equals(r.get("State")), READY);
        Map<String, String> second = instanceOf(duid);
        assertThat(second.get("ID")).isNotEqualTo(first.get("ID"));
        assertThat(containerOfClient(duid)).isNotEqualTo(container);
        assertThat(awaitHttp(t1, second.get("Address"))).contains(duid);
    }

    // ---------------------------------------------------------------------------------------

    static void coreConfig(int ttlMinutes) throws Exception {
        StringBuilder r = new StringBuilder();
        routes.forEach((k, v) -> r.append(r.length() == 0 ? "" : "; ").append(k).append('=').append(v));
        Map<String, String> cfg = new LinkedHashMap<>();
        cfg.put("routes", r.toString());
        cfg.put("releaseGraceSeconds", Integer.toString(GRACE_SECONDS));
        cfg.put("reconcileIntervalSeconds", "10");
        cfg.put("instanceTtlMinutes", Integer.toString(ttlMinutes));
        karaf.config("org.orchestrator.core", cfg);
    }

    static String ns(String name) {
        return PREFIX + "-" + name;
    }

    static Device device(String name, String bridge, Device.Client client) throws Exception {
        Device d = Device.create(ns(name), ns(name) + "h", bridge, client, karaf.home().resolve("devices"));
        devices.put(name, d);
        return d;
    }

    static String awaitDuid(Device d) throws Exception {
        awaitTrue("DUID of " + d.namespace(), () -> d.duid().isPresent(), Duration.ofSeconds(20));
        return d.duid().orElseThrow();
    }

    static void sweep() {
        Host.sweep(PREFIX);
        for (String provider : List.of(PROVIDER, PROVIDER2)) {
            for (String id : containers(provider)) {
                Host.run("docker", "rm", "-f", id);
            }
        }
        for (String link : Host.lines("ip", "-o", "link", "show")) {
            String[] parts = link.split(":\\s+", 3);
            if (parts.length > 1) {
                String name = parts[1].split("@", 2)[0];
                if (name.startsWith("oia") || name.startsWith("oib")) {
                    Host.run("ip", "link", "delete", name);
                }
            }
        }
    }

    /** A table printed by Karaf's ShellTable as header → cell maps. */
    static List<Map<String, String>> table(String out) {
        List<String> lines = Arrays.stream(out.split("\n")).filter(l -> l.contains("|")).toList();
        List<Map<String, String>> rows = new ArrayList<>();
        if (lines.isEmpty()) {
            return rows;
        }
        String[] header = Arrays.stream(lines.get(0).split("\\|")).map(String::trim).toArray(String[]::new);
        for (String line : lines.subList(1, lines.size())) {
            String[] cells = line.split("\\|", -1);
            Map<String, String> row = new LinkedHashMap<>();
            for (int i = 0; i < header.length && i < cells.length; i++) {
                row.put(header[i], cells[i].trim());
            }
            rows.add(row);
        }
        return rows;
    }

    static Map<String, String> clientRow(String duid) throws Exception {
        return table(karaf.exec("orchestrator:clients")).stream().filter(r -> duid.equals(r.get("DUID"))).findFirst().orElse(Map.of());
    }

    static Map<String, String> awaitClient(String duid, Predicate<Map<String, String>> condition, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        Map<String, String> last = Map.of();
        while (Instant.now().isBefore(deadline)) {
            last = clientRow(duid);
            if (!last.isEmpty() && condition.test(last)) {
                return last;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("client " + duid + " did not reach the expected state within " + timeout + "; last row: " + last
            + "\n" + karaf.exec("orchestrator:events -n 20") + "\n" + karaf.logTail(40));
    }

    static void allReady() throws Exception {
        Instant deadline = Instant.now().plus(READY);
        List<Map<String, String>> rows = List.of();
        while (Instant.now().isBefore(deadline)) {
            rows = table(karaf.exec("orchestrator:clients")).stream()
                .filter(r -> devices.values().stream().anyMatch(d -> safeDuid(d).equals(r.get("DUID")))).toList();
            if (rows.size() == devices.size() && rows.stream().allMatch(r -> "READY".equals(r.get("State")))) {
                return;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("not every device's client READY within " + READY + ": " + rows);
    }

    static String safeDuid(Device d) {
        try {
            return d.duid().orElse("?");
        } catch (Exception e) {
            return "?";
        }
    }

    static Map<String, Map<String, String>> instancesByClient() throws Exception {
        Map<String, Map<String, String>> out = new LinkedHashMap<>();
        for (Map<String, String> r : table(karaf.exec("orchestrator:instances"))) {
            Map<String, String> previous = out.put(r.get("Client"), r);
            assertThat(previous).as("two live instances for client %s", r.get("Client")).isNull();
        }
        return out;
    }

    static Map<String, String> instanceOf(String duid) throws Exception {
        Instant deadline = Instant.now().plus(Duration.ofSeconds(30));
        while (Instant.now().isBefore(deadline)) {
            Map<String, String> r = instancesByClient().get(duid);
            if (r != null && r.get("Address") != null && r.get("Address").startsWith("fd00:7b:")) {
                return r;
            }
            Thread.sleep(500);
        }
        throw new AssertionError("no instance with an address for " + duid + ":\n" + karaf.exec("orchestrator:instances"));
    }

    static String awaitHttp(Device d, String address) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            Optional<String> body = d.httpGet(address, 3);
            if (body.isPresent()) {
                return body.get();
            }
            Thread.sleep(300);
        }
        throw new AssertionError("device " + d.namespace() + " could not reach http://[" + address + "]/ within 30 s");
    }

    static void awaitTrue(String what, java.util.concurrent.Callable<Boolean> condition, Duration timeout) throws Exception {
        Instant deadline = Instant.now().plus(timeout);
        while (Instant.now().isBefore(deadline)) {
            if (condition.call()) {
                return;
            }
            Thread.sleep(300);
        }
        throw new AssertionError("timed out after " + timeout + " waiting until " + what);
    }

    static String rowOf(String table, String needle) {
        return Arrays.stream(table.split("\n")).filter(l -> l.contains(needle)).findFirst().orElse("");
    }

    static String bundleId(String nameFragment) throws Exception {
        return KarafBundles.id(karaf, nameFragment);
    }

    static List<String> containers(String provider) {
        return Host.lines("docker", "ps", "-aq", "--no-trunc", "--filter", "label=org.orchestrator.provider=" + provider);
    }

    static String containerOfClient(String duid) {
        List<String> ids = Host.lines("docker", "ps", "-aq", "--no-trunc", "--filter", "label=orchestrator.client=" + duid);
        assertThat(ids).as("containers labelled for client %s", duid).hasSize(1);
        return ids.get(0);
    }

    static List<String> dnsmasqPids() {
        return Host.lines("pgrep", "-f", "dnsmasq.*" + karaf.home());
    }

    static List<String> ports(String bridge) {
        return Host.lines("ip", "-o", "link", "show", "master", bridge).stream()
            .map(l -> l.split(":\\s+", 3)[1].split("@", 2)[0]).sorted().toList();
    }

    /** The elements of the isolation table's sets (peer . instance pairs), in text form. */
    static List<String> nftElements(String table) {
        String out = Host.run("nft", "list", "table", "inet", table).out();
        List<String> elements = new ArrayList<>();
        Matcher m = Pattern.compile("([0-9a-f:]+ \\. [0-9a-f:]+)").matcher(out);
        while (m.find()) {
            elements.add(m.group(1));
        }
        return elements;
    }

    static Path home() {
        return karaf.home();
    }
}
