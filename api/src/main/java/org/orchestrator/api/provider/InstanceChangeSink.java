package org.orchestrator.api.provider;

/**
 * Where a provider reports changes it did not cause (an instance died or was removed outside the
 * platform) and its own recovery (the daemon came back). Core registers exactly one; providers
 * reference it optionally. Calls are cheap, thread-safe and never block on provider work: they
 * only schedule reconciliation.
 */
public interface InstanceChangeSink {

    /**
     * An instance changed state outside the platform's control.
     *
     * @param provider   the provider's name
     * @param instanceId the platform's instance id
     * @param state      the new state ({@link InstanceState#REMOVED} when it is gone)
     * @param reason     a short human-readable reason, e.g. {@code "exited with code 137"}
     */
    void instanceChanged(String provider, String instanceId, InstanceState state, String reason);

    /**
     * The provider is reachable again after an outage; core re-syncs everything it owns.
     *
     * @param provider the provider's name
     */
    void providerAvailable(String provider);
}
