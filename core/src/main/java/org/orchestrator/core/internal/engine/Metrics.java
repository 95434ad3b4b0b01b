package org.orchestrator.core.internal.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.Statistics;

/**
 * Counters and the lease-to-ready histogram since core started, for {@link Statistics}. The typed
 * observation methods also hand each observation to the {@link ActivityFanOut} (and so to every
 * bound {@code ActivityListener}) after counting it. Thread-safe.
 */
final class Metrics {

    static final List<Double> BOUNDS = List.of(0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0);

    private final Map<String, LongAdder> counters = new ConcurrentHashMap<>();
    private final long[] buckets = new long[BOUNDS.size()]; // guarded by this; non-cumulative
    private long count; // guarded by this
    private double sumSeconds; // guarded by this
    private final ActivityFanOut activity = new ActivityFanOut();

    /** @return where observations go besides the counters */
    ActivityFanOut activity() {
        return activity;
    }

    /** A lease event was stored ({@code accepted}) or rejected as invalid. */
    void leaseEvent(LeaseEventType type, boolean accepted) {
        increment(accepted ? "lease." + type.name().toLowerCase(java.util.Locale.ROOT) : "lease.rejected");
        activity.leaseEvent(type, accepted);
    }

    /**
     * A client became READY.
     *
     * @param leaseToReady time since its lease event, or {@code null} when it became READY again
     *                     without a new lease (not part of the histogram)
     */
    void ready(Duration leaseToReady, boolean fromPool) {
        increment("provision.ok");
        if (leaseToReady != null) {
            Duration latency = leaseToReady.isNegative() ? Duration.ZERO : leaseToReady;
            observeReady(latency);
            activity.leaseToReady(latency, fromPool);
        }
    }

    /** A provider provisioned an instance or personalised a spare; only for listeners. */
    void provisioned(String provider, Duration took, boolean fromPool) {
        activity.provisioned(provider, took.isNegative() ? Duration.ZERO : took, fromPool);
    }

    /**
     * @param counter   the core counter to increment, e.g. {@code provision.failed}
     * @param operation the finer operation name listeners get, e.g. {@code attach}
     */
    void failed(String counter, String operation) {
        increment(counter);
        activity.failed(operation);
    }

    void poolClaim(boolean hit) {
        increment(hit ? "pool.hit" : "pool.miss");
        activity.poolClaim(hit);
    }

    void poolRefilled(Duration took) {
        increment("pool.refill.ok");
        add("pool.refill.millis", took.toMillis());
        activity.poolRefilled(took);
    }

    void poolRefillFailed() {
        failed("pool.refill.failed", "pool.refill");
    }

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
