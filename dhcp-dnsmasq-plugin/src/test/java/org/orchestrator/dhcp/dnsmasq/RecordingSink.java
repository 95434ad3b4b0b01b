package org.orchestrator.dhcp.dnsmasq;

import java.net.Inet6Address;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.LeaseSink;

/** Core stand-in: records every event and keeps the active leases, as the store would. */
final class RecordingSink implements LeaseSink {

    private final List<LeaseEvent> events = new ArrayList<>();
    private final Map<Inet6Address, Lease> active = new LinkedHashMap<>();
    private volatile boolean down;

    /** Makes accept() fail as a store outage would. */
    void setDown(boolean down) {
        this.down = down;
    }

    @Override
    public synchronized void accept(LeaseEvent event) {
        if (down) {
            throw new IllegalStateException("store is down (test)");
        }
        events.add(event);
        Lease lease = event.lease();
        if (event.type() == LeaseEventType.ADDED || event.type() == LeaseEventType.RENEWED) {
            active.put(lease.address(), lease);
        } else {
            active.remove(lease.address());
        }
        notifyAll();
    }

    @Override
    public synchronized List<Lease> activeLeases(String source) {
        return active.values().stream().filter(l -> l.source().equals(source)).toList();
    }

    /** Drops a lease as a store that acknowledged a commit and then lost it would. */
    synchronized void lose(Inet6Address address) {
        active.remove(address);
    }

    synchronized List<LeaseEvent> events() {
        return List.copyOf(events);
    }

    /** Waits (bounded) for an event matching the predicate and returns it. */
    synchronized LeaseEvent await(Predicate<LeaseEvent> match, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            for (LeaseEvent e : events) {
                if (match.test(e)) {
                    return e;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("no event within " + timeout + ": " + what + "; events: " + events);
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** Waits (bounded) until the predicate holds for the event list. */
    synchronized void awaitAll(Predicate<List<LeaseEvent>> match, Duration timeout, String what) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!match.test(events)) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                throw new AssertionError("condition not met within " + timeout + ": " + what + "; " + events.size() + " events");
            }
            wait(Math.max(1, left / 1_000_000));
        }
    }
}
