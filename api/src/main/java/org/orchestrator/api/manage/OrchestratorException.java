package org.orchestrator.api.manage;

/**
 * A management request could not be carried out. {@link #reason()} lets front ends map it to a
 * status (REST: 404, 409, 400, 503).
 */
public class OrchestratorException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Why a request failed. */
    public enum Reason {
        /** The client or instance does not exist. */
        NOT_FOUND,
        /** The request conflicts with the current state (e.g. limit of instances reached). */
        CONFLICT,
        /** The request is malformed. */
        INVALID,
        /** A needed component or the store is unavailable; retry later. */
        UNAVAILABLE
    }

    private final Reason reason;

    public OrchestratorException(Reason reason, String message) {
        super(message);
        this.reason = reason;
    }

    public OrchestratorException(Reason reason, String message, Throwable cause) {
        super(message, cause);
        this.reason = reason;
    }

    /** @return why the request failed */
    public Reason reason() {
        return reason;
    }
}
