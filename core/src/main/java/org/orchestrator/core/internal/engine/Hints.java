package org.orchestrator.core.internal.engine;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Map;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Reservation;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.provider.Instance;

/**
 * What a full pass observed before reconciling clients, so that one client's reconciliation can
 * compare with the actual state without asking every plug-in again. A map is absent for a
 * component that could not be listed. Immutable.
 *
 * @param takenAt      when the plug-ins were listed, or null when nothing was observed
 * @param force        ignore the retry backoff (new information arrived)
 * @param instances    provider name to instance id to instance
 * @param attachments  network name to instance id to attachment
 * @param pins         source name to DUID to reservation
 */
record Hints(Instant takenAt, boolean force, Map<String, Map<String, Instance>> instances,
             Map<String, Map<String, Attachment>> attachments, Map<String, Map<Duid, Reservation>> pins) {

    /** A single client's event: nothing observed, respect the backoff. */
    static final Hints EVENT = new Hints(null, false, Map.of(), Map.of(), Map.of());
    /** New information or an administrator's request: nothing observed, retry now. */
    static final Hints FORCE = new Hints(null, true, Map.of(), Map.of(), Map.of());

    /** @return the hints to keep when two requests for one client coalesce */
    Hints merge(Hints other) {
        boolean f = force || other.force;
        Hints richer = other.takenAt == null ? this : other;
        return new Hints(richer.takenAt, f, richer.instances, richer.attachments, richer.pins);
    }

    /**
     * A snapshot says nothing about work done after it was taken: a client whose state changed
     * since (or whose instance is newer) must not be "repaired" from it. Stored times are whole
     * milliseconds, hence the truncation.
     *
     * @return these hints when they may be trusted for a client in its state since {@code stateSince}
     *         with an instance created at {@code instanceCreatedAt} (or null), else hints without observations
     */
    Hints validFor(Instant stateSince, Instant instanceCreatedAt) {
        if (takenAt == null) {
            return this;
        }
        Instant cut = takenAt.truncatedTo(ChronoUnit.MILLIS);
        boolean fresh = stateSince.isBefore(cut) && (instanceCreatedAt == null || instanceCreatedAt.isBefore(cut));
        return fresh ? this : (force ? FORCE : EVENT);
    }
}
