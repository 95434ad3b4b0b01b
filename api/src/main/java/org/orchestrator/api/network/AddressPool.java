package org.orchestrator.api.network;

import java.net.Inet6Address;
import java.util.Map;
import java.util.Set;

/**
 * Persistent address allocation, provided by core over its store so that an address is never
 * handed out twice and allocations survive restarts. Network plugins use it for static
 * addressing. Thread-safe.
 */
public interface AddressPool {

    /**
     * Allocates an address of {@code prefix} to {@code owner} on {@code network}. Idempotent: an
     * owner that holds an address there gets the same one back.
     *
     * @param excluded addresses never to hand out (the gateway, for instance)
     * @throws IllegalStateException when the prefix is exhausted or the store is unavailable
     */
    Inet6Address allocate(String network, String owner, Ipv6Prefix prefix, Set<Inet6Address> excluded);

    /** Frees the address of {@code owner} on {@code network}; no-op when it holds none. */
    void release(String network, String owner);

    /** @return owner to address, for one network */
    Map<String, Inet6Address> allocations(String network);
}
