package org.orchestrator.core.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.core.internal.testing.TestStores;

import com.zaxxer.hikari.HikariDataSource;

/**
 * An H2 file store whose folder becomes unwritable — made immutable with {@code chattr +i}, which
 * stops root too and, unlike a read-only bind mount, also stops writes through the file H2 holds
 * open — while it runs, and one opened while its folder is unwritable: the store reports the
 * outage with what to do, and works again, with its data, once the folder is writable. Needs root
 * (CAP_LINUX_IMMUTABLE) and a file system with {@code chattr} (ext4, xfs, btrfs), as the other
 * tests of the platform do.
 */
class H2UnwritableTest {

    private Path dir;
    private HikariDataSource pool;

    @BeforeEach
    void setUp() throws IOException {
        dir = Files.createTempDirectory(Path.of("/tmp"), "orch-core-ro-");
    }

    @AfterEach
    void tearDown() throws Exception {
        // always undo the fault, or the folder could not even be deleted
        chattr("-i");
        if (pool != null) {
            pool.close();
        }
        try (var s = Files.walk(dir)) {
            s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
        }
    }

    @Test
    void aRunningStoreWhoseFilesBecomeUnwritableSaysWhatToDoAndReopensWhenWritable() throws Exception {
        pool = TestStores.h2File(dir);
        JdbcStore store = TestStores.store(pool, "jdbc:h2:file:" + dir + "/store");
        store.transaction(tx -> {
            tx.appendEvent("STATE", null, null, "before the fault");
            return null;
        });
        // H2 writes its commits within about a second: let the one above reach the file
        Thread.sleep(2000);
        chattr("+i");

        // the first write may still be taken in memory; H2 closes the database when it cannot write it out
        StoreException failure = null;
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        int attempts = 0;
        while (failure == null && System.nanoTime() - deadline < 0 && attempts < 100) {
            attempts++;
            try {
                store.transaction(tx -> {
                    tx.appendEvent("STATE", null, null, "during the fault");
                    return null;
                });
                Thread.sleep(300);
            } catch (StoreException e) {
                failure = e;
            }
        }
        assertThat(failure).as("a write fails while the folder is immutable (%d attempts)", attempts).isNotNull();
        assertThat(failure.getMessage()).contains("not writable").contains("chattr +i").contains("reopens the database")
            .contains(dir.toString());
        // a connection opened while H2 is still closing the failed database may serve one more read:
        // the store reports the outage within moments, and keeps reporting it
        assertThat(awaitDown(store)).as("ping while unwritable").isFalse();
        assertThat(store.ping()).isFalse();
        // reads fail too: the store does not pretend to work on a database it cannot write
        assertThatThrownBy(() -> store.transaction(tx -> tx.recentEvents(5))).isInstanceOf(StoreException.class)
            .hasMessageContaining("not writable");

        chattr("-i");
        assertThat(awaitWorking(store)).as("attempts until the store works again").isLessThanOrEqualTo(3);
        List<EventRecord> kept = store.transaction(tx -> tx.recentEvents(50));
        assertThat(kept).extracting(EventRecord::message).contains("before the fault");
        store.transaction(tx -> {
            tx.appendEvent("STATE", null, null, "after the fault");
            return null;
        });
        assertThat(store.ping()).isTrue();
    }

    @Test
    void aStoreOpenedWhileItsFilesAreUnwritableIsDownNotReadOnlyAndRecovers() throws Exception {
        try (HikariDataSource first = TestStores.h2File(dir)) {
            TestStores.store(first, "first").transaction(tx -> {
                tx.appendEvent("STATE", null, null, "written before");
                return null;
            });
        }
        chattr("+i");
        pool = TestStores.h2File(dir);
        JdbcStore store = TestStores.store(pool, "jdbc:h2:file:" + dir + "/store");
        // H2 would open it read-only without a word; the store refuses to run on it
        assertThatThrownBy(() -> store.transaction(tx -> tx.recentEvents(5))).isInstanceOf(StoreException.class)
            .hasMessageContaining("read-only").hasMessageContaining("make its folder and files writable");
        assertThat(store.ping()).isFalse();
        chattr("-i");
        assertThat(awaitWorking(store)).isLessThanOrEqualTo(3);
        List<EventRecord> kept = store.transaction(tx -> tx.recentEvents(5));
        assertThat(kept).extracting(EventRecord::message).contains("written before");
        store.transaction(tx -> {
            tx.appendEvent("STATE", null, null, "written after");
            return null;
        });
    }

    @Test
    void onlyFailuresThatAReopenCanCureReopen() {
        assertThat(JdbcStore.needsReopen(new SQLException("The database has been closed [90098-224]", "90098", 90098))).isTrue();
        assertThat(JdbcStore.needsReopen(new SQLException("The database is read only [90097-224]", "90097", 90097))).isTrue();
        assertThat(JdbcStore.needsReopen(new SQLException("cannot execute INSERT in a read-only transaction", "25006"))).isTrue();
        assertThat(JdbcStore.needsReopen(new StoreException("store update failed",
            new SQLException("General error: \"org.h2.mvstore.MVStoreException: Writing to ... failed\"", "HY000", 50000)))).isTrue();
        assertThat(JdbcStore.needsReopen(new SQLTransientConnectionException("Connection is not available",
            "08001", new SQLException("IO Exception [90028-224]", "90028", 90028)))).isTrue();
        // a unique violation, a server that is down, a syntax error: reopening changes nothing
        assertThat(JdbcStore.needsReopen(new SQLException("duplicate key", "23505", 0))).isFalse();
        assertThat(JdbcStore.needsReopen(new SQLException("Connection refused", "08001", 0))).isFalse();
        assertThat(JdbcStore.needsReopen(new SQLException("Syntax error", "42001", 42001))).isFalse();
        assertThat(JdbcStore.needsReopen(new IllegalArgumentException("bad lease"))).isFalse();
    }

    /** @return the last ping, polled until it fails (bounded: 10 s, 50 pings) */
    private static boolean awaitDown(JdbcStore store) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        boolean up = true;
        for (int i = 0; i < 50 && up && System.nanoTime() - deadline < 0; i++) {
            up = store.ping();
            if (up) {
                Thread.sleep(200);
            }
        }
        return up;
    }

    /** @return how many attempts it took until a write succeeded (bounded: 10 s, 50 attempts) */
    private static int awaitWorking(JdbcStore store) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        StoreException last = null;
        for (int attempt = 1; attempt <= 50 && System.nanoTime() - deadline < 0; attempt++) {
            try {
                store.transaction(tx -> {
                    tx.appendEvent("STATE", null, null, "probe");
                    return null;
                });
                return attempt;
            } catch (StoreException e) {
                last = e;
                Thread.sleep(200);
            }
        }
        throw new AssertionError("the store did not work again within 10 s", last);
    }

    private void chattr(String flag) throws IOException, InterruptedException {
        Process p = new ProcessBuilder("chattr", "-R", flag, dir.toString()).redirectErrorStream(true).start();
        if (!p.waitFor(20, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("chattr " + flag + " did not finish");
        }
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.exitValue() != 0) {
            throw new AssertionError("chattr -R " + flag + " " + dir + " failed (needs root and a file system with chattr): " + out);
        }
    }
}
