package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.Objects;
import java.util.Set;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Reservation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * dnsmasq's view of the pins, in one of two layouts.
 *
 * <p>{@link Layout#DIRS} (managed mode, and external mode when the operator's dnsmasq reads the
 * folders): one file per pin in a {@code --dhcp-hostsdir} folder, {@code id:<duid>,[<address>][,<label>]},
 * and, when DNS is on, one file per pin with an instance address in a {@code --hostsdir} folder,
 * {@code <instance address> <name>.<domain>}. dnsmasq reads new and changed files in both folders
 * through inotify, without SIGHUP. It forgets removed and changed {@code --hostsdir} records by
 * itself, but keeps every {@code --dhcp-hostsdir} record it has read until SIGHUP: a new pin needs
 * no reload, a changed or removed one does.
 *
 * <p>{@link Layout#FILES} (external mode): one {@code --dhcp-hostsfile} and one {@code --addn-hosts}
 * file for all pins; dnsmasq re-reads them only on SIGHUP, so every change needs a reload.
 *
 * <p>Every file is replaced atomically through a temporary file whose name starts with {@code .},
 * which dnsmasq's inotify ignores, is world-readable (dnsmasq reads it after dropping root) and is
 * rewritten only when its content changes. Not thread-safe: {@link PinStore} serialises the calls.
 */
final class PinFiles {

    /** Where the pins go. */
    enum Layout { DIRS, FILES }

    /** What a change asks of dnsmasq. Ordered: the larger of two changes covers both. */
    enum Change {
        /** No file dnsmasq reads changed. */
        NONE,
        /** dnsmasq picks the change up by itself (a new file in a watched folder). */
        LIVE,
        /** dnsmasq must re-read its files (SIGHUP): a record it holds changed or went away. */
        RELOAD;

        Change and(Change other) {
            return compareTo(other) >= 0 ? this : other;
        }
    }

    private static final Logger LOG = LoggerFactory.getLogger(PinFiles.class);
    private static final String HEADER = "# Written by the Orchestrator dnsmasq plugin; changes are lost.\n";
    /** Longest DUID hex written out in a file name; longer ones are hashed (names are at most 255 bytes). */
    static final int MAX_PLAIN_HEX = 200;
    /** Our file names: {@code pin-<DUID hex>} or {@code pinh-<SHA-256 hex of the DUID hex>}; 'h' is no hex digit. */
    private static final Pattern OURS = Pattern.compile("pin-[0-9a-f]{6," + MAX_PLAIN_HEX + "}|pinh-[0-9a-f]{64}");

    private final Layout layout;
    private final Path hostsDir;
    private final Path dnsDir;
    private final Path hostsFile;
    private final Path addnHostsFile;
    private final String domain;

    /**
     * @param domain the DNS domain of the instance records, or {@code null} when DNS is off
     */
    PinFiles(Layout layout, Path hostsDir, Path dnsDir, Path hostsFile, Path addnHostsFile, String domain) {
        this.layout = Objects.requireNonNull(layout, "layout");
        this.hostsDir = Objects.requireNonNull(hostsDir, "hostsDir");
        this.dnsDir = Objects.requireNonNull(dnsDir, "dnsDir");
        this.hostsFile = Objects.requireNonNull(hostsFile, "hostsFile");
        this.addnHostsFile = Objects.requireNonNull(addnHostsFile, "addnHostsFile");
        this.domain = domain == null ? null : Identifiers.hostname(domain);
    }

    Layout layout() {
        return layout;
    }

    /**
     * @return the name of a client's file in the folders: {@code pin-} and the DUID's hex, or for a
     *         DUID longer than {@value #MAX_PLAIN_HEX} hex digits {@code pinh-} and the SHA-256 of it;
     *         only {@code [a-z0-9-]}, never starting with a character dnsmasq's inotify ignores
     */
    static String fileName(Duid duid) {
        String hex = duid.hex();
        if (hex.length() <= MAX_PLAIN_HEX) {
            return "pin-" + hex;
        }
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return "pinh-" + HexFormat.of().formatHex(sha.digest(hex.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this Java runtime", e);
        }
    }

    /** @return the {@code dhcp-host} line of a pin: {@code id:<duid>,[<address>][,<first label of the host name>]} */
    static String hostLine(Reservation r) {
        StringBuilder sb = new StringBuilder("id:").append(r.duid().value()).append(",[").append(Identifiers.format(r.address())).append(']');
        String label = label(r);
        if (label != null) {
            sb.append(',').append(label);
        }
        return sb.append('\n').toString();
    }

    /**
     * @return the hosts line of a pin's instance, {@code <instance address> <name>.<domain>}, or
     *         {@code null} when DNS is off, the pin has no instance address or the name would be too long
     */
    static String dnsLine(Reservation r, String domain) {
        if (domain == null || r.instanceAddress() == null) {
            return null;
        }
        String label = label(r);
        String name = label != null ? label : r.duid().hex();
        if (name.length() > 63 || (name + "." + domain).length() > Identifiers.MAX_HOSTNAME) {
            LOG.warn("No DNS name for client {}: its DUID is too long for a DNS label", r.duid());
            return null;
        }
        return Identifiers.format(r.instanceAddress()) + ' ' + name + '.' + domain + '\n';
    }

    private static String label(Reservation r) {
        return r.hostname() == null ? null : r.hostname().split("\\.", 2)[0];
    }

    /**
     * Writes the files of every pin and removes what no pin owns any more: files of vanished pins,
     * temporary files a crash left, and the files of the other layout.
     *
     * @return what the changes ask of a dnsmasq that read the earlier files
     */
    Change writeAll(Collection<Reservation> pins) throws IOException {
        if (layout == Layout.FILES) {
            Files2.deleteTree(hostsDir);
            Files2.deleteTree(dnsDir);
            return writeFiles(pins);
        }
        Files.deleteIfExists(hostsFile);
        Files.deleteIfExists(addnHostsFile);
        Files2.directory(hostsDir, Files2.OPEN_DIR);
        if (domain != null) {
            Files2.directory(dnsDir, Files2.OPEN_DIR);
        } else {
            Files2.deleteTree(dnsDir);
        }
        Change change = Change.NONE;
        Set<String> names = new HashSet<>();
        for (Reservation r : pins) {
            names.add(fileName(r.duid()));
            change = change.and(update(r.duid(), r));
        }
        if (removeOthers(hostsDir, names, true)) {
            change = Change.RELOAD;
        }
        if (domain != null && removeOthers(dnsDir, names, false)) {
            change = change.and(Change.LIVE);
        }
        return change;
    }

    /**
     * Brings the files of one client in line with its pin.
     *
     * @param pin  the client's pin, or {@code null} when it has none any more
     * @param pins every pin, {@code pin} included (the FILES layout rewrites them all)
     * @return what the change asks of dnsmasq
     */
    Change update(Duid duid, Reservation pin, Collection<Reservation> pins) throws IOException {
        return layout == Layout.FILES ? writeFiles(pins) : update(duid, pin);
    }

    private Change update(Duid duid, Reservation pin) throws IOException {
        String name = fileName(duid);
        Path host = hostsDir.resolve(name);
        Change change;
        if (pin == null) {
            change = Files2.deleteUnnoticed(host) ? Change.RELOAD : Change.NONE;
        } else {
            boolean existed = Files.exists(host);
            change = Files2.writeIfChanged(host, hostLine(pin), Files2.READABLE)
                    ? (existed ? Change.RELOAD : Change.LIVE) : Change.NONE;
        }
        if (domain != null) {
            Path dns = dnsDir.resolve(name);
            String line = pin == null ? null : dnsLine(pin, domain);
            if (line == null) {
                // --hostsdir drops the records of a deleted file at once (inotify delete event).
                if (Files.deleteIfExists(dns)) {
                    change = change.and(Change.LIVE);
                }
            } else if (Files2.writeIfChanged(dns, line, Files2.READABLE)) {
                change = change.and(Change.LIVE);
            }
        }
        return change;
    }

    private Change writeFiles(Collection<Reservation> pins) throws IOException {
        StringBuilder hosts = new StringBuilder(HEADER);
        StringBuilder names = new StringBuilder(HEADER);
        for (Reservation r : pins) {
            hosts.append(hostLine(r));
            String line = dnsLine(r, domain);
            if (line != null) {
                names.append(line);
            }
        }
        boolean changed = Files2.writeIfChanged(hostsFile, hosts.toString(), Files2.READABLE);
        changed |= Files2.writeIfChanged(addnHostsFile, names.toString(), Files2.READABLE);
        return changed ? Change.RELOAD : Change.NONE;
    }

    /**
     * Removes the files in {@code dir} that are not named in {@code keep}: ours of gone pins, and
     * temporary ones.
     *
     * @return whether a file of a gone pin was removed
     */
    private static boolean removeOthers(Path dir, Set<String> keep, boolean unnoticed) throws IOException {
        boolean removed = false;
        try (DirectoryStream<Path> files = Files.newDirectoryStream(dir)) {
            for (Path p : files) {
                String name = p.getFileName().toString();
                if (OURS.matcher(name).matches() && !keep.contains(name)) {
                    removed |= unnoticed ? Files2.deleteUnnoticed(p) : Files.deleteIfExists(p);
                } else if (name.startsWith(".") && (name.endsWith(".tmp") || name.endsWith(".gone"))) {
                    Files.deleteIfExists(p);
                }
            }
        }
        return removed;
    }
}
