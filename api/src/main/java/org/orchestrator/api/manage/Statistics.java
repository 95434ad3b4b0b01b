package org.orchestrator.api.manage;

import java.util.List;
import java.util.Map;

/**
 * Counters and a latency histogram kept by core since it started, for metrics endpoints.
 *
 * <p>Counter names are dotted lowercase, e.g. {@code lease.added}, {@code lease.renewed},
 * {@code lease.released}, {@code lease.expired}, {@code lease.rejected}, {@code provision.ok},
 * {@code provision.failed}, {@code deprovision.ok}, {@code deprovision.failed},
 * {@code reconcile.runs}, {@code reconcile.repairs}, {@code orphans.removed}, and since 1.1 the
 * warm pool's {@code pool.hit}, {@code pool.miss}, {@code pool.refill.ok}, {@code pool.refill.failed},
 * {@code pool.refill.millis} (total time spent creating spares).
 *
 * @param counters              monotonically increasing counters
 * @param clientsByState        current number of clients in each state
 * @param instances             current number of live instances
 * @param readyLatencyBounds    upper bounds (seconds, ascending) of the lease-to-ready histogram
 * @param readyLatencyCounts    cumulative count of observations at or below each bound
 * @param readyLatencyCount     number of observations
 * @param readyLatencySumSeconds sum of all observations in seconds
 * @param gauges                current values that go up and down (added in 1.1), e.g.
 *                              {@code pool.ready}, {@code pool.starting}, {@code pool.refill.last.millis}
 */
public record Statistics(Map<String, Long> counters, Map<ClientState, Long> clientsByState, long instances,
                         List<Double> readyLatencyBounds, List<Long> readyLatencyCounts,
                         long readyLatencyCount, double readyLatencySumSeconds, Map<String, Long> gauges) {

    /** The 1.0 constructor: no gauges. */
    public Statistics(Map<String, Long> counters, Map<ClientState, Long> clientsByState, long instances,
                      List<Double> readyLatencyBounds, List<Long> readyLatencyCounts,
                      long readyLatencyCount, double readyLatencySumSeconds) {
        this(counters, clientsByState, instances, readyLatencyBounds, readyLatencyCounts, readyLatencyCount,
            readyLatencySumSeconds, Map.of());
    }

    public Statistics {
        gauges = gauges == null ? Map.of() : Map.copyOf(gauges);
        counters = Map.copyOf(counters);
        clientsByState = Map.copyOf(clientsByState);
        readyLatencyBounds = List.copyOf(readyLatencyBounds);
        readyLatencyCounts = List.copyOf(readyLatencyCounts);
        if (readyLatencyBounds.size() != readyLatencyCounts.size()) {
            throw new IllegalArgumentException("histogram bounds and counts differ in size");
        }
    }
}
