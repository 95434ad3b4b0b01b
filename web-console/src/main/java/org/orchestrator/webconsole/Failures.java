package org.orchestrator.webconsole;

import org.orchestrator.api.manage.OrchestratorException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Maps failures to HTTP statuses and caller-safe messages, the same way for REST and the console
 * page. Unexpected exceptions become 500 with a generic message; their details go to the log only.
 */
public final class Failures {

    private static final Logger LOG = LoggerFactory.getLogger(Failures.class);

    /**
     * @param status  the HTTP status
     * @param message a message safe to return to the caller
     */
    public record Failure(int status, String message) {
    }

    private Failures() {
    }

    public static Failure of(Throwable t) {
        if (t instanceof ApiError e) {
            return new Failure(e.status(), e.getMessage());
        }
        if (t instanceof OrchestratorException e) {
            int status = switch (e.reason()) {
                case NOT_FOUND -> 404;
                case CONFLICT -> 409;
                case INVALID -> 400;
                case UNAVAILABLE -> 503;
            };
            return new Failure(status, String.valueOf(e.getMessage()));
        }
        if (t instanceof IllegalArgumentException e) {
            return new Failure(400, String.valueOf(e.getMessage()));
        }
        if (t instanceof BodyTooLargeException e) {
            return new Failure(413, e.getMessage());
        }
        if (t instanceof IllegalStateException e) {
            // the lease sink's "store cannot be written; retry"
            LOG.warn("Request failed, service unavailable: {}", e.getMessage());
            return new Failure(503, "service unavailable, retry later: " + e.getMessage());
        }
        LOG.error("Request failed unexpectedly", t);
        return new Failure(500, "internal error");
    }
}
