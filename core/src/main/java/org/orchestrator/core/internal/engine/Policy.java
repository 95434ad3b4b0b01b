package org.orchestrator.core.internal.engine;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.provider.ResourceLimits;

/**
 * What core wants for every client: where its instance runs, what it runs, limits and timing.
 * Immutable; built from the {@code org.orchestrator.core} configuration or by tests.
 */
public record Policy(List<Route> routes, String image, List<String> command, Map<String, String> environment,
                     ResourceLimits limits, boolean readOnlyRootFs, Duration instanceTtl, Duration releaseGrace,
                     int maxInstances, Duration reconcileInterval, int concurrency, Duration retryBase,
                     Duration retryMax, int maxAttempts, int poolSize, int poolMax, int poolRefillConcurrency) {

    /** The default image. */
    public static final String DEFAULT_IMAGE = "orchestrator/client:latest";
    private static final Pattern ENV_KEY = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");

    public Policy {
        routes = List.copyOf(routes);
        Objects.requireNonNull(image, "image");
        command = List.copyOf(command);
        environment = Map.copyOf(environment);
        Objects.requireNonNull(limits, "limits");
        requireNotNegative(instanceTtl, "instanceTtl");
        requireNotNegative(releaseGrace, "releaseGrace");
        requireNotNegative(retryBase, "retryBase");
        requireNotNegative(retryMax, "retryMax");
        if (reconcileInterval.compareTo(Duration.ofMillis(100)) < 0) {
            throw new IllegalArgumentException("reconcile interval must be at least 100 ms");
        }
        if (poolSize < 0 || poolSize > 256 || poolRefillConcurrency < 1 || poolRefillConcurrency > 32) {
            throw new IllegalArgumentException("poolSize must be 0..256 and poolRefillConcurrency 1..32");
        }
        if (poolMax != 0 && (poolMax < poolSize || poolMax > 256)) {
            throw new IllegalArgumentException("poolMax must be 0 (= poolSize) or poolSize.." + 256 + ", not " + poolMax);
        }
        if (maxInstances < 0 || concurrency < 1 || maxAttempts < 1) {
            throw new IllegalArgumentException("maxInstances must be >= 0, concurrency and maxAttempts >= 1");
        }
    }

    /** @return the most spares a pool keeps: {@code poolMax}, or {@code poolSize} when that is 0 */
    public int poolCeiling() {
        return poolMax == 0 ? poolSize : poolMax;
    }

    private static void requireNotNegative(Duration d, String name) {
        if (Objects.requireNonNull(d, name).isNegative()) {
            throw new IllegalArgumentException(name + " must not be negative");
        }
    }

    /** @return a builder with the defaults of the configuration */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Parses {@code K=V} environment entries.
     *
     * @throws IllegalArgumentException for an entry without '=' or with an invalid name
     */
    public static Map<String, String> parseEnvironment(String[] entries) {
        Map<String, String> env = new LinkedHashMap<>();
        if (entries != null) {
            for (String e : entries) {
                if (e == null || e.isBlank()) {
                    continue;
                }
                int eq = e.indexOf('=');
                String key = eq < 0 ? e : e.substring(0, eq).trim();
                if (eq < 0 || !ENV_KEY.matcher(key).matches()) {
                    throw new IllegalArgumentException("environment entry must be NAME=value: " + Identifiers.quote(e));
                }
                env.put(key, e.substring(eq + 1));
            }
        }
        return env;
    }

    /**
     * One routing rule: leases of {@code source} (and optionally only of its {@code network}) get
     * instances from {@code provider} attached to {@code targetNetwork}.
     *
     * @param source        a DHCP source name, or {@code *} for any
     * @param sourceNetwork the lease's network/interface, or null for any
     */
    public record Route(String source, String sourceNetwork, String provider, String targetNetwork) {

        /**
         * Parses {@code <source>[/<network>]=<provider>,<network>}.
         *
         * @throws IllegalArgumentException with the offending text
         */
        public static Route parse(String text) {
            String t = text == null ? "" : text.trim();
            int eq = t.indexOf('=');
            int comma = t.indexOf(',', eq + 1);
            if (eq <= 0 || comma < 0) {
                throw new IllegalArgumentException("route must be '<source>[/<network>]=<provider>,<network>': " + Identifiers.quote(text));
            }
            String left = t.substring(0, eq).trim();
            String source = left;
            String sourceNetwork = null;
            int slash = left.indexOf('/');
            if (slash >= 0) {
                source = left.substring(0, slash).trim();
                sourceNetwork = Identifiers.name(left.substring(slash + 1).trim());
            }
            if (!"*".equals(source)) {
                Identifiers.name(source);
            }
            String provider = Identifiers.name(t.substring(eq + 1, comma).trim());
            String network = Identifiers.name(t.substring(comma + 1).trim());
            return new Route(source, sourceNetwork, provider, network);
        }

        boolean matches(String leaseSource, String leaseNetwork) {
            boolean sourceOk = "*".equals(source) || source.equals(leaseSource);
            boolean networkOk = sourceNetwork == null || sourceNetwork.equals(leaseNetwork);
            return sourceOk && networkOk;
        }

        int specificity() {
            return ("*".equals(source) ? 0 : 2) + (sourceNetwork == null ? 0 : 1);
        }

        @Override
        public String toString() {
            return source + (sourceNetwork == null ? "" : "/" + sourceNetwork) + "=" + provider + "," + targetNetwork;
        }
    }

    /** @return the most specific configured route for a lease, if any */
    public Optional<Route> route(String source, String network) {
        Route best = null;
        for (Route r : routes) {
            if (r.matches(source, network) && (best == null || r.specificity() > best.specificity())) {
                best = r;
            }
        }
        return Optional.ofNullable(best);
    }

    /** Mutable builder; not thread-safe. */
    public static final class Builder {
        private List<Route> routes = List.of();
        private String image = DEFAULT_IMAGE;
        private List<String> command = List.of();
        private Map<String, String> environment = Map.of();
        private ResourceLimits limits = ResourceLimits.NONE;
        private boolean readOnlyRootFs;
        private Duration instanceTtl = Duration.ZERO;
        private Duration releaseGrace = Duration.ofSeconds(300);
        private int maxInstances = 100;
        private Duration reconcileInterval = Duration.ofSeconds(60);
        private int concurrency = 8;
        private Duration retryBase = Duration.ofSeconds(2);
        private Duration retryMax = Duration.ofSeconds(300);
        private int maxAttempts = 10;
        private int poolSize;
        private int poolMax;
        private int poolRefillConcurrency = 2;

        private Builder() {
        }

        /**
         * Routes, one per entry; an entry may also hold several routes separated by {@code ;}, because
         * a {@code .cfg} file (the distribution's format) cannot hold an array and a route itself
         * contains a comma.
         */
        public Builder routes(List<String> texts) {
            List<Route> out = new ArrayList<>();
            for (String entry : texts) {
                if (entry == null) {
                    continue;
                }
                for (String t : entry.split(";")) {
                    if (!t.isBlank()) {
                        out.add(Route.parse(t));
                    }
                }
            }
            routes = out;
            return this;
        }

        public Builder image(String v) { image = v; return this; }
        public Builder command(List<String> v) { command = v; return this; }
        public Builder environment(Map<String, String> v) { environment = v; return this; }
        public Builder limits(ResourceLimits v) { limits = v; return this; }
        public Builder readOnlyRootFs(boolean v) { readOnlyRootFs = v; return this; }
        public Builder instanceTtl(Duration v) { instanceTtl = v; return this; }
        public Builder releaseGrace(Duration v) { releaseGrace = v; return this; }
        public Builder maxInstances(int v) { maxInstances = v; return this; }
        public Builder reconcileInterval(Duration v) { reconcileInterval = v; return this; }
        public Builder concurrency(int v) { concurrency = v; return this; }
        public Builder retryBase(Duration v) { retryBase = v; return this; }
        public Builder retryMax(Duration v) { retryMax = v; return this; }
        public Builder maxAttempts(int v) { maxAttempts = v; return this; }
        public Builder poolSize(int v) { poolSize = v; return this; }
        public Builder poolMax(int v) { poolMax = v; return this; }
        public Builder poolRefillConcurrency(int v) { poolRefillConcurrency = v; return this; }

        public Policy build() {
            return new Policy(routes, image, command, environment, limits, readOnlyRootFs, instanceTtl, releaseGrace,
                maxInstances, reconcileInterval, concurrency, retryBase, retryMax, maxAttempts, poolSize, poolMax, poolRefillConcurrency);
        }
    }
}
