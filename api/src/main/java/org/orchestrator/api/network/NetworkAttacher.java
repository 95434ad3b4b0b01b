package org.orchestrator.api.network;

import java.util.List;

/**
 * Connects instances to one network. Registered as an OSGi service by a network plugin, one per
 * configured network; it may come and go at any time.
 *
 * <p>All methods are thread-safe and fail with {@link NetworkException}. A failed
 * {@link #attach} leaves nothing behind (it rolls back what it did).
 */
public interface NetworkAttacher {

    /** @return the unique, stable name of the network */
    String name();

    /**
     * Attaches an instance. Idempotent: when the instance is attached already, the existing
     * attachment is checked, repaired if needed (for instance a changed peer) and returned.
     */
    Attachment attach(AttachRequest request);

    /**
     * Detaches an instance: removes its link, address, routes and isolation rules, and frees its
     * address. Idempotent, and succeeds when the instance or its namespace no longer exists.
     */
    void detach(String instanceId);

    /** @return the attachments that exist on the host for this network */
    List<Attachment> list();

    /**
     * Whether this network keeps an attachment unreachable from every device but its
     * {@linkplain AttachRequest#peer() peer}, and from every device at all while it has none (added
     * in 1.1). Core attaches warm-pool spares ahead of their claim only to a network that answers
     * {@code true}, so that a claim just sets the peer. The default is {@code false}: a network that
     * does not say so is assumed to let devices reach what is attached to it.
     *
     * @return {@code true} when attachments without a peer are reachable by no device
     */
    default boolean isolates() {
        return false;
    }
}
