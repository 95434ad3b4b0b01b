package org.orchestrator.api.provider;

import org.orchestrator.api.lease.Duid;

/**
 * Optional capability of a {@link VirtualizationProvider}: it can hand a pre-started spare
 * instance to a client. A provider that supports it implements this interface on the same object
 * it registers as {@code VirtualizationProvider}; core tests with {@code instanceof} and falls
 * back to {@link VirtualizationProvider#provision} when the provider declines (does not implement
 * it) or its pool is empty.
 *
 * <p>The contract, in order:
 * <ol>
 * <li>Core creates spares with the ordinary {@link VirtualizationProvider#provision}, with
 *     {@link InstanceSpec#client()} = {@link #UNASSIGNED} and the label {@link #POOL_LABEL} naming
 *     the pool (a digest of image, limits, command, environment, provider and network). A spare
 *     is listed by {@link VirtualizationProvider#list()} like any instance, with client
 *     {@code UNASSIGNED}; core records spares in its store, so an unrecorded spare is an orphan.
 *     A spare is attached to no network, so no device can reach it.</li>
 * <li>At lease time core records the binding in its store first (the spare's instance id becomes
 *     the client's instance id), then calls {@link #personalise}, then attaches the instance to
 *     the device's network as usual.</li>
 * </ol>
 *
 * <p>Thread-safe; fails with {@link ProviderException} like the other provider methods.
 *
 * @since 1.1
 */
public interface PoolingProvider {

    /** The placeholder client of a spare that no client has claimed yet (DUID-EN, enterprise 0, "pool"). */
    Duid UNASSIGNED = new Duid("00:02:00:00:00:00:70:6f:6f:6c");

    /** Label (in {@link InstanceSpec#labels()}) whose value names the pool a spare belongs to. */
    String POOL_LABEL = "orchestrator.pool";

    /**
     * Gives a running spare to a client: writes the client's identity into the instance (so that
     * what the instance serves names the client, as if it had been provisioned with
     * {@code spec}), and renames it as {@link VirtualizationProvider#provision} would have named
     * it. The provider's labels cannot always change after creation: {@link Instance#client()} of
     * a personalised spare may stay {@link #UNASSIGNED}; core's store holds the binding.
     * Idempotent: personalising again with the same spec changes nothing.
     *
     * @param spec what the client would have been provisioned with; {@link InstanceSpec#instanceId()}
     *             is the spare's instance id
     * @return the instance after personalisation
     * @throws ProviderException when the spare does not exist, is not running, or cannot be
     *                           personalised (core then destroys it and provisions instead)
     */
    Instance personalise(InstanceSpec spec);
}
