package org.orchestrator.bench;

import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.h2.jdbcx.JdbcDataSource;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.core.internal.engine.Engine;
import org.orchestrator.core.internal.engine.PluginRegistry;
import org.orchestrator.core.internal.engine.Policy;
import org.orchestrator.core.internal.store.JdbcStore;
import org.orchestrator.core.internal.store.StoreComponent;

import com.zaxxer.hikari.HikariDataSource;

/**
 * Core's own overhead: lease events through {@link Engine#accept} (the state machine's intake,
 * committed to the store) and on to READY, with the provider, network and DHCP source replaced by
 * in-memory doubles and the store on H2 in memory. What remains is core: validation, the store's
 * transactions, the per-client lanes and the reconciler.
 *
 * <ul>
 * <li>{@code intake}: one ADDED event of a new client per operation; the reconciler works in the
 *     background on the same engine, as in production.</li>
 * <li>{@code renewal}: one RENEWED replay of a known lease (only its expiry moves).</li>
 * <li>{@code leaseToReady}: a batch of new clients, from ADDED until every one is READY
 *     (score = clients per second end to end).</li>
 * </ul>
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 5, time = 3)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgs = {"-Xmx1g"})
public class EventIntakeBenchmark {

    static final int BATCH = 200;

    private HikariDataSource dataSource;
    private JdbcStore store;
    private Engine engine;
    private final AtomicInteger next = new AtomicInteger();
    private Lease known;

    @Setup(Level.Trial)
    public void setUp() {
        JdbcDataSource raw = new JdbcDataSource();
        raw.setURL(StoreComponent.tuned("jdbc:h2:mem:orch-bench-" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1"));
        dataSource = StoreComponent.pooled(raw, 16);
        store = new JdbcStore(() -> dataSource, "h2:mem", Clock.systemUTC());
        PluginRegistry registry = new PluginRegistry();
        PluginRegistry.Origin origin = new PluginRegistry.Origin(1, "bench", () -> "ACTIVE");
        registry.add(ComponentKind.DHCP_SOURCE, new InMemoryPlugins.Source("lan"), origin);
        registry.add(ComponentKind.PROVIDER, new InMemoryPlugins.Provider("docker"), origin);
        registry.add(ComponentKind.NETWORK, new InMemoryPlugins.Network("devices"), origin);
        Policy policy = Policy.builder().reconcileInterval(Duration.ofHours(1)).releaseGrace(Duration.ZERO)
            .maxInstances(0).concurrency(8).build();
        engine = new Engine(store, registry, policy, Clock.systemUTC());
        engine.start();
        known = lease(next.incrementAndGet());
        engine.accept(new LeaseEvent(LeaseEventType.ADDED, known, Instant.now()));
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        engine.close();
        store.close();
        dataSource.close();
    }

    /*
     * The events are made cheaply (no String.format, no text parsing): making them is the
     * benchmark's work, not core's, and formatting and parsing two identifiers per event used to be
     * a fifth of the measured thread's CPU time.
     */
    private static final char[] HEX = "0123456789abcdef".toCharArray();

    static Duid duid(int n) {
        char[] text = "00:01:00:01:00:00:00:00".toCharArray();
        for (int i = 0; i < 4; i++) {
            int b = (n >>> (24 - 8 * i)) & 0xff;
            text[12 + 3 * i] = HEX[b >> 4];
            text[13 + 3 * i] = HEX[b & 0xf];
        }
        return new Duid(new String(text));
    }

    static Lease lease(int n) {
        // addresses fd00:1::/64 low 32 bits = n: never two clients on one address
        byte[] addr = {(byte) 0xfd, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, (byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
        try {
            return new Lease(duid(n), n, Inet6Address.getByAddress(null, addr, -1), null, "dev" + n,
                Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.MILLIS), "lan", "eth0");
        } catch (UnknownHostException e) {
            throw new IllegalStateException(e);
        }
    }

    @Benchmark
    public void intake() {
        engine.accept(new LeaseEvent(LeaseEventType.ADDED, lease(next.incrementAndGet()), Instant.now()));
    }

    @Benchmark
    public void renewal() {
        Lease renewed = new Lease(known.duid(), known.iaid(), known.address(), known.mac(), known.hostname(),
            Instant.now().plus(Duration.ofHours(1)).truncatedTo(ChronoUnit.MILLIS), known.source(), known.network());
        engine.accept(new LeaseEvent(LeaseEventType.RENEWED, renewed, Instant.now()));
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public void leaseToReady() throws InterruptedException {
        int first = next.getAndAdd(BATCH) + 1;
        for (int i = 0; i < BATCH; i++) {
            engine.accept(new LeaseEvent(LeaseEventType.ADDED, lease(first + i), Instant.now()));
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        for (int i = BATCH - 1; i >= 0; i--) {
            Duid d = duid(first + i);
            while (engine.client(d).map(c -> c.state() != ClientState.READY).orElse(true)) {
                if (System.nanoTime() > deadline) {
                    throw new IllegalStateException("client " + d + " not READY within 60 s: " + engine.client(d));
                }
                Thread.sleep(1);
            }
        }
    }
}
