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
 * {@code <duid> <iaid> <address> <hostname|-> <instance address|->}, mode 0600) and rendered for
 * dnsmasq by {@link PinFiles}. Every file is replaced atomically and contains only validated
 * values. Thread-safe.
 */
final class PinStore {

    private static final Logger LOG = LoggerFactory.getLogger(PinStore.class);

    private final Path pinsFile;
    private final PinFiles files;
    private final Map<Duid, Reservation> pins = new TreeMap<>();

    PinStore(Path pinsFile, PinFiles files) {
        this.pinsFile = Objects.requireNonNull(pinsFile, "pinsFile");
        this.files = Objects.requireNonNull(files, "files");
    }

    /**
     * Loads the persisted pins (skipping invalid lines with a logged reason) and writes all of
     * dnsmasq's files, removing those of pins that are gone.
     *
     * @return what writing the files asks of a dnsmasq that read the earlier ones
     */
    synchronized PinFiles.Change load() throws IOException {
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
        return files.writeAll(pins.values());
    }

    /**
     * Records a pin (replacing the client's earlier one) and updates dnsmasq's files.
     *
     * @return what the change asks of dnsmasq; {@link PinFiles.Change#NONE} when the pin was there
     * @throws IllegalStateException when the files cannot be written (the pin is then not recorded)
     */
    synchronized PinFiles.Change pin(Reservation reservation) {
        Objects.requireNonNull(reservation, "reservation");
        if (reservation.equals(pins.get(reservation.duid()))) {
            return PinFiles.Change.NONE;
        }
        Reservation before = pins.put(reservation.duid(), reservation);
        try {
            return save(reservation.duid(), reservation);
        } catch (IOException | RuntimeException e) {
            if (before == null) {
                pins.remove(reservation.duid());
            } else {
                pins.put(before.duid(), before);
            }
            restore(reservation.duid(), before);
            throw new IllegalStateException("cannot write the pins of " + pinsFile.getParent() + ": " + e.getMessage(), e);
        }
    }

    /**
     * Removes a client's pin and updates dnsmasq's files.
     *
     * @return what the change asks of dnsmasq; {@link PinFiles.Change#NONE} when there was no pin
     * @throws IllegalStateException when the files cannot be written (the pin then stays)
     */
    synchronized PinFiles.Change unpin(Duid duid) {
        Objects.requireNonNull(duid, "duid");
        Reservation before = pins.remove(duid);
        if (before == null) {
            return PinFiles.Change.NONE;
        }
        try {
            return save(duid, null);
        } catch (IOException | RuntimeException e) {
            pins.put(duid, before);
            restore(duid, before);
            throw new IllegalStateException("cannot write the pins of " + pinsFile.getParent() + ": " + e.getMessage(), e);
        }
    }

    synchronized List<Reservation> list() {
        return List.copyOf(pins.values());
    }

    private PinFiles.Change save(Duid duid, Reservation pin) throws IOException {
        writePins();
        return files.update(duid, pin, pins.values());
    }

    private void writePins() throws IOException {
        StringBuilder sb = new StringBuilder();
        for (Reservation r : pins.values()) {
            sb.append(r.duid().value()).append(' ').append(r.iaid()).append(' ').append(Identifiers.format(r.address()))
                    .append(' ').append(r.hostname() == null ? "-" : r.hostname())
                    .append(' ').append(r.instanceAddress() == null ? "-" : Identifiers.format(r.instanceAddress()))
                    .append('\n');
        }
        Files2.writeAtomically(pinsFile, sb.toString(), Files2.PRIVATE);
    }

    /** After a failed save: puts the pins file and the client's dnsmasq files back in line with the pin state, as far as possible. */
    private void restore(Duid duid, Reservation pin) {
        try {
            writePins();
            files.update(duid, pin, pins.values());
        } catch (IOException | RuntimeException e) {
            LOG.warn("Cannot restore the dnsmasq files of client {}: {}", duid, e.getMessage());
        }
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
