package org.orchestrator.webconsole;

import java.net.Inet6Address;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.PoolView;
import org.orchestrator.api.manage.Health;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.ReconcileReport;
import org.orchestrator.api.provider.ExportResult;

/**
 * The JSON shapes of the API's values, built as ordered maps so that the wire format is written
 * down in one place and does not depend on Jackson's handling of records, {@link Instant} or
 * {@link java.net.InetAddress}. Times are ISO-8601 UTC strings, addresses RFC 5952 text.
 */
public final class Views {

    private Views() {
    }

    public static Map<String, Object> client(ClientView c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("duid", text(c.duid()));
        m.put("iaid", c.iaid());
        m.put("address", Addresses.format(c.address()));
        m.put("hostname", c.hostname());
        m.put("mac", text(c.mac()));
        m.put("source", c.source());
        m.put("network", c.network());
        m.put("leaseStatus", text(c.leaseStatus()));
        m.put("leaseExpiresAt", text(c.leaseExpiresAt()));
        m.put("state", text(c.state()));
        m.put("reason", c.reason());
        m.put("instanceId", c.instanceId());
        m.put("since", text(c.since()));
        m.put("updatedAt", text(c.updatedAt()));
        return m;
    }

    /**
     * One client as {@code GET clients/{duid}} answers it: {@link #client(ClientView)} and
     * {@code instanceAddress}, the address of its attached instance or {@code null}.
     */
    public static Map<String, Object> client(ClientView c, Inet6Address instanceAddress) {
        Map<String, Object> m = client(c);
        m.put("instanceAddress", Addresses.format(instanceAddress));
        return m;
    }

    /** @param now the time against which age and remaining TTL are computed */
    public static Map<String, Object> instance(InstanceView i, Instant now) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", i.id());
        m.put("client", text(i.client()));
        m.put("provider", i.provider());
        m.put("providerRef", i.providerRef());
        m.put("network", i.network());
        m.put("image", i.image());
        m.put("state", text(i.state()));
        m.put("address", Addresses.format(i.address()));
        m.put("createdAt", text(i.createdAt()));
        m.put("expiresAt", text(i.expiresAt()));
        m.put("ageSeconds", i.createdAt() == null ? null : Math.max(0, Duration.between(i.createdAt(), now).getSeconds()));
        m.put("ttlSeconds", i.expiresAt() == null ? null : Math.max(0, Duration.between(now, i.expiresAt()).getSeconds()));
        return m;
    }

    public static Map<String, Object> lease(Lease l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("duid", text(l.duid()));
        m.put("iaid", l.iaid());
        m.put("address", Addresses.format(l.address()));
        m.put("mac", text(l.mac()));
        m.put("hostname", l.hostname());
        m.put("expiresAt", text(l.expiresAt()));
        m.put("source", l.source());
        m.put("network", l.network());
        return m;
    }

    public static Map<String, Object> component(ComponentView c) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("kind", text(c.kind()));
        m.put("name", c.name());
        m.put("bundleId", c.bundleId());
        m.put("bundleSymbolicName", c.bundleSymbolicName());
        m.put("bundleState", c.bundleState());
        m.put("available", c.available());
        m.put("detail", c.detail());
        return m;
    }

    public static Map<String, Object> pool(PoolView p) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("provider", p.provider());
        m.put("network", p.network());
        m.put("image", p.image());
        m.put("poolKey", p.poolKey());
        m.put("size", p.size());
        m.put("min", p.min());
        m.put("max", p.max());
        m.put("ready", p.ready());
        m.put("starting", p.starting());
        m.put("claimed", p.claimed());
        return m;
    }

    public static Map<String, Object> event(EventRecord e) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seq", e.seq());
        m.put("at", text(e.at()));
        m.put("kind", e.kind());
        m.put("client", text(e.client()));
        m.put("instanceId", e.instanceId());
        m.put("message", e.message());
        return m;
    }

    public static Map<String, Object> health(Health h) {
        Map<String, Object> store = new LinkedHashMap<>();
        store.put("up", h.storeUp());
        store.put("detail", h.storeDetail());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("up", h.up());
        m.put("store", store);
        m.put("sources", anyAvailable(h.components(), ComponentKind.DHCP_SOURCE));
        m.put("providers", anyAvailable(h.components(), ComponentKind.PROVIDER));
        m.put("networks", anyAvailable(h.components(), ComponentKind.NETWORK));
        m.put("components", list(h.components(), Views::component));
        return m;
    }

    public static Map<String, Object> reconcile(ReconcileReport r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("clientsChecked", r.clientsChecked());
        m.put("repaired", r.repaired());
        m.put("orphansRemoved", r.orphansRemoved());
        m.put("actions", r.actions());
        m.put("tookMillis", r.took() == null ? null : r.took().toMillis());
        return m;
    }

    public static Map<String, Object> export(ExportResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("imageId", r.imageId());
        m.put("imageTag", r.imageTag());
        m.put("archive", r.archive() == null ? null : r.archive().toString());
        m.put("sizeBytes", r.sizeBytes());
        return m;
    }

    /** @return the number of clients in each state, every state present */
    public static Map<String, Long> countByState(List<ClientView> clients) {
        Map<ClientState, Long> counts = new EnumMap<>(ClientState.class);
        for (ClientState s : ClientState.values()) {
            counts.put(s, 0L);
        }
        for (ClientView c : clients) {
            if (c.state() != null) {
                counts.merge(c.state(), 1L, Long::sum);
            }
        }
        Map<String, Long> out = new LinkedHashMap<>();
        counts.forEach((k, v) -> out.put(k.name(), v));
        return out;
    }

    public static <T> List<Map<String, Object>> list(List<T> values, java.util.function.Function<T, Map<String, Object>> view) {
        List<Map<String, Object>> out = new ArrayList<>(values.size());
        for (T v : values) {
            out.add(view.apply(v));
        }
        return out;
    }

    private static boolean anyAvailable(List<ComponentView> components, ComponentKind kind) {
        return components.stream().anyMatch(c -> c.kind() == kind && c.available());
    }

    private static String text(Object value) {
        return value == null ? null : value.toString();
    }
}
