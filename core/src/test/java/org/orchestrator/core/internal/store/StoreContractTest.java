package org.orchestrator.core.internal.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.Inet6Address;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.MacAddress;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.LeaseStatus;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.core.internal.engine.StoreAddressPool;

import com.zaxxer.hikari.HikariDataSource;

/** The store's contract, run against every supported database by the subclasses. */
abstract class StoreContractTest {

    private HikariDataSource dataSource;
    private JdbcStore store;

    /** @return a pooled data source for this test's (empty at first) database; called again after a "restart" */
    abstract HikariDataSource open() throws Exception;

    /** Removes the database of this test. */
    abstract void dropDatabase() throws Exception;

    @BeforeEach
    void setUp() throws Exception {
        dataSource = open();
        store = new JdbcStore(() -> dataSource, "test", Clock.systemUTC());
    }

    @AfterEach
    void tearDown() throws Exception {
        store.close();
        dataSource.close();
        dropDatabase();
    }

    private void restart() throws Exception {
        store.close();
        dataSource.close();
        dataSource = open();
        store = new JdbcStore(() -> dataSource, "test", Clock.systemUTC());
    }

    private static Instant now() {
        return Instant.now().truncatedTo(ChronoUnit.MILLIS);
    }

    private static ClientRecord client(String duid, String address) {
        Instant t = now();
        return ClientRecord.create(Duid.parse(duid), t).leaseStatus(LeaseStatus.ACTIVE).leaseChangedAt(t).leaseAt(t)
            .leaseExpiresAt(t.plusSeconds(3600)).reason("because").instanceId("i-1").attempts(2).nextAttemptAt(t.plusSeconds(5))
            .readyAt(t).adminHold(true).ttlSpent(true)
            .lease(new org.orchestrator.api.lease.Lease(Duid.parse(duid), 4294967295L, Identifiers.ipv6(address),
                MacAddress.parse("AA-BB-CC-DD-EE-FF"), "dev", t.plusSeconds(3600), "lan", "eth0"))
            .build();
    }

    private List<String> tables(DataSource ds) throws Exception {
        List<String> out = new ArrayList<>();
        try (Connection c = ds.getConnection(); ResultSet rs = c.getMetaData().getTables(null, c.getSchema(), "%", new String[] {"TABLE"})) {
            while (rs.next()) {
                out.add(rs.getString("TABLE_NAME").toLowerCase(java.util.Locale.ROOT));
            }
        }
        return out;
    }

    @Test
    void migratesAnEmptyDatabaseOnFirstUseAndOnlyOnce() throws Exception {
        assertThat(tables(dataSource)).doesNotContain("client");
        assertThat(store.ping()).isTrue();
        assertThat(tables(dataSource)).contains("client", "instance", "attachment", "address_allocation", "event_log",
            "flyway_schema_history");
        store.transaction((StoreTx tx) -> {
            tx.saveClient(client("00:01:02", "fd00::1"));
            return null;
        });
        // a second store over the same database finds the schema current and keeps the data
        JdbcStore again = new JdbcStore(() -> dataSource, "again", Clock.systemUTC());
        assertThat(again.transaction((StoreTx tx) -> tx.clients())).hasSize(1);
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement();
             ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM \"flyway_schema_history\" WHERE \"version\" = '1' AND \"success\" = TRUE")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(1);
        }
    }

    @Test
    void clientUpsertIsIdempotentAndRoundTripsEveryField() {
        ClientRecord c = client("00:01:02:03", "fd00::10");
        store.transaction((StoreTx tx) -> {
            tx.saveClient(c);
            tx.saveClient(c);
            return null;
        });
        assertThat(store.transaction((StoreTx tx) -> tx.clients())).containsExactly(c);
        ClientRecord changed = c.toBuilder().state(ClientState.READY, now()).reason(null).instanceId(null).attempts(0)
            .nextAttemptAt(null).adminHold(false).build();
        store.transaction((StoreTx tx) -> {
            tx.saveClient(changed);
            return null;
        });
        assertThat(store.transaction((StoreTx tx) -> tx.client(c.duid()))).contains(changed);
        assertThat(store.transaction((StoreTx tx) -> tx.clientsByAddress(Identifiers.ipv6("fd00:0::10")))).containsExactly(changed);
        assertThat(store.transaction((StoreTx tx) -> tx.activeClients("lan"))).containsExactly(changed);
        assertThat(store.transaction((StoreTx tx) -> tx.countClientsByState())).containsEntry(ClientState.READY, 1L)
            .containsEntry(ClientState.PENDING, 0L);
    }

    @Test
    void instancesAndAttachmentsUpsert() {
        Instant t = now();
        InstanceRecord i = new InstanceRecord("i-1", Duid.parse("00:01:02"), "docker", null, "devices", "img:1", null, null, t,
            t.plusSeconds(60), null);
        Attachment a = new Attachment("i-1", "devices", "veth1", "eth1", MacAddress.parse("02:00:00:00:00:01"),
            Identifiers.ipv6("fd00:99::2"), 64, Identifiers.ipv6("fd00:99::1"), Identifiers.ipv6("fd00:1::5"));
        store.transaction((StoreTx tx) -> {
            tx.saveInstance(i);
            tx.saveInstance(i.withProviderState("abc", InstanceState.RUNNING));
            tx.saveAttachment(a);
            tx.saveAttachment(a);
            return null;
        });
        assertThat(store.transaction((StoreTx tx) -> tx.liveInstances())).containsExactly(i.withProviderState("abc", InstanceState.RUNNING));
        assertThat(store.transaction((StoreTx tx) -> tx.attachments("i-1"))).containsExactly(a);
        store.transaction((StoreTx tx) -> {
            tx.saveInstance(i.destroyed(t));
            tx.deleteAttachments("i-1");
            return null;
        });
        assertThat(store.transaction((StoreTx tx) -> tx.liveInstances())).isEmpty();
        assertThat(store.transaction((StoreTx tx) -> tx.countLiveInstances())).isZero();
        assertThat(store.transaction((StoreTx tx) -> tx.instance("i-1")).orElseThrow().live()).isFalse();
        assertThat(store.transaction((StoreTx tx) -> tx.attachments("i-1"))).isEmpty();
    }

    @Test
    void aFailedTransactionLeavesNothingBehind() {
        assertThatThrownBy(() -> store.transaction((StoreTx tx) -> {
            tx.saveClient(client("00:01:02", "fd00::1"));
            throw new IllegalArgumentException("boom");
        })).isInstanceOf(IllegalArgumentException.class);
        assertThat(store.transaction((StoreTx tx) -> tx.clients())).isEmpty();
    }

    @Test
    void eventLogIsOrderedAndPages() {
        for (int i = 0; i < 25; i++) {
            int n = i;
            store.transaction((StoreTx tx) -> {
                tx.appendEvent("K" + (n % 3), n % 2 == 0 ? Duid.parse("00:01:02") : null, null, "message " + n);
                return null;
            });
        }
        List<EventRecord> all = store.transaction((StoreTx tx) -> tx.events(0, 1000));
        assertThat(all).hasSize(25);
        assertThat(all).extracting(EventRecord::message).startsWith("message 0", "message 1").endsWith("message 24");
        for (int i = 1; i < all.size(); i++) {
            assertThat(all.get(i).seq()).isGreaterThan(all.get(i - 1).seq());
        }
        List<EventRecord> page = store.transaction((StoreTx tx) -> tx.events(all.get(9).seq(), 5));
        assertThat(page).extracting(EventRecord::message).containsExactly("message 10", "message 11", "message 12", "message 13", "message 14");
        assertThat(store.transaction((StoreTx tx) -> tx.recentEvents(3))).extracting(EventRecord::message)
            .containsExactly("message 22", "message 23", "message 24");
        assertThat(all.get(0).client()).isEqualTo(Duid.parse("00:01:02"));
        assertThat(all.get(1).client()).isNull();
    }

    @Test
    void addressAllocationIsUniqueUnderConcurrencyAndIdempotentPerOwner() throws Exception {
        StoreAddressPool pool = new StoreAddressPool(store);
        Ipv6Prefix prefix = Ipv6Prefix.parse("fd00:42::/64");
        Inet6Address gateway = Identifiers.ipv6("fd00:42::1");
        ExecutorService threads = Executors.newFixedThreadPool(8);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Inet6Address>> results = new ArrayList<>();
        for (int i = 0; i < 80; i++) {
            String owner = "i-" + (i % 40); // every owner asks twice, concurrently
            results.add(threads.submit(() -> {
                go.await();
                return pool.allocate("devices", owner, prefix, Set.of(gateway));
            }));
        }
        go.countDown();
        Map<String, Inet6Address> byOwner = new java.util.HashMap<>();
        for (int i = 0; i < results.size(); i++) {
            Inet6Address a = results.get(i).get(60, TimeUnit.SECONDS);
            Inet6Address previous = byOwner.putIfAbsent("i-" + (i % 40), a);
            if (previous != null) {
                assertThat(a).isEqualTo(previous);
            }
        }
        threads.shutdown();
        assertThat(new HashSet<>(byOwner.values())).hasSize(40).doesNotContain(gateway);
        assertThat(byOwner.values()).allMatch(prefix::contains);
        assertThat(pool.allocations("devices")).isEqualTo(byOwner);
        pool.release("devices", "i-0");
        pool.release("devices", "i-0");
        assertThat(pool.allocations("devices")).hasSize(39).doesNotContainKey("i-0");
        assertThat(pool.allocate("devices", "i-new", prefix, Set.of(gateway))).isEqualTo(byOwner.get("i-0"));
    }

    @Test
    void exhaustedPrefixFailsClearly() {
        StoreAddressPool pool = new StoreAddressPool(store);
        Ipv6Prefix tiny = Ipv6Prefix.parse("fd00:43::/126");
        pool.allocate("tiny", "a", tiny, Set.of());
        pool.allocate("tiny", "b", tiny, Set.of());
        pool.allocate("tiny", "c", tiny, Set.of());
        assertThatThrownBy(() -> pool.allocate("tiny", "d", tiny, Set.of())).isInstanceOf(IllegalStateException.class)
            .hasMessageContaining("exhausted");
    }

    @Test
    void everythingSurvivesARestart() throws Exception {
        ClientRecord c = client("00:01:02:03:04", "fd00::20");
        Instant t = now();
        InstanceRecord i = new InstanceRecord("i-9", c.duid(), "docker", "ref", "devices", "img", InstanceState.RUNNING,
            Identifiers.ipv6("fd00:99::9"), t, null, null);
        StoreAddressPool pool = new StoreAddressPool(store);
        Inet6Address a = pool.allocate("devices", "i-9", Ipv6Prefix.parse("fd00:99::/64"), Set.of());
        store.transaction((StoreTx tx) -> {
            tx.saveClient(c);
            tx.saveInstance(i);
            tx.appendEvent("TEST", c.duid(), "i-9", "before restart");
            return null;
        });
        restart();
        assertThat(store.transaction((StoreTx tx) -> tx.client(c.duid()))).contains(c);
        assertThat(store.transaction((StoreTx tx) -> tx.liveInstances())).containsExactly(i);
        assertThat(store.transaction((StoreTx tx) -> tx.recentEvents(1))).extracting(EventRecord::message).containsExactly("before restart");
        assertThat(new StoreAddressPool(store).allocate("devices", "i-9", Ipv6Prefix.parse("fd00:99::/64"), Set.of())).isEqualTo(a);
    }

    @Test
    void unreachableDatabaseFailsWithAStoreException() {
        JdbcStore down = new JdbcStore(() -> {
            throw new StoreException("no driver", null);
        }, "down", Clock.systemUTC());
        assertThat(down.ping()).isFalse();
        assertThatThrownBy(() -> down.transaction((StoreTx tx) -> tx.clients())).isInstanceOf(StoreException.class);
        dataSource.close();
        assertThatThrownBy(() -> store.transaction((StoreTx tx) -> tx.clients())).isInstanceOf(IllegalStateException.class);
    }
}
