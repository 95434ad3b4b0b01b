package org.orchestrator.core.internal.engine;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

import org.orchestrator.api.manage.PoolView;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.NetworkAttacher;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.api.provider.VirtualizationProvider;
import org.orchestrator.core.internal.store.PoolMemberRecord;
import org.orchestrator.core.internal.store.Store;
import org.orchestrator.core.internal.store.StoreTx;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The warm pool: per policy target (provider, network, image, limits) it keeps
 * {@link Policy#poolSize()} spare instances started, with the placeholder client
 * {@link PoolingProvider#UNASSIGNED}, so that no device reaches them: attached to no network, or,
 * where the network keeps an attachment without a peer unreachable ({@link NetworkAttacher#isolates()}),
 * attached ahead without a peer, so that a claim only binds the device as the peer.
 *
 * <p>Every spare has a {@code pool_member} row, written before the provider is asked to create it;
 * the row is the arbiter of ownership: a claim (by the engine, in the same transaction that
 * inserts the client's {@code instance} row) and a retirement both delete it, and only the one
 * whose delete hit the row goes on. So a spare is never claimed twice, and a spare whose row is
 * gone is an orphan that the full pass removes. Refills run on their own small thread pool
 * ({@link Policy#poolRefillConcurrency()}), never on the reconciler's lanes. Thread-safe.
 */
final class WarmPool implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(WarmPool.class);
    private static final long RETRY_FIRST_MILLIS = 2000;
    /**
     * How long a claim's replacement waits at most for the claimed spare to be settled (its client
     * READY, or the spare given up): a client that never gets there does not keep the pool short.
     */
    static final long REFILL_LATEST_AFTER_CLAIM_MILLIS = 2000;
    /**
     * How long a claim's replacement waits once the claimed spare is settled: its device makes its
     * first request to the instance right after READY, and a container start (≈ 250 ms of dockerd,
     * containerd and runc CPU) at that moment slowed that request 2–3 × on two cores.
     */
    static final long REFILL_AFTER_SETTLED_MILLIS = 250;
    private static final long RETRY_MAX_MILLIS = 60_000;
    /** How far back requests for spares count towards the size of a pool that may grow ({@link Policy#poolMax}). */
    static final Duration DEMAND_WINDOW = Duration.ofMinutes(1);
    /** Requests remembered at most (more than any pool can hold). */
    private static final int DEMAND_MEMORY = 512;

    /** One pool: where its spares run and the digest of what they run. */
    record Target(String provider, String network, String key, String image) {
    }

    private final Store store;
    private final PluginRegistry registry;
    private final Metrics metrics;
    private final Clock clock;
    private final Supplier<Policy> policy;
    private final ScheduledExecutorService scheduler;
    private final ThreadPoolExecutor workers;
    private final Set<String> inFlight = ConcurrentHashMap.newKeySet();
    private final Map<String, AtomicLong> claimed = new ConcurrentHashMap<>();
    private final AtomicLong lastRefillMillis = new AtomicLong();
    private final Object refillLock = new Object();
    /** Spares claimed whose clients are not READY yet; refills wait for them ({@link #claimed}). */
    private final Set<String> unsettled = ConcurrentHashMap.newKeySet();
    private volatile long refillLatestAfterClaimMillis = REFILL_LATEST_AFTER_CLAIM_MILLIS;
    private volatile long refillAfterSettledMillis = REFILL_AFTER_SETTLED_MILLIS;
    /** When devices asked for a spare (claims and misses), oldest first, for {@link #size}. */
    private final Deque<Instant> demand = new ArrayDeque<>();
    private volatile Duration demandWindow = DEMAND_WINDOW;
    private volatile long retryMillis = RETRY_FIRST_MILLIS;
    private volatile boolean retryArmed;
    private volatile boolean closed;

    WarmPool(Store store, PluginRegistry registry, Metrics metrics, Clock clock, Supplier<Policy> policy,
             ScheduledExecutorService scheduler) {
        this.store = Objects.requireNonNull(store, "store");
        this.registry = Objects.requireNonNull(registry, "registry");
        this.metrics = Objects.requireNonNull(metrics, "metrics");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.policy = Objects.requireNonNull(policy, "policy");
        this.scheduler = Objects.requireNonNull(scheduler, "scheduler");
        int n = policy.get().poolRefillConcurrency();
        AtomicInteger count = new AtomicInteger();
        this.workers = new ThreadPoolExecutor(n, n, 30, TimeUnit.SECONDS, new LinkedBlockingQueue<>(), r -> {
            Thread t = new Thread(r, "orchestrator-pool-" + count.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
        this.workers.allowCoreThreadTimeOut(true);
    }

    @Override
    public void close() {
        closed = true;
        workers.shutdownNow();
    }

    /** Applies a changed refill concurrency. */
    void updatePolicy(Policy p) {
        int n = p.poolRefillConcurrency();
        if (n > workers.getMaximumPoolSize()) {
            workers.setMaximumPoolSize(n);
            workers.setCorePoolSize(n);
        } else {
            workers.setCorePoolSize(n);
            workers.setMaximumPoolSize(n);
        }
    }

    /** @return the digest naming the pool of a provider and network under a policy */
    static String key(Policy p, String provider, String network) {
        StringBuilder b = new StringBuilder();
        b.append(provider).append('\n').append(network).append('\n').append(p.image()).append('\n')
            .append(p.command()).append('\n').append(new TreeMap<>(p.environment())).append('\n')
            .append(p.limits()).append('\n').append(p.readOnlyRootFs());
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(b.toString().getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(d, 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JVM", e);
        }
    }

    /** @return the pools the policy wants: one per route target, or the only provider and network without routes */
    List<Target> targets() {
        Policy p = policy.get();
        if (p.poolSize() == 0) {
            return List.of();
        }
        Set<List<String>> pairs = new LinkedHashSet<>();
        if (p.routes().isEmpty()) {
            Map<String, VirtualizationProvider> providers = registry.providers();
            Map<String, NetworkAttacher> networks = registry.networks();
            if (providers.size() == 1 && networks.size() == 1) {
                pairs.add(List.of(providers.keySet().iterator().next(), networks.keySet().iterator().next()));
            }
        } else {
            p.routes().forEach(r -> pairs.add(List.of(r.provider(), r.targetNetwork())));
        }
        List<Target> out = new ArrayList<>();
        for (List<String> pair : pairs) {
            out.add(new Target(pair.get(0), pair.get(1), key(p, pair.get(0), pair.get(1)), p.image()));
        }
        return out;
    }

    /** @return whether claims for this provider and network are served from a pool */
    boolean enabledFor(String provider, String network, VirtualizationProvider service) {
        Policy p = policy.get();
        return p.poolSize() > 0 && service instanceof PoolingProvider
            && targets().stream().anyMatch(t -> t.provider().equals(provider) && Objects.equals(t.network(), network));
    }

    /**
     * Takes a ready spare of the pool inside the caller's transaction (the caller inserts the
     * client's instance row in the same transaction). The row is locked and deleted, so a
     * concurrent claim or retirement cannot take the same spare.
     */
    Optional<PoolMemberRecord> take(StoreTx tx, String provider, String network) {
        String key = key(policy.get(), provider, network);
        for (PoolMemberRecord m : tx.poolMembers()) {
            if (m.poolKey().equals(key) && m.ready() && !inFlight.contains(m.id())) {
                Optional<PoolMemberRecord> locked = tx.poolMemberForUpdate(m.id()).filter(PoolMemberRecord::ready);
                if (locked.isPresent() && tx.deletePoolMember(m.id())) {
                    return locked;
                }
            }
        }
        return Optional.empty();
    }

    /**
     * Counts a claim (after its transaction committed). Its replacement is started once no claimed
     * spare is still being made ready ({@link #settled}), at the latest after
     * {@link #REFILL_LATEST_AFTER_CLAIM_MILLIS}: starting a container competes for the CPU, the
     * provider's daemon and the kernel's network lock (a new namespace) with the personalising and
     * attaching that a device is waiting for.
     */
    void claimed(PoolMemberRecord m) {
        claimed.computeIfAbsent(m.poolKey(), k -> new AtomicLong()).incrementAndGet();
        demanded();
        unsettled.add(m.id());
        try {
            scheduler.schedule(() -> settled(m.id()), refillLatestAfterClaimMillis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            unsettled.remove(m.id());
            LOG.debug("refill after a claim not scheduled: {}", e.getMessage());
        }
    }

    /** A device found no ready spare: counts towards the pool's size and refills at once. */
    void missed() {
        demanded();
        refill();
    }

    private void demanded() {
        Instant now = clock.instant();
        synchronized (demand) {
            demand.addLast(now);
            while (demand.size() > DEMAND_MEMORY) {
                demand.removeFirst();
            }
        }
    }

    /**
     * @return how many spares a pool keeps now: {@link Policy#poolSize}, raised to the number of
     * requests for a spare in the last {@link #DEMAND_WINDOW} up to {@link Policy#poolCeiling}
     */
    int size(Policy p) {
        if (p.poolSize() == 0 || p.poolCeiling() == p.poolSize()) {
            return p.poolSize();
        }
        Instant since = clock.instant().minus(demandWindow);
        int recent;
        synchronized (demand) {
            while (!demand.isEmpty() && demand.peekFirst().isBefore(since)) {
                demand.removeFirst();
            }
            recent = demand.size();
        }
        return Math.max(p.poolSize(), Math.min(p.poolCeiling(), recent));
    }

    /** Changes {@link #DEMAND_WINDOW} (tests). */
    void demandWindow(Duration window) {
        demandWindow = window;
    }

    /** Changes {@link #REFILL_AFTER_SETTLED_MILLIS} (tests). */
    void refillAfterSettled(Duration delay) {
        refillAfterSettledMillis = delay.toMillis();
    }

    /** Changes {@link #REFILL_LATEST_AFTER_CLAIM_MILLIS} (tests). */
    void refillLatestAfterClaim(Duration delay) {
        refillLatestAfterClaimMillis = delay.toMillis();
    }

    /**
     * Says that the client of a claimed spare no longer waits for it: it is READY, or the spare was
     * given up (not personalised, destroyed). When no other claimed spare is being made ready the
     * pool is refilled {@link #REFILL_AFTER_SETTLED_MILLIS} later. Calls for an id that was not
     * claimed, or settled already, do nothing.
     */
    void settled(String instanceId) {
        if (!unsettled.remove(instanceId) || !unsettled.isEmpty() || closed) {
            return;
        }
        try {
            scheduler.schedule(this::refill, refillAfterSettledMillis, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            LOG.debug("refill after a settled claim not scheduled: {}", e.getMessage());
        }
    }

    /** Creates spares until every pool has {@link #size} (ready or starting). Returns at once. */
    void refill() {
        if (closed) {
            return;
        }
        Policy p = policy.get();
        List<PoolMemberRecord> toCreate = new ArrayList<>();
        synchronized (refillLock) {
            List<Target> targets = targets();
            if (targets.isEmpty()) {
                return;
            }
            List<PoolMemberRecord> members = store.transaction(StoreTx::poolMembers);
            for (Target t : targets) {
                VirtualizationProvider provider = registry.provider(t.provider());
                if (!(provider instanceof PoolingProvider) || (t.network() != null && registry.network(t.network()) == null)) {
                    continue; // declines pooling, or not here now: the pass after it (re)binds refills
                }
                long have = members.stream().filter(m -> m.poolKey().equals(t.key())).count();
                int size = size(p);
                for (long i = have; i < size; i++) {
                    PoolMemberRecord m = new PoolMemberRecord(newSpareId(), t.key(), t.provider(), t.network(), t.image(),
                        null, null, clock.instant());
                    store.transaction(tx -> {
                        tx.savePoolMember(m);
                        return null;
                    });
                    inFlight.add(m.id());
                    toCreate.add(m);
                }
            }
        }
        for (PoolMemberRecord m : toCreate) {
            try {
                workers.execute(() -> create(m));
            } catch (RuntimeException e) {
                inFlight.remove(m.id());
                LOG.debug("pool closed; spare {} not created", m.id());
            }
        }
    }

    private void create(PoolMemberRecord m) {
        long t0 = System.nanoTime();
        VirtualizationProvider provider = registry.provider(m.provider());
        try {
            if (provider == null) {
                throw new IllegalStateException("provider " + m.provider() + " went away");
            }
            Instance made = provider.provision(spec(m));
            finish(m, made, provider, t0);
        } catch (RuntimeException | LinkageError e) {
            metrics.poolRefillFailed();
            LOG.warn("spare {} of pool {} at {} could not be created: {}", m.id(), m.poolKey(), m.provider(), e.toString());
            retire(m, "creation failed: " + e.getMessage());
            retryLater();
        } finally {
            inFlight.remove(m.id());
        }
    }

    /**
     * Makes a started spare claimable: attaches it ahead of its claim where the network keeps it
     * unreachable ({@link #attachAhead}), then marks its row ready (with the attachment, in one
     * transaction). A spare retired meanwhile is detached and destroyed instead.
     */
    private void finish(PoolMemberRecord m, Instance made, VirtualizationProvider provider, long t0) {
        Attachment attached = attachAhead(m, provider);
        boolean kept = store.transaction(tx -> {
            if (tx.poolMemberForUpdate(m.id()).isEmpty()) {
                return false;
            }
            tx.savePoolMember(m.withProviderState(made.providerRef(), made.state()));
            if (attached != null) {
                tx.saveAttachment(attached);
            }
            return true;
        });
        Duration took = Duration.ofNanos(System.nanoTime() - t0);
        long ms = took.toMillis();
        if (!kept) {
            // retired while it was being made
            detachAhead(m, attached != null);
            provider.destroy(m.id());
            return;
        }
        metrics.poolRefilled(took);
        lastRefillMillis.set(ms);
        retryMillis = RETRY_FIRST_MILLIS;
        LOG.debug("spare {} of pool {} started at {}{} in {} ms", m.id(), m.poolKey(), m.provider(),
            attached == null ? "" : " and attached to " + m.network() + " as " + Addresses.text(attached.address()), ms);
    }

    /**
     * Attaches a spare to its pool's network before any device claims it, without a peer, when the
     * network keeps such an attachment unreachable ({@link NetworkAttacher#isolates()}): a claim then
     * only binds the device as the peer instead of wiring the instance from scratch.
     *
     * @return the attachment, or null when the spare is left unattached until its claim
     */
    private Attachment attachAhead(PoolMemberRecord m, VirtualizationProvider provider) {
        NetworkAttacher attacher = m.network() == null ? null : registry.network(m.network());
        if (attacher == null || !attacher.isolates()) {
            return null;
        }
        NetnsHandle netns = provider.networkNamespace(m.id());
        return attacher.attach(new AttachRequest(m.id(), PoolingProvider.UNASSIGNED, netns, null));
    }

    /**
     * Detaches a spare that may have been attached ahead: when it was, or when its network isolates
     * (a spare made before a restart may be attached without a stored row). A network that is not
     * here now leaves the link to the full pass, which detaches attachments of no live instance.
     */
    private void detachAhead(PoolMemberRecord m, boolean attached) {
        NetworkAttacher attacher = m.network() == null ? null : registry.network(m.network());
        if (attacher == null || !(attached || attacher.isolates())) {
            return;
        }
        try {
            attacher.detach(m.id());
        } catch (RuntimeException e) {
            LOG.warn("spare {} not detached from {}: {}", m.id(), m.network(), e.getMessage());
        }
    }

    private void retryLater() {
        if (closed || retryArmed) {
            return;
        }
        retryArmed = true;
        long delay = retryMillis;
        retryMillis = Math.min(RETRY_MAX_MILLIS, delay * 2);
        try {
            scheduler.schedule(() -> {
                retryArmed = false;
                refill();
            }, delay, TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            retryArmed = false;
        }
    }

    private InstanceSpec spec(PoolMemberRecord m) {
        Policy p = policy.get();
        Map<String, String> env = new LinkedHashMap<>(p.environment());
        env.put("ORCHESTRATOR_CLIENT", PoolingProvider.UNASSIGNED.value());
        String hostname = "spare-" + m.id().substring(2);
        env.put("ORCHESTRATOR_HOSTNAME", hostname);
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(PoolingProvider.POOL_LABEL, m.poolKey());
        if (m.network() != null) {
            labels.put("orchestrator.network", m.network());
        }
        return new InstanceSpec(m.id(), PoolingProvider.UNASSIGNED, m.image(), p.command(), env, labels, p.limits(),
            p.readOnlyRootFs(), hostname);
    }

    /**
     * Removes a spare: deletes its row (if this call wins it), then destroys it at the provider.
     *
     * @return whether this call removed it
     */
    boolean retire(PoolMemberRecord m, String why) {
        boolean mine;
        try {
            mine = store.transaction(tx -> tx.deletePoolMember(m.id()));
        } catch (RuntimeException e) {
            LOG.warn("spare {} not retired, store unavailable: {}", m.id(), e.getMessage());
            return false;
        }
        if (!mine) {
            return false;
        }
        boolean attached = !store.transaction(tx -> tx.attachments(m.id())).isEmpty();
        // Detached first: the instance's namespace goes with it, and a link into a gone namespace would
        // wait for the full pass. The row is gone, so the next full pass removes whatever is left.
        detachAhead(m, attached);
        VirtualizationProvider provider = registry.provider(m.provider());
        try {
            if (provider != null) {
                provider.destroy(m.id());
            }
        } catch (RuntimeException e) {
            LOG.warn("spare {} at {} not destroyed: {}", m.id(), m.provider(), e.getMessage());
        }
        store.transaction(tx -> {
            tx.deleteAttachments(m.id());
            tx.appendEvent("POOL_RETIRED", null, m.id(), "spare " + m.id() + " of pool " + m.poolKey() + " at "
                + m.provider() + " removed: " + why);
            return null;
        });
        return true;
    }

    /**
     * Checks every spare against a listing of the providers (from a full pass): spares of a
     * policy no longer wanted, and spares that died or vanished, are removed; spares left
     * half-made by a restart are adopted when they run, else removed. Then refills.
     *
     * @param listed instances by provider name and instance id; a provider missing from it is not judged
     * @return what was done, for the pass report
     */
    List<String> check(Map<String, Map<String, Instance>> listed) {
        List<String> actions = new ArrayList<>();
        Set<String> wanted = new LinkedHashSet<>();
        targets().forEach(t -> wanted.add(t.key()));
        for (PoolMemberRecord m : store.transaction(StoreTx::poolMembers)) {
            if (inFlight.contains(m.id())) {
                continue;
            }
            Map<String, Instance> byId = listed.get(m.provider());
            if (!wanted.contains(m.poolKey())) {
                if (registry.provider(m.provider()) != null && retire(m, "its policy changed or pooling is off")) {
                    actions.add("retired spare " + m.id() + " (policy changed)");
                }
                continue;
            }
            if (byId == null) {
                continue;
            }
            Instance actual = byId.get(m.id());
            if (actual != null && actual.state() == InstanceState.RUNNING) {
                if (!m.ready()) {
                    adopt(m, actual);
                    actions.add("adopted spare " + m.id());
                } else if (attachedToOpenNetwork(m)) {
                    if (retire(m, "network " + m.network() + " no longer keeps it unreachable")) {
                        actions.add("replaced spare " + m.id() + " (its network no longer isolates)");
                    }
                }
                continue;
            }
            if (retire(m, actual == null ? "missing at the provider" : "it is " + actual.state())) {
                actions.add("replaced spare " + m.id() + " (" + (actual == null ? "missing" : actual.state()) + ")");
            }
        }
        actions.addAll(shrink());
        refill();
        return actions;
    }

    /**
     * Finishes a spare left half-made by a restart (its row not ready, its instance running) on the
     * refill threads, as if it had just been started: attached ahead where the network isolates.
     */
    private void adopt(PoolMemberRecord m, Instance actual) {
        VirtualizationProvider provider = registry.provider(m.provider());
        if (provider == null || !inFlight.add(m.id())) {
            return;
        }
        try {
            workers.execute(() -> {
                try {
                    finish(m, actual, provider, System.nanoTime());
                } catch (RuntimeException e) {
                    LOG.warn("spare {} of pool {} could not be adopted: {}", m.id(), m.poolKey(), e.toString());
                    retire(m, "adoption failed: " + e.getMessage());
                } finally {
                    inFlight.remove(m.id());
                }
            });
        } catch (RuntimeException e) {
            inFlight.remove(m.id());
            LOG.debug("pool closed; spare {} not adopted", m.id());
        }
    }

    /** @return whether a spare was attached ahead to a network that now lets devices reach it */
    private boolean attachedToOpenNetwork(PoolMemberRecord m) {
        NetworkAttacher attacher = m.network() == null ? null : registry.network(m.network());
        return attacher != null && !attacher.isolates() && !store.transaction(tx -> tx.attachments(m.id())).isEmpty();
    }

    /**
     * Retires the oldest ready spares of pools that hold more than they keep now (demand fell since
     * they grew towards {@link Policy#poolMax}).
     */
    private List<String> shrink() {
        Policy p = policy.get();
        int size = size(p);
        List<String> actions = new ArrayList<>();
        List<PoolMemberRecord> members = store.transaction(StoreTx::poolMembers);
        for (Target t : targets()) {
            List<PoolMemberRecord> mine = members.stream().filter(m -> m.poolKey().equals(t.key())).toList();
            int surplus = mine.size() - size;
            List<PoolMemberRecord> idle = mine.stream().filter(m -> m.ready() && !inFlight.contains(m.id()))
                .sorted(java.util.Comparator.comparing(PoolMemberRecord::createdAt)).toList();
            for (int i = 0; i < surplus && i < idle.size(); i++) {
                PoolMemberRecord m = idle.get(i);
                if (retire(m, "the pool shrinks to " + size + " spares")) {
                    actions.add("retired spare " + m.id() + " (pool shrinks to " + size + ")");
                }
            }
        }
        return actions;
    }

    /** A provider reports a change of one of its instances: a spare that stopped running is replaced. */
    boolean changed(String provider, String instanceId, InstanceState state) {
        Optional<PoolMemberRecord> m = store.transaction(StoreTx::poolMembers).stream()
            .filter(x -> x.id().equals(instanceId) && x.provider().equals(provider)).findFirst();
        if (m.isEmpty()) {
            return false;
        }
        if (state != InstanceState.RUNNING && !inFlight.contains(instanceId)) {
            retire(m.get(), "provider reports " + state);
            refill();
        }
        return true;
    }

    /** @return whether the id is a spare of a pool (a row exists) */
    boolean isMember(StoreTx tx, String id) {
        return tx.poolMembers().stream().anyMatch(m -> m.id().equals(id));
    }

    /** @return one view per wanted pool, plus pools of spares still to be retired */
    List<PoolView> views() {
        Policy p = policy.get();
        List<PoolMemberRecord> members = store.transaction(StoreTx::poolMembers);
        Map<String, PoolView> out = new LinkedHashMap<>();
        for (Target t : targets()) {
            int ready = (int) members.stream().filter(m -> m.poolKey().equals(t.key()) && m.ready()).count();
            int starting = (int) members.stream().filter(m -> m.poolKey().equals(t.key()) && !m.ready()).count();
            out.put(t.key(), new PoolView(t.provider(), t.network(), t.image(), t.key(), size(p), ready, starting,
                claimedOf(t.key()), p.poolSize(), p.poolCeiling()));
        }
        for (PoolMemberRecord m : members) {
            if (!out.containsKey(m.poolKey())) {
                int ready = (int) members.stream().filter(x -> x.poolKey().equals(m.poolKey()) && x.ready()).count();
                int starting = (int) members.stream().filter(x -> x.poolKey().equals(m.poolKey()) && !x.ready()).count();
                out.put(m.poolKey(), new PoolView(m.provider(), m.network(), m.image(), m.poolKey(), 0, ready, starting,
                    claimedOf(m.poolKey()), 0, 0));
            }
        }
        return List.copyOf(out.values());
    }

    private long claimedOf(String key) {
        AtomicLong a = claimed.get(key);
        return a == null ? 0 : a.get();
    }

    /** @return gauges for the statistics */
    Map<String, Long> gauges() {
        long ready = 0;
        long starting = 0;
        try {
            for (PoolMemberRecord m : store.transaction(StoreTx::poolMembers)) {
                if (m.ready()) {
                    ready++;
                } else {
                    starting++;
                }
            }
        } catch (RuntimeException e) {
            LOG.debug("pool gauges unavailable: {}", e.getMessage());
        }
        return Map.of("pool.ready", ready, "pool.starting", starting, "pool.refill.last.millis", lastRefillMillis.get(),
            "pool.size", (long) size(policy.get()));
    }

    private static String newSpareId() {
        return "i-" + Long.toHexString(ThreadLocalRandom.current().nextLong() | Long.MIN_VALUE);
    }

    /** @return the time now (for claims) */
    Instant now() {
        return clock.instant();
    }
}
