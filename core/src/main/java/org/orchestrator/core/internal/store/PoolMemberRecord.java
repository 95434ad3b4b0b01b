package org.orchestrator.core.internal.store;

import java.time.Instant;
import java.util.Objects;

import org.orchestrator.api.provider.InstanceState;

/**
 * One row of the {@code pool_member} table: a spare instance of a warm pool. Immutable.
 *
 * @param poolKey     the digest of the policy it was made for
 * @param providerRef the provider's id, or null before creation
 * @param state       the last known run state, or null before creation
 */
public record PoolMemberRecord(String id, String poolKey, String provider, String network, String image,
                               String providerRef, InstanceState state, Instant createdAt) {

    public PoolMemberRecord {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(poolKey, "poolKey");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(image, "image");
        Objects.requireNonNull(createdAt, "createdAt");
    }

    /** @return whether the spare runs and can be claimed */
    public boolean ready() {
        return state == InstanceState.RUNNING && providerRef != null;
    }

    public PoolMemberRecord withProviderState(String ref, InstanceState newState) {
        return new PoolMemberRecord(id, poolKey, provider, network, image, ref, newState, createdAt);
    }
}
