package org.orchestrator.api.provider;

/**
 * Resource limits of one instance. A value of {@code 0} means "no limit set by the platform".
 *
 * @param memoryBytes memory limit in bytes
 * @param cpus        CPU share in cores (e.g. {@code 0.5})
 * @param pids        maximum number of processes
 */
public record ResourceLimits(long memoryBytes, double cpus, long pids) {

    /** No limits. */
    public static final ResourceLimits NONE = new ResourceLimits(0, 0, 0);

    public ResourceLimits {
        if (memoryBytes < 0 || cpus < 0 || pids < 0 || Double.isNaN(cpus)) {
            throw new IllegalArgumentException("resource limits must not be negative");
        }
    }
}
