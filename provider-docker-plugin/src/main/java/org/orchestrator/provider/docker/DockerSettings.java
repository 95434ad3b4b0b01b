package org.orchestrator.provider.docker;

import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.provider.ResourceLimits;

/**
 * Validated settings of one Docker endpoint. Built from the OSGi configuration by
 * {@link DockerProviderComponent} or directly by tests.
 *
 * @param name            the provider name, unique among providers
 * @param dockerHost      {@code unix:///path} or {@code tcp://host:port}
 * @param tlsVerify       whether to talk TLS with client certificates ({@code tcp://} only)
 * @param certPath        folder holding {@code ca.pem}, {@code cert.pem}, {@code key.pem}; {@code null} without TLS
 * @param exportFolder    where export archives are written; {@code null} when archives are disabled
 * @param defaultLimits   limits applied where the spec leaves a limit at 0
 * @param capDrop         capabilities dropped (normally {@code ALL})
 * @param capAdd          capabilities added back
 * @param tmpfs           tmpfs mounts (path to mount options) for instances with a read-only root file system
 * @param connectTimeout  connect timeout to the daemon; keeps calls fast when it is down
 * @param responseTimeout longest wait for a response chunk from the daemon
 * @param stopTimeout     grace period before a stopped container is killed
 * @param pullTimeout     longest wait for an image pull
 * @param monitorInterval how often the daemon is pinged to notice outages and recoveries
 * @param directWrite     whether {@code personalise} may write straight into a spare's root file
 *                        system through {@code /proc/<pid>/root} when the endpoint is a unix socket
 *                        (daemon on this host); otherwise, and as fallback, the archive API is used
 */
public record DockerSettings(String name, URI dockerHost, boolean tlsVerify, Path certPath, Path exportFolder,
                             ResourceLimits defaultLimits, List<String> capDrop, List<String> capAdd,
                             Map<String, String> tmpfs, Duration connectTimeout, Duration responseTimeout,
                             Duration stopTimeout, Duration pullTimeout, Duration monitorInterval,
                             boolean directWrite) {

    /** The default endpoint: the local daemon's unix socket. */
    public static final String DEFAULT_HOST = "unix:///var/run/docker.sock";

    private static final Pattern CAPABILITY = Pattern.compile("[A-Z_]{2,32}");
    private static final Pattern TMPFS_PATH = Pattern.compile("/[A-Za-z0-9._/-]{1,200}");
    private static final Pattern TMPFS_OPTIONS = Pattern.compile("[A-Za-z0-9=,._-]{0,200}");

    /**
     * @throws IllegalArgumentException with a message naming the bad setting
     */
    public DockerSettings {
        Identifiers.name(name);
        Objects.requireNonNull(dockerHost, "dockerHost");
        String scheme = dockerHost.getScheme();
        if ("unix".equals(scheme)) {
            if (dockerHost.getPath() == null || dockerHost.getPath().isEmpty()) {
                throw new IllegalArgumentException("dockerHost unix:// needs an absolute socket path: " + dockerHost);
            }
            if (tlsVerify) {
                throw new IllegalArgumentException("tlsVerify applies to tcp:// endpoints only, not " + dockerHost);
            }
        } else if ("tcp".equals(scheme)) {
            if (dockerHost.getHost() == null || dockerHost.getPort() <= 0) {
                throw new IllegalArgumentException("dockerHost must be tcp://host:port, got " + dockerHost);
            }
        } else {
            throw new IllegalArgumentException("dockerHost must start with unix:// or tcp://, got " + dockerHost);
        }
        if (tlsVerify) {
            if (certPath == null) {
                throw new IllegalArgumentException("tlsVerify needs certPath, a folder with ca.pem, cert.pem and key.pem");
            }
            for (String file : List.of("ca.pem", "cert.pem", "key.pem")) {
                if (!Files.isReadable(certPath.resolve(file))) {
                    throw new IllegalArgumentException("certPath " + certPath + " has no readable " + file);
                }
            }
        }
        Objects.requireNonNull(defaultLimits, "defaultLimits");
        capDrop = capabilities(capDrop, "capDrop");
        capAdd = capabilities(capAdd, "capAdd");
        Map<String, String> mounts = new LinkedHashMap<>();
        tmpfs.forEach((path, options) -> {
            if (!TMPFS_PATH.matcher(path).matches() || path.contains("..")) {
                throw new IllegalArgumentException("tmpfs path must be absolute, of [A-Za-z0-9._/-]: " + Identifiers.quote(path));
            }
            if (!TMPFS_OPTIONS.matcher(options).matches()) {
                throw new IllegalArgumentException("tmpfs options must be of [A-Za-z0-9=,._-]: " + Identifiers.quote(options));
            }
            mounts.put(path, options);
        });
        tmpfs = Map.copyOf(mounts);
        positive(connectTimeout, "connectTimeout");
        positive(responseTimeout, "responseTimeout");
        Objects.requireNonNull(stopTimeout, "stopTimeout");
        if (stopTimeout.isNegative()) {
            throw new IllegalArgumentException("stopTimeout must not be negative");
        }
        positive(pullTimeout, "pullTimeout");
        positive(monitorInterval, "monitorInterval");
    }

    /**
     * Settings with {@code directWrite} on (the default).
     *
     * @throws IllegalArgumentException with a message naming the bad setting
     */
    public DockerSettings(String name, URI dockerHost, boolean tlsVerify, Path certPath, Path exportFolder,
                          ResourceLimits defaultLimits, List<String> capDrop, List<String> capAdd,
                          Map<String, String> tmpfs, Duration connectTimeout, Duration responseTimeout,
                          Duration stopTimeout, Duration pullTimeout, Duration monitorInterval) {
        this(name, dockerHost, tlsVerify, certPath, exportFolder, defaultLimits, capDrop, capAdd, tmpfs, connectTimeout,
            responseTimeout, stopTimeout, pullTimeout, monitorInterval, true);
    }

    /**
     * Settings for an endpoint with the defaults of the OSGi configuration.
     */
    public static DockerSettings defaults(String name, String dockerHost) {
        return new DockerSettings(name, URI.create(dockerHost), false, null, null, ResourceLimits.NONE,
            List.of("ALL"), List.of("NET_BIND_SERVICE", "CHOWN", "SETUID", "SETGID"),
            parseTmpfs(List.of("/tmp:rw,nosuid,nodev,size=16m", "/www:rw,nosuid,nodev,size=4m")),
            Duration.ofSeconds(2), Duration.ofSeconds(60), Duration.ofSeconds(10), Duration.ofMinutes(5),
            Duration.ofSeconds(2));
    }

    /** @return a copy with other TLS settings */
    public DockerSettings withTls(Path folder) {
        return new DockerSettings(name, dockerHost, folder != null, folder, exportFolder, defaultLimits, capDrop, capAdd,
            tmpfs, connectTimeout, responseTimeout, stopTimeout, pullTimeout, monitorInterval, directWrite);
    }

    /** @return a copy with another export folder */
    public DockerSettings withExportFolder(Path folder) {
        return new DockerSettings(name, dockerHost, tlsVerify, certPath, folder, defaultLimits, capDrop, capAdd,
            tmpfs, connectTimeout, responseTimeout, stopTimeout, pullTimeout, monitorInterval, directWrite);
    }

    /** @return a copy with another monitor interval */
    public DockerSettings withMonitorInterval(Duration interval) {
        return new DockerSettings(name, dockerHost, tlsVerify, certPath, exportFolder, defaultLimits, capDrop, capAdd,
            tmpfs, connectTimeout, responseTimeout, stopTimeout, pullTimeout, interval, directWrite);
    }

    /** @return a copy with other stop timeout */
    public DockerSettings withStopTimeout(Duration timeout) {
        return new DockerSettings(name, dockerHost, tlsVerify, certPath, exportFolder, defaultLimits, capDrop, capAdd,
            tmpfs, connectTimeout, responseTimeout, timeout, pullTimeout, monitorInterval, directWrite);
    }

    /** @return a copy with other default limits */
    public DockerSettings withDefaultLimits(ResourceLimits limits) {
        return new DockerSettings(name, dockerHost, tlsVerify, certPath, exportFolder, limits, capDrop, capAdd,
            tmpfs, connectTimeout, responseTimeout, stopTimeout, pullTimeout, monitorInterval, directWrite);
    }

    /** @return a copy with direct writes into local spares allowed or not */
    public DockerSettings withDirectWrite(boolean allowed) {
        return new DockerSettings(name, dockerHost, tlsVerify, certPath, exportFolder, defaultLimits, capDrop, capAdd,
            tmpfs, connectTimeout, responseTimeout, stopTimeout, pullTimeout, monitorInterval, allowed);
    }

    /** @return whether the endpoint is a unix socket, so that the daemon's process ids are this host's */
    public boolean localDaemon() {
        return "unix".equals(dockerHost.getScheme());
    }

    /**
     * Parses tmpfs entries of the form {@code /path:options}.
     *
     * @throws IllegalArgumentException when an entry has no absolute path
     */
    public static Map<String, String> parseTmpfs(List<String> entries) {
        Map<String, String> mounts = new LinkedHashMap<>();
        for (String entry : entries) {
            String trimmed = entry.trim();
            if (trimmed.isEmpty()) {
                continue;
            }
            int colon = trimmed.indexOf(':');
            String path = colon < 0 ? trimmed : trimmed.substring(0, colon);
            String options = colon < 0 ? "" : trimmed.substring(colon + 1);
            if (!path.startsWith("/")) {
                throw new IllegalArgumentException("tmpfs entry must be /path[:options]: " + Identifiers.quote(entry));
            }
            mounts.put(path, options);
        }
        return mounts;
    }

    private static List<String> capabilities(List<String> names, String setting) {
        List<String> out = new ArrayList<>();
        for (String raw : names) {
            String cap = raw.trim().toUpperCase(Locale.ROOT);
            if (cap.startsWith("CAP_")) {
                cap = cap.substring(4);
            }
            if (cap.isEmpty()) {
                continue;
            }
            if (!CAPABILITY.matcher(cap).matches()) {
                throw new IllegalArgumentException(setting + " has an invalid capability: " + Identifiers.quote(raw));
            }
            try {
                com.github.dockerjava.api.model.Capability.valueOf(cap);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException(setting + " names an unknown capability: " + Identifiers.quote(raw), e);
            }
            out.add(cap);
        }
        return List.copyOf(out);
    }

    private static void positive(Duration duration, String setting) {
        Objects.requireNonNull(duration, setting);
        if (duration.isZero() || duration.isNegative()) {
            throw new IllegalArgumentException(setting + " must be positive");
        }
    }
}
