package org.orchestrator.core.internal.engine;

import java.net.Inet6Address;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.lease.Reservation;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.Health;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.LeaseStatus;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.OrchestratorException;
import org.orchestrator.api.manage.OrchestratorException.Reason;
import org.orchestrator.api.manage.PoolView;
import org.orchestrator.api.manage.ReconcileReport;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.NetworkAttacher;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceChangeSink;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.VirtualizationProvider;
import org.orchestrator.core.internal.store.ClientRecord;
import org.orchestrator.core.internal.store.InstanceRecord;
import org.orchestrator.core.internal.store.PoolMemberRecord;
import org.orchestrator.core.internal.store.Store;
import org.orchestrator.core.internal.store.StoreException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The heart of core: stores lease events, and a level-triggered reconciler converges the actual
 * state (instances, attachments, pins) to the desired state of every client.
 *
 * <p>Work for one client always runs through a {@link SerialExecutor} keyed by its DUID, so two
 * operations on one client never overlap; the pool size bounds global concurrency. Requests for a
 * client that is already queued coalesce. Deadlines (lease expiry, grace end, TTL end, retry) are
 * per-client timers re-armed after every reconciliation; a periodic full pass catches anything
 * else. Everything the engine knows is in the {@link Store}, so it can be thrown away and rebuilt.
 * Thread-safe.
 */
public final class Engine implements LeaseSink, InstanceChangeSink, Orchestrator, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Engine.class);
    private static final Duration STORE_RETRY = Duration.ofSeconds(5);
    private static final Duration FIRST_PASS_RETRY = Duration.ofSeconds(1);
    private static final Duration PASS_WAIT = Duration.ofMinutes(5);
    private static final String WAITING = "waiting for ";

    private final Store store;
    private final PluginRegistry registry;
    private final Clock clock;
    private final Metrics metrics = new Metrics();
    /** Instances claimed from the warm pool that have not been READY yet (for the listeners' fromPool). */
    private final Set<String> claimedNotReady = ConcurrentHashMap.newKeySet();
    private final ThreadPoolExecutor pool;
    private final ScheduledThreadPoolExecutor scheduler;
    /** Full passes wait for per-client work on the pool, so they must not run on the pool themselves. */
    private final ThreadPoolExecutor passRunner;
    /**
     * Personalises claimed spares while the client's lane attaches them: at most one task per busy
     * lane, so it never holds more threads than {@link Policy#concurrency()}.
     */
    private final ThreadPoolExecutor personaliser;
    private volatile long passRetryMillis = FIRST_PASS_RETRY.toMillis();
    private final SerialExecutor serial;
    private final WarmPool warmPool;
    private final Map<Duid, Pending> pending = new HashMap<>(); // guarded by itself
    private final Map<Duid, ScheduledFuture<?>> timers = new ConcurrentHashMap<>();
    private final Object leaseLock = new Object();
    private final Object creationLock = new Object();
    private final Object passLock = new Object();
    private final Object stateMonitor = new Object();
    private final AtomicBoolean passScheduled = new AtomicBoolean();
    private final java.util.concurrent.atomic.AtomicLong passesCompleted = new java.util.concurrent.atomic.AtomicLong();
    private volatile Policy policy;
    private volatile ScheduledFuture<?> periodic;
    private volatile boolean closed;

    /** A coalesced reconciliation request for one client. */
    private static final class Pending {
        Hints hints;
        final CompletableFuture<List<String>> done = new CompletableFuture<>();

        Pending(Hints hints) {
            this.hints = hints;
        }
    }

    public Engine(Store store, PluginRegistry registry, Policy policy, Clock clock) {
        this.store = Objects.requireNonNull(store, "store");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.pool = new ThreadPoolExecutor(policy.concurrency(), policy.concurrency(), 30, TimeUnit.SECONDS,
            new LinkedBlockingQueue<>(), threads("orchestrator-reconcile"));
        this.pool.allowCoreThreadTimeOut(true);
        this.scheduler = new ScheduledThreadPoolExecutor(1, threads("orchestrator-timer"));
        this.scheduler.setRemoveOnCancelPolicy(true);
        this.passRunner = new ThreadPoolExecutor(1, 1, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(4), threads("orchestrator-pass"),
            new ThreadPoolExecutor.DiscardPolicy());
        this.passRunner.allowCoreThreadTimeOut(true);
        this.personaliser = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 30, TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(),
            threads("orchestrator-personalise"));
        this.serial = new SerialExecutor(pool);
        this.warmPool = new WarmPool(store, registry, metrics, clock, () -> this.policy, scheduler);
        registry.onChange(() -> schedulePass(Duration.ofMillis(200)));
    }

    private static ThreadFactory threads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Starts the periodic pass and runs a first full pass (state may have changed while core was down). */
    public void start() {
        reschedulePeriodic();
        schedulePass(Duration.ZERO);
    }

    /** Applies a new policy in place. */
    public void updatePolicy(Policy newPolicy) {
        Policy old = policy;
        policy = Objects.requireNonNull(newPolicy, "newPolicy");
        if (newPolicy.concurrency() > pool.getMaximumPoolSize()) {
            pool.setMaximumPoolSize(newPolicy.concurrency());
            pool.setCorePoolSize(newPolicy.concurrency());
        } else {
            pool.setCorePoolSize(newPolicy.concurrency());
            pool.setMaximumPoolSize(newPolicy.concurrency());
        }
        warmPool.updatePolicy(newPolicy);
        if (!old.reconcileInterval().equals(newPolicy.reconcileInterval())) {
            reschedulePeriodic();
        }
        schedulePass(Duration.ofMillis(100));
    }

    /** The warm pool (tests). */
    WarmPool warmPool() {
        return warmPool;
    }

    public Policy policy() {
        return policy;
    }

    private void reschedulePeriodic() {
        ScheduledFuture<?> old = periodic;
        if (old != null) {
            old.cancel(false);
        }
        long ms = policy.reconcileInterval().toMillis();
        periodic = scheduler.scheduleWithFixedDelay(() -> passRunner.execute(() -> runPass(false)), ms, ms, TimeUnit.MILLISECONDS);
    }

    /** Schedules one forced full pass; requests in the meantime collapse into it. */
    private void schedulePass(Duration delay) {
        if (closed || !passScheduled.compareAndSet(false, true)) {
            return;
        }
        try {
            scheduler.schedule(() -> {
                passScheduled.set(false);
                passRunner.execute(() -> runPass(true));
            }, delay.toMillis(), TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            passScheduled.set(false);
        }
    }

    private void runPass(boolean force) {
        try {
            fullPass(force);
            passRetryMillis = FIRST_PASS_RETRY.toMillis();
        } catch (RuntimeException e) {
            // Typically the store is not reachable yet (driver bundle still starting): try again soon, backing off.
            long delay = passRetryMillis;
            passRetryMillis = Math.min(policy.reconcileInterval().toMillis(), delay * 2);
            LOG.warn("reconciliation pass failed, next try in {} ms: {}", delay, e.getMessage());
            schedulePass(Duration.ofMillis(delay));
        }
    }

    @Override
    public void close() {
        closed = true;
        warmPool.close();
        scheduler.shutdownNow();
        passRunner.shutdownNow();
        personaliser.shutdownNow();
        pool.shutdownNow();
        try {
            if (!pool.awaitTermination(10, TimeUnit.SECONDS)) {
                LOG.warn("reconciler threads did not stop within 10 s");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ------------------------------------------------------------------ LeaseSink

    @Override
    public void accept(LeaseEvent event) {
        Objects.requireNonNull(event, "event");
        Lease lease = event.lease();
        boolean reconcile;
        synchronized (leaseLock) {
            try {
                reconcile = store.transaction(tx -> new LeaseApplier(tx, clock.instant()).apply(event));
            } catch (IllegalArgumentException e) {
                metrics.leaseEvent(event.type(), false);
                throw e;
            } catch (StoreException e) {
                throw new IllegalStateException("lease event not stored, retry later: " + e.getMessage(), e);
            }
        }
        metrics.leaseEvent(event.type(), true);
        if (reconcile) {
            request(lease.duid(), Hints.EVENT);
        }
    }

    @Override
    public List<Lease> activeLeases(String source) {
        Identifiers.name(source);
        Instant now = clock.instant();
        List<Lease> out = new ArrayList<>();
        for (ClientRecord c : store.transaction(tx -> tx.activeClients(source))) {
            Lease l = c.lease();
            if (l != null && !l.expiredAt(now)) {
                out.add(l);
            }
        }
        return out;
    }

    // ------------------------------------------------------------------ InstanceChangeSink

    @Override
    public void instanceChanged(String provider, String instanceId, InstanceState state, String reason) {
        if (provider == null || instanceId == null || closed) {
            return;
        }
        String why = reason == null ? "" : reason;
        execute(() -> {
            Optional<InstanceRecord> inst = store.transaction(tx -> tx.instance(instanceId));
            if (inst.isEmpty() && warmPool.changed(provider, instanceId, state)) {
                return;
            }
            if (inst.isEmpty()) {
                LOG.debug("change of unknown instance {} ignored; the next pass removes orphans", instanceId);
                return;
            }
            Duid duid = inst.get().duid();
            store.transaction(tx -> {
                tx.appendEvent("INSTANCE_CHANGED", duid, instanceId,
                    "provider " + provider + " reports " + state + (why.isEmpty() ? "" : ": " + Identifiers.quote(why)));
                return null;
            });
            request(duid, Hints.FORCE);
        });
    }

    @Override
    public void providerAvailable(String provider) {
        LOG.info("provider {} available again; scheduling a full pass", provider);
        schedulePass(Duration.ZERO);
    }

    private void execute(Runnable task) {
        try {
            pool.execute(() -> {
                try {
                    task.run();
                } catch (RuntimeException e) {
                    LOG.warn("background task failed: {}", e.getMessage());
                }
            });
        } catch (RuntimeException e) {
            LOG.debug("engine closed; task dropped");
        }
    }

    // ------------------------------------------------------------------ scheduling of one client

    /** Queues a reconciliation of one client, coalescing with one that has not started yet. */
    CompletableFuture<List<String>> request(Duid duid, Hints hints) {
        Pending p;
        synchronized (pending) {
            p = pending.get(duid);
            if (p != null) {
                p.hints = p.hints.merge(hints);
                return p.done;
            }
            p = new Pending(hints);
            pending.put(duid, p);
        }
        Pending mine = p;
        if (closed) {
            mine.done.complete(List.of());
            return mine.done;
        }
        serial.execute(duid, () -> {
            Hints h;
            synchronized (pending) {
                pending.remove(duid, mine);
                h = mine.hints;
            }
            try {
                mine.done.complete(reconcileClient(duid, h));
            } catch (RuntimeException | LinkageError e) {
                // The store is down, or a plug-in's classes went away under us: try again later.
                LOG.warn("reconciliation of {} failed: {}", duid, e.toString());
                armAt(duid, clock.instant().plus(STORE_RETRY));
                mine.done.complete(List.of("error for " + duid + ": " + e));
            } finally {
                mine.done.complete(List.of());
            }
        });
        return mine.done;
    }

    private void armAt(Duid duid, Instant at) {
        if (closed) {
            return;
        }
        long delay = Math.max(0, Duration.between(clock.instant(), at).toMillis()) + 5;
        try {
            ScheduledFuture<?> f = scheduler.schedule(() -> {
                timers.remove(duid);
                request(duid, Hints.EVENT);
            }, delay, TimeUnit.MILLISECONDS);
            ScheduledFuture<?> old = timers.put(duid, f);
            if (old != null && old != f) {
                old.cancel(false);
            }
        } catch (RuntimeException e) {
            LOG.debug("timer for {} not armed: engine closed", duid);
        }
    }

    private void disarm(Duid duid) {
        ScheduledFuture<?> old = timers.remove(duid);
        if (old != null) {
            old.cancel(false);
        }
    }

    /** Re-arms the client's timer at its next deadline. */
    private void arm(ClientRecord c, InstanceRecord inst) {
        Policy p = policy;
        Instant next = null;
        if (c.leaseStatus() == LeaseStatus.ACTIVE && c.leaseExpiresAt() != null) {
            next = c.leaseExpiresAt();
        }
        if (inst != null && c.leaseStatus() != LeaseStatus.ACTIVE && !c.adminHold() && c.leaseChangedAt() != null) {
            next = min(next, c.leaseChangedAt().plus(p.releaseGrace()));
        }
        if (inst != null && inst.expiresAt() != null && !c.ttlSpent()) {
            next = min(next, inst.expiresAt());
        }
        if (c.state() == ClientState.FAILED && c.nextAttemptAt() != null && c.attempts() < p.maxAttempts()) {
            next = min(next, c.nextAttemptAt());
        }
        if (next == null) {
            disarm(c.duid());
        } else {
            armAt(c.duid(), next);
        }
    }

    private static Instant min(Instant a, Instant b) {
        return a == null || b.isBefore(a) ? b : a;
    }

    // ------------------------------------------------------------------ reconciliation of one client

    /** Reconciles one client; runs only on the client's serial lane. */
    private List<String> reconcileClient(Duid duid, Hints hints) {
        metrics.increment("reconcile.clients");
        return new ClientReconciler(duid, hints).run();
    }

    /** The work of one reconciliation of one client. Not thread-safe; one per run. */
    private final class ClientReconciler {
        private final Duid duid;
        private Hints hints;
        private final Policy p = policy;
        private final Instant now = clock.instant();
        private final List<String> actions = new ArrayList<>();
        private ClientRecord c;
        private InstanceRecord inst;
        private boolean claimedSpare;
        /** What the provider just said about {@link #inst} in this run (personalised), or null. */
        private Instance known;
        /** {@link #inst} was created in this run: the provider has never heard of its id. */
        private boolean createdNow;
        /** What {@link #up} is doing, for the listeners' failure operation. */
        private String operation = "provision";

        ClientReconciler(Duid duid, Hints hints) {
            this.duid = duid;
            this.hints = hints;
        }

        List<String> run() {
            c = store.transaction(tx -> tx.client(duid)).orElse(null);
            if (c == null) {
                disarm(duid);
                return actions;
            }
            if (c.instanceId() != null) {
                inst = store.transaction(tx -> tx.instance(c.instanceId())).filter(InstanceRecord::live).orElse(null);
                if (inst == null) {
                    String stale = c.instanceId();
                    save(b -> stale.equals(b.build().instanceId()) ? b.instanceId(null) : null, null, null);
                }
            }
            hints = hints.validFor(c.stateSince(), inst == null ? null : inst.createdAt());
            if (c.leaseStatus() == LeaseStatus.ACTIVE && c.leaseExpiresAt() != null && !c.leaseExpiresAt().isAfter(now)) {
                save(b -> {
                    ClientRecord fresh = b.build();
                    boolean ranOut = fresh.leaseStatus() == LeaseStatus.ACTIVE && fresh.leaseExpiresAt() != null
                        && !fresh.leaseExpiresAt().isAfter(now);
                    return ranOut ? b.leaseStatus(LeaseStatus.EXPIRED).leaseChangedAt(fresh.leaseExpiresAt()) : null;
                }, "LEASE_EXPIRED",
                    "lease of " + Addresses.text(c.address()) + " ran out without renewal");
                metrics.increment("lease.expired");
                actions.add(duid + ": lease expired");
            }
            if (inst != null && inst.expiresAt() != null && !inst.expiresAt().isAfter(now) && !c.ttlSpent()) {
                save(b -> b.ttlSpent(true), "TTL_EXPIRED", "instance " + inst.id() + " reached its TTL");
                actions.add(duid + ": TTL spent");
            }
            String downReason = downReason();
            // The backoff holds back new attempts to build an instance; tearing one down is never delayed by it.
            boolean gated = downReason == null && c.state() == ClientState.FAILED && c.nextAttemptAt() != null
                && now.isBefore(c.nextAttemptAt()) && !hints.force();
            if (downReason != null) {
                down(downReason);
            } else if (!gated) {
                up();
            }
            arm(c, inst);
            return actions;
        }

        /** @return why the client should have no instance, or null when it should have one */
        private String downReason() {
            if (c.ttlSpent()) {
                return "instance TTL spent; waiting for a new lease";
            }
            if (c.adminRelease()) {
                return "deprovisioned by an administrator";
            }
            if (c.adminHold() || c.leaseStatus() == LeaseStatus.ACTIVE) {
                return null;
            }
            if (inst != null && c.leaseChangedAt() != null && now.isBefore(c.leaseChangedAt().plus(p.releaseGrace()))) {
                return null;
            }
            return "lease " + c.leaseStatus().name().toLowerCase(java.util.Locale.ROOT);
        }

        private String graceNote() {
            if (c.adminHold() || c.leaseStatus() == LeaseStatus.ACTIVE || c.leaseChangedAt() == null) {
                return c.adminHold() && c.leaseStatus() != LeaseStatus.ACTIVE ? "held by an administrator" : null;
            }
            return "lease " + c.leaseStatus().name().toLowerCase(java.util.Locale.ROOT) + "; kept until "
                + c.leaseChangedAt().plus(p.releaseGrace()) + " (grace period)";
        }

        private void up() {
            String providerName;
            String networkName;
            if (inst != null) {
                providerName = inst.provider();
                networkName = inst.network();
            } else {
                Optional<Policy.Route> route = p.route(c.source(), c.network());
                if (route.isPresent()) {
                    providerName = route.get().provider();
                    networkName = route.get().targetNetwork();
                } else {
                    Map<String, VirtualizationProvider> providers = registry.providers();
                    Map<String, NetworkAttacher> networks = registry.networks();
                    if (p.routes().isEmpty() && providers.size() == 1 && networks.size() == 1) {
                        providerName = providers.keySet().iterator().next();
                        networkName = networks.keySet().iterator().next();
                    } else if (p.routes().isEmpty() && providers.isEmpty()) {
                        transition(ClientState.PENDING, WAITING + "a provider");
                        return;
                    } else if (p.routes().isEmpty() && networks.isEmpty()) {
                        transition(ClientState.PENDING, WAITING + "a network");
                        return;
                    } else {
                        transition(ClientState.PENDING, "no route for source " + c.source() + " network " + c.network()
                            + " (configure routes in org.orchestrator.core)");
                        return;
                    }
                }
            }
            VirtualizationProvider provider = registry.provider(providerName);
            NetworkAttacher attacher = networkName == null ? null : registry.network(networkName);
            if (provider == null || (networkName != null && attacher == null)) {
                // A READY client keeps running while a plug-in is updated; only new work waits.
                if (c.state() != ClientState.READY) {
                    transition(ClientState.PENDING, WAITING + (provider == null ? "provider " + providerName : "network " + networkName));
                }
                return;
            }
            try {
                operation = "provision";
                if (inst == null && !createInstance(providerName, networkName, provider)) {
                    return;
                }
                Attachment early = claimedSpare ? personaliseWhileAttaching(provider, providerName, attacher) : null;
                boolean fresh = ensureRunning(provider);
                operation = "attach";
                Attachment attachment = early != null && !fresh ? early : ensureAttached(provider, attacher, fresh, true);
                operation = "pin";
                ensurePinned(fresh || attachment != null);
                operation = "provision";
                if (c.state() != ClientState.READY || !Objects.equals(c.reason(), graceNote())) {
                    boolean becameReady = c.state() != ClientState.READY;
                    String note = graceNote();
                    String from = c.state().name();
                    Duration[] leaseToReady = new Duration[1];
                    save(b -> {
                        b.state(ClientState.READY, now).reason(note).attempts(0).nextAttemptAt(null);
                        Instant leaseAt = b.build().leaseAt();
                        leaseToReady[0] = null;
                        if (becameReady) {
                            b.readyAt(now);
                            if (leaseAt != null) {
                                leaseToReady[0] = Duration.between(leaseAt, now);
                                b.leaseAt(null);
                            }
                        }
                        return b;
                    }, "STATE", (becameReady ? from + " -> READY" : "READY") + (note == null ? "" : ": " + note));
                    if (becameReady) {
                        // counted once the READY state is stored, outside the transaction (listeners run here)
                        metrics.ready(leaseToReady[0], claimedNotReady.remove(inst.id()));
                        warmPool.settled(inst.id());
                        actions.add(duid + ": READY");
                    }
                }
            } catch (ProviderException e) {
                fail(e.getMessage(), e.isTransient(), "provision.failed", operation);
            } catch (StoreException e) {
                throw e;
            } catch (RuntimeException e) {
                fail(e.toString(), true, "provision.failed", operation);
            }
        }

        /**
         * Writes the client's identity into the spare it claimed ({@link PoolingProvider#personalise},
         * on {@link #personaliser}) while this lane attaches the spare with the device as its peer: both
         * are on the device's way to its instance and neither needs the other. When personalising fails
         * the spare is destroyed and the instance provisioned afresh under the same id (a pool miss); the
         * attachment made meanwhile is then made again for the new instance.
         *
         * @return the attachment made, or null when none was (no network, or personalising failed)
         */
        private Attachment personaliseWhileAttaching(VirtualizationProvider provider, String providerName,
                                                     NetworkAttacher attacher) {
            claimedSpare = false;
            InstanceSpec spec = spec();
            long[] took = new long[1];
            CompletableFuture<Instance> personalised = new CompletableFuture<>();
            Runnable personalise = () -> {
                try {
                    long t0 = System.nanoTime();
                    Instance made = ((PoolingProvider) provider).personalise(spec);
                    took[0] = System.nanoTime() - t0; // read after get(): the future publishes it
                    personalised.complete(made);
                } catch (RuntimeException | LinkageError e) {
                    personalised.completeExceptionally(e);
                }
            };
            if (attacher == null) {
                personalise.run();
            } else {
                try {
                    personaliser.execute(personalise);
                } catch (java.util.concurrent.RejectedExecutionException e) {
                    personalise.run(); // closing: do it here
                }
            }
            Attachment attached = null;
            RuntimeException attachFailed = null;
            if (attacher != null) {
                operation = "attach";
                try {
                    // the spare is attached already and only gains its peer: no ATTACHING state (a store
                    // write and a wake of every waiting REST request, on the device's way to its instance)
                    attached = ensureAttached(provider, attacher, false, false);
                } catch (RuntimeException e) {
                    attachFailed = e;
                }
                operation = "provision";
            }
            Instance done;
            try {
                done = personalised.get(PERSONALISE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                personaliseFailed(provider, e.getCause() == null ? e : e.getCause());
                return null;
            } catch (TimeoutException e) {
                personaliseFailed(provider, new ProviderException("no answer within " + PERSONALISE_WAIT.toSeconds() + " s", true));
                return null;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted while personalising " + inst.id(), e);
            }
            known = done;
            metrics.provisioned(providerName, Duration.ofNanos(took[0]), true);
            appendEvent("PERSONALISED", "spare " + inst.id() + " personalised for " + duid);
            if (attachFailed != null) {
                throw attachFailed;
            }
            return attached;
        }

        private void personaliseFailed(VirtualizationProvider provider, Throwable e) {
            LOG.warn("claimed spare {} could not be personalised for {}, provisioning instead: {}", inst.id(), duid,
                e.getMessage());
            claimedNotReady.remove(inst.id());
            warmPool.settled(inst.id());
            metrics.poolClaim(false);
            try {
                provider.destroy(inst.id());
            } catch (RuntimeException destroyFailed) {
                LOG.debug("spare {} not destroyed: {}", inst.id(), destroyFailed.getMessage());
            }
            known = null;
            createdNow = false;
            updateInstance(inst.withProviderState(null, null), "POOL_FALLBACK", "spare " + inst.id()
                + " could not be personalised (" + e.getMessage() + "); provisioning instead");
        }

        private boolean createInstance(String providerName, String networkName, VirtualizationProvider provider) {
            boolean pooled = warmPool.enabledFor(providerName, networkName, provider);
            synchronized (creationLock) {
                if (p.maxInstances() > 0) {
                    long live = store.transaction(tx -> tx.countLiveInstances());
                    if (live >= p.maxInstances()) {
                        transition(ClientState.PENDING, "instance limit reached (" + p.maxInstances() + ")");
                        return false;
                    }
                }
                String id = newInstanceId();
                Instant expires = p.instanceTtl().isZero() ? null : now.plus(p.instanceTtl());
                InstanceRecord created = new InstanceRecord(id, duid, providerName, null, networkName, p.image(), null, null,
                    now, expires, null);
                // The id is stored before the provider is called: after a crash the next pass finds the instance by it.
                // A claimed spare's row is deleted in the same transaction that makes it the client's instance.
                PoolMemberRecord[] spare = new PoolMemberRecord[1];
                InstanceRecord[] made = new InstanceRecord[1];
                ClientRecord next = store.transaction(tx -> {
                    spare[0] = pooled ? warmPool.take(tx, providerName, networkName).orElse(null) : null;
                    InstanceRecord rec = spare[0] == null ? created : new InstanceRecord(spare[0].id(), duid, providerName,
                        spare[0].providerRef(), networkName, spare[0].image(), InstanceState.RUNNING, null, now, expires, null);
                    ClientRecord fresh = tx.clientForUpdate(duid).orElse(c);
                    Instant at = clock.instant();
                    ClientRecord updated = fresh.toBuilder().instanceId(rec.id()).state(ClientState.PROVISIONING, at).reason(null)
                        .updatedAt(at).build();
                    tx.saveInstance(rec);
                    tx.saveClient(updated);
                    if (spare[0] != null) {
                        tx.appendEvent("CLAIMED", duid, rec.id(), "claimed spare " + rec.id() + " (" + rec.providerRef()
                            + ") of pool " + spare[0].poolKey() + " at " + providerName);
                    }
                    tx.appendEvent("STATE", duid, rec.id(), c.state() + " -> PROVISIONING: " + (spare[0] == null ? "new" : "pooled")
                        + " instance " + rec.id() + " on " + providerName + (networkName == null ? "" : ", network " + networkName));
                    made[0] = rec;
                    return updated;
                });
                inst = made[0];
                c = next;
                notifyState();
                if (spare[0] != null) {
                    claimedSpare = true;
                    claimedNotReady.add(inst.id());
                    metrics.poolClaim(true);
                    warmPool.claimed(spare[0]);
                    actions.add(duid + ": claimed spare " + inst.id());
                } else {
                    createdNow = true;
                    if (pooled) {
                        metrics.poolClaim(false);
                        warmPool.missed();
                    }
                    actions.add(duid + ": created instance " + id);
                }
                return true;
            }
        }

        /** @return whether the instance was (re)created or restarted, so its link must be set up again */
        private boolean ensureRunning(VirtualizationProvider provider) {
            // Asking the provider costs a round trip on the lease-to-ready path; skip it when this run
            // already knows the answer (a spare just personalised, or an id the provider never saw).
            Instance actual = known != null && known.id().equals(inst.id()) ? known : null;
            Map<String, Instance> listed = hints.instances().get(inst.provider());
            if (actual == null && listed != null) {
                actual = listed.get(inst.id());
            }
            if (actual == null && !createdNow) {
                actual = provider.inspect(inst.id()).orElse(null);
            }
            if (actual != null && (actual.state() == InstanceState.RUNNING)) {
                if (!Objects.equals(actual.providerRef(), inst.providerRef()) || inst.state() != InstanceState.RUNNING) {
                    boolean adopted = inst.providerRef() == null || !actual.providerRef().equals(inst.providerRef());
                    updateInstance(inst.withProviderState(actual.providerRef(), actual.state()), "ADOPTED",
                        "adopted running instance " + actual.providerRef());
                    return adopted;
                }
                return false;
            }
            if (actual != null && (actual.state() == InstanceState.STOPPED || actual.state() == InstanceState.CREATED)) {
                transition(ClientState.PROVISIONING, "starting stopped instance");
                try {
                    provider.start(inst.id());
                    updateInstance(inst.withProviderState(actual.providerRef(), InstanceState.RUNNING), "STARTED",
                        "started instance " + actual.providerRef());
                    actions.add(duid + ": started " + inst.id());
                    return true;
                } catch (ProviderException e) {
                    // e.g. a daemon killed while it started the container keeps its id "in use" for good:
                    // retrying the same start never helps, a fresh container under the same id does. When the
                    // daemon itself is away, destroy fails too and the client waits for the next attempt.
                    appendEvent("DRIFT", "instance " + inst.id() + " does not start (" + e.getMessage() + "); replacing it");
                    metrics.increment("reconcile.repairs");
                    provider.destroy(inst.id());
                    actual = null;
                }
            }
            if (actual != null && actual.state() == InstanceState.DEAD) {
                provider.destroy(inst.id());
            }
            if (inst.providerRef() != null) {
                appendEvent("DRIFT", "instance " + inst.id() + " is " + (actual == null ? "missing" : actual.state())
                    + " at provider " + inst.provider() + "; provisioning it again");
                metrics.increment("reconcile.repairs");
            }
            transition(ClientState.PROVISIONING, null);
            long t0 = System.nanoTime();
            Instance created = provider.provision(spec());
            metrics.provisioned(inst.provider(), Duration.ofNanos(System.nanoTime() - t0), false);
            updateInstance(inst.withProviderState(created.providerRef(), created.state()), "PROVISIONED",
                "provisioned " + inst.id() + " at " + inst.provider() + " as " + created.providerRef());
            actions.add(duid + ": provisioned " + inst.id());
            return true;
        }

        private InstanceSpec spec() {
            Map<String, String> env = new LinkedHashMap<>(p.environment());
            String hostname = c.hostname() != null ? c.hostname() : "client-" + tail(duid.hex(), 16);
            env.put("ORCHESTRATOR_CLIENT", duid.value());
            env.put("ORCHESTRATOR_HOSTNAME", hostname);
            Map<String, String> labels = new LinkedHashMap<>();
            labels.put("orchestrator.client", duid.value());
            if (inst.network() != null) {
                labels.put("orchestrator.network", inst.network());
            }
            return new InstanceSpec(inst.id(), duid, inst.image(), p.command(), env, labels, p.limits(), p.readOnlyRootFs(),
                hostname);
        }

        /**
         * @param announce whether the client shows {@code ATTACHING} while the network attaches
         * @return the new attachment when one was made, else null
         */
        private Attachment ensureAttached(VirtualizationProvider provider, NetworkAttacher attacher, boolean fresh,
                                          boolean announce) {
            if (attacher == null) {
                return null;
            }
            List<Attachment> stored = store.transaction(tx -> tx.attachments(inst.id()));
            Attachment mine = stored.stream().filter(a -> a.network().equals(attacher.name())).findFirst().orElse(null);
            boolean need = fresh || mine == null || !Objects.equals(mine.peer(), c.address()) || c.state() != ClientState.READY;
            Map<String, Attachment> onHost = hints.attachments().get(inst.network());
            if (onHost != null) {
                Attachment seen = onHost.get(inst.id());
                if (seen == null || !Objects.equals(seen.peer(), c.address())) {
                    if (!need) {
                        appendEvent("DRIFT", "attachment of " + inst.id() + " to " + inst.network()
                            + (seen == null ? " is missing" : " has a stale peer") + "; attaching again");
                        metrics.increment("reconcile.repairs");
                    }
                    need = true;
                }
            }
            if (!need) {
                return null;
            }
            if (announce) {
                transition(ClientState.ATTACHING, null);
            }
            NetnsHandle netns = provider.networkNamespace(inst.id());
            Attachment att = attacher.attach(new AttachRequest(inst.id(), duid, netns, c.address()));
            InstanceRecord updated = inst.withAddress(att.address());
            store.transaction(tx -> {
                tx.saveAttachment(att);
                tx.saveInstance(updated);
                tx.appendEvent("ATTACHED", duid, inst.id(), "attached to " + att.network() + " as "
                    + Addresses.text(att.address()) + "/" + att.prefixLength() + " via " + att.hostInterface()
                    + (att.peer() == null ? "" : ", peer " + Addresses.text(att.peer())));
                return null;
            });
            inst = updated;
            actions.add(duid + ": attached " + inst.id() + " to " + att.network());
            return att;
        }

        private void ensurePinned(boolean changed) {
            if (c.source() == null || c.address() == null) {
                return;
            }
            DhcpSource source = registry.source(c.source());
            if (source == null) {
                return; // pinned by the pass that runs when the source is bound again
            }
            Reservation want = new Reservation(duid, c.iaid(), c.address(), c.hostname(), inst.address());
            Map<Duid, Reservation> pins = hints.pins().get(c.source());
            boolean need = changed || c.state() != ClientState.READY;
            if (pins != null && !want.equals(pins.get(duid))) {
                if (!need) {
                    appendEvent("DRIFT", "pin at " + c.source() + (pins.containsKey(duid) ? " is stale" : " is missing")
                        + "; pinning again");
                    metrics.increment("reconcile.repairs");
                }
                need = true;
            }
            if (need) {
                source.pin(want);
                appendEvent("PINNED", "pinned " + Addresses.text(c.address()) + " at " + c.source());
                actions.add(duid + ": pinned at " + c.source());
            }
        }

        private void down(String why) {
            if (inst != null) {
                VirtualizationProvider provider = registry.provider(inst.provider());
                NetworkAttacher attacher = inst.network() == null ? null : registry.network(inst.network());
                List<Attachment> stored = store.transaction(tx -> tx.attachments(inst.id()));
                Map<String, Attachment> onHost = inst.network() == null ? null : hints.attachments().get(inst.network());
                boolean attached = !stored.isEmpty() || (onHost != null && onHost.containsKey(inst.id()));
                if (provider == null) {
                    transition(ClientState.RELEASING, WAITING + "provider " + inst.provider() + " to destroy " + inst.id());
                    return;
                }
                if (attached && attacher == null) {
                    transition(ClientState.RELEASING, WAITING + "network " + inst.network() + " to detach " + inst.id());
                    return;
                }
                transition(ClientState.RELEASING, why);
                try {
                    if (attacher != null) {
                        attacher.detach(inst.id());
                        store.transaction(tx -> {
                            tx.deleteAttachments(inst.id());
                            tx.appendEvent("DETACHED", duid, inst.id(), "detached from " + inst.network());
                            return null;
                        });
                    }
                    provider.destroy(inst.id());
                    InstanceRecord gone = inst.destroyed(now);
                    ClientRecord next = store.transaction(tx -> {
                        ClientRecord updated = tx.clientForUpdate(duid).orElse(c).toBuilder().instanceId(null).updatedAt(clock.instant()).build();
                        tx.saveInstance(gone);
                        tx.saveClient(updated);
                        tx.appendEvent("DESTROYED", duid, gone.id(), "destroyed " + gone.id() + " at " + gone.provider() + ": " + why);
                        return updated;
                    });
                    c = next;
                    claimedNotReady.remove(gone.id());
                    warmPool.settled(gone.id());
                    inst = null;
                    metrics.increment("deprovision.ok");
                    actions.add(duid + ": destroyed instance");
                } catch (ProviderException e) {
                    fail(e.getMessage(), e.isTransient(), "deprovision.failed", "deprovision");
                    return;
                } catch (StoreException e) {
                    throw e;
                } catch (RuntimeException e) {
                    fail(e.toString(), true, "deprovision.failed", "deprovision");
                    return;
                }
            }
            if (c.source() != null) {
                DhcpSource source = registry.source(c.source());
                Map<Duid, Reservation> pins = hints.pins().get(c.source());
                boolean pinned = pins == null ? c.state() != ClientState.GONE : pins.containsKey(duid);
                if (source != null && pinned) {
                    try {
                        source.unpin(duid);
                        appendEvent("UNPINNED", "unpinned at " + c.source());
                        actions.add(duid + ": unpinned at " + c.source());
                    } catch (RuntimeException e) {
                        LOG.warn("unpin of {} at {} failed: {}", duid, c.source(), e.getMessage());
                    }
                }
            }
            if (c.state() != ClientState.GONE) {
                transition(ClientState.GONE, why);
                save(b -> b.attempts(0).nextAttemptAt(null), null, null);
            }
        }

        /**
         * @param counter   core's counter, e.g. {@code provision.failed}
         * @param operation what failed, for the activity listeners
         */
        private void fail(String message, boolean transientFailure, String counter, String operation) {
            int attempts = c.attempts() + 1;
            Duration delay = transientFailure ? Backoff.delay(p.retryBase(), p.retryMax(), attempts) : p.retryMax();
            String reason = (message == null ? "unknown error" : message)
                + (transientFailure ? " (transient; attempt " + attempts + ")" : " (attempt " + attempts + ")");
            metrics.failed(counter, operation);
            save(b -> b.state(ClientState.FAILED, now).reason(reason).attempts(attempts)
                .nextAttemptAt(now.plus(delay)), "FAILED", reason + "; next attempt in " + delay.toMillis() + " ms");
            actions.add(duid + ": FAILED " + reason);
            LOG.warn("client {} failed: {}", duid, reason);
        }

        private void transition(ClientState state, String reason) {
            if (c.state() == state && Objects.equals(c.reason(), reason)) {
                return;
            }
            String msg = c.state() == state ? state + ": " + reason : c.state() + " -> " + state + (reason == null ? "" : ": " + reason);
            save(b -> b.state(state, now).reason(reason), "STATE", msg);
        }

        /**
         * Applies a change to the client as it is stored now (row locked), so that a lease event
         * stored meanwhile is not overwritten; that event queued another run, which sees both.
         *
         * @param change returns null to make no change
         */
        private void save(java.util.function.UnaryOperator<ClientRecord.Builder> change, String kind, String message) {
            String instanceId = inst == null ? null : inst.id();
            ClientRecord next = store.transaction(tx -> {
                ClientRecord fresh = tx.clientForUpdate(duid).orElse(c);
                ClientRecord.Builder b = change.apply(fresh.toBuilder());
                if (b == null) {
                    return fresh;
                }
                // Record when the change really happened (not when this run started): a full pass
                // compares these times with when it listed the plug-ins.
                Instant at = clock.instant();
                ClientRecord changed = b.updatedAt(at).build();
                ClientRecord updated = changed.state() == fresh.state() ? changed : changed.toBuilder().stateSince(at).build();
                tx.saveClient(updated);
                if (kind != null) {
                    tx.appendEvent(kind, duid, instanceId == null ? updated.instanceId() : instanceId, message);
                }
                return updated;
            });
            c = next;
            notifyState();
        }

        private void updateInstance(InstanceRecord updated, String kind, String message) {
            store.transaction(tx -> {
                tx.saveInstance(updated);
                tx.appendEvent(kind, duid, updated.id(), message);
                return null;
            });
            inst = updated;
        }

        private void appendEvent(String kind, String message) {
            String id = inst == null ? null : inst.id();
            store.transaction(tx -> {
                tx.appendEvent(kind, duid, id, message);
                return null;
            });
        }
    }

    private static String tail(String s, int n) {
        return s.length() <= n ? s : s.substring(s.length() - n);
    }

    private static String newInstanceId() {
        return "i-" + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
    }

    /** Stored client changes so far, guarded by {@link #stateMonitor}; see {@link #awaitClient}. */
    private long stateChanges;

    private void notifyState() {
        synchronized (stateMonitor) {
            stateChanges++;
            stateMonitor.notifyAll();
        }
    }

    // ------------------------------------------------------------------ full pass

    /**
     * Reconciles every client against a snapshot of every plug-in, then removes orphans: instances,
     * attachments and pins that no stored client accounts for. Orphans are never touched when the
     * store could not be read.
     */
    ReconcileReport fullPass(boolean force) {
        synchronized (passLock) {
            long t0 = System.nanoTime();
            metrics.increment("reconcile.runs");
            List<String> actions = new ArrayList<>();
            List<ClientRecord> clients;
            Set<String> liveIds = new HashSet<>();
            try {
                clients = store.transaction(tx -> tx.clients());
                store.transaction(tx -> tx.liveInstances()).forEach(i -> liveIds.add(i.id()));
                store.transaction(tx -> tx.poolMembers()).forEach(m -> liveIds.add(m.id()));
            } catch (RuntimeException e) {
                throw new OrchestratorException(Reason.UNAVAILABLE, "store unavailable, nothing reconciled: " + e.getMessage(), e);
            }
            Instant takenAt = clock.instant();
            Map<String, Map<String, Instance>> instances = new HashMap<>();
            Map<String, VirtualizationProvider> providers = registry.providers();
            providers.forEach((name, provider) -> {
                try {
                    Map<String, Instance> m = new HashMap<>();
                    provider.list().forEach(i -> m.put(i.id(), i));
                    instances.put(name, m);
                } catch (RuntimeException e) {
                    actions.add("provider " + name + " could not be listed: " + e.getMessage());
                }
            });
            Map<String, Map<String, Attachment>> attachments = new HashMap<>();
            Map<String, NetworkAttacher> networks = registry.networks();
            networks.forEach((name, attacher) -> {
                try {
                    Map<String, Attachment> m = new HashMap<>();
                    attacher.list().forEach(a -> m.put(a.instanceId(), a));
                    attachments.put(name, m);
                } catch (RuntimeException e) {
                    actions.add("network " + name + " could not be listed: " + e.getMessage());
                }
            });
            Map<String, Map<Duid, Reservation>> pins = new HashMap<>();
            Map<String, DhcpSource> sources = registry.sources();
            sources.forEach((name, source) -> {
                try {
                    Map<Duid, Reservation> m = new HashMap<>();
                    source.reservations().forEach(r -> m.put(r.duid(), r));
                    pins.put(name, m);
                } catch (RuntimeException e) {
                    actions.add("source " + name + " could not be listed: " + e.getMessage());
                }
            });
            Hints hints = new Hints(takenAt, force, instances, attachments, pins);
            List<CompletableFuture<List<String>>> futures = new ArrayList<>();
            Set<Duid> known = new HashSet<>();
            for (ClientRecord c : clients) {
                known.add(c.duid());
                futures.add(request(c.duid(), hints));
            }
            int repaired = 0;
            for (List<String> done : await(futures, actions)) {
                if (!done.isEmpty()) {
                    repaired++;
                    actions.addAll(done);
                }
            }
            AtomicInteger orphans = new AtomicInteger();
            List<CompletableFuture<List<String>>> orphanWork = new ArrayList<>();
            instances.forEach((providerName, byId) -> byId.values().stream().filter(i -> !liveIds.contains(i.id()))
                .forEach(i -> orphanWork.add(onLane(i.client(), () -> destroyOrphan(providerName, i, orphans)))));
            attachments.forEach((networkName, byId) -> byId.values().stream().filter(a -> !liveIds.contains(a.instanceId()))
                .forEach(a -> orphanWork.add(onLane(laneOf(a.instanceId()), () -> detachOrphan(networkName, a, orphans)))));
            pins.forEach((sourceName, byDuid) -> byDuid.keySet().stream().filter(d -> !known.contains(d))
                .forEach(d -> orphanWork.add(onLane(d, () -> unpinOrphan(sourceName, d, orphans)))));
            for (List<String> done : await(orphanWork, actions)) {
                actions.addAll(done);
            }
            metrics.add("orphans.removed", orphans.get());
            try {
                actions.addAll(warmPool.check(instances));
            } catch (RuntimeException e) {
                actions.add("warm pool check failed: " + e.getMessage());
            }
            Duration took = Duration.ofNanos(System.nanoTime() - t0);
            if (!actions.isEmpty()) {
                LOG.info("reconciliation pass: {} clients, {} repaired, {} orphans removed in {} ms", clients.size(),
                    repaired, orphans.get(), took.toMillis());
            }
            passesCompleted.incrementAndGet();
            return new ReconcileReport(clients.size(), repaired, orphans.get(), actions, took);
        }
    }

    private List<List<String>> await(List<CompletableFuture<List<String>>> futures, List<String> actions) {
        long deadline = System.nanoTime() + PASS_WAIT.toNanos();
        List<List<String>> out = new ArrayList<>();
        for (CompletableFuture<List<String>> f : futures) {
            try {
                out.add(f.get(Math.max(1, deadline - System.nanoTime()), TimeUnit.NANOSECONDS));
            } catch (TimeoutException e) {
                actions.add("still running after " + PASS_WAIT.toSeconds() + " s");
                break;
            } catch (ExecutionException e) {
                actions.add("error: " + e.getCause());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        return out;
    }

    private Object laneOf(String instanceId) {
        try {
            return store.transaction(tx -> tx.instance(instanceId)).<Object>map(InstanceRecord::duid).orElse(instanceId);
        } catch (RuntimeException e) {
            return instanceId;
        }
    }

    /** Runs a task on a client's lane so that it never overlaps with that client's reconciliation. */
    private CompletableFuture<List<String>> onLane(Object key, java.util.function.Supplier<List<String>> task) {
        CompletableFuture<List<String>> f = new CompletableFuture<>();
        serial.execute(key, () -> {
            try {
                f.complete(task.get());
            } catch (RuntimeException e) {
                f.complete(List.of("orphan clean-up failed: " + e.getMessage()));
            }
        });
        return f;
    }

    private boolean stillOrphan(String instanceId) {
        // Re-read: the snapshot may predate a provisioning that stored the id and then created the instance.
        // A spare's row is written before the spare is created, so a spare made after the snapshot is no orphan either.
        return store.transaction(tx -> tx.instance(instanceId).filter(InstanceRecord::live).isEmpty()
            && !warmPool.isMember(tx, instanceId));
    }

    private List<String> destroyOrphan(String providerName, Instance i, AtomicInteger orphans) {
        VirtualizationProvider provider = registry.provider(providerName);
        if (provider == null || !stillOrphan(i.id())) {
            return List.of();
        }
        provider.destroy(i.id());
        logOrphan("ORPHAN_DESTROYED", i.client(), i.id(), "destroyed instance " + i.id() + " (" + i.providerRef()
            + ") at " + providerName + ": no live instance in the store");
        orphans.incrementAndGet();
        return List.of("destroyed orphan instance " + i.id() + " at " + providerName);
    }

    private List<String> detachOrphan(String networkName, Attachment a, AtomicInteger orphans) {
        NetworkAttacher attacher = registry.network(networkName);
        if (attacher == null || !stillOrphan(a.instanceId())) {
            return List.of();
        }
        attacher.detach(a.instanceId());
        logOrphan("ORPHAN_DETACHED", null, a.instanceId(), "detached " + a.instanceId() + " from " + networkName
            + ": no live instance in the store");
        orphans.incrementAndGet();
        return List.of("detached orphan " + a.instanceId() + " from " + networkName);
    }

    private List<String> unpinOrphan(String sourceName, Duid duid, AtomicInteger orphans) {
        DhcpSource source = registry.source(sourceName);
        if (source == null || store.transaction(tx -> tx.client(duid)).isPresent()) {
            return List.of();
        }
        source.unpin(duid);
        logOrphan("ORPHAN_UNPINNED", duid, null, "unpinned unknown client at " + sourceName);
        orphans.incrementAndGet();
        return List.of("unpinned orphan " + duid + " at " + sourceName);
    }

    private void logOrphan(String kind, Duid duid, String instanceId, String message) {
        store.transaction(tx -> {
            tx.appendEvent(kind, duid, instanceId, message);
            return null;
        });
    }

    // ------------------------------------------------------------------ Orchestrator

    private <T> T read(Store.Work<T> work) {
        try {
            return store.transaction(work);
        } catch (StoreException e) {
            throw new OrchestratorException(Reason.UNAVAILABLE, "store unavailable: " + e.getMessage(), e);
        }
    }

    @Override
    public List<ClientView> clients() {
        return read(tx -> tx.clients()).stream().map(ClientRecord::view).toList();
    }

    @Override
    public Optional<ClientView> client(Duid duid) {
        Objects.requireNonNull(duid, "duid");
        return read(tx -> tx.client(duid)).map(ClientRecord::view);
    }

    @Override
    public Optional<ClientView> clientByAddress(Inet6Address address) {
        Objects.requireNonNull(address, "address");
        return read(tx -> tx.clientsByAddress(address)).stream().findFirst().map(ClientRecord::view);
    }

    @Override
    public List<InstanceView> instances() {
        return read(tx -> tx.liveInstances()).stream().map(InstanceRecord::view).toList();
    }

    @Override
    public Optional<InstanceView> instance(String instanceId) {
        Objects.requireNonNull(instanceId, "instanceId");
        return read(tx -> tx.instance(instanceId)).map(InstanceRecord::view);
    }

    @Override
    public List<Lease> leases() {
        Instant now = clock.instant();
        List<Lease> out = new ArrayList<>();
        for (ClientRecord c : read(tx -> tx.clients())) {
            Lease l = c.lease();
            if (c.leaseStatus() == LeaseStatus.ACTIVE && l != null && !l.expiredAt(now)) {
                out.add(l);
            }
        }
        return out;
    }

    @Override
    public List<ComponentView> components() {
        return registry.views();
    }

    @Override
    public ClientView provision(Duid duid, Duration wait) {
        Objects.requireNonNull(duid, "duid");
        checkWait(wait);
        Instant now = clock.instant();
        Policy p = policy;
        read(tx -> {
            ClientRecord c = tx.clientForUpdate(duid)
                .orElseThrow(() -> new OrchestratorException(Reason.NOT_FOUND, "unknown client " + duid));
            boolean hasInstance = c.instanceId() != null && tx.instance(c.instanceId()).filter(InstanceRecord::live).isPresent();
            if (!hasInstance && p.maxInstances() > 0 && tx.countLiveInstances() >= p.maxInstances()) {
                throw new OrchestratorException(Reason.CONFLICT, "instance limit reached (" + p.maxInstances() + ")");
            }
            tx.saveClient(c.toBuilder().adminHold(true).adminRelease(false).ttlSpent(false).attempts(0).nextAttemptAt(null)
                .updatedAt(now).build());
            tx.appendEvent("ADMIN_PROVISION", duid, c.instanceId(), "an administrator wants an instance");
            return null;
        });
        CompletableFuture<List<String>> run = request(duid, Hints.FORCE);
        return awaitState(duid, run, wait, Set.of(ClientState.READY, ClientState.FAILED));
    }

    @Override
    public ClientView deprovision(Duid duid, Duration wait) {
        Objects.requireNonNull(duid, "duid");
        checkWait(wait);
        Instant now = clock.instant();
        read(tx -> {
            ClientRecord c = tx.clientForUpdate(duid)
                .orElseThrow(() -> new OrchestratorException(Reason.NOT_FOUND, "unknown client " + duid));
            tx.saveClient(c.toBuilder().adminHold(false).adminRelease(true).attempts(0).nextAttemptAt(null).updatedAt(now).build());
            tx.appendEvent("ADMIN_DEPROVISION", duid, c.instanceId(), "an administrator released the instance");
            return null;
        });
        CompletableFuture<List<String>> run = request(duid, Hints.FORCE);
        return awaitState(duid, run, wait, Set.of(ClientState.GONE, ClientState.FAILED));
    }

    private static void checkWait(Duration wait) {
        if (wait == null || wait.isNegative() || wait.compareTo(Duration.ofHours(1)) > 0) {
            throw new OrchestratorException(Reason.INVALID, "wait must be from 0 to 1 hour");
        }
    }

    private ClientView awaitState(Duid duid, CompletableFuture<List<String>> run, Duration wait, Set<ClientState> targets) {
        long deadline = System.nanoTime() + wait.toNanos();
        try {
            run.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (TimeoutException | ExecutionException e) {
            // fall through to the state as stored
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return awaitClient(duid, targets, Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))
            .orElseThrow(() -> new OrchestratorException(Reason.NOT_FOUND, "unknown client " + duid));
    }

    /**
     * Wakes on {@link #notifyState} (every stored state change) instead of polling, and reads the
     * client from the store after each wake. The change counter closes the gap between a read and
     * the wait: a change committed after the read is seen as a new count, not waited for. The wait
     * is still bounded by {@link #AWAIT_SAFETY_MILLIS}, for changes stored without a notification
     * (a lease event creating or updating a client).
     */
    @Override
    public Optional<ClientView> awaitClient(Duid duid, Set<ClientState> states, Duration wait) {
        long deadline = System.nanoTime() + Orchestrator.checkAwait(duid, states, wait);
        while (true) {
            long seen;
            synchronized (stateMonitor) {
                seen = stateChanges;
            }
            Optional<ClientView> client = client(duid);
            long left = deadline - System.nanoTime();
            if (client.isPresent() && states.contains(client.get().state()) || left <= 0 || Thread.currentThread().isInterrupted()) {
                return client;
            }
            synchronized (stateMonitor) {
                if (stateChanges == seen) {
                    try {
                        stateMonitor.wait(Math.max(1, Math.min(TimeUnit.NANOSECONDS.toMillis(left), AWAIT_SAFETY_MILLIS)));
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
            }
        }
    }

    /** Longest a lane waits for a claimed spare's personalisation before it gives the spare up. */
    private static final Duration PERSONALISE_WAIT = Duration.ofMinutes(2);

    /** Longest a waiter sleeps without a notification before it reads the client again. */
    private static final long AWAIT_SAFETY_MILLIS = 200;

    @Override
    public ExportResult export(ExportRequest request) {
        Objects.requireNonNull(request, "request");
        InstanceRecord inst = read(tx -> tx.instance(request.instanceId())).filter(InstanceRecord::live)
            .orElseThrow(() -> new OrchestratorException(Reason.NOT_FOUND, "unknown instance " + Identifiers.quote(request.instanceId())));
        VirtualizationProvider provider = registry.provider(inst.provider());
        if (provider == null) {
            throw new OrchestratorException(Reason.UNAVAILABLE, "provider " + inst.provider() + " is not available");
        }
        try {
            ExportResult result = provider.export(request);
            read(tx -> {
                tx.appendEvent("EXPORTED", inst.duid(), inst.id(), "exported as " + request.imageTag()
                    + (result.archive() == null ? "" : " to " + result.archive()));
                return null;
            });
            return result;
        } catch (ProviderException e) {
            throw new OrchestratorException(e.isTransient() ? Reason.UNAVAILABLE : Reason.CONFLICT,
                "export of " + inst.id() + " failed: " + e.getMessage(), e);
        }
    }

    @Override
    public ReconcileReport reconcile() {
        return fullPass(true);
    }

    @Override
    public List<EventRecord> events(long afterSeq, int limit) {
        if (afterSeq < 0 || limit < 1 || limit > 10000) {
            throw new OrchestratorException(Reason.INVALID, "afterSeq must be >= 0 and limit 1..10000");
        }
        return read(tx -> tx.events(afterSeq, limit));
    }

    @Override
    public List<EventRecord> recentEvents(int limit) {
        if (limit < 1 || limit > 10000) {
            throw new OrchestratorException(Reason.INVALID, "limit must be 1..10000");
        }
        return read(tx -> tx.recentEvents(limit));
    }

    @Override
    public Health health() {
        boolean up;
        String detail;
        try {
            up = store.transaction(tx -> {
                tx.countLiveInstances();
                return true;
            });
            detail = store.describe();
        } catch (RuntimeException e) {
            up = false;
            detail = store.describe() + ": " + e.getMessage();
        }
        return new Health(up, detail, registry.views());
    }

    @Override
    public Statistics statistics() {
        Map<ClientState, Long> byState;
        long live;
        try {
            byState = store.transaction(tx -> tx.countClientsByState());
            live = store.transaction(tx -> tx.countLiveInstances());
        } catch (RuntimeException e) {
            byState = Map.of();
            live = 0;
        }
        return metrics.snapshot(byState, live, warmPool.gauges());
    }

    @Override
    public List<PoolView> pool() {
        try {
            return warmPool.views();
        } catch (StoreException e) {
            throw new OrchestratorException(Reason.UNAVAILABLE, "store unavailable: " + e.getMessage(), e);
        }
    }

    /** @return how many full passes have completed since start (for tests) */
    long passesCompleted() {
        return passesCompleted.get();
    }

    /**
     * Binds an activity listener; observations from now on reach it.
     *
     * @param key      identifies it for {@link #removeListener} (core uses its service reference)
     * @param listener supplies the listener when an observation is made, or {@code null} when gone
     */
    public void addListener(Object key, java.util.function.Supplier<? extends org.orchestrator.api.manage.ActivityListener> listener) {
        metrics.activity().add(key, listener);
    }

    /** Unbinds the activity listener added under {@code key}. */
    public void removeListener(Object key) {
        metrics.activity().remove(key);
    }

    /** @return the counters (for tests) */
    long counter(String name) {
        return metrics.counter(name);
    }
}
