package org.orchestrator.core.internal.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.Statistics;

/** Counters and the lease-to-ready histogram since core started. Thread-safe. */
final class Metrics {

    static final List<Double> BOUNDS = List.of(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0);

    private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();
    private final long[] buckets = new long[BOUNDS.size()]; // guarded by this; non-cumulative
    private long count; // guarded by this
    private double sumSeconds; // guarded by this

    void increment(String name) {
        add(name, 1);
    }

    void add(String name, long n) {
        counters.computeIfAbsent(name, k -> new LongAdder()).add(n);
    }

    long counter(String name) {
        LongAdder a = counters.get(name);
        return a == null ? 0 : a.sum();
    }

    synchronized void observeReady(Duration latency) {
        double s = Math.max(0, latency.toMillis()) / 1000.0;
        count++;
        sumSeconds += s;
        for (int i = 0; i < BOUNDS.size(); i++) {
            if (s <= BOUNDS.get(i)) {
                buckets[i]++;
                break;
            }
        }
    }

    synchronized Statistics snapshot(Map<ClientState, Long> clientsByState, long instances, Map<String, Long> gauges) {
        Map<String, Long> c = new TreeMap<>();
        for (String name : List.of("lease.added", "lease.renewed", "lease.released", "lease.expired", "lease.rejected",
            "provision.ok", "provision.failed", "deprovision.ok", "deprovision.failed", "reconcile.runs", "reconcile.clients",
            "reconcile.repairs", "orphans.removed", "pool.hit", "pool.miss", "pool.refill.ok", "pool.refill.failed",
            "pool.refill.millis")) {
            c.put(name, 0L);
        }
        counters.forEach((k, v) -> c.put(k, v.sum()));
        List<Long> cumulative = new ArrayList<>(buckets.length);
        long running = 0;
        for (long b : buckets) {
            running += b;
            cumulative.add(running);
        }
        return new Statistics(c, clientsByState, instances, BOUNDS, cumulative, count, sumSeconds, gauges);
    }
}
