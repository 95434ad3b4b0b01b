package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.lease.Reservation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One dnsmasq-backed DHCPv6 source: the run folder, the hook and its socket server, the lease book,
 * the pins and, in managed mode, the supervised dnsmasq and its bridge. {@link #start()} and
 * {@link #stop(boolean)} are called by the DS component; the {@link DhcpSource} methods are
 * thread-safe.
 *
 * <p>Run folder ({@code runDir}, mode 0755): {@code dnsmasq.conf}, {@code dnsmasq.pid},
 * {@code dnsmasq-hook}, the pins as dnsmasq reads them ({@link PinFiles}: folders {@code hosts.d/}
 * and {@code dns.d/}, or files {@code dhcp-hosts} and {@code addn-hosts}; world-readable: dnsmasq
 * reads them after dropping root), {@code pins}, {@code server-duid} (0600), {@code bridge-created},
 * and {@code private/} (0700) with {@code hook.sock} (0600) and {@code spool/}.
 *
 * <p>SIGHUP makes dnsmasq run the script for every lease it holds, so pins avoid it: a new pin is a
 * new file that dnsmasq reads by itself; only a changed or removed pin needs a reload, and those
 * are coalesced ({@link Debouncer}, {@code reloadDelayMillis}).
 */
final class DnsmasqSource implements DhcpSource {

    private static final Logger LOG = LoggerFactory.getLogger(DnsmasqSource.class);
    static final String HOOK_RESOURCE = "dnsmasq-hook";

    private final DnsmasqSettings settings;
    private final LeaseBook book;
    private final PinStore pins;
    private final DnsmasqSupervisor supervisor;
    private final Debouncer reloader;
    private HookServer server;
    private ScheduledExecutorService sweeper;

    DnsmasqSource(DnsmasqSettings settings, LeaseSink sink, Clock clock) {
        this.settings = Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(sink, "sink");
        String lower = settings.iface().toLowerCase(java.util.Locale.ROOT);
        String network = lower.matches("[a-z0-9][a-z0-9._-]{0,62}") ? lower : null;
        this.book = new LeaseBook(settings.name(), network, sink, clock, settings.serverDuidFile(), settings.spoolDir());
        this.pins = new PinStore(settings.pinsFile(), new PinFiles(settings.pinLayout(), settings.hostsDir(), settings.dnsDir(),
                settings.hostsFile(), settings.addnHostsFile(), settings.dnsEnabled() ? settings.domain() : null));
        this.supervisor = settings.managed() ? new DnsmasqSupervisor(settings, this::prepareNetwork) : null;
        this.reloader = new Debouncer("dnsmasq-reload-" + settings.name(), settings.reloadDelayMillis(),
                settings.reloadDelayMillis() * 10, this::reloadNow);
    }

    /**
     * Prepares the run folder, ingests the spool and starts serving (and dnsmasq, when managed).
     *
     * @throws IllegalStateException when the folder, socket or bridge cannot be set up
     */
    synchronized void start() {
        try {
            Files2.directory(settings.runDir(), Files2.OPEN_DIR);
            Files2.directory(settings.privateDir(), Files2.PRIVATE_DIR);
            Files2.directory(settings.spoolDir(), Files2.PRIVATE_DIR);
            installHook(settings.hookFile());
            // Every pin file is in place before dnsmasq starts (managed) or is told (external).
            PinFiles.Change change = pins.load();
            book.load();
            if (settings.managed()) {
                // Before the spool is read: a stray dnsmasq could still be adding to it.
                DnsmasqSupervisor.killStray(settings);
            }
            server = HookServer.start(settings.socketFile(), book::handle, settings.name());
            book.drainSpool();
            sweeper = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "dnsmasq-sweep-" + settings.name());
                t.setDaemon(true);
                return t;
            });
            sweeper.scheduleWithFixedDelay(this::sweep, settings.sweepSeconds(), settings.sweepSeconds(), TimeUnit.SECONDS);
            if (settings.managed()) {
                prepareNetwork();
                Files2.writeAtomically(settings.confFile(), DnsmasqConfFile.render(settings), Files2.READABLE);
                supervisor.start();
            } else if (change == PinFiles.Change.RELOAD) {
                // Pins changed while the plugin was away (or its files were damaged): tell the operator's dnsmasq.
                reloader.request();
            }
            LOG.info("dnsmasq source {} started ({} mode, run folder {})", settings.name(),
                    settings.managed() ? "managed" : "external", settings.runDir());
        } catch (IOException e) {
            stop(false);
            throw new IllegalStateException("cannot start dnsmasq source " + settings.name() + ": " + e.getMessage(), e);
        } catch (RuntimeException e) {
            stop(false);
            throw e;
        }
    }

    /**
     * Stops dnsmasq, the socket and the sweep; removes runtime files. With {@code purge} (the
     * configuration was deleted) the whole run folder goes, and the bridge if this plugin created it.
     * Without it, pins, spool and server DUID stay for the next start, and so does the bridge: the
     * devices on it must not lose their link when the bundle restarts.
     */
    synchronized void stop(boolean purge) {
        if (supervisor == null) {
            // The operator's dnsmasq stays: it must still learn about the last changes.
            reloader.flush();
        }
        reloader.close();
        if (supervisor != null) {
            supervisor.stop();
        }
        if (sweeper != null) {
            sweeper.shutdownNow();
            sweeper = null;
        }
        if (server != null) {
            server.close();
            server = null;
        }
        try {
            Files.deleteIfExists(settings.confFile());
            if (purge) {
                Path marker = settings.runDir().resolve("bridge-created");
                if (settings.managed() && Files.exists(marker)) {
                    BridgeControl.delete(settings.iface());
                }
                Files2.deleteTree(settings.runDir());
            }
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cleaning up dnsmasq source {} failed: {}", settings.name(), e.getMessage());
        }
        LOG.info("dnsmasq source {} stopped{}", settings.name(), purge ? " and its files removed" : "");
    }

    /** Makes sure the served interface exists, is up and has the listen address; remembers a bridge it created. */
    private void prepareNetwork() {
        if (BridgeControl.ensure(settings.iface(), settings.createBridge(), settings.listenAddress(), settings.prefixLength())) {
            try {
                Files.writeString(settings.runDir().resolve("bridge-created"), settings.iface() + "\n");
            } catch (IOException e) {
                throw new IllegalStateException("cannot record the bridge created for source " + settings.name() + ": " + e.getMessage(), e);
            }
        }
    }

    /** Abandons everything without stopping dnsmasq, as a crash of the JVM would (tests only). */
    synchronized void abandonForTest() {
        reloader.close();
        if (supervisor != null) {
            supervisor.abandon();
        }
        if (sweeper != null) {
            sweeper.shutdownNow();
        }
        if (server != null) {
            server.close();
        }
    }

    private void sweep() {
        try {
            book.drainSpool();
            book.expireOverdue();
            book.resync();
        } catch (RuntimeException e) {
            LOG.warn("Lease sweep of source {} failed: {}", settings.name(), e.getMessage());
        }
    }

    static void installHook(Path target) throws IOException {
        try (InputStream in = DnsmasqSource.class.getResourceAsStream(HOOK_RESOURCE)) {
            if (in == null) {
                throw new IOException("hook resource " + HOOK_RESOURCE + " is missing from the bundle");
            }
            Files2.writeAtomically(target, in.readAllBytes(), Files2.EXECUTABLE);
        }
    }

    DnsmasqSettings settings() {
        return settings;
    }

    LeaseBook book() {
        return book;
    }

    DnsmasqSupervisor supervisor() {
        return supervisor;
    }

    Debouncer reloader() {
        return reloader;
    }

    @Override
    public String name() {
        return settings.name();
    }

    @Override
    public List<Lease> leases() {
        return book.leases();
    }

    @Override
    public void pin(Reservation reservation) {
        if (settings.managed() && !settings.prefix().contains(reservation.address())) {
            throw new IllegalArgumentException("pinned address " + Identifiers.format(reservation.address())
                    + " is outside the network " + settings.prefix() + " of source " + settings.name());
        }
        PinFiles.Change change;
        try {
            change = pins.pin(reservation);
        } catch (IllegalStateException e) {
            // The files may have been half changed and put back: let dnsmasq read them again.
            reloader.request();
            throw e;
        }
        reloadIfNeeded(change);
    }

    @Override
    public void unpin(Duid duid) {
        PinFiles.Change change;
        try {
            change = pins.unpin(duid);
        } catch (IllegalStateException e) {
            reloader.request();
            throw e;
        }
        reloadIfNeeded(change);
    }

    @Override
    public List<Reservation> reservations() {
        return pins.list();
    }

    private void reloadIfNeeded(PinFiles.Change change) {
        if (change == PinFiles.Change.RELOAD) {
            reloader.request();
        }
    }

    /** Sends dnsmasq SIGHUP (the debouncer's action). */
    private void reloadNow() {
        if (supervisor != null) {
            supervisor.reload();
        } else if (settings.externalPidFile() != null) {
            DnsmasqSupervisor.reloadExternal(settings.externalPidFile());
        }
    }
}
