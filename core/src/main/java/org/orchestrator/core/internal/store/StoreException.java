package org.orchestrator.core.internal.store;

/** The store could not be read or written. Callers retry later; nothing has been half-written. */
public final class StoreException extends IllegalStateException {

    private static final long serialVersionUID = 1L;

    public StoreException(String message, Throwable cause) {
        super(message, cause);
    }
}
