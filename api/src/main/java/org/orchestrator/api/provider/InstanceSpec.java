package org.orchestrator.api.provider;

import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;

/**
 * What core asks a provider to run for one client.
 *
 * @param instanceId       the platform's id of the instance, stable across retries; a provider
 *                         uses it to make {@link VirtualizationProvider#provision} idempotent
 * @param client           the client the instance belongs to
 * @param image            the image reference (e.g. {@code orchestrator/client:latest})
 * @param command          the command to run, or an empty list for the image's default
 * @param environment      environment variables for the instance
 * @param labels           extra labels; the provider adds its own identifying labels
 * @param limits           resource limits
 * @param readOnlyRootFs   whether the root file system is mounted read-only
 * @param hostname         the host name inside the instance
 */
public record InstanceSpec(String instanceId, Duid client, String image, List<String> command,
                           Map<String, String> environment, Map<String, String> labels,
                           ResourceLimits limits, boolean readOnlyRootFs, String hostname) {

    public InstanceSpec {
        Identifiers.name(Objects.requireNonNull(instanceId, "instanceId"));
        Objects.requireNonNull(client, "client");
        Objects.requireNonNull(image, "image");
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        labels = Map.copyOf(labels);
        Objects.requireNonNull(limits, "limits");
        hostname = Identifiers.hostname(Objects.requireNonNull(hostname, "hostname"));
    }
}
