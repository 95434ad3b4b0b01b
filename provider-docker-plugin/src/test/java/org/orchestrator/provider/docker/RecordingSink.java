package org.orchestrator.provider.docker;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;

import org.orchestrator.api.provider.InstanceChangeSink;
import org.orchestrator.api.provider.InstanceState;

/** Records what providers report, with the time each report arrived. */
final class RecordingSink implements InstanceChangeSink {

    /** One report; {@code instanceId == null} for providerAvailable. */
    record Report(String provider, String instanceId, InstanceState state, String reason, long nanos) {
    }

    final List<Report> reports = new CopyOnWriteArrayList<>();

    @Override
    public void instanceChanged(String provider, String instanceId, InstanceState state, String reason) {
        reports.add(new Report(provider, instanceId, state, reason, System.nanoTime()));
    }

    @Override
    public void providerAvailable(String provider) {
        reports.add(new Report(provider, null, null, "available", System.nanoTime()));
    }

    /** @return the first report matching, waiting at most {@code timeout}, or {@code null} */
    Report await(Predicate<Report> match, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (Report r : reports) {
                if (match.test(r)) {
                    return r;
                }
            }
            if (System.nanoTime() - deadline >= 0) {
                return null;
            }
            Thread.sleep(10);
        }
    }

    List<Report> about(String instanceId) {
        return reports.stream().filter(r -> instanceId.equals(r.instanceId())).toList();
    }
}
