package org.orchestrator.api.manage;

/** The kinds of plug-in components. */
public enum ComponentKind {
    /** A {@link org.orchestrator.api.lease.DhcpSource}. */
    DHCP_SOURCE,
    /** A {@link org.orchestrator.api.provider.VirtualizationProvider}. */
    PROVIDER,
    /** A {@link org.orchestrator.api.network.NetworkAttacher}. */
    NETWORK
}
