package org.orchestrator.core.internal.store;

import org.orchestrator.core.internal.testing.TestStores;

import com.zaxxer.hikari.HikariDataSource;

/** The store contract on the test PostgreSQL (127.0.0.1:55432), in a private schema per test. */
class PostgresStoreTest extends StoreContractTest {

    private String schema;

    @Override
    HikariDataSource open() throws Exception {
        if (schema == null) {
            schema = TestStores.createPgSchema();
        }
        return TestStores.pg(schema);
    }

    @Override
    void dropDatabase() throws Exception {
        if (schema != null) {
            TestStores.dropPgSchema(schema);
        }
    }
}
