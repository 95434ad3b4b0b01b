package org.orchestrator.webconsole.metrics;

import java.time.Duration;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ActivityListener;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.webconsole.ServiceSlot;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.system.FileDescriptorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

/**
 * The platform's metrics, kept in a Micrometer {@link PrometheusMeterRegistry} and scraped by
 * {@code GET /orchestrator/api/v1/metrics}.
 *
 * <p>Two sources feed it. As an {@link ActivityListener} service it is told by core what happens
 * (lease events, lease-to-ready latency, provider time, failures, warm-pool claims and refills) and
 * records counters and histograms; these count from this component's start. At every scrape it
 * also reads core's {@link Orchestrator#statistics()}: gauges (clients by state, instances, pool
 * gauges, health) and function counters over core's own cumulative counters, which keep counting
 * while this bundle is restarted. JVM and process meters come from Micrometer's binders.
 *
 * <p>Core may come and go: without it the gauges read NaN, {@code orchestrator_up} reads 0, and the
 * core counters keep their last values. Thread-safe.
 */
@Component(service = {ActivityListener.class, PrometheusScraper.class}, immediate = true)
public final class MicrometerMetrics implements ActivityListener, PrometheusScraper {

    private static final Logger LOG = LoggerFactory.getLogger(MicrometerMetrics.class);

    /** Upper bounds of the latency histograms' buckets (Prometheus adds {@code +Inf}). */
    public static final List<Duration> BUCKETS = List.of(Duration.ofMillis(50), Duration.ofMillis(100),
        Duration.ofMillis(250), Duration.ofMillis(500), Duration.ofSeconds(1), Duration.ofSeconds(2), Duration.ofSeconds(5),
        Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(60), Duration.ofSeconds(120),
        Duration.ofSeconds(300));

    /** Operations that core reports failures of today: their counters exist from the start, at 0. */
    public static final List<String> OPERATIONS = List.of("provision", "attach", "pin", "deprovision", "pool.refill");

    /** The {@code state} label of instances that have no run state yet. */
    public static final String UNKNOWN_STATE = "UNKNOWN";

    /** What one scrape read from core. */
    private record Snapshot(Statistics statistics, Map<String, Long> instancesByState, boolean up) {
    }

    private final ServiceSlot<Orchestrator> orchestrator;
    private final PrometheusMeterRegistry registry;
    private final Map<LeaseEventType, Counter> acceptedLeases = new EnumMap<>(LeaseEventType.class);
    private final Map<LeaseEventType, Counter> rejectedLeases = new EnumMap<>(LeaseEventType.class);
    private final Timer readyProvisioned;
    private final Timer readyPooled;
    private final Counter poolHits;
    private final Counter poolMisses;
    private final Timer poolRefill;
    // Keys of the maps below are names that core's code and configuration give (operations,
    // provider names, counter names): few, so their label cardinality stays small.
    private final Map<String, Counter> failures = new ConcurrentHashMap<>();
    private final Map<String, Timer> providerTimes = new ConcurrentHashMap<>();
    private final Map<String, AtomicLong> coreCounters = new ConcurrentHashMap<>();
    private final Map<String, Boolean> coreGauges = new ConcurrentHashMap<>();
    private volatile Snapshot snapshot; // null while core is missing or could not be read

    /** The component: JVM meters included; core's {@link Orchestrator} is bound as it comes and goes. */
    @Activate
    public MicrometerMetrics() {
        this(new ServiceSlot<>("the orchestrator core"), true);
    }

    /**
     * @param orchestrator where core's service is (may be empty)
     * @param jvm          whether to add the JVM and process meters
     */
    public MicrometerMetrics(ServiceSlot<Orchestrator> orchestrator, boolean jvm) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
        this.registry = newRegistry();

        for (LeaseEventType type : LeaseEventType.values()) {
            acceptedLeases.put(type, leaseCounter(type, "accepted"));
            rejectedLeases.put(type, leaseCounter(type, "rejected"));
        }
        readyProvisioned = readyTimer(false);
        readyPooled = readyTimer(true);
        poolHits = poolClaimCounter("hit");
        poolMisses = poolClaimCounter("miss");
        poolRefill = Timer.builder("orchestrator.pool.refill")
            .description("Time a provider needed to create and start a warm-pool spare.")
            .serviceLevelObjectives(BUCKETS.toArray(Duration[]::new))
            .register(registry);
        OPERATIONS.forEach(this::failureCounter);

        for (ClientState state : ClientState.values()) {
            Gauge.builder("orchestrator.clients", this, m -> m.clients(state)).strongReference(true)
                .description("Clients by state.").tag("state", state.name()).register(registry);
        }
        Gauge.builder("orchestrator.instances", this, MicrometerMetrics::instances).strongReference(true)
            .description("Live instances.").register(registry);
        for (String state : instanceStates()) {
            Gauge.builder("orchestrator.instances.by.state", this, m -> m.instancesInState(state)).strongReference(true)
                .description("Instances in the store by run state (UNKNOWN before creation).").tag("state", state)
                .register(registry);
        }
        Gauge.builder("orchestrator.up", this, MicrometerMetrics::up).strongReference(true)
            .description("1 when core is bound and its store and at least one DHCP source, provider and network are available.")
            .register(registry);
        if (jvm) {
            bindJvm();
        }
    }

    /**
     * A registry whose Prometheus client reads its optional {@code prometheus.properties} through
     * this bundle's class loader: the thread that activates a component may have no context class
     * loader (the client would fail on null) or another bundle's.
     */
    private static PrometheusMeterRegistry newRegistry() {
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(MicrometerMetrics.class.getClassLoader());
        try {
            return new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        } finally {
            thread.setContextClassLoader(previous);
        }
    }

    private void bindJvm() {
        List<MeterBinder> binders = List.of(new JvmMemoryMetrics(), new JvmThreadMetrics(), new ClassLoaderMetrics(),
            new ProcessorMetrics(), new UptimeMetrics(), new FileDescriptorMetrics());
        for (MeterBinder binder : binders) {
            try {
                binder.bindTo(registry);
            } catch (RuntimeException | LinkageError e) {
                // a JVM without the management beans a binder wants: the platform's own meters matter more
                LOG.warn("JVM meters of {} not available: {}", binder.getClass().getSimpleName(), e.toString());
            }
        }
        Gauge.builder("process.resident.memory", ResidentMemory::bytes).baseUnit(BaseUnits.BYTES)
            .description("Resident set size of the Karaf JVM process (VmRSS of /proc/self/status).").register(registry);
    }

    private Counter leaseCounter(LeaseEventType type, String outcome) {
        return Counter.builder("orchestrator.lease.events")
            .description("Lease events received by core (LeaseSink.accept), by type and whether they were stored or rejected as invalid.")
            .tag("type", type.name()).tag("outcome", outcome).register(registry);
    }

    private Timer readyTimer(boolean pool) {
        return Timer.builder("orchestrator.provision.latency")
            .description("Time from a lease event to its client's instance being READY; pool=true when a warm-pool spare was claimed.")
            .tag("pool", Boolean.toString(pool))
            .serviceLevelObjectives(BUCKETS.toArray(Duration[]::new))
            .register(registry);
    }

    private Counter poolClaimCounter(String result) {
        return Counter.builder("orchestrator.pool.claims")
            .description("Requests for a warm-pool spare: hit (claimed) or miss (none ready, or a claimed spare could not be personalised).")
            .tag("result", result).register(registry);
    }

    private Counter failureCounter(String operation) {
        return failures.computeIfAbsent(operation, op -> Counter.builder("orchestrator.failures")
            .description("Failed operations on instances (the client goes to FAILED and is retried), by operation.")
            .tag("operation", op).register(registry));
    }

    private Timer providerTimer(String provider, boolean pool) {
        return providerTimes.computeIfAbsent(provider + '\n' + pool, k -> Timer.builder("orchestrator.provider.provision")
            .description("Time a provider took to create and start an instance (pool=false) or to personalise a claimed spare (pool=true).")
            .tag("provider", provider).tag("pool", Boolean.toString(pool))
            .serviceLevelObjectives(BUCKETS.toArray(Duration[]::new))
            .register(registry));
    }

    private static List<String> instanceStates() {
        List<String> states = new java.util.ArrayList<>();
        for (InstanceState s : InstanceState.values()) {
            states.add(s.name());
        }
        states.add(UNKNOWN_STATE);
        return states;
    }

    @Deactivate
    void deactivate() {
        registry.close();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
        policyOption = ReferencePolicyOption.GREEDY)
    void bindOrchestrator(Orchestrator service) {
        orchestrator.bind(service);
    }

    void unbindOrchestrator(Orchestrator service) {
        orchestrator.unbind(service);
        snapshot = null;
    }

    /** @return the registry (for tests) */
    PrometheusMeterRegistry registry() {
        return registry;
    }

    // ------------------------------------------------------------------ scrape

    @Override
    public String scrape() {
        refresh();
        return registry.scrape();
    }

    /** Reads core once for all of its gauges and counters of this scrape. */
    void refresh() {
        Optional<Orchestrator> core = orchestrator.current();
        if (core.isEmpty()) {
            snapshot = null;
            return;
        }
        Statistics statistics;
        try {
            statistics = core.get().statistics();
        } catch (RuntimeException e) {
            LOG.debug("metrics without core's statistics: {}", e.toString());
            snapshot = null;
            return;
        }
        // the per-state gauge and health are extras: a failing store must not cost the counters
        Map<String, Long> byState = null;
        try {
            byState = countByState(core.get().instances());
        } catch (RuntimeException e) {
            LOG.debug("metrics without instances: {}", e.toString());
        }
        boolean up;
        try {
            up = core.get().health().up();
        } catch (RuntimeException e) {
            up = false;
        }
        statistics.counters().forEach((name, value) -> coreCounters.computeIfAbsent(name, n -> {
            AtomicLong holder = new AtomicLong();
            FunctionCounter.builder("orchestrator.events", holder, AtomicLong::doubleValue)
                .description("Counters kept by core since it started, by name (lease.added, provision.ok, ...).")
                .tag("event", n).register(registry);
            return holder;
        }).set(value));
        statistics.gauges().keySet().forEach(name -> coreGauges.computeIfAbsent(name, n -> {
            Gauge.builder("orchestrator.gauge", this, m -> m.coreGauge(n)).strongReference(true)
                .description("Current values kept by core, by name (pool.ready, pool.starting, ...).")
                .tag("name", n).register(registry);
            return Boolean.TRUE;
        }));
        snapshot = new Snapshot(statistics, byState, up);
    }

    private static Map<String, Long> countByState(List<InstanceView> instances) {
        Map<String, Long> byState = new LinkedHashMap<>();
        for (InstanceView i : instances) {
            byState.merge(i.state() == null ? UNKNOWN_STATE : i.state().name(), 1L, Long::sum);
        }
        return byState;
    }

    private double clients(ClientState state) {
        Snapshot s = snapshot;
        return s == null ? Double.NaN : s.statistics().clientsByState().getOrDefault(state, 0L);
    }

    private double instances() {
        Snapshot s = snapshot;
        return s == null ? Double.NaN : s.statistics().instances();
    }

    private double instancesInState(String state) {
        Snapshot s = snapshot;
        return s == null || s.instancesByState() == null ? Double.NaN : s.instancesByState().getOrDefault(state, 0L);
    }

    private double up() {
        Snapshot s = snapshot;
        return s != null && s.up() ? 1 : 0;
    }

    private double coreGauge(String name) {
        Snapshot s = snapshot;
        Long value = s == null ? null : s.statistics().gauges().get(name);
        return value == null ? Double.NaN : value;
    }

    // ------------------------------------------------------------------ ActivityListener (core's threads)

    @Override
    public void leaseEvent(LeaseEventType type, boolean accepted) {
        if (type != null) {
            (accepted ? acceptedLeases : rejectedLeases).get(type).increment();
        }
    }

    @Override
    public void leaseToReady(Duration latency, boolean fromPool) {
        if (latency != null) {
            (fromPool ? readyPooled : readyProvisioned).record(latency);
        }
    }

    @Override
    public void provisioned(String provider, Duration took, boolean fromPool) {
        if (provider != null && took != null) {
            providerTimer(provider, fromPool).record(took);
        }
    }

    @Override
    public void failed(String operation) {
        if (operation != null) {
            failureCounter(operation).increment();
        }
    }

    @Override
    public void poolClaim(boolean hit) {
        (hit ? poolHits : poolMisses).increment();
    }

    @Override
    public void poolRefilled(Duration took) {
        if (took != null) {
            poolRefill.record(took);
        }
    }
}
