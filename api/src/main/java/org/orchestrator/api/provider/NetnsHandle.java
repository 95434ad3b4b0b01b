package org.orchestrator.api.provider;

import java.nio.file.Path;
import java.util.Objects;

/**
 * How a network plugin enters an instance's network namespace.
 *
 * @param pid  a process inside the namespace, or {@code 0} when the namespace is a named one
 * @param path the namespace file ({@code /proc/PID/ns/net} or {@code /run/netns/NAME})
 */
public record NetnsHandle(long pid, Path path) {

    public NetnsHandle {
        Objects.requireNonNull(path, "path");
        if (pid < 0) {
            throw new IllegalArgumentException("pid must not be negative");
        }
    }

    /** @return a handle for the namespace of a running process */
    public static NetnsHandle ofPid(long pid) {
        return new NetnsHandle(pid, Path.of("/proc", Long.toString(pid), "ns", "net"));
    }
}
