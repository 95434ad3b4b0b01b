package org.orchestrator.core.internal.store;

import java.nio.file.Path;

import org.junit.jupiter.api.io.TempDir;
import org.orchestrator.core.internal.testing.TestStores;

import com.zaxxer.hikari.HikariDataSource;

/** The store contract on an H2 file database. */
class H2StoreTest extends StoreContractTest {

    @TempDir
    Path dir;

    @Override
    HikariDataSource open() {
        return TestStores.h2File(dir.resolve("orch-core-h2"));
    }

    @Override
    void dropDatabase() {
        // the temporary folder goes away with the test
    }
}
