package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.function.Predicate;
import java.util.function.Supplier;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.core.internal.store.JdbcStore;
import org.orchestrator.core.internal.testing.FakeNetwork;
import org.orchestrator.core.internal.testing.FakeProvider;
import org.orchestrator.core.internal.testing.FakeSource;
import org.orchestrator.core.internal.testing.TestStores;

import com.zaxxer.hikari.HikariDataSource;

/** An engine over an in-memory H2 store with one fake source, provider and network. */
final class Harness implements AutoCloseable {

    static final PluginRegistry.Origin ORIGIN = new PluginRegistry.Origin(42, "test.bundle", () -> "ACTIVE");

    final HikariDataSource dataSource;
    final JdbcStore store;
    final PluginRegistry registry = new PluginRegistry();
    final FakeSource source = new FakeSource("lan");
    final FakeProvider provider = new FakeProvider("docker");
    final FakeNetwork network = new FakeNetwork("devices");
    Engine engine;

    Harness(Policy policy) {
        this(policy, true);
    }

    Harness(Policy policy, boolean bindAll) {
        dataSource = TestStores.h2Memory();
        store = TestStores.store(dataSource, "h2:mem");
        if (bindAll) {
            bindAll();
        }
        engine = new Engine(store, registry, policy, Clock.systemUTC());
        engine.start();
        awaitStartPass();
    }

    /** Waits for the pass that every start runs, so that it cannot race with what a test does next. */
    void awaitStartPass() {
        Engine e = engine;
        awaitTrue(() -> e.passesCompleted() >= 1, "the start-up pass");
    }

    static Policy.Builder fastPolicy() {
        return Policy.builder().reconcileInterval(Duration.ofHours(1)).retryBase(Duration.ofMillis(50))
            .retryMax(Duration.ofSeconds(30)).releaseGrace(Duration.ZERO).concurrency(8);
    }

    void bindAll() {
        registry.add(ComponentKind.DHCP_SOURCE, source, ORIGIN);
        registry.add(ComponentKind.PROVIDER, provider, ORIGIN);
        registry.add(ComponentKind.NETWORK, network, ORIGIN);
    }

    /** Replaces the engine by a new one over the same store, as a restart of core does. */
    void restart(Policy policy) {
        engine.close();
        engine = new Engine(store, registry, policy, Clock.systemUTC());
        engine.start();
        awaitStartPass();
    }

    static Duid duid(int n) {
        return Duid.parse(String.format("00:01:00:01:%02x:%02x:%02x:%02x", (n >> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff));
    }

    static Lease lease(int n) {
        return lease(n, Instant.now().plus(Duration.ofHours(1)).truncatedTo(java.time.temporal.ChronoUnit.MILLIS));
    }

    static Lease lease(int n, Instant expires) {
        return new Lease(duid(n), n, Identifiers.ipv6("fd00:1::" + Integer.toHexString(n + 0x100)), null, "dev" + n, expires, "lan", "eth0");
    }

    void send(LeaseEventType type, Lease lease) {
        engine.accept(new LeaseEvent(type, lease, Instant.now()));
    }

    Optional<ClientView> client(int n) {
        return engine.client(duid(n));
    }

    ClientView await(int n, Predicate<ClientView> condition, String what) {
        try {
            return awaitValue(() -> client(n).orElse(null), v -> v != null && condition.test(v), "client " + n + " " + what);
        } catch (AssertionError e) {
            StringBuilder log = new StringBuilder();
            engine.recentEvents(60).forEach(r -> log.append("\n  ").append(r.seq()).append(' ').append(r.at()).append(' ')
                .append(r.kind()).append(' ').append(r.client()).append(' ').append(r.message()));
            throw new AssertionError(e.getMessage() + "\nevents:" + log, e);
        }
    }

    ClientView awaitState(int n, ClientState state) {
        return await(n, c -> c.state() == state, "in state " + state);
    }

    static <T> T awaitValue(Supplier<T> supplier, Predicate<T> condition, String what) {
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        T last = null;
        while (System.nanoTime() < deadline) {
            last = supplier.get();
            if (condition.test(last)) {
                return last;
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        StringBuilder threads = new StringBuilder();
        Thread.getAllStackTraces().forEach((t, stack) -> {
            if (t.getName().startsWith("orchestrator-")) {
                threads.append("\n").append(t.getName()).append(" ").append(t.getState());
                for (StackTraceElement e : stack) {
                    threads.append("\n    at ").append(e);
                }
            }
        });
        throw new AssertionError("timed out waiting for " + what + "; last: " + last + "\nengine threads:" + threads);
    }

    static void awaitTrue(Supplier<Boolean> condition, String what) {
        awaitValue(condition, Boolean::booleanValue, what);
    }

    void assertNoOverlap() {
        assertThat(provider.violations()).isEmpty();
    }

    @Override
    public void close() {
        engine.close();
        store.close();
        dataSource.close();
    }
}
