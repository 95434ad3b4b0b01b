package org.orchestrator.provider.docker;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Remembers containers the provider itself is stopping, starting or removing, so that the events
 * those calls cause are not reported to core as changes from outside. An entry lives while the
 * call runs and for a short grace period after it, because the daemon may publish the event
 * slightly after it answers.
 */
final class OwnActions {

    private static final long IN_PROGRESS = Long.MAX_VALUE;

    private final long graceNanos;
    private final Map<String, Long> until = new ConcurrentHashMap<>();

    OwnActions(long graceMillis) {
        this.graceNanos = TimeUnit.MILLISECONDS.toNanos(graceMillis);
    }

    /** Marks the start of our own call on the container. */
    void begin(String containerId) {
        until.put(containerId, IN_PROGRESS);
    }

    /** Marks the end of our own call; its events are still ignored for the grace period. */
    void end(String containerId) {
        until.put(containerId, System.nanoTime() + graceNanos);
        prune();
    }

    /** @return whether an event on this container was caused by our own call */
    boolean isOwn(String containerId) {
        Long deadline = until.get(containerId);
        return deadline != null && (deadline == IN_PROGRESS || System.nanoTime() - deadline < 0);
    }

    private void prune() {
        long now = System.nanoTime();
        until.entrySet().removeIf(e -> e.getValue() != IN_PROGRESS && now - e.getValue() >= 0);
    }
}
