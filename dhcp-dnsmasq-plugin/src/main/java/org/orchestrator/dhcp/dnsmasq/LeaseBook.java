package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.LeaseSink;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns hook calls into lease events for the {@link LeaseSink} and answers dnsmasq's {@code init}
 * from the sink's store. Ingestion is state-based and idempotent: {@code add} is ADDED, {@code old}
 * (renewal or replay) is RENEWED, {@code del} is RELEASED, or EXPIRED when dnsmasq deletes a lease
 * at or after its expiry. A sweep reports EXPIRED for leases that ran out while dnsmasq said nothing
 * (dnsmasq down, external mode). Calls are serialised: the hook never runs concurrently anyway, and
 * order matters (spooled events first). Thread-safe.
 *
 * <p>The book remembers the leases it delivered, so that it can deliver again what the store lost
 * ({@link #resync()}): a store may acknowledge a commit it has not yet written (H2 writes its
 * commits within about a second) and then lose it when its files become unwritable or the JVM
 * dies; dnsmasq would not report that lease again before its renewal.
 */
final class LeaseBook {

    private static final Logger LOG = LoggerFactory.getLogger(LeaseBook.class);
    private static final Pattern SPOOL_NAME = Pattern.compile("[0-9]{12}\\.ev");
    /** Slack for clock steps between dnsmasq and the JVM before a lease counts as run out. */
    private static final Duration EXPIRY_SLACK = Duration.ofSeconds(2);

    private final String source;
    private final LeaseSink sink;
    private final HookEventParser parser;
    private final Clock clock;
    private final Path serverDuidFile;
    private final Path spoolDir;
    private final Map<Inet6Address, Held> leases = new HashMap<>();
    private long delivered; // sequence of deliveries, orders the leases of one client
    private Duid serverDuid;

    LeaseBook(String source, String network, LeaseSink sink, Clock clock, Path serverDuidFile, Path spoolDir) {
        this.source = Identifiers.name(source);
        this.sink = Objects.requireNonNull(sink, "sink");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.parser = new HookEventParser(source, network, clock);
        this.serverDuidFile = Objects.requireNonNull(serverDuidFile, "serverDuidFile");
        this.spoolDir = Objects.requireNonNull(spoolDir, "spoolDir");
    }

    /** Loads the server DUID and the active leases from the sink (the store owns the lease database). */
    synchronized void load() {
        serverDuid = null;
        if (Files.exists(serverDuidFile)) {
            try {
                serverDuid = Duid.parse(Files.readString(serverDuidFile, StandardCharsets.US_ASCII).strip());
            } catch (IOException | IllegalArgumentException e) {
                LOG.warn("Ignoring the stored server DUID of source {}: {}", source, e.getMessage());
            }
        }
        leases.clear();
        try {
            for (Lease lease : sink.activeLeases(source)) {
                leases.put(lease.address(), new Held(lease, LeaseEventType.RENEWED, 0));
            }
        } catch (RuntimeException e) {
            LOG.warn("Cannot read the active leases of source {} from the store: {}", source, e.getMessage());
        }
    }

    /** @return the status and body to send back to the hook; never throws for bad input */
    synchronized Reply handle(HookRecord record) {
        drainSpool();
        return apply(record, "socket");
    }

    /** @return a snapshot of the leases this source holds as active */
    synchronized List<Lease> leases() {
        return leases.values().stream().map(Held::lease).toList();
    }

    /**
     * Ingests spooled events in order, deleting each file once handled (delivered, or refused as
     * malformed). Stops at the first event the sink cannot store yet, so that order is kept.
     *
     * @return how many files were ingested
     */
    synchronized int drainSpool() {
        if (!Files.isDirectory(spoolDir)) {
            return 0;
        }
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> dir = Files.newDirectoryStream(spoolDir)) {
            for (Path p : dir) {
                String name = p.getFileName().toString();
                if (SPOOL_NAME.matcher(name).matches()) {
                    files.add(p);
                } else if (name.startsWith(".tmp-") && isStale(p)) {
                    // A hook that died while writing: its event never became a spool file.
                    Files.deleteIfExists(p);
                }
            }
        } catch (IOException e) {
            LOG.warn("Cannot list the spool {}: {}", spoolDir, e.getMessage());
            return 0;
        }
        files.sort(null);
        int done = 0;
        for (Path file : files) {
            Reply reply;
            try {
                byte[] bytes = Files.readAllBytes(file);
                HookRecord record = HookProtocol.parse(bytes, bytes.length);
                if (record == null) {
                    throw new IllegalArgumentException("truncated request");
                }
                reply = apply(record, "spool file " + file.getFileName());
            } catch (IOException e) {
                LOG.warn("Cannot read spooled event {}: {}", file, e.getMessage());
                return done;
            } catch (IllegalArgumentException e) {
                LOG.warn("Dropping spooled event {}: {}", file.getFileName(), e.getMessage());
                reply = Reply.error(e.getMessage());
            }
            if (reply.status().startsWith("RETRY")) {
                return done;
            }
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("Cannot delete spooled event {}: {}", file, e.getMessage());
                return done;
            }
            done++;
        }
        if (done > 0) {
            LOG.info("Ingested {} spooled lease event(s) of source {}", done, source);
        }
        return done;
    }

    private boolean isStale(Path p) {
        try {
            return Files.getLastModifiedTime(p).toInstant().isBefore(clock.instant().minusSeconds(60));
        } catch (IOException e) {
            return false;
        }
    }

    /**
     * Reports EXPIRED for every lease whose expiry passed without renewal.
     *
     * @return how many leases expired
     */
    synchronized int expireOverdue() {
        Instant limit = clock.instant().minus(EXPIRY_SLACK);
        int n = 0;
        for (Lease lease : leases()) {
            if (lease.expiredAt(limit)) {
                try {
                    sink.accept(new LeaseEvent(LeaseEventType.EXPIRED, lease, clock.instant()));
                    leases.remove(lease.address());
                    n++;
                } catch (RuntimeException e) {
                    LOG.warn("Cannot report the expiry of {} of client {}: {}", Identifiers.format(lease.address()), lease.duid(), e.getMessage());
                }
            }
        }
        return n;
    }

    /** @return dnsmasq's lease database for DHCPv6, rendered from the store */
    synchronized String leaseDatabase() {
        List<Lease> active;
        try {
            active = sink.activeLeases(source);
        } catch (RuntimeException e) {
            // dnsmasq must start anyway; what this plugin saw last is the best answer left.
            LOG.warn("Cannot read the leases of source {} from the store, answering init from memory: {}", source, e.getMessage());
            active = leases();
        }
        leases.clear();
        StringBuilder sb = new StringBuilder();
        if (serverDuid != null) {
            sb.append("duid ").append(serverDuid.value()).append('\n');
        }
        Instant now = clock.instant();
        for (Lease lease : active) {
            leases.put(lease.address(), new Held(lease, LeaseEventType.RENEWED, 0));
            if (lease.expiredAt(now)) {
                // dnsmasq replays it as "del", which the sink then records.
                LOG.debug("Replaying expired lease {} to dnsmasq", Identifiers.format(lease.address()));
            }
            long expires = lease.expiresAt() == null ? 0 : lease.expiresAt().getEpochSecond();
            sb.append(expires).append(' ').append(lease.iaid()).append(' ').append(Identifiers.format(lease.address()))
                    .append(' ').append(lease.hostname() == null ? "*" : lease.hostname().split("\\.", 2)[0])
                    .append(' ').append(lease.duid().value()).append('\n');
        }
        return sb.toString();
    }

    private Reply apply(HookRecord record, String origin) {
        HookEvent event;
        try {
            event = parser.parse(record);
        } catch (IllegalArgumentException e) {
            LOG.warn("Rejected a dnsmasq event of source {} from {}: {}", source, origin, e.getMessage());
            return Reply.error(e.getMessage());
        }
        if (event instanceof HookEvent.Init) {
            return new Reply("OK", leaseDatabase());
        }
        if (event instanceof HookEvent.Ignored ignored) {
            LOG.debug("Ignored a dnsmasq event of source {}: {}", source, ignored.why());
            return new Reply("IGNORED", "");
        }
        HookEvent.Change change = (HookEvent.Change) event;
        rememberServerDuid(change.serverDuid());
        Lease lease = change.lease();
        Instant now = clock.instant();
        Lease known = leases.containsKey(lease.address()) ? leases.get(lease.address()).lease() : null;
        if (known != null && known.duid().equals(lease.duid())) {
            // Start-up replays carry no client data: keep what the store knew.
            lease = new Lease(lease.duid(), lease.iaid(), lease.address(),
                    lease.mac() != null ? lease.mac() : known.mac(),
                    lease.hostname() != null ? lease.hostname() : known.hostname(),
                    lease.expiresAt(), lease.source(), lease.network() != null ? lease.network() : known.network());
        }
        LeaseEventType type = switch (change.action()) {
            case "add" -> LeaseEventType.ADDED;
            case "old" -> LeaseEventType.RENEWED;
            default -> lease.expiresAt() != null && !lease.expiresAt().isAfter(now.plus(EXPIRY_SLACK))
                    ? LeaseEventType.EXPIRED : LeaseEventType.RELEASED;
        };
        try {
            sink.accept(new LeaseEvent(type, lease, now));
        } catch (IllegalArgumentException e) {
            LOG.warn("The store refused {} of {} for client {} (source {}): {}", type, Identifiers.format(lease.address()),
                    lease.duid(), source, e.getMessage());
            return Reply.error(e.getMessage());
        } catch (RuntimeException e) {
            LOG.warn("Cannot store {} of {} for client {} (source {}), the hook will spool it: {}", type,
                    Identifiers.format(lease.address()), lease.duid(), source, e.getMessage());
            return new Reply("RETRY " + e.getMessage(), "");
        }
        if (type == LeaseEventType.ADDED || type == LeaseEventType.RENEWED) {
            leases.put(lease.address(), new Held(lease, type, ++delivered));
        } else {
            leases.remove(lease.address());
        }
        LOG.debug("{} {} for client {} iaid {} (source {})", type, Identifiers.format(lease.address()), lease.duid(), lease.iaid(), source);
        return new Reply("OK", "");
    }

    /**
     * Delivers again, as it was delivered last, the newest lease of every client that this book
     * holds as active and unexpired while the store lists no active lease of that client for this
     * source: the store lost it (see the class comment). Compared by client, not by address, so
     * that a client holding two addresses (two IAIDs; the store keeps one lease per client) is not
     * re-delivered back and forth. Does nothing while the store cannot be read.
     *
     * @return how many leases were delivered again
     */
    synchronized int resync() {
        List<Lease> stored;
        try {
            stored = sink.activeLeases(source);
        } catch (RuntimeException e) {
            LOG.debug("Cannot compare the leases of source {} with the store: {}", source, e.getMessage());
            return 0;
        }
        Set<Duid> storedClients = new HashSet<>();
        stored.forEach(l -> storedClients.add(l.duid()));
        Instant now = clock.instant();
        Map<Duid, Held> newest = new HashMap<>();
        for (Held h : leases.values()) {
            if (!storedClients.contains(h.lease().duid()) && !h.lease().expiredAt(now)) {
                newest.merge(h.lease().duid(), h, (a, b) -> a.seq() >= b.seq() ? a : b);
            }
        }
        int n = 0;
        for (Held h : newest.values()) {
            Lease lease = h.lease();
            try {
                sink.accept(new LeaseEvent(h.type(), lease, now));
            } catch (IllegalArgumentException e) {
                // refused now (another client holds the address): not ours to insist on
                LOG.warn("The store refused the lease {} of client {} (source {}) delivered again; forgetting it: {}",
                        Identifiers.format(lease.address()), lease.duid(), source, e.getMessage());
                leases.remove(lease.address());
                continue;
            } catch (RuntimeException e) {
                LOG.debug("Cannot deliver the lease {} of client {} again (source {}): {}", Identifiers.format(lease.address()),
                        lease.duid(), source, e.getMessage());
                return n;
            }
            n++;
            LOG.warn("The store had lost the lease {} of client {} (source {}): delivered it again as {}",
                    Identifiers.format(lease.address()), lease.duid(), source, h.type());
        }
        return n;
    }

    private void rememberServerDuid(Duid duid) {
        if (duid == null || duid.equals(serverDuid)) {
            return;
        }
        try {
            Files2.writeAtomically(serverDuidFile, duid.value() + "\n", Files2.PRIVATE);
            serverDuid = duid;
        } catch (IOException e) {
            LOG.warn("Cannot store the server DUID of source {}: {}", source, e.getMessage());
        }
    }

    /** A lease this book holds, with how it was delivered last and when (0: read from the store). */
    private record Held(Lease lease, LeaseEventType type, long seq) {
    }

    /** The answer to one hook call. */
    record Reply(String status, String body) {
        Reply {
            Objects.requireNonNull(status, "status");
            Objects.requireNonNull(body, "body");
            // The status travels back to a log line of dnsmasq: printable ASCII only, bounded.
            status = sanitize(status);
        }

        static Reply error(String reason) {
            return new Reply("ERR " + reason, "");
        }

        private static String sanitize(String text) {
            StringBuilder sb = new StringBuilder(Math.min(text.length(), 200));
            for (int i = 0; i < text.length() && sb.length() < 200; i++) {
                char c = text.charAt(i);
                sb.append(c >= 0x20 && c < 0x7f ? c : '?');
            }
            return sb.toString();
        }
    }
}
