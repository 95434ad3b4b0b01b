package org.orchestrator.api.manage;

import java.util.List;

/**
 * Whether the platform can do its work.
 *
 * @param storeUp     whether the store answers
 * @param storeDetail the store's URL (without credentials) or its error
 * @param components  every plug-in component known
 */
public record Health(boolean storeUp, String storeDetail, List<ComponentView> components) {

    public Health {
        components = List.copyOf(components);
    }

    /** @return whether the store is up and at least one source, provider and network is available */
    public boolean up() {
        return storeUp
            && components.stream().anyMatch(c -> c.kind() == ComponentKind.DHCP_SOURCE && c.available())
            && components.stream().anyMatch(c -> c.kind() == ComponentKind.PROVIDER && c.available())
            && components.stream().anyMatch(c -> c.kind() == ComponentKind.NETWORK && c.available());
    }
}
