package org.orchestrator.core.internal.engine;

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
 * @param force        ignore the retry backoff (new information arrived)
 * @param instances    provider name to instance id to instance
 * @param attachments  network name to instance id to attachment
 * @param pins         source name to DUID to reservation
 */
record Hints(boolean force, Map<String, Map<String, Instance>> instances,
             Map<String, Map<String, Attachment>> attachments, Map<String, Map<Duid, Reservation>> pins) {

    /** A single client's event: nothing observed, respect the backoff. */
    static final Hints EVENT = new Hints(false, Map.of(), Map.of(), Map.of());
    /** New information or an administrator's request: nothing observed, retry now. */
    static final Hints FORCE = new Hints(true, Map.of(), Map.of(), Map.of());

    /** @return the hints to keep when two requests for one client coalesce */
    Hints merge(Hints other) {
        boolean f = force || other.force;
        Hints richer = other.instances.isEmpty() && other.attachments.isEmpty() && other.pins.isEmpty() ? this : other;
        return new Hints(f, richer.instances, richer.attachments, richer.pins);
    }
}
