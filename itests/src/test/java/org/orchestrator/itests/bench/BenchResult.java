package org.orchestrator.itests.bench;

import java.util.ArrayList;
import java.util.List;

/** Everything one run measured (milliseconds unless named otherwise). */
public final class BenchResult {

    BenchSettings settings;
    long bootMillis;
    long karafPid;

    final List<Double> floorSequential = new ArrayList<>();
    /** Per sequential floor item: create+start, attach+address, first HTTP (ms, from the script). */
    final List<double[]> floorPhases = new ArrayList<>();
    final List<Double> floorParallelDone = new ArrayList<>();
    double floorParallelMillis = Double.NaN;
    int floorParallelFailures;

    final List<BenchRun.Probe> prototypeSequential = new ArrayList<>();
    final List<BenchRun.Probe> prototypeBurst = new ArrayList<>();
    long prototypeBurstStart;

    final List<BenchRun.Probe> sequential = new ArrayList<>();
    final List<BenchRun.Probe> burst = new ArrayList<>();
    long burstStart;
    /** Devices one at a time with the warm pool on. */
    final List<BenchRun.Probe> pooled = new ArrayList<>();
    /** From poolSize &gt; 0 until the pool reported every spare ready (0 = it did not in time). */
    long poolFillMillis;
    /** Change of core's pool.hit / pool.miss counters (GET /metrics) over the pool phase. */
    long poolMetricHits;
    long poolMetricMisses;
    double burstCpuMillis = Double.NaN;
    final List<long[]> rssSamples = new ArrayList<>();
    long bootRssKb;
    long peakRssKb;
    long finalRssKb;
    long hwmRssKb;
    /** Live instances at the end of the phases (GET /instances). */
    int instanceRecords;
    /** Max RSS over 10 s in the restarted JVM with the store filled to {@code settings.records()} instance records. */
    long recordsRssKb;
    /** Instance records read back through REST after the restart: live (GET /instances) and historic (GET /instances/{id}). */
    int recordsLiveInstances;
    int recordsHistoricInstances;
    int recordsEvents;
    long restartMillis;
    long recordsMillis;
    String heapInfo = "";
    String vmFlags = "";
    int recordsClients;
    int clientRecords;
    /** One direct look-up (authenticated GET /instances/{id}), measured alone after the phases: wall time and Karaf CPU time. */
    double lookupWallMillis = Double.NaN;
    double lookupCpuMillis = Double.NaN;
    int containers;
    int orphanContainers;
    int failures;
    int duplicated;
    int restErrors;
    final List<String> notes = new ArrayList<>();

    static List<Double> latencies(List<BenchRun.Probe> probes) {
        List<Double> out = new ArrayList<>();
        for (BenchRun.Probe p : probes) {
            double l = p.latency();
            if (!Double.isNaN(l)) {
                out.add(l);
            }
        }
        return out;
    }

    static int lost(List<BenchRun.Probe> probes) {
        int n = 0;
        for (BenchRun.Probe p : probes) {
            if (p.httpAt == 0) {
                n++;
            }
        }
        return n;
    }

    /** Time from the burst's start until the last device's first successful HTTP request. */
    /** @return when the first device of a burst held its lease, after the burst's start; NaN when none did */
    static double firstLeaseMillis(List<BenchRun.Probe> probes, long start) {
        return probes.stream().mapToLong(p -> p.leaseAt).filter(t -> t > 0).min().stream()
            .mapToDouble(t -> t - start).findFirst().orElse(Double.NaN);
    }

    static double allReadyMillis(List<BenchRun.Probe> probes, long start) {
        long last = 0;
        for (BenchRun.Probe p : probes) {
            if (p.httpAt == 0) {
                return Double.NaN;
            }
            last = Math.max(last, p.httpAt);
        }
        return probes.isEmpty() ? Double.NaN : last - start;
    }

    /** Pool-phase devices that claimed a spare and kept it, from the event log. */
    static int poolHits(List<BenchRun.Probe> probes) {
        int n = 0;
        for (BenchRun.Probe p : probes) {
            if (p.poolHit()) {
                n++;
            }
        }
        return n;
    }

    public int pooledCount() {
        return pooled.size();
    }

    public int pooledLost() {
        return lost(pooled);
    }

    public int poolHits() {
        return poolHits(pooled);
    }

    public double pooledP50() {
        return Stats.of(latencies(pooled)).p50();
    }

    /** Instance records found through REST after the store was filled (live + historic). */
    public int recordsInstances() {
        return recordsLiveInstances + recordsHistoricInstances;
    }

    public int recordsClients() {
        return recordsClients;
    }

    public long recordsRssKb() {
        return recordsRssKb;
    }

    public int orphanContainers() {
        return orphanContainers;
    }

    public int sequentialLost() {
        return lost(sequential);
    }

    public int burstLost() {
        return lost(burst);
    }

    public int duplicated() {
        return duplicated;
    }

    public int failures() {
        return failures;
    }

    public int sequentialCount() {
        return sequential.size();
    }

    public double sequentialP50() {
        return Stats.of(latencies(sequential)).p50();
    }

    public int burstCount() {
        return burst.size();
    }
}
