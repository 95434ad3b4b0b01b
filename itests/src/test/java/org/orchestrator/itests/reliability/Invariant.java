package org.orchestrator.itests.reliability;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.orchestrator.itests.support.Host;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * The invariant every reliability scenario ends with: every active lease has exactly one READY
 * client with one live, running instance holding one address; and nothing is left over — no
 * container, veth, nftables element, pin or lease that belongs to no such client. Reads the REST
 * API, {@code docker ps} by label, {@code ip link} aliases, {@code nft list set} and the dnsmasq
 * plug-in's {@code pins} file.
 */
final class Invariant {

    private static final Pattern ALIAS = Pattern.compile("alias orchestrator net=" + Pattern.quote(RlLab.NETWORK) + " id=(\\S+)");
    private static final Pattern NFT_ELEMENT = Pattern.compile("([0-9a-f:]+) \\. ([0-9a-f:]+)");

    /** What one check saw. */
    record Snapshot(int leases, int instances, int containers, int veths, int nftElements, int pins, List<String> violations) {
        @Override
        public String toString() {
            return "leases=" + leases + " instances=" + instances + " containers=" + containers + " veths=" + veths
                + " nft=" + nftElements + " pins=" + pins + (violations.isEmpty() ? " OK" : " violations=" + violations);
        }
    }

    private Invariant() {
    }

    static Snapshot check(RlLab lab) throws Exception {
        List<String> v = new ArrayList<>();
        Map<String, JsonNode> leases = byKey(lab.get("leases"), "duid");
        Map<String, JsonNode> clients = byKey(lab.get("clients"), "duid");
        JsonNode instances = lab.get("instances");

        Map<String, List<JsonNode>> instancesByClient = new HashMap<>();
        Set<String> instanceIds = new TreeSet<>();
        Set<String> instanceAddresses = new HashSet<>();
        for (JsonNode i : instances) {
            instancesByClient.computeIfAbsent(norm(i.path("client").asText()), k -> new ArrayList<>()).add(i);
            instanceIds.add(i.path("id").asText());
            String a = i.path("address").asText(null);
            if (a != null && !a.equals("null") && !instanceAddresses.add(a)) {
                v.add("address " + a + " held by two instances");
            }
            if (!leases.containsKey(norm(i.path("client").asText()))) {
                v.add("orphan instance " + i.path("id").asText() + " of " + i.path("client").asText() + " without active lease");
            }
        }
        for (var e : leases.entrySet()) {
            JsonNode c = clients.get(e.getKey());
            if (c == null || !"READY".equals(c.path("state").asText())) {
                v.add("lease " + e.getKey() + " client " + (c == null ? "missing" : c.path("state").asText() + " (" + c.path("reason").asText() + ")"));
                continue;
            }
            List<JsonNode> own = instancesByClient.getOrDefault(e.getKey(), List.of());
            if (own.size() != 1) {
                v.add("lease " + e.getKey() + " has " + own.size() + " instances");
            } else if (!"RUNNING".equals(own.get(0).path("state").asText()) || own.get(0).path("address").isNull()) {
                v.add("instance of " + e.getKey() + " is " + own.get(0).path("state").asText() + " address " + own.get(0).path("address"));
            }
        }

        // containers of our provider, by instance label
        List<String> containerRows = RlLab.docker("ps", "-a", "--filter", "label=org.orchestrator.provider=" + RlLab.PROVIDER,
            "--format", "{{.Label \"org.orchestrator.instance\"}} {{.State}}").out().lines().filter(l -> !l.isBlank()).toList();
        Map<String, Integer> containersPerInstance = new HashMap<>();
        for (String row : containerRows) {
            String[] p = row.trim().split(" ");
            containersPerInstance.merge(p[0], 1, Integer::sum);
            if (!instanceIds.contains(p[0])) {
                v.add("orphan container of instance " + p[0]);
            } else if (p.length < 2 || !p[1].equals("running")) {
                v.add("container of " + p[0] + " is " + (p.length < 2 ? "?" : p[1]));
            }
        }
        for (String id : instanceIds) {
            int n = containersPerInstance.getOrDefault(id, 0);
            if (n != 1) {
                v.add("instance " + id + " has " + n + " containers");
            }
        }

        // veths whose alias names our network
        Map<String, Integer> vethsPerInstance = new HashMap<>();
        Matcher m = ALIAS.matcher(Host.run("ip", "-o", "-d", "link", "show").out());
        int veths = 0;
        while (m.find()) {
            veths++;
            vethsPerInstance.merge(m.group(1), 1, Integer::sum);
            if (!instanceIds.contains(m.group(1))) {
                v.add("orphan veth of instance " + m.group(1));
            }
        }
        for (String id : instanceIds) {
            if (vethsPerInstance.getOrDefault(id, 0) != 1) {
                v.add("instance " + id + " has " + vethsPerInstance.getOrDefault(id, 0) + " veths");
            }
        }

        // nftables: one element peer . instance address per instance
        Host.Result set = Host.run("nft", "list", "set", "inet", RlLab.NFT_TABLE, "allowed");
        int nft = 0;
        if (!set.ok()) {
            v.add("nft set missing: " + set.out().trim());
        } else {
            Set<String> inSet = new HashSet<>();
            Matcher e = NFT_ELEMENT.matcher(set.out().substring(Math.max(0, set.out().indexOf("elements"))));
            while (e.find()) {
                nft++;
                inSet.add(e.group(2));
                if (!instanceAddresses.contains(e.group(2))) {
                    v.add("orphan nft element " + e.group(1) + " . " + e.group(2));
                }
            }
            for (String a : instanceAddresses) {
                if (!inSet.contains(a)) {
                    v.add("no nft element for instance address " + a);
                }
            }
        }

        // pins: one per READY client with an active lease, none else
        Path pinsFile = lab.runFolder().resolve("pins");
        int pins = 0;
        Set<String> pinned = new HashSet<>();
        if (Files.exists(pinsFile)) {
            for (String line : Files.readAllLines(pinsFile)) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                pins++;
                String duid = norm(line.trim().split("\\s+")[0]);
                pinned.add(duid);
                if (!leases.containsKey(duid)) {
                    v.add("orphan pin " + line.trim());
                }
            }
        }
        for (String duid : leases.keySet()) {
            if (!pinned.contains(duid)) {
                v.add("lease " + duid + " not pinned");
            }
        }
        return new Snapshot(leases.size(), instanceIds.size(), containerRows.size(), veths, nft, pins, v);
    }

    /** Polls until the invariant holds; fails with the last violations. */
    static Snapshot await(RlLab lab, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        Snapshot last = null;
        Exception error = null;
        while (System.nanoTime() - deadline < 0) {
            try {
                last = check(lab);
                error = null;
                if (last.violations().isEmpty()) {
                    return last;
                }
            } catch (Exception e) {
                error = e;
            }
            Thread.sleep(1000);
        }
        throw new AssertionError("invariant does not hold after " + timeout + ": " + last
            + (error == null ? "" : " (last error " + error + ")"), error);
    }

    static Map<String, JsonNode> byKey(JsonNode array, String field) {
        Map<String, JsonNode> map = new HashMap<>();
        for (JsonNode n : array) {
            map.put(norm(n.path(field).asText()), n);
        }
        return map;
    }

    /** DUIDs in one form: lowercase hex digits only. */
    static String norm(String duid) {
        return duid.toLowerCase().replaceAll("[^0-9a-f]", "");
    }
}
