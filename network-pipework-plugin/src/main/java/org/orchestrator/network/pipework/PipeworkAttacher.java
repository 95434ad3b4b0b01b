package org.orchestrator.network.pipework;

import java.net.Inet6Address;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.StringJoiner;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.AddressPool;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.NetworkAttacher;
import org.orchestrator.api.network.NetworkException;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.network.pipework.InstanceRecordStore.InstanceRecord;
import org.orchestrator.network.pipework.NftIsolation.Pair;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Puts instances on one bridged IPv6 network, the way the pipework script did, over iproute2,
 * nsenter and nftables: a veth pair per instance (host end on the bridge, named from a hash of
 * the instance id and labelled with an alias that names the instance, address and peer), the
 * other end moved into the instance's namespace, renamed, addressed (AddressPool or DHCPv6) and
 * given a default route via the bridge's gateway address. Isolation uses bridge port isolation
 * and an nftables table of the network's own. Every attach rolls back what it did when a step
 * fails. All public methods are thread-safe; attaches and detaches of one instance are serialised.
 */
public final class PipeworkAttacher implements NetworkAttacher, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(PipeworkAttacher.class);
    private static final Pattern PEER_INDEX = Pattern.compile("^\\d+:\\s+[^@:\\s]+@if(\\d+):");
    private static final Pattern INET6 = Pattern.compile("inet6 ([0-9a-fA-F:]+)/(\\d+)");
    private static final long POLL_MS = 200;

    private final PipeworkSettings settings;
    private final CountingRunner runner;
    private final AddressPool pool;
    private final NftIsolation isolation;
    private final HostShortcuts shortcuts;
    private final DhcpClientSupervisor dhcp;
    private final InstanceRecordStore records;
    /**
     * Attaches and detaches of different instances run at once (a burst would otherwise queue every
     * instance behind the others' ip/nft processes); {@link #start} and {@link #close} exclude them.
     */
    private final ReentrantReadWriteLock hostLock = new ReentrantReadWriteLock();
    /** One attach or detach at a time per instance (striped by instance id). */
    private final ReentrantLock[] instanceLocks = new ReentrantLock[64];
    /**
     * Serialises changes of the nftables set with the decisions that read the host first (which
     * pairs a detach may revoke; reinstalling a deleted table from the host's links).
     */
    private final Object isolationLock = new Object();
    /** Runs the second command of a peer binding while the caller runs the first ({@link #bindPeer}). */
    private final java.util.concurrent.ExecutorService sideCommands;

    /**
     * @param settings the network's configuration
     * @param runner   runs ip, sysctl, nsenter and nft
     * @param pool     the persistent address allocation (used in static mode, released in both)
     */
    public PipeworkAttacher(PipeworkSettings settings, CommandRunner runner, AddressPool pool) {
        this(settings, runner, pool, HostShortcuts.none());
    }

    /**
     * @param shortcuts ways to change the host without a process (closed with the attacher);
     *                  {@link HostShortcuts#none()} runs every change through {@code runner}
     */
    public PipeworkAttacher(PipeworkSettings settings, CommandRunner runner, AddressPool pool, HostShortcuts shortcuts) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.runner = new CountingRunner(Objects.requireNonNull(runner, "runner"));
        this.pool = Objects.requireNonNull(pool, "pool");
        this.shortcuts = Objects.requireNonNull(shortcuts, "shortcuts");
        this.isolation = new NftIsolation(this.runner, settings, shortcuts.nft());
        this.dhcp = new DhcpClientSupervisor(settings.stateDirectory().resolve("dhcp"));
        this.records = new InstanceRecordStore(settings.stateDirectory().resolve("instances"));
        for (int i = 0; i < instanceLocks.length; i++) {
            instanceLocks[i] = new ReentrantLock();
        }
        this.sideCommands = new java.util.concurrent.ThreadPoolExecutor(0, instanceLocks.length, 30,
                java.util.concurrent.TimeUnit.SECONDS, new java.util.concurrent.SynchronousQueue<>(), task -> {
                    Thread thread = new Thread(task, "pipework-side-" + settings.network());
                    thread.setDaemon(true);
                    return thread;
                });
    }

    /** Runs {@code work} holding the host lock shared and the instance's lock. */
    private <T> T forInstance(String id, java.util.function.Supplier<T> work) {
        ReentrantLock mine = instanceLocks[Math.floorMod(id.hashCode(), instanceLocks.length)];
        hostLock.readLock().lock();
        try {
            mine.lock();
            try {
                return work.get();
            } finally {
                mine.unlock();
            }
        } finally {
            hostLock.readLock().unlock();
        }
    }

    /** A host-side link as {@code ip -o -d link} shows it. */
    record HostLink(int index, String name, String master, boolean up, boolean isolated, String alias) {
    }

    /**
     * Prepares the host: the bridge with its gateway address, IPv6 forwarding, the nftables table
     * (filled with the pairs of the attachments found on the host) and the DHCP clients of
     * attachments made before a restart.
     */
    public void start() {
        hostLock.writeLock().lock();
        try {
            ensureBridge();
            if (shortcuts.aliases() != null) {
                shortcuts.aliases().verify(settings.bridge());
            }
            if (settings.enableForwarding()) {
                runner.check("sysctl", "-q", "-w", "net.ipv6.conf.all.forwarding=1");
            }
            List<Attachment> current = list();
            if (settings.isolation()) {
                isolation.install(pairsOf(current));
            } else {
                isolation.remove();
            }
            if (settings.addressing() == Addressing.DHCP) {
                for (Attachment attachment : current) {
                    records.read(attachment.instanceId()).ifPresent(r -> resumeDhcp(r));
                }
            }
            LOG.info("network {} ready on bridge {} ({} attachment(s) found)", settings.network(), settings.bridge(), current.size());
        } finally {
            hostLock.writeLock().unlock();
        }
    }

    /** Stops supervising DHCP clients (they keep running), removes the nftables table and ends the nft session. */
    @Override
    public void close() {
        hostLock.writeLock().lock();
        try {
            dhcp.close();
            sideCommands.shutdown();
            if (settings.isolation()) {
                try {
                    isolation.remove();
                } catch (NetworkException e) {
                    LOG.warn("cannot remove nftables table {}: {}", settings.nftTable(), e.getMessage());
                }
            }
        } finally {
            shortcuts.close();
            hostLock.writeLock().unlock();
        }
    }

    @Override
    public String name() {
        return settings.network();
    }

    @Override
    public Attachment attach(AttachRequest request) {
        Objects.requireNonNull(request, "request");
        String id = validInstanceId(request.instanceId());
        NetnsTarget netns = NetnsTarget.of(request.netns());
        Inet6Address peer = request.peer();
        if (peer != null && peer.isMulticastAddress()) {
            throw new NetworkException("peer " + Addresses.text(peer) + " is a multicast address", false);
        }
        Stopwatch clock = new Stopwatch(runner);
        return forInstance(id, () -> {
            clock.lap("lock");
            String host = settings.hostInterface(id);
            boolean triedFresh = false;
            Optional<InstanceRecord> record = records.read(id);
            if (record.isPresent() && bindsPeerOnly(record.get(), request, netns)) {
                Optional<Attachment> bound = bindPeer(id, record.get(), peer, clock);
                if (bound.isPresent()) {
                    return bound.get();
                }
                // the host link is gone: the full path below makes it again
            } else if (record.isEmpty()) {
                // most likely a first attach: create at once and look at the host only when the link
                // turns out to exist (the link's name is fixed, so creating it is the check)
                Optional<Attachment> created = create(id, netns, peer, request, clock, true);
                if (created.isPresent()) {
                    return created.get();
                }
                triedFresh = true;
            }
            Optional<HostLink> existing = hostLink(host);
            if (existing.isPresent()) {
                LinkAlias alias = LinkAlias.parse(existing.get().alias()).orElse(null);
                if (alias != null && !alias.sameInstance(settings.network(), id)) {
                    if (triedFresh && settings.addressing() == Addressing.STATIC) {
                        // the address the attempt allocated: a refused attach holds none
                        release(id);
                    }
                    throw new NetworkException("host interface " + host + " belongs to instance " + alias.instanceId()
                            + " on network " + alias.network() + ", not to " + id, false);
                }
                netns.requireExists();
                if (alias != null && linkedInto(netns, existing.get().index())) {
                    return repair(id, netns, peer, existing.get(), alias, clock);
                }
                // the instance end is not in this namespace (the instance got a new one): start over,
                // keeping the pool allocation so the address stays the same
                LOG.info("instance {}: {} does not lead into {}; recreating the link", id, host, netns.path());
                dhcp.stop(id);
                deleteLink(host);
                if (alias != null && alias.address() != null && settings.isolation()) {
                    synchronized (isolationLock) {
                        isolation.revoke(Set.of(alias.address()), null);
                    }
                }
            }
            return create(id, netns, peer, request, clock, false)
                    .orElseThrow(() -> new NetworkException("host interface " + host + " of " + id + " reappeared while it was"
                            + " being created", true));
        });
    }

    @Override
    public void detach(String instanceId) {
        String id = validInstanceId(instanceId);
        forInstance(id, () -> {
            String host = settings.hostInterface(id);
            Set<Inet6Address> addresses = new HashSet<>();
            Optional<HostLink> link = hostLink(host);
            boolean ours = true;
            if (link.isPresent()) {
                Optional<LinkAlias> alias = LinkAlias.parse(link.get().alias());
                if (alias.isPresent() && !alias.get().sameInstance(settings.network(), id)) {
                    ours = false;
                    LOG.warn("not deleting {}: it belongs to instance {} on network {}", host,
                            alias.get().instanceId(), alias.get().network());
                }
                alias.map(LinkAlias::address).ifPresent(addresses::add);
            }
            records.read(id).map(InstanceRecord::address).ifPresent(addresses::add);
            Inet6Address allocated = allocations().get(id);
            if (allocated != null) {
                addresses.add(allocated);
            }
            boolean known = !addresses.isEmpty();
            dhcp.stop(id);
            if (link.isPresent() && ours) {
                // deleting one end deletes the pair: the address and routes inside go with it
                deleteLink(host);
            }
            synchronized (isolationLock) {
                // An address another instance holds now (an allocation handed out twice after the store lost
                // a write) keeps that instance's pairs; only this instance's own pair of it goes.
                Set<Inet6Address> shared = new HashSet<>();
                Set<Pair> keep = new HashSet<>();
                if (!addresses.isEmpty()) {
                    for (Attachment other : list()) {
                        if (!other.instanceId().equals(id) && addresses.contains(other.address())) {
                            shared.add(other.address());
                            if (other.peer() != null) {
                                keep.add(new Pair(other.peer(), other.address()));
                            }
                        }
                    }
                    addresses.removeAll(shared);
                }
                for (Inet6Address address : shared) {
                    // the host may still resolve the address to this instance's MAC, gone with its link (the
                    // entry stays REACHABLE for up to ~45 s): the other instance would be cut off until then
                    forgetNeighbour(address);
                }
                if (settings.isolation() && known && isolation.installed()) {
                    if (!addresses.isEmpty()) {
                        isolation.revoke(addresses, null);
                    }
                    Optional<LinkAlias> mine = link.flatMap(l -> LinkAlias.parse(l.alias())).filter(a -> a.sameInstance(settings.network(), id));
                    if (mine.isPresent() && mine.get().peer() != null && mine.get().address() != null) {
                        Pair own = new Pair(mine.get().peer(), mine.get().address());
                        if (!keep.contains(own) && !addresses.contains(own.instance())) {
                            isolation.revoke(Set.of(), own);
                        }
                    }
                }
            }
            release(id);
            records.delete(id);
            LOG.info("instance {} detached from network {}", id, settings.network());
            return null;
        });
    }

    @Override
    public List<Attachment> list() {
        Map<String, Inet6Address> allocations = allocations();
        List<Attachment> result = new ArrayList<>();
        for (HostLink link : hostLinks()) {
            Optional<LinkAlias> parsed = LinkAlias.parse(link.alias());
            if (parsed.isEmpty() || !parsed.get().network().equals(settings.network())) {
                continue;
            }
            LinkAlias alias = parsed.get();
            Inet6Address address = alias.address();
            if (address == null) {
                address = allocations.get(alias.instanceId());
            }
            if (address == null) {
                address = records.read(alias.instanceId()).map(InstanceRecord::address).orElse(null);
            }
            if (address == null) {
                LOG.debug("{} of instance {} has no address yet", link.name(), alias.instanceId());
                continue;
            }
            result.add(attachment(alias.instanceId(), link.name(), address, alias.peer()));
        }
        return result;
    }

    /**
     * @return whether isolation is on: then an attachment without a peer is reachable by no device
     *         (the nftables set admits only {@code peer . instance} pairs), and one with a peer by that
     *         device only
     */
    @Override
    public boolean isolates() {
        return settings.isolation();
    }

    /** @return the settings this attacher runs with */
    public PipeworkSettings settings() {
        return settings;
    }

    // ---------------------------------------------------------------- attach steps

    /**
     * @return whether {@code request} only binds a peer to an attachment made without one (a warm-pool
     *         spare being claimed): the record has an address and no peer, names the request's namespace
     *         handle, and that namespace is still there (a file check, no process)
     */
    private boolean bindsPeerOnly(InstanceRecord record, AttachRequest request, NetnsTarget netns) {
        return request.peer() != null && record.peer() == null && record.address() != null
                && record.netns().equals(request.netns())
                && record.hostInterface().equals(settings.hostInterface(record.instanceId()))
                && netns.exists();
    }

    /**
     * Binds {@code peer} to an attachment made without one: the nftables element of the pair (with
     * isolation), the peer in the host link's alias, the record; nothing else is looked at or repaired
     * (the full path does that on any other repeated attach). Rolls back what it did on failure.
     *
     * @return the attachment, or empty when the host link is gone (the pair added is revoked again;
     *         the caller makes the link anew)
     */
    private Optional<Attachment> bindPeer(String id, InstanceRecord record, Inet6Address peer, Stopwatch clock) {
        String host = record.hostInterface();
        Inet6Address address = record.address();
        LinkAlias alias = new LinkAlias(settings.network(), id, address, peer);
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            // The element and the alias are independent. Where the alias is a sysfs write and the
            // element a line to the nft session, neither starts a process; otherwise the two
            // processes (each several ms from a large JVM) run side by side, the alias on a side thread.
            Optional<Boolean> aliasedInSysfs = setAliasInSysfs(host, alias);
            CompletableFuture<CommandResult> aliasing = aliasedInSysfs.isPresent() ? null
                    : settings.isolation()
                    ? aside(() -> runner.attempt("ip", "link", "set", "dev", host, "alias", alias.encode()))
                    : CompletableFuture.completedFuture(runner.attempt("ip", "link", "set", "dev", host, "alias", alias.encode()));
            RuntimeException notAllowed = null;
            if (settings.isolation()) {
                Pair pair = new Pair(peer, address);
                try {
                    allow(pair);
                    undo.push(() -> revokePair(pair));
                } catch (RuntimeException e) {
                    notAllowed = e;
                }
                clock.lap("isolation");
            }
            CommandResult aliased = aliasing == null ? null : await(aliasing, host);
            boolean aliasSet = aliased == null ? aliasedInSysfs.get() : aliased.ok();
            if (aliasSet) {
                undo.push(() -> setAlias(host, alias.withPeer(null)));
            }
            if (notAllowed != null) {
                throw notAllowed;
            }
            if (!aliasSet) {
                if (aliased != null && !noSuchDevice(aliased)) {
                    throw CommandRunner.failure(aliased);
                }
                LOG.info("instance {}: host link {} is gone; attaching it again", id, host);
                while (!undo.isEmpty()) {
                    undo.pop().run();
                }
                clock.lap("gone");
                return Optional.empty();
            }
            clock.lap("alias");
            records.write(new InstanceRecord(id, host, record.netns(), address, peer));
            clock.lap("record");
            LOG.info("instance {} on network {} ({} via {}): bound peer {} in {} ms ({}), {} process(es)", id, settings.network(),
                    Addresses.text(address), host, Addresses.text(peer), clock.millis(), clock.laps(),
                    clock.commands() + (aliasing != null && settings.isolation() ? 1 : 0));
            return Optional.of(attachment(id, host, address, peer));
        } catch (RuntimeException e) {
            rollback(id, undo, e);
            throw e instanceof NetworkException ne ? ne
                    : new NetworkException("binding peer " + Addresses.text(peer) + " to " + id + " on " + settings.network()
                    + " failed: " + e.getMessage(), true, e);
        }
    }

    /** @return as {@link SysfsAliases#set}; empty when there is no sysfs shortcut */
    private Optional<Boolean> setAliasInSysfs(String host, LinkAlias alias) {
        SysfsAliases aliases = shortcuts.aliases();
        return aliases == null ? Optional.empty() : aliases.set(host, alias.encode());
    }

    /** Sets a host link's alias, in sysfs when it can, else with {@code ip}; fails when the link is gone. */
    private void setAlias(String host, LinkAlias alias) {
        Optional<Boolean> set = setAliasInSysfs(host, alias);
        if (set.isEmpty()) {
            runner.check("ip", "link", "set", "dev", host, "alias", alias.encode());
        } else if (!set.get()) {
            throw new NetworkException("host link " + host + " is gone", true);
        }
    }

    /** Runs a command on {@link #sideCommands}, or here when the attacher is closing. */
    private CompletableFuture<CommandResult> aside(java.util.function.Supplier<CommandResult> command) {
        try {
            return CompletableFuture.supplyAsync(command, sideCommands);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            return CompletableFuture.completedFuture(command.get());
        }
    }

    /** Waits for a command run {@link #aside}; the runner's own timeout bounds it. */
    private CommandResult await(CompletableFuture<CommandResult> command, String host) {
        try {
            return command.get();
        } catch (java.util.concurrent.ExecutionException e) {
            Throwable cause = e.getCause();
            throw cause instanceof RuntimeException re ? re
                    : new NetworkException("setting the alias of " + host + " failed: " + cause, true, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new NetworkException("interrupted while setting the alias of " + host, true, e);
        }
    }

    /**
     * Creates the attachment: host side in one {@code ip -batch}, inside in {@code sysctl} and one
     * {@code ip -batch}, then the nftables element. Rolls back what it did on failure.
     *
     * @param fresh whether the host link was not looked up first; then a name that exists already
     *              is not a failure: the result is empty, the pool address stays allocated and
     *              nothing else has been done
     */
    private Optional<Attachment> create(String id, NetnsTarget netns, Inet6Address peer, AttachRequest request, Stopwatch clock,
                                        boolean fresh) {
        String host = settings.hostInterface(id);
        String inner = settings.interfaceName();
        String mtu = Integer.toString(settings.mtu());
        Deque<Runnable> undo = new ArrayDeque<>();
        try {
            netns.requireExists();
            Inet6Address address = null;
            if (settings.addressing() == Addressing.STATIC) {
                address = allocate(id);
                undo.push(() -> release(id));
                clock.lap("address");
            }
            // the instance end is made inside the namespace under its final name: no rename, no
            // temporary name in the host namespace
            List<String> add = new ArrayList<>(List.of("link", "add", host, "mtu", mtu, "type", "veth",
                    "peer", "name", inner, "mtu", mtu));
            if (settings.macFor(id) != null) {
                add.addAll(List.of("address", settings.macFor(id).value()));
            }
            add.addAll(List.of("netns", netns.ipNetns()));
            LinkAlias alias = new LinkAlias(settings.network(), id, address, peer);
            IpBatch hostSide = new IpBatch().line(add.toArray(String[]::new))
                    .line("link", "set", "dev", host, "alias", alias.encode());
            plugIntoBridge(hostSide, host);
            CommandResult made;
            try {
                made = hostSide.run(runner, "ip", "-batch", "-");
            } catch (NetworkException e) {
                // timed out: how far it got is unknown
                undo.push(() -> deleteUnlessForeign(host, id));
                throw e;
            }
            if (!made.ok()) {
                int failed = hostSide.failedLine(made);
                if (failed > 1) {
                    // line 1 made the link
                    undo.push(() -> deleteLink(host));
                } else if (failed == 0) {
                    // ip did not say which line failed: how far it got is unknown
                    undo.push(() -> deleteUnlessForeign(host, id));
                } else if (fresh && made.stderr().contains("File exists")) {
                    // nothing was made; the caller looks at the host (the name taken may also be the
                    // instance end's, inside the namespace: then the second try fails for good)
                    LOG.debug("instance {}: creating {} found a link of that name", id, host);
                    return Optional.empty();
                }
                throw hostSide.failure(made);
            }
            undo.push(() -> deleteLink(host));
            clock.lap("host link");
            enableIpv6Inside(netns);
            clock.lap("sysctl");
            IpBatch inside = new IpBatch().line("link", "set", "dev", "lo", "up").line("link", "set", "dev", inner, "up");
            if (settings.addressing() == Addressing.STATIC) {
                inside.line("addr", "replace", Addresses.text(address) + "/" + settings.prefix().length(), "dev", inner, "nodad");
                routes(inside);
                inside.check(runner, netns.inside("ip", "-6", "-batch", "-"));
                clock.lap("inside");
            } else {
                inside.check(runner, netns.inside("ip", "-6", "-batch", "-"));
                undo.push(() -> dhcp.stop(id));
                dhcp.ensure(id, netns, inner);
                address = awaitDhcpAddress(id, netns);
                runner.check("ip", "link", "set", "dev", host, "alias", alias.withAddress(address).encode());
                routes(new IpBatch()).check(runner, netns.inside("ip", "-6", "-batch", "-"));
                clock.lap("inside with DHCP");
            }
            if (settings.isolation() && peer != null) {
                Pair pair = new Pair(peer, address);
                allow(pair);
                undo.push(() -> revokePair(pair));
                clock.lap("isolation");
            }
            records.write(new InstanceRecord(id, host, request.netns(), address, peer));
            clock.lap("record");
            LOG.info("instance {} attached to network {} as {} via {} (peer {}) in {} ms ({}), {} command(s)", id,
                    settings.network(), Addresses.text(address), host, peer == null ? "none" : Addresses.text(peer),
                    clock.millis(), clock.laps(), clock.commands());
            return Optional.of(attachment(id, host, address, peer));
        } catch (RuntimeException e) {
            rollback(id, undo, e);
            throw e instanceof NetworkException ne ? ne
                    : new NetworkException("attaching " + id + " to " + settings.network() + " failed: " + e.getMessage(), true, e);
        }
    }

    private Attachment repair(String id, NetnsTarget netns, Inet6Address peer, HostLink link, LinkAlias alias, Stopwatch clock) {
        String host = link.name();
        String inner = settings.interfaceName();
        if (!settings.bridge().equals(link.master()) || link.isolated() != settings.isolation() || !link.up()) {
            plugIntoBridge(new IpBatch(), host).check(runner, "ip", "-batch", "-");
        }
        enableIpv6Inside(netns);
        IpBatch inside = new IpBatch().line("link", "set", "dev", "lo", "up").line("link", "set", "dev", inner, "up");
        Inet6Address address;
        if (settings.addressing() == Addressing.STATIC) {
            address = allocate(id);
            inside.line("addr", "replace", Addresses.text(address) + "/" + settings.prefix().length(), "dev", inner, "nodad");
            routes(inside);
            inside.check(runner, netns.inside("ip", "-6", "-batch", "-"));
        } else {
            inside.check(runner, netns.inside("ip", "-6", "-batch", "-"));
            dhcp.ensure(id, netns, inner);
            address = awaitDhcpAddress(id, netns);
            routes(new IpBatch()).check(runner, netns.inside("ip", "-6", "-batch", "-"));
        }
        if (settings.isolation()) {
            synchronized (isolationLock) {
                ensureTable();
                Set<Inet6Address> stale = new HashSet<>();
                if (alias.address() != null && !alias.address().equals(address)) {
                    stale.add(alias.address());
                }
                Pair old = alias.peer() != null && alias.address() != null && !alias.peer().equals(peer)
                        ? new Pair(alias.peer(), alias.address()) : null;
                if (!stale.isEmpty() || old != null) {
                    isolation.revoke(stale, old);
                }
                if (peer != null) {
                    isolation.allow(new Pair(peer, address));
                }
            }
        }
        LinkAlias updated = new LinkAlias(settings.network(), id, address, peer);
        if (!updated.encode().equals(link.alias())) {
            runner.check("ip", "link", "set", "dev", host, "alias", updated.encode());
        }
        records.write(new InstanceRecord(id, host, new NetnsHandle(netns.pid(), netns.path()),
                address, peer));
        LOG.info("instance {} was attached to network {} already; checked and repaired ({}) in {} ms, {} command(s)", id,
                settings.network(), Addresses.text(address), clock.millis(), clock.commands());
        return attachment(id, host, address, peer);
    }

    /** Puts the table back, with the pairs found on the host, when someone deleted it. */
    private void ensureTable() {
        if (!isolation.installed()) {
            LOG.warn("nftables table inet {} is missing; reinstalling it", settings.nftTable());
            isolation.install(pairsOf(list()));
        }
    }

    private static List<Pair> pairsOf(List<Attachment> attachments) {
        return attachments.stream().filter(a -> a.peer() != null).map(a -> new Pair(a.peer(), a.address())).toList();
    }

    /**
     * Adds the nftables element; when that fails because someone deleted the table, puts the table
     * back with the pairs found on the host (this attachment's alias names its pair already).
     */
    private void allow(Pair pair) {
        synchronized (isolationLock) {
            try {
                isolation.allow(pair);
            } catch (NetworkException e) {
                if (isolation.installed()) {
                    throw e;
                }
                LOG.warn("nftables table inet {} is missing; reinstalling it", settings.nftTable());
                isolation.install(pairsOf(list()));
                isolation.allow(pair);
            }
        }
    }

    private void revokePair(Pair pair) {
        synchronized (isolationLock) {
            isolation.revoke(Set.of(), pair);
        }
    }

    /** @return {@code batch} with the lines that put the host end on the bridge and up */
    private IpBatch plugIntoBridge(IpBatch batch, String host) {
        batch.line("link", "set", "dev", host, "master", settings.bridge());
        // port isolation: isolated ports of one bridge cannot talk to each other, only to the host
        batch.line("link", "set", "dev", host, "type", "bridge_slave", "isolated", settings.isolation() ? "on" : "off");
        return batch.line("link", "set", "dev", host, "up");
    }

    private void enableIpv6Inside(NetnsTarget netns) {
        String inner = settings.interfaceName();
        // containers start with IPv6 disabled; DAD off so that the address is usable at once
        runner.check(netns.inside("sysctl", "-q", "-w", "net.ipv6.conf.all.disable_ipv6=0",
                "net.ipv6.conf.default.disable_ipv6=0", "net.ipv6.conf." + inner + ".disable_ipv6=0",
                "net.ipv6.conf." + inner + ".accept_dad=0"));
    }

    /** @return {@code batch} with the instance's routes (for {@code ip -6}) */
    private IpBatch routes(IpBatch batch) {
        String inner = settings.interfaceName();
        if (settings.addressing() == Addressing.DHCP) {
            // a DHCPv6 lease is a /128: the prefix must be made on-link for the gateway to be reachable
            batch.line("route", "replace", Addresses.text(settings.prefix()), "dev", inner);
        }
        return batch.line("route", "replace", "default", "via", Addresses.text(settings.gateway()), "dev", inner);
    }

    private Inet6Address allocate(String id) {
        try {
            return pool.allocate(settings.network(), id, settings.prefix(), Set.of(settings.gateway(), settings.prefix().network()));
        } catch (RuntimeException e) {
            throw new NetworkException("no address for " + id + " on " + settings.network() + ": " + e.getMessage(), true, e);
        }
    }

    private Map<String, Inet6Address> allocations() {
        try {
            return pool.allocations(settings.network());
        } catch (RuntimeException e) {
            throw new NetworkException("address pool unavailable: " + e.getMessage(), true, e);
        }
    }

    private void release(String id) {
        try {
            pool.release(settings.network(), id);
        } catch (RuntimeException e) {
            throw new NetworkException("cannot release the address of " + id + ": " + e.getMessage(), true, e);
        }
    }

    private Inet6Address awaitDhcpAddress(String id, NetnsTarget netns) {
        long deadline = System.nanoTime() + settings.dhcpTimeout().toNanos();
        while (true) {
            CommandResult shown = runner.run(List.of(netns.inside("ip", "-6", "-o", "addr", "show", "dev",
                    settings.interfaceName(), "scope", "global")), null);
            if (shown.ok()) {
                for (String line : shown.stdout().split("\n")) {
                    Matcher m = INET6.matcher(line);
                    if (m.find() && !line.contains("tentative")) {
                        Inet6Address address = Identifiers.ipv6(m.group(1));
                        if (settings.prefix().contains(address)) {
                            return address;
                        }
                    }
                }
            } else if (!netns.exists()) {
                throw new NetworkException("the namespace of " + id + " vanished while waiting for its DHCPv6 lease", false);
            }
            if (System.nanoTime() > deadline) {
                throw new NetworkException("instance " + id + " got no DHCPv6 address in " + settings.prefix() + " within "
                        + settings.dhcpTimeout().toSeconds() + " s (client log: "
                        + dhcp.directory(id).resolve("log") + ")", true);
            }
            try {
                Thread.sleep(POLL_MS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new NetworkException("interrupted while waiting for the DHCPv6 lease of " + id, true, e);
            }
        }
    }

    private void resumeDhcp(InstanceRecord record) {
        try {
            NetnsTarget netns = NetnsTarget.of(record.netns());
            if (netns.exists()) {
                dhcp.ensure(record.instanceId(), netns, settings.interfaceName());
            }
        } catch (RuntimeException e) {
            LOG.warn("cannot resume the DHCPv6 client of instance {}: {}", record.instanceId(), e.getMessage());
        }
    }

    private void rollback(String id, Deque<Runnable> undo, RuntimeException cause) {
        LOG.warn("attaching instance {} to network {} failed, rolling back: {}", id, settings.network(), cause.getMessage());
        while (!undo.isEmpty()) {
            try {
                undo.pop().run();
            } catch (RuntimeException e) {
                cause.addSuppressed(e);
                LOG.warn("rollback step for instance {} failed: {}", id, e.getMessage());
            }
        }
    }

    // ---------------------------------------------------------------- host state

    private void ensureBridge() {
        String bridge = settings.bridge();
        if (hostLink(bridge).isEmpty()) {
            runner.check("ip", "link", "add", "name", bridge, "address", settings.bridgeMac().value(), "type", "bridge");
            LOG.info("created bridge {}", bridge);
        }
        runner.check("sysctl", "-q", "-w", "net.ipv6.conf." + bridge + ".disable_ipv6=0", "net.ipv6.conf." + bridge + ".accept_dad=0");
        runner.check("ip", "-6", "addr", "replace", Addresses.text(settings.gateway()) + "/" + settings.prefix().length(),
                "dev", bridge, "nodad");
        runner.check("ip", "link", "set", "dev", bridge, "up");
    }

    /** @return whether the instance-side end of the host link {@code hostIndex} is in {@code netns} */
    private boolean linkedInto(NetnsTarget netns, int hostIndex) {
        CommandResult shown = runner.run(List.of(netns.inside("ip", "-o", "link", "show", "dev", settings.interfaceName())), null);
        if (!shown.ok()) {
            return false;
        }
        Matcher m = PEER_INDEX.matcher(shown.stdout().strip());
        return m.find() && Integer.parseInt(m.group(1)) == hostIndex;
    }

    Optional<HostLink> hostLink(String name) {
        CommandResult shown = runner.attempt("ip", "-o", "-d", "link", "show", "dev", name);
        if (!shown.ok()) {
            if (noSuchDevice(shown)) {
                return Optional.empty();
            }
            throw CommandRunner.failure(shown);
        }
        List<HostLink> links = parseLinks(shown.stdout());
        return links.stream().filter(l -> l.name().equals(name)).findFirst();
    }

    /** @return whether {@code ip} failed because the link it was given does not exist */
    private static boolean noSuchDevice(CommandResult result) {
        return result.stderr().contains("does not exist") || result.stderr().contains("Cannot find device");
    }

    private List<HostLink> hostLinks() {
        return parseLinks(runner.check("ip", "-o", "-d", "link", "show", "type", "veth"));
    }

    /** Parses {@code ip -o -d link show} output, one link a line, fields separated by backslashes. */
    static List<HostLink> parseLinks(String output) {
        List<HostLink> links = new ArrayList<>();
        Pattern head = Pattern.compile("^(\\d+):\\s+([^@:\\s]+)(@[^:\\s]+)?:\\s+<([^>]*)>");
        Pattern master = Pattern.compile("\\smaster (\\S+)");
        Pattern isolated = Pattern.compile("\\sisolated (on|off)");
        for (String line : output.split("\n")) {
            Matcher h = head.matcher(line);
            if (!h.find()) {
                continue;
            }
            String alias = null;
            for (String part : line.split("\\\\")) {
                String trimmed = part.strip();
                if (trimmed.startsWith("alias ")) {
                    alias = trimmed.substring("alias ".length());
                }
            }
            Matcher m = master.matcher(line);
            Matcher iso = isolated.matcher(line);
            boolean up = List.of(h.group(4).split(",")).contains("UP");
            links.add(new HostLink(Integer.parseInt(h.group(1)), h.group(2), m.find() ? m.group(1) : null, up,
                    iso.find() && iso.group(1).equals("on"), alias));
        }
        return links;
    }

    /** Drops the host's neighbour entry for {@code address} on the bridge, so that it is resolved again. */
    private void forgetNeighbour(Inet6Address address) {
        CommandResult flushed = runner.attempt("ip", "-6", "neigh", "flush", "to", Addresses.text(address), "dev", settings.bridge());
        if (flushed.ok()) {
            LOG.info("address {} is held by another attachment on network {} too; its neighbour entry on {} was dropped",
                    Addresses.text(address), settings.network(), settings.bridge());
        } else {
            LOG.warn("cannot drop the neighbour entry of {} on {}: {}", Addresses.text(address), settings.bridge(),
                    flushed.stderr().strip());
        }
    }

    private void deleteLink(String name) {
        CommandResult result = runner.attempt("ip", "link", "del", "dev", name);
        if (!result.ok() && hostLink(name).isPresent()) {
            throw CommandRunner.failure(result);
        }
    }

    /** Deletes the host link of {@code id} when it exists and its alias names no other instance. */
    private void deleteUnlessForeign(String name, String id) {
        Optional<HostLink> link = hostLink(name);
        if (link.isEmpty()) {
            return;
        }
        Optional<LinkAlias> alias = LinkAlias.parse(link.get().alias());
        if (alias.isPresent() && !alias.get().sameInstance(settings.network(), id)) {
            LOG.warn("not deleting {}: it belongs to instance {} on network {}", name, alias.get().instanceId(),
                    alias.get().network());
            return;
        }
        deleteLink(name);
    }

    private Attachment attachment(String id, String host, Inet6Address address, Inet6Address peer) {
        return new Attachment(id, settings.network(), host, settings.interfaceName(), settings.macFor(id), address,
                settings.prefix().length(), settings.gateway(), peer);
    }

    private static String validInstanceId(String id) {
        try {
            return Identifiers.name(id);
        } catch (IllegalArgumentException e) {
            throw new NetworkException("invalid instance id: " + e.getMessage(), false, e);
        }
    }

    /** Counts the commands each thread runs, for the attach log line. */
    private static final class CountingRunner implements CommandRunner {
        private final CommandRunner delegate;
        private final ThreadLocal<long[]> count = ThreadLocal.withInitial(() -> new long[1]);

        CountingRunner(CommandRunner delegate) {
            this.delegate = delegate;
        }

        @Override
        public CommandResult run(List<String> command, String stdin) {
            count.get()[0]++;
            return delegate.run(command, stdin);
        }

        /** @return how many commands the calling thread has run through this runner */
        long count() {
            return count.get()[0];
        }
    }

    /** Times one attach on its thread: the whole, the steps ("laps") and the commands run. */
    private static final class Stopwatch {
        private final CountingRunner runner;
        private final long startNanos = System.nanoTime();
        private final long startCommands;
        private final StringJoiner laps = new StringJoiner(", ");
        private long lapNanos = startNanos;

        Stopwatch(CountingRunner runner) {
            this.runner = runner;
            this.startCommands = runner.count();
        }

        /** Ends the step called {@code name} now. */
        void lap(String name) {
            long now = System.nanoTime();
            laps.add(name + " " + (now - lapNanos) / 1_000_000);
            lapNanos = now;
        }

        String laps() {
            return laps.toString();
        }

        long millis() {
            return (System.nanoTime() - startNanos) / 1_000_000;
        }

        long commands() {
            return runner.count() - startCommands;
        }
    }
}
