package org.orchestrator.webconsole;

import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.provider.InstanceState;

/**
 * Writes core's {@link Statistics} in the Prometheus text exposition format 0.0.4. Core already
 * aggregates (counters and a cumulative histogram), so a metrics library would only re-wrap those
 * numbers; writing the few families by hand keeps the bundle free of non-OSGi jars.
 *
 * <p>Families: {@code orchestrator_events_total{event}} (every core counter),
 * {@code orchestrator_failures_total{operation}} (the {@code *.failed} counters and rejected
 * leases), {@code orchestrator_clients{state}}, {@code orchestrator_instances},
 * {@code orchestrator_instances_by_state{state}}, {@code orchestrator_up} and the histogram
 * {@code orchestrator_provision_latency_seconds}.
 */
public final class PrometheusText {

    /** The content type of the format. */
    public static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    private PrometheusText() {
    }

    /**
     * @param statistics core's statistics
     * @param instances  the live instances, for the per-state gauge, or {@code null} to omit it
     * @param up         whether the platform is healthy, or {@code null} to omit the gauge
     */
    public static String render(Statistics statistics, List<InstanceView> instances, Boolean up) {
        StringBuilder out = new StringBuilder(2048);

        Map<String, Long> counters = new TreeMap<>(statistics.counters());
        header(out, "orchestrator_events_total", "counter", "Events counted by core since it started, by event name.");
        for (Map.Entry<String, Long> e : counters.entrySet()) {
            sample(out, "orchestrator_events_total", "event", e.getKey(), e.getValue());
        }

        header(out, "orchestrator_failures_total", "counter", "Failed operations and rejected leases since core started, by operation.");
        for (Map.Entry<String, Long> e : counters.entrySet()) {
            String name = e.getKey();
            if (name.endsWith(".failed")) {
                sample(out, "orchestrator_failures_total", "operation", name.substring(0, name.length() - ".failed".length()), e.getValue());
            } else if (name.equals("lease.rejected")) {
                sample(out, "orchestrator_failures_total", "operation", "lease", e.getValue());
            }
        }

        header(out, "orchestrator_clients", "gauge", "Clients by state.");
        for (ClientState state : ClientState.values()) {
            sample(out, "orchestrator_clients", "state", state.name(), statistics.clientsByState().getOrDefault(state, 0L));
        }

        if (!statistics.gauges().isEmpty()) {
            header(out, "orchestrator_gauge", "gauge", "Current values kept by core, by name (e.g. pool.ready).");
            for (Map.Entry<String, Long> e : new TreeMap<>(statistics.gauges()).entrySet()) {
                sample(out, "orchestrator_gauge", "name", e.getKey(), e.getValue());
            }
        }

        header(out, "orchestrator_instances", "gauge", "Live instances.");
        out.append("orchestrator_instances ").append(statistics.instances()).append('\n');

        if (instances != null) {
            Map<InstanceState, Long> byState = new java.util.EnumMap<>(InstanceState.class);
            for (InstanceState s : InstanceState.values()) {
                byState.put(s, 0L);
            }
            long unknown = 0;
            for (InstanceView i : instances) {
                if (i.state() == null) {
                    unknown++;
                } else {
                    byState.merge(i.state(), 1L, Long::sum);
                }
            }
            header(out, "orchestrator_instances_by_state", "gauge", "Instances in the store by run state (UNKNOWN before creation).");
            for (Map.Entry<InstanceState, Long> e : byState.entrySet()) {
                sample(out, "orchestrator_instances_by_state", "state", e.getKey().name(), e.getValue());
            }
            sample(out, "orchestrator_instances_by_state", "state", "UNKNOWN", unknown);
        }

        if (up != null) {
            header(out, "orchestrator_up", "gauge", "1 when the store and at least one DHCP source, provider and network are available.");
            out.append("orchestrator_up ").append(up ? 1 : 0).append('\n');
        }

        String histogram = "orchestrator_provision_latency_seconds";
        header(out, histogram, "histogram", "Time from a lease to its client's instance being READY.");
        List<Double> bounds = statistics.readyLatencyBounds();
        List<Long> counts = statistics.readyLatencyCounts();
        for (int i = 0; i < bounds.size(); i++) {
            sample(out, histogram + "_bucket", "le", number(bounds.get(i)), counts.get(i));
        }
        sample(out, histogram + "_bucket", "le", "+Inf", statistics.readyLatencyCount());
        out.append(histogram).append("_sum ").append(number(statistics.readyLatencySumSeconds())).append('\n');
        out.append(histogram).append("_count ").append(statistics.readyLatencyCount()).append('\n');
        return out.toString();
    }

    private static void header(StringBuilder out, String name, String type, String help) {
        out.append("# HELP ").append(name).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String name, String label, String value, long sample) {
        out.append(name).append('{').append(label).append("=\"").append(escapeLabel(value)).append("\"} ")
            .append(sample).append('\n');
    }

    /** Label values escape backslash, double quote and line feed (the format's only escapes). */
    static String escapeLabel(String value) {
        StringBuilder sb = new StringBuilder(value.length());
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '\\' -> sb.append("\\\\");
                case '"' -> sb.append("\\\"");
                case '\n' -> sb.append("\\n");
                default -> sb.append(c);
            }
        }
        return sb.toString();
    }

    /** Go-style float text: integers without a fraction, +Inf/-Inf/NaN spelled as the format wants. */
    static String number(double value) {
        if (Double.isNaN(value)) {
            return "NaN";
        }
        if (Double.isInfinite(value)) {
            return value > 0 ? "+Inf" : "-Inf";
        }
        if (value == Math.rint(value) && Math.abs(value) < 1e15) {
            return Long.toString((long) value);
        }
        return Double.toString(value);
    }
}
