package org.orchestrator.api.provider;

import java.time.Instant;
import java.util.Map;
import java.util.Objects;

import org.orchestrator.api.lease.Duid;

/**
 * An instance as its provider sees it. Immutable snapshot.
 *
 * @param id          the platform's instance id ({@link InstanceSpec#instanceId()})
 * @param provider    the provider's name
 * @param providerRef the provider's own id (e.g. the container id)
 * @param name        the provider-side name (e.g. the container name)
 * @param client      the client the instance belongs to
 * @param image       the image it runs
 * @param state       its run state
 * @param createdAt   when the provider created it
 * @param labels      the labels the provider holds for it
 */
public record Instance(String id, String provider, String providerRef, String name, Duid client, String image,
                       InstanceState state, Instant createdAt, Map<String, String> labels) {

    public Instance {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(provider, "provider");
        Objects.requireNonNull(providerRef, "providerRef");
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(state, "state");
        labels = labels == null ? Map.of() : Map.copyOf(labels);
    }
}
