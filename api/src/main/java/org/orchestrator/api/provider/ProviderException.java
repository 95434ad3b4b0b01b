package org.orchestrator.api.provider;

/**
 * A provider or network operation failed. {@link #isTransient()} tells core whether a retry may
 * succeed (daemon down, timeout) or not (bad image, invalid request).
 */
public class ProviderException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    private final boolean transientFailure;

    public ProviderException(String message, boolean transientFailure) {
        super(message);
        this.transientFailure = transientFailure;
    }

    public ProviderException(String message, boolean transientFailure, Throwable cause) {
        super(message, cause);
        this.transientFailure = transientFailure;
    }

    /** @return whether retrying the same call later may succeed */
    public boolean isTransient() {
        return transientFailure;
    }
}
