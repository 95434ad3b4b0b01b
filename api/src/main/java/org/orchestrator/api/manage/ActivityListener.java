package org.orchestrator.api.manage;

import java.time.Duration;

import org.orchestrator.api.lease.LeaseEventType;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Observes what core does, as it happens, for metrics libraries and the like (added in 1.2).
 *
 * <p>A whiteboard service: register any number of them; core binds them dynamically and calls
 * every one registered at the time of an observation. Every method has an empty default, so an
 * implementation overrides only what it needs, and later minor versions may add methods.
 *
 * <p>Contract for implementations: methods are called on core's own threads (lease intake,
 * reconciliation, warm-pool threads), often while core holds a client's serial lane, and possibly
 * concurrently from several threads. They must be thread-safe, must return quickly and must not
 * block, call back into {@link Orchestrator} or throw. An exception or error thrown by a listener is
 * logged and ignored; it never changes what core does. Observations are not stored: a listener
 * registered later does not see earlier ones (cumulative numbers are in {@link Statistics}).
 */
@ConsumerType
public interface ActivityListener {

    /**
     * Core received a lease event through {@code LeaseSink.accept}. Expiries that core detects
     * itself (a lease ran out without an event) are not lease events; {@link Statistics} counts
     * them in {@code lease.expired}.
     *
     * @param type     the event's type
     * @param accepted {@code true} when the event was stored; {@code false} when it was rejected
     *                 as invalid (e.g. the address is leased to another client)
     */
    default void leaseEvent(LeaseEventType type, boolean accepted) {
    }

    /**
     * A client became READY after a lease: once per lease that leads to an instance, with the time
     * from the lease event to READY. A client that becomes READY again without a new lease (after a
     * repair or an administrator's provision) is not reported.
     *
     * @param latency  time from the lease event to READY, never negative
     * @param fromPool {@code true} when the instance was a warm-pool spare claimed for the client
     */
    default void leaseToReady(Duration latency, boolean fromPool) {
    }

    /**
     * A provider made an instance available: it created and started one
     * ({@code fromPool == false}), or personalised a claimed warm-pool spare ({@code fromPool == true}).
     *
     * @param provider the provider's name
     * @param took     time spent in the provider's call, never negative
     * @param fromPool whether a claimed spare was personalised instead of provisioning
     */
    default void provisioned(String provider, Duration took, boolean fromPool) {
    }

    /**
     * An operation on a client's instance failed (the client goes to FAILED and is retried with
     * backoff), or a warm-pool spare could not be created.
     *
     * @param operation what failed: {@code provision} (creating or starting the instance),
     *                  {@code attach} (the network attachment), {@code pin} (pinning the address at
     *                  the DHCP source), {@code deprovision} (detaching or destroying), or
     *                  {@code pool.refill} (creating a spare); further names may be added
     */
    default void failed(String operation) {
    }

    /**
     * A client that needs an instance asked the warm pool for a spare.
     *
     * @param hit {@code true} when a spare was claimed; {@code false} when none was ready, or when a
     *            claimed spare could not be personalised (then a hit is followed by a miss)
     */
    default void poolClaim(boolean hit) {
    }

    /**
     * A warm-pool spare was created and started.
     *
     * @param took time the provider needed to create and start it, never negative
     */
    default void poolRefilled(Duration took) {
    }
}
