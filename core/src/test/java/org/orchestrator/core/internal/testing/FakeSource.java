package org.orchestrator.core.internal.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.Reservation;

/** In-memory DHCP source that keeps pins. */
public final class FakeSource implements DhcpSource {

    private final String name;
    private final Map<Duid, Reservation> pins = new ConcurrentHashMap<>();
    private final ConcurrentLinkedQueue<RuntimeException> pinFailures = new ConcurrentLinkedQueue<>();

    public FakeSource(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    public Map<Duid, Reservation> pins() {
        return Map.copyOf(pins);
    }

    public void removeBehindOurBack(Duid duid) {
        pins.remove(duid);
    }

    @Override
    public List<Lease> leases() {
        return List.of();
    }

    /** The next pin calls throw these, in order. */
    public void failNextPin(RuntimeException e) {
        pinFailures.add(e);
    }

    @Override
    public void pin(Reservation reservation) {
        RuntimeException failure = pinFailures.poll();
        if (failure != null) {
            throw failure;
        }
        pins.put(reservation.duid(), reservation);
    }

    @Override
    public void unpin(Duid duid) {
        pins.remove(duid);
    }

    @Override
    public List<Reservation> reservations() {
        return new ArrayList<>(pins.values());
    }
}
