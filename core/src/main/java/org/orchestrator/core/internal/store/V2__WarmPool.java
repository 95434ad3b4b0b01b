package org.orchestrator.core.internal.store;

import java.sql.Statement;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * The warm pool: spare instances started before any client needs them. A row is written before
 * the provider is asked to create the spare (like {@code instance}), so a crash in between finds
 * it again by its id; a claim deletes the row and inserts the {@code instance} row in one
 * transaction.
 */
public final class V2__WarmPool extends BaseJavaMigration {

    static final String[] STATEMENTS = {
        "CREATE TABLE pool_member ("
            + " id VARCHAR(63) NOT NULL PRIMARY KEY,"
            + " pool_key VARCHAR(64) NOT NULL,"
            + " provider VARCHAR(63) NOT NULL,"
            + " network VARCHAR(63),"
            + " image VARCHAR(255) NOT NULL,"
            + " provider_ref VARCHAR(255),"
            + " state VARCHAR(16),"
            + " created_at BIGINT NOT NULL)",
        "CREATE INDEX pool_member_key ON pool_member (pool_key)",
    };

    @Override
    public void migrate(Context context) throws Exception {
        try (Statement st = context.getConnection().createStatement()) {
            for (String sql : STATEMENTS) {
                st.execute(sql);
            }
        }
    }
}
