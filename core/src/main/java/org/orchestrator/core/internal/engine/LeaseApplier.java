package org.orchestrator.core.internal.engine;

import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.LeaseStatus;
import org.orchestrator.core.internal.store.ClientRecord;
import org.orchestrator.core.internal.store.StoreTx;

/**
 * Applies one lease event to the stored client, inside the caller's transaction. State-based: the
 * event says what the lease is now, so a replay changes nothing but the expiry. Not thread-safe;
 * the engine serialises lease events.
 */
final class LeaseApplier {

    private final StoreTx tx;
    private final Instant now;

    LeaseApplier(StoreTx tx, Instant now) {
        this.tx = Objects.requireNonNull(tx, "tx");
        this.now = Objects.requireNonNull(now, "now");
    }

    /**
     * @return whether the client needs reconciliation
     * @throws IllegalArgumentException when another client holds the address with an active lease
     */
    boolean apply(LeaseEvent event) {
        Lease lease = event.lease();
        Optional<ClientRecord> existing = tx.clientForUpdate(lease.duid());
        String kind = "LEASE_" + event.type().name();
        String what = Addresses.text(lease.address()) + " (iaid " + lease.iaid() + ") from " + lease.source()
            + (lease.network() == null ? "" : "/" + lease.network())
            + (lease.expiresAt() == null ? "" : ", expires " + lease.expiresAt());
        if (event.type() == LeaseEventType.ADDED || event.type() == LeaseEventType.RENEWED) {
            boolean holdsIt = existing.isPresent() && existing.get().leaseStatus() == LeaseStatus.ACTIVE
                && lease.address().equals(existing.get().address())
                && (existing.get().leaseExpiresAt() == null || existing.get().leaseExpiresAt().isAfter(now));
            if (!holdsIt) {
                // A client renewing the unexpired lease it holds was checked when it got it: no other lease got it since.
                checkAddressFree(lease);
            }
            if (existing.isEmpty()) {
                // Lease events are serialised and nothing else creates clients: the row is not there.
                tx.insertClient(ClientRecord.create(lease.duid(), now).lease(lease).leaseStatus(LeaseStatus.ACTIVE)
                    .leaseChangedAt(now).leaseAt(now).updatedAt(now).build());
                tx.appendEvent(kind, lease.duid(), null, "new client, lease " + what);
                return true;
            }
            ClientRecord c = existing.get();
            boolean same = c.leaseStatus() == LeaseStatus.ACTIVE && lease.address().equals(c.address()) && lease.iaid() == c.iaid();
            if (same && event.type() == LeaseEventType.ADDED && c.ttlSpent()) {
                // The device asked again after its instance's TTL ran out: it gets a new instance.
                tx.saveClient(c.toBuilder().lease(lease).ttlSpent(false).leaseAt(now).attempts(0).nextAttemptAt(null)
                    .updatedAt(now).build());
                tx.appendEvent(kind, lease.duid(), c.instanceId(), "lease " + what + " after the TTL was spent");
                return true;
            }
            if (same) {
                // A replay or a renewal: only the expiry moves.
                tx.saveClient(c.toBuilder().leaseExpiresAt(lease.expiresAt()).updatedAt(now).build());
                tx.appendEvent(kind, lease.duid(), c.instanceId(), (event.type() == LeaseEventType.ADDED ? "replayed lease " : "renewed lease ") + what);
                return needsReconcileAfterRenewal(c, lease.expiresAt());
            }
            ClientRecord.Builder b = c.toBuilder().lease(lease).leaseStatus(LeaseStatus.ACTIVE).leaseChangedAt(now)
                .attempts(0).nextAttemptAt(null).updatedAt(now);
            if (c.leaseStatus() != LeaseStatus.ACTIVE) {
                b.leaseAt(now);
            }
            if (event.type() == LeaseEventType.ADDED) {
                // A new lease starts a new life: a spent TTL or an administrator's release no longer applies.
                b.ttlSpent(false).adminRelease(false);
            }
            tx.saveClient(b.build());
            tx.appendEvent(kind, lease.duid(), c.instanceId(), (c.leaseStatus() == LeaseStatus.ACTIVE ? "changed lease " : "lease ") + what);
            return true;
        }
        if (existing.isEmpty()) {
            tx.appendEvent(kind, lease.duid(), null, "ignored: unknown client, lease " + what);
            return false;
        }
        ClientRecord c = existing.get();
        if (!lease.address().equals(c.address())) {
            tx.appendEvent(kind, lease.duid(), c.instanceId(), "ignored: stale lease " + what + ", client holds "
                + Addresses.text(c.address()));
            return false;
        }
        if (c.leaseStatus() != LeaseStatus.ACTIVE) {
            tx.appendEvent(kind, lease.duid(), c.instanceId(), "repeated: lease " + what + " is "
                + c.leaseStatus().name().toLowerCase(Locale.ROOT) + " already");
            return false;
        }
        LeaseStatus status = event.type() == LeaseEventType.RELEASED ? LeaseStatus.RELEASED : LeaseStatus.EXPIRED;
        tx.saveClient(c.toBuilder().leaseStatus(status).leaseChangedAt(now).attempts(0).nextAttemptAt(null)
            .updatedAt(now).build());
        tx.appendEvent(kind, lease.duid(), c.instanceId(), "lease " + what + " " + status.name().toLowerCase(Locale.ROOT)
            + "; grace period starts");
        return true;
    }

    /**
     * A renewal of a READY client that only moves the expiry later needs no reconciliation now: the
     * client's timer is armed at the old expiry (or earlier), and when it fires the reconciliation
     * finds the lease still active and re-arms at the new expiry. dnsmasq reports every renewal and
     * replays every lease on a SIGHUP, so this keeps a reconciliation (and its provider and network
     * calls) off the path of most lease events.
     */
    static boolean needsReconcileAfterRenewal(ClientRecord c, Instant newExpiry) {
        Instant old = c.leaseExpiresAt();
        if (Objects.equals(old, newExpiry)) {
            return false;
        }
        if (c.state() != ClientState.READY) {
            return true;
        }
        // null = no expiry: a lease that used to run out now never does (the old timer still fires, harmlessly)
        return old == null || (newExpiry != null && newExpiry.isBefore(old));
    }

    private void checkAddressFree(Lease lease) {
        for (ClientRecord other : tx.clientsByAddress(lease.address())) {
            if (!other.duid().equals(lease.duid()) && other.leaseStatus() == LeaseStatus.ACTIVE
                && (other.leaseExpiresAt() == null || other.leaseExpiresAt().isAfter(now))) {
                throw new IllegalArgumentException("address " + Addresses.text(lease.address()) + " is leased to client "
                    + other.duid() + " already");
            }
        }
    }
}
