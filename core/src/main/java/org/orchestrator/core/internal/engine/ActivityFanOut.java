package org.orchestrator.core.internal.engine;

import java.time.Duration;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import java.util.function.Supplier;

import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ActivityListener;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Hands each of core's observations to every bound {@link ActivityListener}, in the calling thread.
 * A listener that throws (or whose service cannot be obtained) is logged and skipped: nothing it does
 * reaches core. Listeners are held as suppliers so that core can bind them by service reference and
 * obtain them on first use, never during its own activation. Thread-safe.
 */
final class ActivityFanOut implements ActivityListener {

    private static final Logger LOG = LoggerFactory.getLogger(ActivityFanOut.class);

    /** One bound listener; {@code warned} keeps a failing listener from flooding the log. */
    private record Bound(Object key, Supplier<? extends ActivityListener> listener, AtomicBoolean warned) {
    }

    private final List<Bound> bound = new CopyOnWriteArrayList<>();

    /**
     * @param key      identifies the listener for {@link #remove} (e.g. its service reference)
     * @param listener supplies the listener, or {@code null} when it is no longer available
     */
    void add(Object key, Supplier<? extends ActivityListener> listener) {
        bound.add(new Bound(Objects.requireNonNull(key, "key"), Objects.requireNonNull(listener, "listener"),
            new AtomicBoolean()));
    }

    /** Adds a listener that is its own key. */
    void add(ActivityListener listener) {
        Objects.requireNonNull(listener, "listener");
        add(listener, () -> listener);
    }

    /** Removes the listener added under {@code key}; unknown keys are ignored. */
    void remove(Object key) {
        bound.removeIf(b -> b.key().equals(key));
    }

    int size() {
        return bound.size();
    }

    private void each(String what, Consumer<ActivityListener> call) {
        for (Bound b : bound) {
            try {
                ActivityListener l = b.listener().get();
                if (l != null) {
                    call.accept(l);
                }
            } catch (RuntimeException | LinkageError e) {
                // A listener is someone else's code (often another bundle): it must never break core.
                if (b.warned().compareAndSet(false, true)) {
                    LOG.warn("activity listener {} failed on {} (further failures of it are logged at debug): {}",
                        b.key(), what, e.toString());
                } else {
                    LOG.debug("activity listener {} failed on {}: {}", b.key(), what, e.toString());
                }
            }
        }
    }

    @Override
    public void leaseEvent(LeaseEventType type, boolean accepted) {
        each("leaseEvent", l -> l.leaseEvent(type, accepted));
    }

    @Override
    public void leaseToReady(Duration latency, boolean fromPool) {
        each("leaseToReady", l -> l.leaseToReady(latency, fromPool));
    }

    @Override
    public void provisioned(String provider, Duration took, boolean fromPool) {
        each("provisioned", l -> l.provisioned(provider, took, fromPool));
    }

    @Override
    public void failed(String operation) {
        each("failed", l -> l.failed(operation));
    }

    @Override
    public void poolClaim(boolean hit) {
        each("poolClaim", l -> l.poolClaim(hit));
    }

    @Override
    public void poolRefilled(Duration took) {
        each("poolRefilled", l -> l.poolRefilled(took));
    }
}
