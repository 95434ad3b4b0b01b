package org.orchestrator.provider.docker;

import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;

/**
 * Remembers the container events the provider's own calls cause (our start, stop, removal), so that
 * they are not reported to core as changes from outside. An expectation lives while the call runs
 * and for a short grace period after it, because the daemon may publish the event slightly after
 * it answers. Expectations are per container and per event action: a removal by someone else
 * right after our own start is still reported.
 */
final class OwnActions {

    /** Events our start causes. */
    static final Set<String> START = Set.of("start", "unpause");
    /** Events our stop causes. */
    static final Set<String> STOP = Set.of("kill", "die", "stop");
    /** Events our forced removal causes. */
    static final Set<String> REMOVE = Set.of("kill", "die", "stop", "destroy");

    private static final long IN_PROGRESS = Long.MAX_VALUE;

    private record Key(String containerId, String action) {
    }

    private final long graceNanos;
    private final Map<Key, Long> until = new ConcurrentHashMap<>();

    OwnActions(long graceMillis) {
        this.graceNanos = TimeUnit.MILLISECONDS.toNanos(graceMillis);
    }

    /** Marks the start of our own call on the container, which causes the given event actions. */
    void begin(String containerId, Set<String> actions) {
        for (String action : actions) {
            until.put(new Key(containerId, action), IN_PROGRESS);
        }
    }

    /** Marks the end of our own call; its events are still ignored for the grace period. */
    void end(String containerId, Set<String> actions) {
        long deadline = System.nanoTime() + graceNanos;
        for (String action : actions) {
            until.put(new Key(containerId, action), deadline);
        }
        prune();
    }

    /**
     * @return whether an event with this action on this container was caused by our own call; an
     *         expectation is used up by the event that matches it
     */
    boolean isOwn(String containerId, String action) {
        Key key = new Key(containerId, action);
        Long deadline = until.get(key);
        if (deadline == null) {
            return false;
        }
        if (deadline != IN_PROGRESS) {
            until.remove(key, deadline);
        }
        return deadline == IN_PROGRESS || System.nanoTime() - deadline < 0;
    }

    /** @return like {@link #isOwn} but without using the expectation up (for tests) */
    boolean isOwnPeek(String containerId, String action) {
        Long deadline = until.get(new Key(containerId, action));
        return deadline != null && (deadline == IN_PROGRESS || System.nanoTime() - deadline < 0);
    }

    private void prune() {
        long now = System.nanoTime();
        until.entrySet().removeIf(e -> e.getValue() != IN_PROGRESS && now - e.getValue() >= 0);
    }
}
