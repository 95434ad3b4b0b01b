package org.orchestrator.dhcp.dnsmasq;

import java.util.Objects;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Lease;

/** A validated call of the hook. */
sealed interface HookEvent {

    /** dnsmasq asks for the lease database ({@code init}, with {@code --leasefile-ro}). */
    record Init() implements HookEvent {
    }

    /** An action this plugin does not use ({@code tftp}, {@code arp-add}, temporary addresses ...). */
    record Ignored(String why) implements HookEvent {
        public Ignored {
            Objects.requireNonNull(why, "why");
        }
    }

    /**
     * A lease changed.
     *
     * @param action      {@code add}, {@code old} or {@code del}
     * @param lease       the lease after the change (validated)
     * @param serverDuid  dnsmasq's own DUID, or {@code null} when not given
     * @param dataMissing whether dnsmasq replayed the lease without client data (start-up)
     */
    record Change(String action, Lease lease, Duid serverDuid, boolean dataMissing) implements HookEvent {
        public Change {
            Objects.requireNonNull(action, "action");
            Objects.requireNonNull(lease, "lease");
        }
    }
}
