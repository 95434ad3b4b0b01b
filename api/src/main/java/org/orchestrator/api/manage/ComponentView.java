package org.orchestrator.api.manage;

/**
 * A plug-in component known to core.
 *
 * @param kind               what it is
 * @param name               its name
 * @param bundleId           the id of the bundle that registered it
 * @param bundleSymbolicName that bundle's symbolic name
 * @param bundleState        that bundle's state (e.g. {@code ACTIVE})
 * @param available          whether core currently has the service
 * @param detail             extra information (e.g. number of instances), or {@code null}
 */
public record ComponentView(ComponentKind kind, String name, long bundleId, String bundleSymbolicName,
                            String bundleState, boolean available, String detail) {
}
