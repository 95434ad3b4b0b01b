package org.orchestrator.core.internal.store;

/**
 * Core's persistent state: clients, instances, attachments, address allocations and the audit log.
 * Every unit of work runs in one database transaction. Thread-safe.
 *
 * <p>All methods throw {@link StoreException} when the database cannot be reached or a statement
 * fails; the transaction is then rolled back.
 */
public interface Store extends AutoCloseable {

    /** A unit of work over one transaction. */
    @FunctionalInterface
    interface Work<T> {
        T run(StoreTx tx);
    }

    /**
     * Runs {@code work} in one transaction: committed when it returns, rolled back when it throws.
     * Exceptions of the work other than {@link StoreException} pass through unchanged.
     */
    <T> T transaction(Work<T> work);

    /** @return whether the database answers (after migrating the schema if needed) */
    boolean ping();

    /** @return the store's location without credentials, for health reports */
    String describe();

    /** Releases the connections; the store cannot be used afterwards. */
    @Override
    void close();
}
