package org.orchestrator.api.network;

import org.orchestrator.api.provider.ProviderException;

/** A network operation failed; the message includes what the failing tool printed. */
public class NetworkException extends ProviderException {

    private static final long serialVersionUID = 1L;

    public NetworkException(String message, boolean transientFailure) {
        super(message, transientFailure);
    }

    public NetworkException(String message, boolean transientFailure, Throwable cause) {
        super(message, transientFailure, cause);
    }
}
