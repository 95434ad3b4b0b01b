package org.orchestrator.network.pipework;

import java.math.BigInteger;
import java.net.Inet6Address;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;

import org.orchestrator.api.network.AddressPool;
import org.orchestrator.api.network.Ipv6Prefix;

/** Test double of the core's AddressPool: lowest free host address first, in memory. */
class InMemoryAddressPool implements AddressPool {

    private final Map<String, Map<String, Inet6Address>> networks = new HashMap<>();
    private int allocateCalls;

    @Override
    public synchronized Inet6Address allocate(String network, String owner, Ipv6Prefix prefix, Set<Inet6Address> excluded) {
        allocateCalls++;
        Map<String, Inet6Address> owners = networks.computeIfAbsent(network, n -> new LinkedHashMap<>());
        Inet6Address held = owners.get(owner);
        if (held != null) {
            return held;
        }
        for (BigInteger offset = BigInteger.ONE; offset.compareTo(prefix.size().min(BigInteger.valueOf(100_000))) < 0;
                offset = offset.add(BigInteger.ONE)) {
            Inet6Address candidate = prefix.address(offset);
            if (!excluded.contains(candidate) && !owners.containsValue(candidate)) {
                owners.put(owner, candidate);
                return candidate;
            }
        }
        throw new IllegalStateException("prefix " + prefix + " is exhausted");
    }

    @Override
    public synchronized void release(String network, String owner) {
        Map<String, Inet6Address> owners = networks.get(network);
        if (owners != null) {
            owners.remove(owner);
        }
    }

    @Override
    public synchronized Map<String, Inet6Address> allocations(String network) {
        return Map.copyOf(networks.getOrDefault(network, Map.of()));
    }

    synchronized int allocateCalls() {
        return allocateCalls;
    }
}
