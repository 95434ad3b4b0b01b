package org.orchestrator.core.internal.engine;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.AddressPool;
import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.core.internal.store.Store;

/**
 * {@link AddressPool} over the store's {@code address_allocation} table, whose unique constraints
 * make a double allocation impossible even across concurrent callers. Thread-safe.
 */
public final class StoreAddressPool implements AddressPool {

    private static final int MAX_TRIES = 20;
    private static final int MAX_SCAN = 1_000_000;

    private final Store store;

    public StoreAddressPool(Store store) {
        this.store = Objects.requireNonNull(store, "store");
    }

    @Override
    public Inet6Address allocate(String network, String owner, Ipv6Prefix prefix, Set<Inet6Address> excluded) {
        Identifiers.name(network);
        if (owner == null || owner.isEmpty() || owner.length() > 255) {
            throw new IllegalArgumentException("owner must be 1-255 characters");
        }
        Objects.requireNonNull(prefix, "prefix");
        Set<Inet6Address> never = excluded == null ? Set.of() : Set.copyOf(excluded);
        for (int attempt = 0; attempt < MAX_TRIES; attempt++) {
            Inet6Address got = store.transaction(tx -> {
                var held = tx.allocation(network, owner);
                if (held.isPresent() && prefix.contains(held.get())) {
                    return held.get();
                }
                if (held.isPresent()) {
                    tx.deleteAllocation(network, owner); // the prefix changed: the old address is useless
                }
                Set<Inet6Address> taken = tx.allocatedAddresses(network);
                Inet6Address candidate = firstFree(prefix, taken, never);
                return tx.insertAllocation(network, owner, candidate) ? candidate : null;
            });
            if (got != null) {
                return got;
            }
            // Another caller took the owner or the address between our read and insert: look again.
        }
        throw new IllegalStateException("could not allocate an address on " + network + " after " + MAX_TRIES + " tries");
    }

    private static Inet6Address firstFree(Ipv6Prefix prefix, Set<Inet6Address> taken, Set<Inet6Address> excluded) {
        // Offset 0 is the subnet-router anycast address; never hand it out.
        BigInteger last = prefix.size().subtract(BigInteger.ONE);
        BigInteger offset = BigInteger.ONE;
        for (int i = 0; i < MAX_SCAN && offset.compareTo(last) <= 0; i++, offset = offset.add(BigInteger.ONE)) {
            Inet6Address a = prefix.address(offset);
            if (!taken.contains(a) && !excluded.contains(a)) {
                return a;
            }
        }
        throw new IllegalStateException("prefix " + prefix + " is exhausted");
    }

    @Override
    public void release(String network, String owner) {
        Identifiers.name(network);
        Objects.requireNonNull(owner, "owner");
        store.transaction(tx -> {
            tx.deleteAllocation(network, owner);
            return null;
        });
    }

    @Override
    public Map<String, Inet6Address> allocations(String network) {
        Identifiers.name(network);
        return store.transaction(tx -> tx.allocations(network));
    }
}
