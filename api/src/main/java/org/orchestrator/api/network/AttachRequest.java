package org.orchestrator.api.network;

import java.net.Inet6Address;
import java.util.Objects;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.NetnsHandle;

/**
 * What a {@link NetworkAttacher} needs to put an instance on its network.
 *
 * @param instanceId the platform's instance id
 * @param client     the client the instance serves
 * @param netns      the instance's network namespace, from its provider
 * @param peer       the device address that may reach the instance when isolation is on, or
 *                   {@code null} when no device is bound (e.g. a pool member)
 */
public record AttachRequest(String instanceId, Duid client, NetnsHandle netns, Inet6Address peer) {

    public AttachRequest {
        Objects.requireNonNull(instanceId, "instanceId");
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(netns, "netns");
    }
}
