package org.orchestrator.api.manage;

/**
 * Life cycle of a client (a device known by its DUID).
 *
 * <pre>
 * PENDING -&gt; PROVISIONING -&gt; ATTACHING -&gt; READY
 * (any) -&gt; RELEASING -&gt; GONE
 * (any) -&gt; FAILED (with a reason; retried by the reconciler)
 * </pre>
 */
public enum ClientState {
    /** Known and wanted; no work started yet. */
    PENDING,
    /** Its instance is being created or started. */
    PROVISIONING,
    /** Its instance runs; the network link is being set up. */
    ATTACHING,
    /** The device can reach its instance. */
    READY,
    /** Its instance is being detached and destroyed. */
    RELEASING,
    /** No instance; nothing left to clean up. */
    GONE,
    /** The last attempt failed; see the reason. The reconciler retries with backoff. */
    FAILED
}
