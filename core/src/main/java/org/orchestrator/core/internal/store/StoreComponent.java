package org.orchestrator.core.internal.store;

import java.sql.SQLException;
import java.time.Clock;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;

import javax.sql.DataSource;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jdbc.DataSourceFactory;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

/**
 * Publishes core's {@link Store}. The JDBC driver comes from a {@code DataSourceFactory} service
 * (pax-jdbc) chosen by the URL scheme, pooled with HikariCP. The store is registered even while
 * the driver or the database is missing: operations then fail with a clear {@link StoreException}
 * and succeed as soon as both are there, so core never crash-loops over its database.
 */
@Component(service = Store.class, configurationPid = StoreComponent.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = StoreComponent.Config.class)
public final class StoreComponent implements Store {

    /** The configuration PID. */
    public static final String PID = "org.orchestrator.core.store";
    static final String DEFAULT_URL = "jdbc:h2:file:${karaf.data}/orchestrator/store;DB_CLOSE_ON_EXIT=FALSE";

    private static final Logger LOG = LoggerFactory.getLogger(StoreComponent.class);

    /** Store configuration. */
    @ObjectClassDefinition(name = "Orchestrator store", description = "Where core keeps its state.")
    public @interface Config {
        @AttributeDefinition(description = "JDBC URL: jdbc:h2:... or jdbc:postgresql://...; ${karaf.data} is replaced by the Karaf data folder")
        String jdbcUrl() default DEFAULT_URL;

        @AttributeDefinition(description = "Database user", required = false)
        String user() default "";

        @AttributeDefinition(description = "Database password", type = AttributeType.PASSWORD, required = false)
        String password() default "";

        @AttributeDefinition(description = "Maximum number of pooled connections", min = "1", max = "100")
        int poolSize() default 10;
    }

    private final Map<String, DataSourceFactory> factories = new ConcurrentHashMap<>();
    private final String url;
    private final String driverClass;
    private final String user;
    private final String password;
    private final int poolSize;
    private final JdbcStore store;
    private HikariDataSource pool; // guarded by this

    @Activate
    public StoreComponent(Config config) {
        this.url = resolve(config.jdbcUrl());
        this.driverClass = driverFor(url);
        this.user = config.user();
        this.password = config.password();
        this.poolSize = Math.max(1, Math.min(100, config.poolSize()));
        this.store = new JdbcStore(this::dataSource, redact(url), Clock.systemUTC());
        LOG.info("store at {} (driver {})", redact(url), driverClass);
    }

    /** Replaces {@code ${karaf.data}} with the system property (or {@code data} outside Karaf). */
    static String resolve(String jdbcUrl) {
        String u = jdbcUrl == null || jdbcUrl.isBlank() ? DEFAULT_URL : jdbcUrl.trim();
        return tuned(u.replace("${karaf.data}", System.getProperty("karaf.data", "data")));
    }

    /**
     * H2 keeps the parsed form of only 8 statements per connection by default; the store uses a few
     * dozen distinct statements, so without a larger cache most of a transaction's time is spent
     * parsing SQL. An explicit {@code QUERY_CACHE_SIZE} in the URL wins.
     */
    public static String tuned(String jdbcUrl) {
        if (!jdbcUrl.startsWith("jdbc:h2:")) {
            return jdbcUrl;
        }
        String upper = jdbcUrl.toUpperCase(java.util.Locale.ROOT);
        String out = jdbcUrl;
        if (!upper.contains(";QUERY_CACHE_SIZE=")) {
            out += ";QUERY_CACHE_SIZE=128";
        }
        // A cached statement may hand back its previous result when H2 believes the table did not
        // change; H2 marks a table changed when a row is written, not when the writer commits, so a
        // reader that ran between the two can keep the old answer. Seen in the benchmark: an
        // instance read through REST without the address committed 90 s earlier.
        if (!upper.contains(";OPTIMIZE_REUSE_RESULTS=")) {
            out += ";OPTIMIZE_REUSE_RESULTS=FALSE";
        }
        return out;
    }

    static String driverFor(String jdbcUrl) {
        if (jdbcUrl.startsWith("jdbc:h2:")) {
            return "org.h2.Driver";
        }
        if (jdbcUrl.startsWith("jdbc:postgresql:")) {
            return "org.postgresql.Driver";
        }
        throw new IllegalArgumentException("unsupported JDBC URL (use jdbc:h2: or jdbc:postgresql:): " + redact(jdbcUrl));
    }

    /** @return the URL without its query part or H2 settings, which may carry credentials */
    static String redact(String jdbcUrl) {
        int cut = jdbcUrl.length();
        for (char c : new char[] {'?', ';'}) {
            int i = jdbcUrl.indexOf(c);
            if (i >= 0 && i < cut) {
                cut = i;
            }
        }
        return jdbcUrl.substring(0, cut);
    }

    @Reference(service = DataSourceFactory.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDataSourceFactory(DataSourceFactory factory, Map<String, Object> properties) {
        Object driver = properties.get(DataSourceFactory.OSGI_JDBC_DRIVER_CLASS);
        if (driver != null) {
            factories.put(driver.toString(), factory);
        }
    }

    void unbindDataSourceFactory(DataSourceFactory factory, Map<String, Object> properties) {
        Object driver = properties.get(DataSourceFactory.OSGI_JDBC_DRIVER_CLASS);
        if (driver != null && factories.remove(driver.toString(), factory) && driverClass.equals(driver.toString())) {
            closePool();
        }
    }

    private synchronized DataSource dataSource() {
        if (pool != null) {
            return pool;
        }
        DataSourceFactory factory = factories.get(driverClass);
        if (factory == null) {
            throw new StoreException("store unavailable: no JDBC driver " + driverClass
                + " (a DataSourceFactory service; install pax-jdbc-h2 or pax-jdbc-postgresql)", null);
        }
        Properties props = new Properties();
        props.setProperty(DataSourceFactory.JDBC_URL, url);
        if (!user.isEmpty()) {
            props.setProperty(DataSourceFactory.JDBC_USER, user);
        }
        if (!password.isEmpty()) {
            props.setProperty(DataSourceFactory.JDBC_PASSWORD, password);
        }
        try {
            pool = pooled(factory.createDataSource(props), poolSize);
            return pool;
        } catch (SQLException | RuntimeException e) {
            throw new StoreException("store unavailable: cannot create a data source for " + redact(url) + ": " + e.getMessage(), e);
        }
    }

    /** Pools a raw data source; the pool starts even when the database is down. */
    public static HikariDataSource pooled(DataSource raw, int size) {
        HikariConfig config = new HikariConfig();
        config.setDataSource(raw);
        config.setPoolName("orchestrator-store");
        config.setMaximumPoolSize(size);
        config.setMinimumIdle(Math.min(2, size));
        config.setConnectionTimeout(5_000);
        config.setValidationTimeout(2_000);
        config.setInitializationFailTimeout(-1);
        return new HikariDataSource(config);
    }

    private synchronized void closePool() {
        if (pool != null) {
            pool.close();
            pool = null;
        }
    }

    @Deactivate
    void deactivate() {
        store.close();
        closePool();
    }

    @Override
    public <T> T transaction(Work<T> work) {
        return store.transaction(work);
    }

    @Override
    public boolean ping() {
        return store.ping();
    }

    @Override
    public String describe() {
        return store.describe();
    }

    @Override
    public void close() {
        // the component's life cycle is DS's: deactivate closes it
    }
}
