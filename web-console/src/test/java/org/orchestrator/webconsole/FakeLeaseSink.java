package org.orchestrator.webconsole;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;

import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseSink;

/** Records accepted lease events; can be made to fail like a sink whose store is down. */
public final class FakeLeaseSink implements LeaseSink {

    public final List<LeaseEvent> accepted = new CopyOnWriteArrayList<>();
    public volatile RuntimeException failure;

    @Override
    public void accept(LeaseEvent event) {
        if (failure != null) {
            throw failure;
        }
        accepted.add(event);
    }

    @Override
    public List<Lease> activeLeases(String source) {
        return accepted.stream().map(LeaseEvent::lease).filter(l -> l.source().equals(source)).toList();
    }
}
