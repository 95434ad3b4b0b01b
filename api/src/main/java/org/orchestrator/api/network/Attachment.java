package org.orchestrator.api.network;

import java.net.Inet6Address;
import java.util.Objects;

import org.orchestrator.api.lease.MacAddress;

/**
 * An instance's link on a network. Immutable snapshot.
 *
 * @param instanceId    the platform's instance id
 * @param network       the network's name ({@link NetworkAttacher#name()})
 * @param hostInterface the host end of the link (e.g. the veth on the bridge)
 * @param interfaceName the interface name inside the instance
 * @param mac           the MAC address inside the instance, or {@code null} if unknown
 * @param address       the instance's address on this network
 * @param prefixLength  the prefix length of that address
 * @param gateway       the default gateway given to the instance, or {@code null}
 * @param peer          the device address allowed to reach the instance, or {@code null}
 */
public record Attachment(String instanceId, String network, String hostInterface, String interfaceName,
                         MacAddress mac, Inet6Address address, int prefixLength, Inet6Address gateway,
                         Inet6Address peer) {

    public Attachment {
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(network, "network");
        Objects.requireNonNull(hostInterface, "hostInterface");
        Objects.requireNonNull(interfaceName, "interfaceName");
        Objects.requireNonNull(address, "address");
    }
}
