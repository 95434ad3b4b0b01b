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
    double burstCpuMillis = Double.NaN;
    final List<long[]> rssSamples = new ArrayList<>();
    long bootRssKb;
    long peakRssKb;
    long finalRssKb;
    long hwmRssKb;
    int instanceRecords;
    long recordsRssKb;
    String heapInfo = "";
    String vmFlags = "";
    int recordsClients;
    int clientRecords;
    int containers;
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
