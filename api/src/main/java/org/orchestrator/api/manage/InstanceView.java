package org.orchestrator.api.manage;

import java.net.Inet6Address;
import java.time.Instant;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.InstanceState;

/**
 * An instance as stored, with its attachment.
 *
 * @param id          the platform's instance id
 * @param client      the client it serves
 * @param provider    the provider that runs it
 * @param providerRef the provider's own id (e.g. container id), or {@code null} before creation
 * @param network     the network it is attached to, or {@code null}
 * @param image       the image it runs
 * @param state       the last known run state, or {@code null} before creation
 * @param address     its address on the network, or {@code null} before attachment
 * @param createdAt   when it was created
 * @param expiresAt   when its TTL ends, or {@code null} when no TTL applies
 */
public record InstanceView(String id, Duid client, String provider, String providerRef, String network, String image,
                           InstanceState state, Inet6Address address, Instant createdAt, Instant expiresAt) {
}
