package org.orchestrator.core.internal.store;

import java.net.Inet6Address;
import java.time.Instant;
import java.util.Objects;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.MacAddress;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.LeaseStatus;

/**
 * One row of the {@code client} table: a device's lease (as last reported), the administrator's
 * wishes and the reconciler's progress. Immutable; change it through {@link #toBuilder()}.
 *
 * @param adminHold    an administrator wants an instance regardless of the lease
 * @param adminRelease an administrator released the instance; cleared by the next new lease
 * @param ttlSpent     the instance used up its TTL; cleared by the next new lease
 * @param leaseChangedAt when the lease status last changed (start of the grace period)
 * @param leaseAt      when the current lease was added, until its lease-to-ready latency is recorded
 */
public record ClientRecord(Duid duid, long iaid, Inet6Address address, MacAddress mac, String hostname,
                           String source, String network, LeaseStatus leaseStatus, Instant leaseExpiresAt,
                           Instant leaseChangedAt, boolean adminHold, boolean adminRelease, boolean ttlSpent,
                           ClientState state, String reason, String instanceId, int attempts,
                           Instant nextAttemptAt, Instant stateSince, Instant leaseAt, Instant readyAt,
                           Instant updatedAt) {

    public ClientRecord {
        Objects.requireNonNull(duid, "duid");
        Objects.requireNonNull(leaseStatus, "leaseStatus");
        Objects.requireNonNull(state, "state");
        Objects.requireNonNull(stateSince, "stateSince");
        Objects.requireNonNull(updatedAt, "updatedAt");
    }

    /** @return a new client for a device without any history */
    public static Builder create(Duid duid, Instant now) {
        Builder b = new Builder();
        b.duid = duid;
        b.leaseStatus = LeaseStatus.RELEASED;
        b.state = ClientState.PENDING;
        b.stateSince = now;
        b.updatedAt = now;
        return b;
    }

    /** @return the lease as a DHCP source would report it, or null when the client never had an address */
    public Lease lease() {
        if (address == null || source == null) {
            return null;
        }
        return new Lease(duid, iaid, address, mac, hostname, leaseExpiresAt, source, network);
    }

    /** @return the management view */
    public ClientView view() {
        return new ClientView(duid, iaid, address, hostname, mac, source, network, leaseStatus, leaseExpiresAt,
            state, reason, instanceId, stateSince, updatedAt);
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.duid = duid;
        b.iaid = iaid;
        b.address = address;
        b.mac = mac;
        b.hostname = hostname;
        b.source = source;
        b.network = network;
        b.leaseStatus = leaseStatus;
        b.leaseExpiresAt = leaseExpiresAt;
        b.leaseChangedAt = leaseChangedAt;
        b.adminHold = adminHold;
        b.adminRelease = adminRelease;
        b.ttlSpent = ttlSpent;
        b.state = state;
        b.reason = reason;
        b.instanceId = instanceId;
        b.attempts = attempts;
        b.nextAttemptAt = nextAttemptAt;
        b.stateSince = stateSince;
        b.leaseAt = leaseAt;
        b.readyAt = readyAt;
        b.updatedAt = updatedAt;
        return b;
    }

    /** Mutable copy of a {@link ClientRecord}; not thread-safe. */
    public static final class Builder {
        private Duid duid;
        private long iaid;
        private Inet6Address address;
        private MacAddress mac;
        private String hostname;
        private String source;
        private String network;
        private LeaseStatus leaseStatus;
        private Instant leaseExpiresAt;
        private Instant leaseChangedAt;
        private boolean adminHold;
        private boolean adminRelease;
        private boolean ttlSpent;
        private ClientState state;
        private String reason;
        private String instanceId;
        private int attempts;
        private Instant nextAttemptAt;
        private Instant stateSince;
        private Instant leaseAt;
        private Instant readyAt;
        private Instant updatedAt;

        private Builder() {
        }

        public Builder lease(Lease lease) {
            iaid = lease.iaid();
            address = lease.address();
            mac = lease.mac();
            hostname = lease.hostname();
            source = lease.source();
            network = lease.network();
            leaseExpiresAt = lease.expiresAt();
            return this;
        }

        public Builder leaseStatus(LeaseStatus v) { leaseStatus = v; return this; }
        public Builder leaseExpiresAt(Instant v) { leaseExpiresAt = v; return this; }
        public Builder leaseChangedAt(Instant v) { leaseChangedAt = v; return this; }
        public Builder adminHold(boolean v) { adminHold = v; return this; }
        public Builder adminRelease(boolean v) { adminRelease = v; return this; }
        public Builder ttlSpent(boolean v) { ttlSpent = v; return this; }
        public Builder reason(String v) { reason = v; return this; }
        public Builder instanceId(String v) { instanceId = v; return this; }
        public Builder attempts(int v) { attempts = v; return this; }
        public Builder nextAttemptAt(Instant v) { nextAttemptAt = v; return this; }
        public Builder leaseAt(Instant v) { leaseAt = v; return this; }
        public Builder readyAt(Instant v) { readyAt = v; return this; }
        public Builder updatedAt(Instant v) { updatedAt = v; return this; }

        /** Sets the state, and its start time when it changes. */
        public Builder state(ClientState v, Instant now) {
            if (v != state) {
                stateSince = now;
            }
            state = v;
            return this;
        }

        public Builder stateSince(Instant v) { stateSince = v; return this; }

        /** Used by the store when reading rows. */
        Builder raw(long iaidValue, Inet6Address addressValue, MacAddress macValue, String hostnameValue,
                    String sourceValue, String networkValue, ClientState stateValue, Instant since) {
            iaid = iaidValue;
            address = addressValue;
            mac = macValue;
            hostname = hostnameValue;
            source = sourceValue;
            network = networkValue;
            state = stateValue;
            stateSince = since;
            return this;
        }

        public ClientRecord build() {
            return new ClientRecord(duid, iaid, address, mac, hostname, source, network, leaseStatus, leaseExpiresAt,
                leaseChangedAt, adminHold, adminRelease, ttlSpent, state, reason, instanceId, attempts, nextAttemptAt,
                stateSince, leaseAt, readyAt, updatedAt);
        }
    }
}
