package org.orchestrator.webconsole;

import java.io.IOException;

/** A request body grew past the configured limit while it was read. */
public final class BodyTooLargeException extends IOException {

    private static final long serialVersionUID = 1L;

    public BodyTooLargeException(long limit) {
        super("request body is larger than " + limit + " bytes");
    }
}
