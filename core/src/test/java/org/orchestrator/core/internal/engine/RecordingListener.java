package org.orchestrator.core.internal.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ActivityListener;

/** A test double that records every observation as text, e.g. {@code "failed attach"}. Thread-safe. */
final class RecordingListener implements ActivityListener {

    private final List<String> seen = new ArrayList<>();
    private final List<Duration> latencies = new ArrayList<>();

    synchronized List<String> seen() {
        return List.copyOf(seen);
    }

    /** @return the observations whose text starts with {@code prefix} */
    synchronized List<String> seen(String prefix) {
        return seen.stream().filter(s -> s.startsWith(prefix)).toList();
    }

    synchronized List<Duration> latencies() {
        return List.copyOf(latencies);
    }

    private synchronized void add(String s) {
        seen.add(s);
    }

    @Override
    public void leaseEvent(LeaseEventType type, boolean accepted) {
        add("leaseEvent " + type + " " + accepted);
    }

    @Override
    public void leaseToReady(Duration latency, boolean fromPool) {
        synchronized (this) {
            latencies.add(latency);
        }
        add("leaseToReady " + latency + " " + fromPool);
    }

    @Override
    public void provisioned(String provider, Duration took, boolean fromPool) {
        add("provisioned " + provider + " " + took + " " + fromPool);
    }

    @Override
    public void failed(String operation) {
        add("failed " + operation);
    }

    @Override
    public void poolClaim(boolean hit) {
        add("poolClaim " + hit);
    }

    @Override
    public void poolRefilled(Duration took) {
        add("poolRefilled " + took);
    }
}
