package org.orchestrator.dhcp.dnsmasq;

import java.io.IOException;
import java.net.Inet6Address;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Reservation;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The pins of one source. Persisted in a file the plugin owns ({@code pins}, one pin per line:
 * {@code <duid> <iaid> <address> <hostname|-> <instance address|->}, mode 0600) and rendered into
 * dnsmasq's {@code --dhcp-hostsfile} ({@code id:<duid>,[<address>][,<hostname>]}) and, when DNS is
 * on, an {@code --addn-hosts} file ({@code <instance address> <name>.<domain>}). Every file is
 * replaced atomically and contains only validated values. Thread-safe.
 */
final class PinStore {

    private static final Logger LOG = LoggerFactory.getLogger(PinStore.class);

    private final Path pinsFile;
    private final Path hostsFile;
    private final Path addnHostsFile;
    private final String domain;
    private final Map<Duid, Reservation> pins = new TreeMap<>();

    /**
     * @param domain the DNS domain for {@code addnHostsFile}, or {@code null} when DNS is off
     */
    PinStore(Path pinsFile, Path hostsFile, Path addnHostsFile, String domain) {
        this.pinsFile = Objects.requireNonNull(pinsFile, "pinsFile");
        this.hostsFile = Objects.requireNonNull(hostsFile, "hostsFile");
        this.addnHostsFile = Objects.requireNonNull(addnHostsFile, "addnHostsFile");
        this.domain = domain == null ? null : Identifiers.hostname(domain);
    }

    /** Loads the persisted pins (skipping invalid lines with a logged reason) and writes dnsmasq's files. */
    synchronized void load() throws IOException {
        pins.clear();
        if (Files.exists(pinsFile)) {
            int n = 0;
            for (String line : Files.readAllLines(pinsFile, StandardCharsets.US_ASCII)) {
                n++;
                if (line.isBlank()) {
                    continue;
                }
                try {
                    Reservation r = parse(line);
                    pins.put(r.duid(), r);
                } catch (IllegalArgumentException e) {
                    LOG.warn("Ignoring line {} of {}: {}", n, pinsFile, e.getMessage());
                }
            }
        }
        writeDnsmasqFiles();
    }

    /** @return whether anything changed */
    synchronized boolean pin(Reservation reservation) {
        Objects.requireNonNull(reservation, "reservation");
        if (reservation.equals(pins.get(reservation.duid()))) {
            return false;
        }
        Reservation before = pins.put(reservation.duid(), reservation);
        try {
            save();
        } catch (IOException | RuntimeException e) {
            if (before == null) {
                pins.remove(reservation.duid());
            } else {
                pins.put(before.duid(), before);
            }
            throw new IllegalStateException("cannot write the pins of " + pinsFile.getParent() + ": " + e.getMessage(), e);
        }
        return true;
    }

    /** @return whether anything changed */
    synchronized boolean unpin(Duid duid) {
        Objects.requireNonNull(duid, "duid");
        Reservation before = pins.remove(duid);
        if (before == null) {
            return false;
        }
        try {
            save();
        } catch (IOException | RuntimeException e) {
            pins.put(duid, before);
            throw new IllegalStateException("cannot write the pins of " + pinsFile.getParent() + ": " + e.getMessage(), e);
        }
        return true;
    }

    synchronized List<Reservation> list() {
        return List.copyOf(pins.values());
    }

    private void save() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Reservation r : pins.values()) {
            sb.append(r.duid().value()).append(' ').append(r.iaid()).append(' ').append(Identifiers.format(r.address()))
                    .append(' ').append(r.hostname() == null ? "-" : r.hostname())
                    .append(' ').append(r.instanceAddress() == null ? "-" : Identifiers.format(r.instanceAddress()))
                    .append('\n');
        }
        Files2.writeAtomically(pinsFile, sb.toString(), Files2.PRIVATE);
        writeDnsmasqFiles();
    }

    private void writeDnsmasqFiles() throws IOException {
        StringBuilder hosts = new StringBuilder("# Written by the Orchestrator dnsmasq plugin; changes are lost.\n");
        StringBuilder names = new StringBuilder("# Written by the Orchestrator dnsmasq plugin; changes are lost.\n");
        for (Reservation r : pins.values()) {
            hosts.append("id:").append(r.duid().value()).append(",[").append(Identifiers.format(r.address())).append(']');
            String label = r.hostname() == null ? null : r.hostname().split("\\.", 2)[0];
            if (label != null) {
                hosts.append(',').append(label);
            }
            hosts.append('\n');
            if (domain != null && r.instanceAddress() != null) {
                String name = label != null ? label : r.duid().hex();
                if (name.length() <= 63 && (name + "." + domain).length() <= Identifiers.MAX_HOSTNAME) {
                    names.append(Identifiers.format(r.instanceAddress())).append(' ').append(name).append('.').append(domain).append('\n');
                } else {
                    LOG.warn("No DNS name for client {}: its DUID is too long for a DNS label", r.duid());
                }
            }
        }
        // dnsmasq reads these after dropping root, so they are world-readable; they hold no secret.
        Files2.writeAtomically(hostsFile, hosts.toString(), Files2.READABLE);
        Files2.writeAtomically(addnHostsFile, names.toString(), Files2.READABLE);
    }

    private static Reservation parse(String line) {
        String[] f = line.split(" ", -1);
        if (f.length != 5) {
            throw new IllegalArgumentException("expected 5 fields, got " + f.length);
        }
        Inet6Address instance = "-".equals(f[4]) ? null : Identifiers.ipv6(f[4]);
        return new Reservation(Duid.parse(f[0]), Identifiers.iaid(f[1]), Identifiers.ipv6(f[2]),
                "-".equals(f[3]) ? null : f[3], instance);
    }
}
