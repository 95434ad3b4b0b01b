package org.orchestrator.core.internal.store;

import java.net.Inet6Address;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Types;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.EnumMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.ClassProvider;
import org.flywaydb.core.api.migration.JavaMigration;
import org.flywaydb.core.api.resource.LoadableResource;
import org.flywaydb.core.api.ResourceProvider;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.MacAddress;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.LeaseStatus;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.provider.InstanceState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

/**
 * {@link Store} over JDBC. The schema is migrated with Flyway from Java migrations on first use of
 * each data source, so a database that is down at start-up is migrated when it comes back.
 *
 * <p>A database that stays reachable but can no longer be written is treated as down, and the
 * store reopens it: an embedded H2 whose files became unwritable closes itself for good after its
 * next write fails ("database has been closed"), and one opened while its files are unwritable runs
 * read-only. Either way every pooled connection is useless until the pool lets go of all of them.
 * On such a failure (see {@link #needsReopen}) the store evicts the pool's connections, so that the
 * next attempt opens the database afresh, and it refuses to work on a connection that is read-only.
 * The outage is logged once, with what to do, and its end once.
 */
public final class JdbcStore implements Store {

    private static final Logger LOG = LoggerFactory.getLogger(JdbcStore.class);
    private static final String UNIQUE_VIOLATION = "23505";
    /** SQLState "read-only SQL transaction" (SQL standard; PostgreSQL on a standby uses it too). */
    private static final String READ_ONLY_STATE = "25006";
    private static final int MAX_TEXT = 1000;
    private static final String CLIENT_COLUMNS = "duid, iaid, address, mac, hostname, source, network, lease_status,"
        + " lease_expires_at, lease_changed_at, admin_hold, admin_release, ttl_spent, state, reason, instance_id,"
        + " attempts, next_attempt_at, state_since, lease_at, ready_at, updated_at";
    private static final String INSTANCE_COLUMNS =
        "id, duid, provider, provider_ref, network, image, state, address, created_at, expires_at, destroyed_at";
    private static final String POOL_COLUMNS = "id, pool_key, provider, network, image, provider_ref, state, created_at";
    private static final String EVENT_COLUMNS = "seq, logged_at, kind, duid, instance_id, message";
    private static final int[] CLIENT_TYPES = {Types.BIGINT, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR,
        Types.VARCHAR, Types.VARCHAR, Types.BIGINT, Types.BIGINT, Types.BOOLEAN, Types.BOOLEAN, Types.BOOLEAN, Types.VARCHAR,
        Types.VARCHAR, Types.VARCHAR, Types.INTEGER, Types.BIGINT, Types.BIGINT, Types.BIGINT, Types.BIGINT, Types.BIGINT,
        Types.VARCHAR};

    private final Supplier<DataSource> dataSource;
    private final String description;
    private final Clock clock;
    private final Object migrationLock = new Object();
    private DataSource migrated; // guarded by migrationLock
    private volatile boolean closed;
    private final ConnectionCache connections = new ConnectionCache();
    /** Why the database is unusable, while it is; {@code null} when it works. */
    private final AtomicReference<String> outage = new AtomicReference<>();

    /**
     * @param dataSource  supplies the (pooled) data source; may throw {@link StoreException} while none is available
     * @param description the location without credentials
     */
    public JdbcStore(Supplier<DataSource> dataSource, String description, Clock clock) {
        this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
        this.description = Objects.requireNonNull(description, "description");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @Override
    public <T> T transaction(Work<T> work) {
        if (closed) {
            throw new StoreException("store " + description + " is closed", null);
        }
        DataSource ds = migratedDataSource();
        T result;
        try (Connection c = ds.getConnection()) {
            ConnectionCache.Entry cached = connections.of(c.unwrap(Connection.class));
            if (!cached.writable()) {
                if (c.isReadOnly()) {
                    // H2 opens a database whose files it cannot write read-only, without an error
                    throw new SQLException("the database is open read-only: its files are not writable", READ_ONLY_STATE);
                }
                cached.markWritable();
            }
            c.setAutoCommit(false);
            try {
                result = work.run(new Tx(c, cached));
                c.commit();
            } catch (RuntimeException | Error | SQLException e) {
                // Explicitly, also when the commit failed: the statements ran on the physical
                // connection, so the pool does not know that the transaction is open.
                rollback(c);
                throw e;
            }
        } catch (SQLException e) {
            throw unusable(ds, e).orElseGet(() -> new StoreException("store " + description + " failed: " + e.getMessage(), e));
        } catch (StoreException e) {
            throw unusable(ds, e).orElse(e);
        }
        if (outage.get() != null) {
            String was = outage.getAndSet(null);
            if (was != null) {
                LOG.info("store {} works again (it was unusable: {})", description, was);
            }
        }
        return result;
    }

    /**
     * When {@code failure} says the database behind the pool is unusable until it is reopened,
     * evicts the pool's connections, logs the outage once and returns the exception to throw.
     */
    private Optional<StoreException> unusable(DataSource ds, Throwable failure) {
        if (!needsReopen(failure)) {
            return Optional.empty();
        }
        String cause = rootMessage(failure);
        reopen(ds);
        if (outage.getAndSet(cause) == null) {
            LOG.warn("store {} is unusable ({}): {}", description, cause, ADVICE);
        }
        return Optional.of(new StoreException("store " + description + " is not writable (" + cause + "): " + ADVICE, failure));
    }

    /** What an operator does about an unusable database; also the tail of the exception message. */
    static final String ADVICE = "make its folder and files writable again (permissions, a read-only mount, chattr +i,"
        + " a full or failing disk); the store reopens the database at the next attempt";

    /**
     * @return whether {@code failure} (or a cause) says the database must be reopened before it can
     *         be written again: read-only (SQLState 25006, H2 90097), closed after a file error (H2
     *         90098, 90121), an I/O error or a failed MVStore write (H2 90028, 90031, 90030, 50000)
     */
    static boolean needsReopen(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t instanceof SQLException sql) {
                if (READ_ONLY_STATE.equals(sql.getSQLState())) {
                    return true;
                }
                switch (sql.getErrorCode()) {
                    case 90097, 90098, 90121, 90028, 90031, 90030:
                        // H2's codes; PostgreSQL's driver reports 0 and speaks through the SQLState
                        return true;
                    case 50000:
                        if (String.valueOf(t.getMessage()).contains("MVStoreException")) {
                            return true;
                        }
                        break;
                    default:
                        break;
                }
            }
            if (t.getClass().getName().equals("org.h2.mvstore.MVStoreException")) {
                return true;
            }
        }
        return false;
    }

    private static String rootMessage(Throwable failure) {
        Throwable t = failure;
        while (t.getCause() != null && t.getCause() != t && t instanceof StoreException) {
            t = t.getCause();
        }
        String m = String.valueOf(t.getMessage());
        int nl = m.indexOf('\n');
        return bounded(nl < 0 ? m : m.substring(0, nl)).replace("; SQL statement:", "").trim();
    }

    /** Lets go of every pooled connection, so that the next one opens the database afresh. */
    private static void reopen(DataSource ds) {
        if (ds instanceof HikariDataSource pool && !pool.isClosed()) {
            HikariPoolMXBean bean = pool.getHikariPoolMXBean();
            if (bean != null) {
                // idle connections close now, busy ones when they are returned
                bean.softEvictConnections();
            }
        }
    }

    @Override
    public boolean ping() {
        try {
            return transaction(tx -> {
                tx.countLiveInstances();
                return true;
            });
        } catch (RuntimeException e) {
            LOG.debug("store ping failed", e);
            return false;
        }
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        closed = true;
        connections.clear();
    }

    private static void rollback(Connection c) {
        try {
            c.rollback();
        } catch (SQLException e) {
            LOG.warn("rollback failed: {}", e.getMessage());
        }
    }

    private DataSource migratedDataSource() {
        DataSource ds = dataSource.get();
        synchronized (migrationLock) {
            if (ds != migrated) {
                try {
                    migrate(ds);
                } catch (StoreException e) {
                    throw unusable(ds, e).orElse(e);
                }
                migrated = ds;
            }
        }
        return ds;
    }

    private void migrate(DataSource ds) {
        try {
            // Explicit migrations and empty providers: no classpath scanning, which is unreliable in OSGi.
            Flyway flyway = Flyway.configure(Flyway.class.getClassLoader())
                .dataSource(ds)
                .resourceProvider(new NoResources())
                .javaMigrationClassProvider(new NoClasses())
                .javaMigrations(new V1__Schema(), new V2__WarmPool())
                .load();
            int applied = flyway.migrate().migrationsExecuted;
            if (applied > 0) {
                LOG.info("store {}: applied {} schema migration(s)", description, applied);
            }
        } catch (RuntimeException e) {
            throw new StoreException("store " + description + " is unavailable (schema migration failed): " + e.getMessage(), e);
        }
    }

    /** Empty resource provider: we ship no SQL migration files. */
    private static final class NoResources implements ResourceProvider {
        @Override
        public LoadableResource getResource(String name) {
            return null;
        }

        @Override
        public Collection<LoadableResource> getResources(String prefix, String[] suffixes) {
            return List.of();
        }
    }

    /** Empty class provider: the Java migrations are given explicitly. */
    private static final class NoClasses implements ClassProvider<JavaMigration> {
        @Override
        public Collection<Class<? extends JavaMigration>> getClasses() {
            return List.of();
        }
    }

    // ---- mapping helpers

    /** @return the canonical (RFC 5952) text, so that equal addresses are equal strings; null for null */
    static String text(Inet6Address address) {
        return address == null ? null : Identifiers.format(address);
    }

    private static Inet6Address address(String text) {
        return text == null ? null : Identifiers.ipv6(text);
    }

    private static Long millis(Instant t) {
        return t == null ? null : t.toEpochMilli();
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? null : Instant.ofEpochMilli(v);
    }

    private static String bounded(String s) {
        return s == null || s.length() <= MAX_TEXT ? s : s.substring(0, MAX_TEXT - 3) + "...";
    }

    private static void set(PreparedStatement ps, int i, Object value) throws SQLException {
        if (value == null) {
            ps.setNull(i, value == null ? Types.VARCHAR : Types.OTHER);
        } else if (value instanceof Instant t) {
            ps.setLong(i, t.toEpochMilli());
        } else if (value instanceof Long l) {
            ps.setLong(i, l);
        } else if (value instanceof Integer n) {
            ps.setInt(i, n);
        } else if (value instanceof Boolean b) {
            ps.setBoolean(i, b);
        } else if (value instanceof Inet6Address a) {
            ps.setString(i, text(a));
        } else {
            ps.setString(i, value.toString());
        }
    }

    private static void setNullable(PreparedStatement ps, int i, Object value, int sqlType) throws SQLException {
        if (value == null) {
            ps.setNull(i, sqlType);
        } else {
            set(ps, i, value);
        }
    }

    private static ClientRecord client(ResultSet rs) throws SQLException {
        String mac = rs.getString("mac");
        return ClientRecord.create(new Duid(rs.getString("duid")), Instant.ofEpochMilli(rs.getLong("updated_at")))
            .raw(rs.getLong("iaid"), address(rs.getString("address")), mac == null ? null : new MacAddress(mac),
                rs.getString("hostname"), rs.getString("source"), rs.getString("network"),
                ClientState.valueOf(rs.getString("state")), Instant.ofEpochMilli(rs.getLong("state_since")))
            .leaseStatus(LeaseStatus.valueOf(rs.getString("lease_status")))
            .leaseExpiresAt(instant(rs, "lease_expires_at"))
            .leaseChangedAt(instant(rs, "lease_changed_at"))
            .adminHold(rs.getBoolean("admin_hold"))
            .adminRelease(rs.getBoolean("admin_release"))
            .ttlSpent(rs.getBoolean("ttl_spent"))
            .reason(rs.getString("reason"))
            .instanceId(rs.getString("instance_id"))
            .attempts(rs.getInt("attempts"))
            .nextAttemptAt(instant(rs, "next_attempt_at"))
            .leaseAt(instant(rs, "lease_at"))
            .readyAt(instant(rs, "ready_at"))
            .build();
    }

    private static InstanceRecord instance(ResultSet rs) throws SQLException {
        String state = rs.getString("state");
        return new InstanceRecord(rs.getString("id"), new Duid(rs.getString("duid")), rs.getString("provider"),
            rs.getString("provider_ref"), rs.getString("network"), rs.getString("image"),
            state == null ? null : InstanceState.valueOf(state), address(rs.getString("address")),
            Instant.ofEpochMilli(rs.getLong("created_at")), instant(rs, "expires_at"), instant(rs, "destroyed_at"));
    }

    private static PoolMemberRecord poolMember(ResultSet rs) throws SQLException {
        String state = rs.getString("state");
        return new PoolMemberRecord(rs.getString("id"), rs.getString("pool_key"), rs.getString("provider"),
            rs.getString("network"), rs.getString("image"), rs.getString("provider_ref"),
            state == null ? null : InstanceState.valueOf(state), Instant.ofEpochMilli(rs.getLong("created_at")));
    }

    private static EventRecord event(ResultSet rs) throws SQLException {
        String duid = rs.getString("duid");
        return new EventRecord(rs.getLong("seq"), Instant.ofEpochMilli(rs.getLong("logged_at")), rs.getString("kind"),
            duid == null ? null : new Duid(duid), rs.getString("instance_id"), rs.getString("message"));
    }

    @FunctionalInterface
    private interface RowMapper<T> {
        T map(ResultSet rs) throws SQLException;
    }

    /** One transaction's operations over its connection. */
    private final class Tx implements StoreTx {

        private final Connection c;
        private final ConnectionCache.Entry statements;

        Tx(Connection c, ConnectionCache.Entry statements) {
            this.c = c;
            this.statements = statements;
        }

        private <T> List<T> query(String sql, RowMapper<T> mapper, Object... args) {
            try {
                PreparedStatement ps = statements.prepare(sql);
                for (int i = 0; i < args.length; i++) {
                    set(ps, i + 1, args[i]);
                }
                try (ResultSet rs = ps.executeQuery()) {
                    List<T> out = new ArrayList<>();
                    while (rs.next()) {
                        out.add(mapper.map(rs));
                    }
                    return out;
                }
            } catch (SQLException e) {
                throw new StoreException("store query failed: " + e.getMessage(), e);
            }
        }

        private int update(String sql, Object[] args, int[] types) {
            try {
                PreparedStatement ps = statements.prepare(sql);
                for (int i = 0; i < args.length; i++) {
                    setNullable(ps, i + 1, args[i], types[i]);
                }
                return ps.executeUpdate();
            } catch (SQLException e) {
                throw new StoreException("store update failed: " + e.getMessage(), e);
            }
        }

        private <T> Optional<T> first(List<T> rows) {
            return rows.isEmpty() ? Optional.empty() : Optional.of(rows.get(0));
        }

        @Override
        public Optional<ClientRecord> client(Duid duid) {
            return first(query("SELECT " + CLIENT_COLUMNS + " FROM client WHERE duid = ?", JdbcStore::client, duid.value()));
        }

        @Override
        public Optional<ClientRecord> clientForUpdate(Duid duid) {
            return first(query("SELECT " + CLIENT_COLUMNS + " FROM client WHERE duid = ? FOR UPDATE", JdbcStore::client, duid.value()));
        }

        @Override
        public List<ClientRecord> clients() {
            return query("SELECT " + CLIENT_COLUMNS + " FROM client ORDER BY updated_at DESC, duid", JdbcStore::client);
        }

        @Override
        public List<ClientRecord> clientsByAddress(Inet6Address address) {
            return query("SELECT " + CLIENT_COLUMNS + " FROM client WHERE address = ?"
                + " ORDER BY CASE WHEN lease_status = 'ACTIVE' THEN 0 ELSE 1 END, updated_at DESC", JdbcStore::client, address);
        }

        @Override
        public List<ClientRecord> activeClients(String source) {
            return query("SELECT " + CLIENT_COLUMNS + " FROM client WHERE source = ? AND lease_status = 'ACTIVE' ORDER BY duid",
                JdbcStore::client, source);
        }

        @Override
        public void saveClient(ClientRecord r) {
            int n = update("UPDATE client SET iaid = ?, address = ?, mac = ?, hostname = ?, source = ?, network = ?,"
                + " lease_status = ?, lease_expires_at = ?, lease_changed_at = ?, admin_hold = ?, admin_release = ?,"
                + " ttl_spent = ?, state = ?, reason = ?, instance_id = ?, attempts = ?, next_attempt_at = ?,"
                + " state_since = ?, lease_at = ?, ready_at = ?, updated_at = ? WHERE duid = ?", clientValues(r), CLIENT_TYPES);
            if (n == 0) {
                insertClient(r);
            }
        }

        @Override
        public void insertClient(ClientRecord r) {
            update("INSERT INTO client (iaid, address, mac, hostname, source, network, lease_status, lease_expires_at,"
                + " lease_changed_at, admin_hold, admin_release, ttl_spent, state, reason, instance_id, attempts,"
                + " next_attempt_at, state_since, lease_at, ready_at, updated_at, duid)"
                + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", clientValues(r), CLIENT_TYPES);
        }

        /** @return the client's columns in the order of {@link #CLIENT_TYPES}, the DUID last */
        private Object[] clientValues(ClientRecord r) {
            return new Object[] {r.iaid(), r.address(), r.mac(), r.hostname(), r.source(), r.network(), r.leaseStatus().name(),
                millis(r.leaseExpiresAt()), millis(r.leaseChangedAt()), r.adminHold(), r.adminRelease(), r.ttlSpent(),
                r.state().name(), bounded(r.reason()), r.instanceId(), r.attempts(), millis(r.nextAttemptAt()),
                millis(r.stateSince()), millis(r.leaseAt()), millis(r.readyAt()), millis(r.updatedAt()), r.duid().value()};
        }

        @Override
        public Optional<InstanceRecord> instance(String id) {
            return first(query("SELECT " + INSTANCE_COLUMNS + " FROM instance WHERE id = ?", JdbcStore::instance, id));
        }

        @Override
        public List<InstanceRecord> liveInstances() {
            return query("SELECT " + INSTANCE_COLUMNS + " FROM instance WHERE destroyed_at IS NULL ORDER BY created_at, id",
                JdbcStore::instance);
        }

        @Override
        public long countLiveInstances() {
            return query("SELECT COUNT(*) FROM instance WHERE destroyed_at IS NULL", rs -> rs.getLong(1)).get(0);
        }

        @Override
        public void saveInstance(InstanceRecord r) {
            Object[] values = {r.duid().value(), r.provider(), r.providerRef(), r.network(), r.image(),
                r.state() == null ? null : r.state().name(), r.address(), millis(r.createdAt()), millis(r.expiresAt()),
                millis(r.destroyedAt()), r.id()};
            int[] types = {Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR,
                Types.VARCHAR, Types.BIGINT, Types.BIGINT, Types.BIGINT, Types.VARCHAR};
            int n = update("UPDATE instance SET duid = ?, provider = ?, provider_ref = ?, network = ?, image = ?, state = ?,"
                + " address = ?, created_at = ?, expires_at = ?, destroyed_at = ? WHERE id = ?", values, types);
            if (n == 0) {
                update("INSERT INTO instance (duid, provider, provider_ref, network, image, state, address, created_at,"
                    + " expires_at, destroyed_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", values, types);
            }
        }

        @Override
        public List<PoolMemberRecord> poolMembers() {
            return query("SELECT " + POOL_COLUMNS + " FROM pool_member ORDER BY created_at, id", JdbcStore::poolMember);
        }

        @Override
        public Optional<PoolMemberRecord> poolMemberForUpdate(String id) {
            return first(query("SELECT " + POOL_COLUMNS + " FROM pool_member WHERE id = ? FOR UPDATE", JdbcStore::poolMember, id));
        }

        @Override
        public void savePoolMember(PoolMemberRecord r) {
            Object[] values = {r.poolKey(), r.provider(), r.network(), r.image(), r.providerRef(),
                r.state() == null ? null : r.state().name(), millis(r.createdAt()), r.id()};
            int[] types = {Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR,
                Types.BIGINT, Types.VARCHAR};
            int n = update("UPDATE pool_member SET pool_key = ?, provider = ?, network = ?, image = ?, provider_ref = ?,"
                + " state = ?, created_at = ? WHERE id = ?", values, types);
            if (n == 0) {
                update("INSERT INTO pool_member (pool_key, provider, network, image, provider_ref, state, created_at, id)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", values, types);
            }
        }

        @Override
        public boolean deletePoolMember(String id) {
            return update("DELETE FROM pool_member WHERE id = ?", new Object[] {id}, new int[] {Types.VARCHAR}) > 0;
        }

        @Override
        public List<Attachment> attachments(String instanceId) {
            return query("SELECT instance_id, network, host_if, if_name, mac, address, prefix_len, gateway, peer"
                + " FROM attachment WHERE instance_id = ? ORDER BY network", rs -> {
                    String mac = rs.getString("mac");
                    return new Attachment(rs.getString("instance_id"), rs.getString("network"), rs.getString("host_if"),
                        rs.getString("if_name"), mac == null ? null : new MacAddress(mac), address(rs.getString("address")),
                        rs.getInt("prefix_len"), address(rs.getString("gateway")), address(rs.getString("peer")));
                }, instanceId);
        }

        @Override
        public void saveAttachment(Attachment a) {
            Object[] values = {a.hostInterface(), a.interfaceName(), a.mac() == null ? null : a.mac().value(), a.address(),
                a.prefixLength(), a.gateway(), a.peer(), a.instanceId(), a.network()};
            int[] types = {Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.INTEGER, Types.VARCHAR,
                Types.VARCHAR, Types.VARCHAR, Types.VARCHAR};
            int n = update("UPDATE attachment SET host_if = ?, if_name = ?, mac = ?, address = ?, prefix_len = ?, gateway = ?,"
                + " peer = ? WHERE instance_id = ? AND network = ?", values, types);
            if (n == 0) {
                update("INSERT INTO attachment (host_if, if_name, mac, address, prefix_len, gateway, peer, instance_id, network)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", values, types);
            }
        }

        @Override
        public void deleteAttachments(String instanceId) {
            update("DELETE FROM attachment WHERE instance_id = ?", new Object[] {instanceId}, new int[] {Types.VARCHAR});
        }

        @Override
        public void appendEvent(String kind, Duid duid, String instanceId, String message) {
            String msg = message.length() > 2000 ? message.substring(0, 1997) + "..." : message;
            update("INSERT INTO event_log (logged_at, kind, duid, instance_id, message) VALUES (?, ?, ?, ?, ?)",
                new Object[] {clock.millis(), kind, duid == null ? null : duid.value(), instanceId, msg},
                new int[] {Types.BIGINT, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR, Types.VARCHAR});
        }

        @Override
        public List<EventRecord> events(long afterSeq, int limit) {
            return query("SELECT " + EVENT_COLUMNS + " FROM event_log WHERE seq > ? ORDER BY seq LIMIT ?", JdbcStore::event,
                afterSeq, limit);
        }

        @Override
        public List<EventRecord> recentEvents(int limit) {
            List<EventRecord> newestFirst = query("SELECT " + EVENT_COLUMNS + " FROM event_log ORDER BY seq DESC LIMIT ?",
                JdbcStore::event, limit);
            List<EventRecord> out = new ArrayList<>(newestFirst.size());
            for (int i = newestFirst.size() - 1; i >= 0; i--) {
                out.add(newestFirst.get(i));
            }
            return out;
        }

        @Override
        public Map<ClientState, Long> countClientsByState() {
            Map<ClientState, Long> out = new EnumMap<>(ClientState.class);
            for (ClientState s : ClientState.values()) {
                out.put(s, 0L);
            }
            query("SELECT state, COUNT(*) AS n FROM client GROUP BY state", rs -> {
                out.put(ClientState.valueOf(rs.getString("state")), rs.getLong("n"));
                return null;
            });
            return out;
        }

        @Override
        public Optional<Inet6Address> allocation(String network, String owner) {
            return first(query("SELECT address FROM address_allocation WHERE network = ? AND owner = ?",
                rs -> address(rs.getString(1)), network, owner));
        }

        @Override
        public Map<String, Inet6Address> allocations(String network) {
            Map<String, Inet6Address> out = new LinkedHashMap<>();
            query("SELECT owner, address FROM address_allocation WHERE network = ? ORDER BY owner", rs -> {
                out.put(rs.getString(1), address(rs.getString(2)));
                return null;
            }, network);
            return out;
        }

        @Override
        public Set<Inet6Address> allocatedAddresses(String network) {
            return new HashSet<>(query("SELECT address FROM address_allocation WHERE network = ?",
                rs -> address(rs.getString(1)), network));
        }

        @Override
        public boolean insertAllocation(String network, String owner, Inet6Address address) {
            Savepoint sp = null;
            try {
                // A savepoint keeps the transaction usable after a unique violation (PostgreSQL aborts it otherwise).
                sp = c.setSavepoint();
                PreparedStatement ps = statements.prepare(
                    "INSERT INTO address_allocation (network, owner, address, allocated_at) VALUES (?, ?, ?, ?)");
                ps.setString(1, network);
                ps.setString(2, owner);
                ps.setString(3, text(address));
                ps.setLong(4, clock.millis());
                ps.executeUpdate();
                c.releaseSavepoint(sp);
                return true;
            } catch (SQLException e) {
                if (UNIQUE_VIOLATION.equals(e.getSQLState()) && sp != null) {
                    try {
                        c.rollback(sp);
                    } catch (SQLException e2) {
                        throw new StoreException("store rollback failed: " + e2.getMessage(), e2);
                    }
                    return false;
                }
                throw new StoreException("store update failed: " + e.getMessage(), e);
            }
        }

        @Override
        public void deleteAllocation(String network, String owner) {
            update("DELETE FROM address_allocation WHERE network = ? AND owner = ?", new Object[] {network, owner},
                new int[] {Types.VARCHAR, Types.VARCHAR});
        }
    }
}
