package org.orchestrator.core.internal.store;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * What the store keeps per physical database connection across transactions: its prepared
 * statements, and whether it was found writable.
 *
 * <p>Why: H2 keeps the parsed form of most statements in a per-session cache, but never of a
 * {@code SELECT ... FOR UPDATE}, which nearly every write of the store runs first; parsing it again
 * for every transaction was a quarter of the CPU time of a lease event. A prepared statement that
 * is kept is parsed once. It has to be made on the physical connection: the pool closes every
 * statement made through its proxy when the connection is returned. So statements live exactly as
 * long as their connection; entries of connections the pool closed are dropped when the next new
 * connection is seen, which bounds this cache by the connections the pool has had open lately.
 *
 * <p>Thread-safe. One connection's entry is used by one thread at a time, the one that borrowed
 * the connection from the pool.
 */
final class ConnectionCache {

    /** Far more than the store's distinct statements (a few dozen): a bound, not a working size. */
    private static final int MAX_STATEMENTS = 128;

    private final Map<Connection, Entry> entries = new ConcurrentHashMap<>();

    /** @param physical the connection behind the pool's proxy ({@code proxy.unwrap(Connection.class)}) */
    Entry of(Connection physical) throws SQLException {
        Entry e = entries.get(physical);
        if (e == null) {
            entries.keySet().removeIf(ConnectionCache::closed);
            e = new Entry(physical);
            entries.put(physical, e);
        }
        return e;
    }

    /** Forgets every entry (the statements close with their connections). */
    void clear() {
        entries.clear();
    }

    private static boolean closed(Connection c) {
        try {
            return c.isClosed();
        } catch (SQLException e) {
            return true;
        }
    }

    /** One physical connection's state. Not thread-safe: used by the connection's borrower only. */
    static final class Entry {
        private final Connection physical;
        private final Map<String, PreparedStatement> statements = new HashMap<>();
        private boolean writable;

        private Entry(Connection physical) {
            this.physical = physical;
        }

        /**
         * @return the connection's prepared statement for {@code sql}, made on first use; the caller
         *         sets every parameter and closes its result sets, never the statement
         */
        PreparedStatement prepare(String sql) throws SQLException {
            PreparedStatement ps = statements.get(sql);
            if (ps == null) {
                if (statements.size() >= MAX_STATEMENTS) {
                    for (PreparedStatement old : statements.values()) {
                        old.close();
                    }
                    statements.clear();
                }
                ps = physical.prepareStatement(sql);
                statements.put(sql, ps);
            }
            return ps;
        }

        /**
         * A database opened read-only stays so, and one that becomes unwritable later fails its
         * writes and closes its connections: one check per connection is enough.
         */
        boolean writable() {
            return writable;
        }

        void markWritable() {
            writable = true;
        }
    }
}
