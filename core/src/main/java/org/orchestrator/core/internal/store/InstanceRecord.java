package org.orchestrator.core.internal.store;

import java.net.Inet6Address;
import java.time.Instant;
import java.util.Objects;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.provider.InstanceState;

/**
 * One row of the {@code instance} table. The row is written before the provider is asked to create
 * the instance, so that a crash in between finds the instance again by its id. Immutable.
 *
 * @param providerRef the provider's id, or null before creation
 * @param state       the last known run state, or null before creation
 * @param address     the address on its network, or null before attachment
 * @param expiresAt   the end of its TTL, or null
 * @param destroyedAt when it was destroyed; a row with a value here is history, not a live instance
 */
public record InstanceRecord(String id, Duid duid, String provider, String providerRef, String network, String image,
                             InstanceState state, Inet6Address address, Instant createdAt, Instant expiresAt,
                             Instant destroyedAt) {

    public InstanceRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(duid, "duid");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** @return whether the instance has not been destroyed */
    public boolean live() {
        return destroyedAt == null;
    }

    public InstanceRecord withProviderState(String ref, InstanceState newState) {
        return new InstanceRecord(id, duid, provider, ref, network, image, newState, address, createdAt, expiresAt, destroyedAt);
    }

    public InstanceRecord withAddress(Inet6Address newAddress) {
        return new InstanceRecord(id, duid, provider, providerRef, network, image, state, newAddress, createdAt, expiresAt, destroyedAt);
    }

    public InstanceRecord destroyed(Instant at) {
        return new InstanceRecord(id, duid, provider, providerRef, network, image, InstanceState.REMOVED, address, createdAt, expiresAt, at);
    }

    /** @return the management view */
    public InstanceView view() {
        return new InstanceView(id, duid, provider, providerRef, network, image, state, address, createdAt, expiresAt);
    }
}
