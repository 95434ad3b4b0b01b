package org.orchestrator.core.internal.testing;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.util.UUID;

import javax.sql.DataSource;

import org.h2.jdbcx.JdbcDataSource;
import org.orchestrator.core.internal.store.JdbcStore;
import org.orchestrator.core.internal.store.StoreComponent;
import org.postgresql.ds.PGSimpleDataSource;

import com.zaxxer.hikari.HikariDataSource;

/** Data sources for tests: H2 in memory or in a file, and a private schema on the test PostgreSQL. */
public final class TestStores {

    public static final String PG_URL = "jdbc:postgresql://127.0.0.1:55432/orchestrator_test";

    private TestStores() {
    }

    public static HikariDataSource h2Memory() {
        JdbcDataSource ds = new JdbcDataSource();
        // the settings the store component gives H2 (no reuse of cached results, a query cache)
        ds.setURL(StoreComponent.tuned("jdbc:h2:mem:orch-core-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1"));
        return StoreComponent.pooled(ds, 16);
    }

    public static HikariDataSource h2File(java.nio.file.Path dir) {
        JdbcDataSource ds = new JdbcDataSource();
        ds.setURL(StoreComponent.tuned("jdbc:h2:file:" + dir.resolve("store").toAbsolutePath() + ";DB_CLOSE_ON_EXIT=FALSE"));
        return StoreComponent.pooled(ds, 16);
    }

    /** Creates a fresh schema {@code orch_core_*} on the test PostgreSQL; fails clearly when it is not running. */
    public static String createPgSchema() throws Exception {
        String schema = "orch_core_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (Connection c = DriverManager.getConnection(PG_URL, "postgres", ""); Statement st = c.createStatement()) {
            sweepOnce(c);
            st.execute("CREATE SCHEMA " + schema);
        } catch (java.sql.SQLException e) {
            throw new AssertionError("test PostgreSQL at 127.0.0.1:55432 is not available (run scripts/test-env.sh): " + e.getMessage(), e);
        }
        return schema;
    }

    private static boolean swept;

    /** Drops schemas that earlier, crashed runs of these tests left behind (only our prefix). */
    private static synchronized void sweepOnce(Connection c) throws java.sql.SQLException {
        if (swept) {
            return;
        }
        swept = true;
        java.util.List<String> leftovers = new java.util.ArrayList<>();
        try (Statement st = c.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'orch\\_core\\_%'")) {
            while (rs.next()) {
                leftovers.add(rs.getString(1));
            }
        }
        for (String name : leftovers) {
            if (name.matches("orch_core_[0-9a-f]{12}")) {
                try (Statement st = c.createStatement()) {
                    st.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
                }
            }
        }
    }

    public static void dropPgSchema(String schema) throws Exception {
        try (Connection c = DriverManager.getConnection(PG_URL, "postgres", ""); Statement st = c.createStatement()) {
            st.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    public static HikariDataSource pg(String schema) {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(PG_URL + "?currentSchema=" + schema);
        ds.setUser("postgres");
        return StoreComponent.pooled(ds, 16);
    }

    public static JdbcStore store(DataSource ds, String description) {
        return new JdbcStore(() -> ds, description, Clock.systemUTC());
    }
}
