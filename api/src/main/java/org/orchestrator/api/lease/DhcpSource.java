package org.orchestrator.api.lease;

import java.util.List;

/**
 * A DHCPv6 server (or a view of one) that grants leases to devices. Registered as an OSGi service
 * by a DHCP-source plugin, one per served network; it may come and go at any time.
 *
 * <p>A source delivers its events to the {@link LeaseSink}. Core calls back into the source to pin
 * and unpin reservations. All methods are thread-safe and idempotent.
 */
public interface DhcpSource {

    /** @return the unique, stable name of this source (valid per {@link Identifiers#name}) */
    String name();

    /**
     * @return a snapshot of the leases the source considers active now
     * @throws IllegalStateException when the underlying server cannot be queried
     */
    List<Lease> leases();

    /**
     * Pins an address to a client so that a returning device gets the same address. Replaces any
     * earlier pin of the same DUID. Idempotent.
     *
     * @throws IllegalStateException when the pin cannot be written
     */
    void pin(Reservation reservation);

    /**
     * Removes the pin of a client. Idempotent: unpinning an unknown client succeeds.
     *
     * @throws IllegalStateException when the pin cannot be removed
     */
    void unpin(Duid duid);

    /** @return the pins in force, so that core can find stale or missing ones */
    List<Reservation> reservations();
}
