package org.orchestrator.api.provider;

import java.util.List;
import java.util.Optional;

/**
 * Runs instances. Registered as an OSGi service by a provider plugin, one per configured endpoint;
 * it may come and go at any time. A provider owns only the instances it created (marked so that
 * it finds them again after a restart) and lists no others.
 *
 * <p>All methods are thread-safe. They fail with {@link ProviderException}; a transient one (for
 * example the daemon is down) is retried by core. Operations are idempotent as described.
 */
public interface VirtualizationProvider {

    /** @return the unique, stable name of this provider */
    String name();

    /**
     * Creates and starts the instance. Idempotent on {@link InstanceSpec#instanceId()}: when it
     * exists already it is started if needed and returned, never duplicated.
     */
    Instance provision(InstanceSpec spec);

    /** Starts a stopped instance; no-op when running. */
    void start(String instanceId);

    /** Stops a running instance; no-op when stopped. */
    void stop(String instanceId);

    /** Removes the instance and its resources; succeeds when it does not exist. */
    void destroy(String instanceId);

    /** @return every instance this provider owns */
    List<Instance> list();

    /** @return the instance, or empty when the provider does not have it */
    Optional<Instance> inspect(String instanceId);

    /**
     * @return the network namespace of a running instance
     * @throws ProviderException when the instance does not exist or is not running
     */
    NetnsHandle networkNamespace(String instanceId);

    /** Exports an instance as an image, and optionally saves it to an archive. */
    ExportResult export(ExportRequest request);
}
