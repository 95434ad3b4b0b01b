package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.webconsole.metrics.MicrometerMetrics;
import org.orchestrator.webconsole.metrics.PrometheusScraper;

/**
 * GET metrics is valid Prometheus text format 0.0.4 from the Micrometer registry: what core's
 * activity listener calls recorded (counters, histograms with the documented buckets), gauges and
 * counters read from core's statistics, and the JVM meters.
 */
class MetricsTest {

    private static final Pattern SAMPLE = Pattern.compile(
        "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"(,|$)");
    private static final Pattern TYPE = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
    private static final Pattern HELP = Pattern.compile("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");
    private static final String LATENCY = "orchestrator_provision_latency_seconds";

    private TestServer server;

    /** One parsed sample. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    @AfterEach
    void stop() throws Exception {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void endpointServesParsableTextWithCoreNumbersAndJvmMeters() throws Exception {
        server = TestServer.start();
        HttpResponse<String> r = server.get("metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        // Jersey may reorder the parameters: compare type and parameters, not the text
        assertThat(r.headers().firstValue("Content-Type").map(MetricsTest::mediaType))
            .contains(mediaType(PrometheusScraper.CONTENT_TYPE));
        assertThat(mediaType(PrometheusScraper.CONTENT_TYPE)).containsExactlyInAnyOrder("text/plain", "version=0.0.4", "charset=utf-8");
        List<Sample> samples = parse(r.body());
        Map<String, String> types = types(r.body());

        // core's cumulative counters (FakeOrchestrator.standard())
        assertThat(types).containsEntry("orchestrator_events_total", "counter");
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "lease.added"))).isEqualTo(3);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "provision.failed"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "lease.rejected"))).isEqualTo(4);
        // core's gauges
        assertThat(types).containsEntry("orchestrator_clients", "gauge").containsEntry("orchestrator_instances", "gauge");
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "READY"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "FAILED"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "PENDING"))).isEqualTo(0);
        assertThat(samples).filteredOn(s -> s.name().equals("orchestrator_clients")).hasSize(ClientState.values().length);
        assertThat(value(samples, "orchestrator_instances", Map.of())).isEqualTo(1);
        assertThat(value(samples, "orchestrator_instances_by_state", Map.of("state", "RUNNING"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_instances_by_state", Map.of("state", "STOPPED"))).isEqualTo(0);
        assertThat(value(samples, "orchestrator_instances_by_state", Map.of("state", "UNKNOWN"))).isEqualTo(0);
        assertThat(value(samples, "orchestrator_up", Map.of())).isEqualTo(1);
        // what the listener records exists from the start, at zero
        assertThat(types).containsEntry(LATENCY, "histogram").containsEntry("orchestrator_failures_total", "counter")
            .containsEntry("orchestrator_lease_events_total", "counter");
        assertThat(value(samples, LATENCY + "_count", Map.of("pool", "false"))).isZero();
        assertThat(value(samples, LATENCY + "_count", Map.of("pool", "true"))).isZero();
        for (String operation : MicrometerMetrics.OPERATIONS) {
            assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", operation))).isZero();
        }
        for (LeaseEventType type : LeaseEventType.values()) {
            for (String outcome : List.of("accepted", "rejected")) {
                assertThat(value(samples, "orchestrator_lease_events_total", Map.of("type", type.name(), "outcome", outcome))).isZero();
            }
        }
        // JVM and process meters of Micrometer's binders, and the resident set size
        // (one pool, e.g. the survivor space, may well be empty: the heap as a whole is not)
        assertThat(samples.stream().filter(s -> s.name().equals("jvm_memory_used_bytes") && "heap".equals(s.labels().get("area")))
            .mapToDouble(Sample::value).sum()).isPositive();
        assertThat(value(samples, "process_uptime_seconds", Map.of())).isPositive();
        assertThat(value(samples, "system_cpu_count", Map.of())).isPositive();
        assertThat(value(samples, "jvm_threads_live_threads", Map.of())).isPositive();
        assertThat(value(samples, "process_resident_memory_bytes", Map.of())).isGreaterThan(16 * 1024 * 1024);
    }

    @Test
    void listenerObservationsBecomeCountersAndHistogramsWithTheDocumentedBuckets() throws Exception {
        server = TestServer.start();
        MicrometerMetrics m = server.metrics;
        m.leaseEvent(LeaseEventType.ADDED, true);
        m.leaseEvent(LeaseEventType.ADDED, true);
        m.leaseEvent(LeaseEventType.RELEASED, true);
        m.leaseEvent(LeaseEventType.RENEWED, false);
        m.leaseToReady(Duration.ofMillis(300), false);
        m.leaseToReady(Duration.ofMillis(1500), false);
        m.leaseToReady(Duration.ofSeconds(40), false);
        m.leaseToReady(Duration.ofMillis(80), true);
        m.provisioned("docker", Duration.ofMillis(700), false);
        m.provisioned("docker", Duration.ofMillis(200), true);
        m.failed("attach");
        m.failed("attach");
        m.failed("provision");
        m.failed("brand-new-operation");
        m.poolClaim(true);
        m.poolClaim(true);
        m.poolClaim(true);
        m.poolClaim(false);
        m.poolRefilled(Duration.ofMillis(900));

        HttpResponse<String> r = server.get("metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        List<Sample> samples = parse(r.body());

        assertThat(value(samples, "orchestrator_lease_events_total", Map.of("type", "ADDED", "outcome", "accepted"))).isEqualTo(2);
        assertThat(value(samples, "orchestrator_lease_events_total", Map.of("type", "RELEASED", "outcome", "accepted"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_lease_events_total", Map.of("type", "RENEWED", "outcome", "rejected"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_lease_events_total", Map.of("type", "RENEWED", "outcome", "accepted"))).isZero();

        // lease-to-ready: exactly the documented buckets, cumulative, per pool label
        assertThat(bucketBounds(samples, LATENCY, Map.of("pool", "false")))
            .containsExactly(0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, Double.POSITIVE_INFINITY);
        Map<String, String> provisioned = Map.of("pool", "false");
        assertThat(bucket(samples, LATENCY, provisioned, 0.25)).isZero();
        assertThat(bucket(samples, LATENCY, provisioned, 0.5)).isEqualTo(1);
        assertThat(bucket(samples, LATENCY, provisioned, 1.0)).isEqualTo(1);
        assertThat(bucket(samples, LATENCY, provisioned, 2.0)).isEqualTo(2);
        assertThat(bucket(samples, LATENCY, provisioned, 30.0)).isEqualTo(2);
        assertThat(bucket(samples, LATENCY, provisioned, 60.0)).isEqualTo(3);
        assertThat(bucket(samples, LATENCY, provisioned, Double.POSITIVE_INFINITY)).isEqualTo(3);
        assertThat(value(samples, LATENCY + "_count", provisioned)).isEqualTo(3);
        assertThat(value(samples, LATENCY + "_sum", provisioned)).isCloseTo(41.8, within(1e-9));
        Map<String, String> pooled = Map.of("pool", "true");
        assertThat(bucket(samples, LATENCY, pooled, 0.05)).isZero();
        assertThat(bucket(samples, LATENCY, pooled, 0.1)).isEqualTo(1);
        assertThat(value(samples, LATENCY + "_count", pooled)).isEqualTo(1);

        String provider = "orchestrator_provider_provision_seconds";
        assertThat(value(samples, provider + "_count", Map.of("provider", "docker", "pool", "false"))).isEqualTo(1);
        assertThat(bucket(samples, provider, Map.of("provider", "docker", "pool", "false"), 0.5)).isZero();
        assertThat(bucket(samples, provider, Map.of("provider", "docker", "pool", "false"), 1.0)).isEqualTo(1);
        assertThat(value(samples, provider + "_count", Map.of("provider", "docker", "pool", "true"))).isEqualTo(1);
        assertThat(bucket(samples, provider, Map.of("provider", "docker", "pool", "true"), 0.25)).isEqualTo(1);

        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "attach"))).isEqualTo(2);
        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "provision"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "brand-new-operation"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "pin"))).isZero();

        assertThat(value(samples, "orchestrator_pool_claims_total", Map.of("result", "hit"))).isEqualTo(3);
        assertThat(value(samples, "orchestrator_pool_claims_total", Map.of("result", "miss"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_pool_refill_seconds_count", Map.of())).isEqualTo(1);
        assertThat(bucket(samples, "orchestrator_pool_refill_seconds", Map.of(), 0.5)).isZero();
        assertThat(bucket(samples, "orchestrator_pool_refill_seconds", Map.of(), 1.0)).isEqualTo(1);
    }

    @Test
    void coreCountersFollowCoreAndKeepTheirLastValueWhileCoreIsMissing() {
        FakeOrchestrator core = FakeOrchestrator.standard();
        core.statistics = new Statistics(Map.of("pool.hit", 5L, "pool.miss", 2L, "pool.refill.failed", 1L),
            Map.of(ClientState.READY, 5L), 5, List.of(0.5), List.of(5L), 5, 1.5,
            Map.of("pool.ready", 3L, "pool.starting", 0L, "pool.refill.last.millis", 540L));
        ServiceSlot<Orchestrator> slot = ServiceSlot.of("the orchestrator core", core);
        MicrometerMetrics metrics = new MicrometerMetrics(slot, false);

        List<Sample> samples = parse(metrics.scrape());
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "pool.hit"))).isEqualTo(5);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "pool.refill.failed"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_gauge", Map.of("name", "pool.ready"))).isEqualTo(3);
        assertThat(value(samples, "orchestrator_gauge", Map.of("name", "pool.refill.last.millis"))).isEqualTo(540);
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "READY"))).isEqualTo(5);

        core.statistics = new Statistics(Map.of("pool.hit", 6L, "pool.miss", 2L, "pool.refill.failed", 1L, "lease.added", 1L),
            Map.of(ClientState.READY, 6L), 6, List.of(0.5), List.of(6L), 6, 1.5, Map.of("pool.ready", 2L));
        samples = parse(metrics.scrape());
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "pool.hit"))).isEqualTo(6);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "lease.added"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_gauge", Map.of("name", "pool.ready"))).isEqualTo(2);
        assertThat(value(samples, "orchestrator_gauge", Map.of("name", "pool.starting"))).as("gone from core: NaN").isNaN();
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "READY"))).isEqualTo(6);

        // the store fails: statistics still come (core catches), instances and health do not
        core.storeUp = false;
        samples = parse(metrics.scrape());
        assertThat(value(samples, "orchestrator_up", Map.of())).isZero();
        assertThat(value(samples, "orchestrator_instances_by_state", Map.of("state", "RUNNING"))).isNaN();
        assertThat(value(samples, "orchestrator_instances", Map.of())).isEqualTo(6);

        // core goes away: gauges read NaN, up 0, counters keep the last value core reported
        slot.unbind(core);
        samples = parse(metrics.scrape());
        assertThat(value(samples, "orchestrator_up", Map.of())).isZero();
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "READY"))).isNaN();
        assertThat(value(samples, "orchestrator_instances", Map.of())).isNaN();
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "pool.hit"))).isEqualTo(6);
    }

    @Test
    void labelValuesAreEscaped() {
        FakeOrchestrator core = FakeOrchestrator.standard();
        core.statistics = new Statistics(Map.of("we\"ird\\name\nx", 1L), Map.of(ClientState.GONE, 2L), 0,
            List.of(), List.of(), 0, 0.0);
        MicrometerMetrics metrics = new MicrometerMetrics(ServiceSlot.of("the orchestrator core", core), false);
        String text = metrics.scrape();
        assertThat(text).contains("event=\"we\\\"ird\\\\name\\nx\"");
        List<Sample> samples = parse(text);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "we\\\"ird\\\\name\\nx"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "GONE"))).isEqualTo(2);
    }

    @Test
    void withoutTheMetricsComponentTheEndpointAnswers503() throws Exception {
        server = TestServer.start();
        server.metricsSlot.unbind(server.metrics);
        HttpResponse<String> r = server.get("metrics");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(TestServer.json(r).path("error").asText()).contains("metrics");
        server.metricsSlot.bind(server.metrics);
        assertThat(server.get("metrics").statusCode()).isEqualTo(200);
    }

    /** @return the type and each parameter of a media type, lower case, without spaces */
    static Set<String> mediaType(String value) {
        Set<String> parts = new HashSet<>();
        for (String part : value.split(";")) {
            parts.add(part.trim().toLowerCase(java.util.Locale.ROOT));
        }
        return parts;
    }

    // ------------------------------------------------------------------ a strict reader of the format

    /** @return family name to type, from the TYPE lines */
    static Map<String, String> types(String text) {
        Map<String, String> types = new HashMap<>();
        for (String line : text.split("\n")) {
            Matcher type = TYPE.matcher(line);
            if (type.matches()) {
                types.put(type.group(1), type.group(2));
            }
        }
        return types;
    }

    /**
     * A strict reader of the text format: every line is HELP, TYPE or a sample; a family's TYPE
     * comes once and before its samples; each histogram series' buckets are cumulative, ascending
     * and end with +Inf equal to its _count; no sample repeats.
     */
    static List<Sample> parse(String text) {
        assertThat(text).endsWith("\n");
        Map<String, String> types = new HashMap<>();
        Set<String> seen = new HashSet<>();
        List<Sample> samples = new ArrayList<>();
        for (String line : text.split("\n")) {
            assertThat(line).as("blank line").isNotEmpty();
            if (line.startsWith("#")) {
                Matcher type = TYPE.matcher(line);
                if (type.matches()) {
                    assertThat(types).as("TYPE once per family: " + line).doesNotContainKey(type.group(1));
                    types.put(type.group(1), type.group(2));
                } else {
                    assertThat(HELP.matcher(line).matches()).as("comment line: " + line).isTrue();
                }
                continue;
            }
            Matcher m = SAMPLE.matcher(line);
            assertThat(m.matches()).as("sample line: " + line).isTrue();
            Map<String, String> labels = new LinkedHashMap<>();
            if (m.group(3) != null && !m.group(3).isEmpty()) {
                Matcher l = LABEL.matcher(m.group(3));
                int end = 0;
                while (l.find() && l.start() == end) {
                    labels.put(l.group(1), l.group(2));
                    end = l.end();
                }
                assertThat(end).as("labels of " + line).isEqualTo(m.group(3).length());
            }
            String family = family(m.group(1), types);
            assertThat(types).as("TYPE before samples of " + family).containsKey(family);
            double value = number(m.group(4));
            assertThat(seen.add(m.group(1) + new java.util.TreeMap<>(labels))).as("duplicate sample " + line).isTrue();
            samples.add(new Sample(m.group(1), labels, value));
        }
        types.forEach((family, type) -> {
            if (type.equals("histogram")) {
                Map<Map<String, String>, List<Sample>> series = new HashMap<>();
                for (Sample s : samples) {
                    if (s.name().equals(family + "_bucket")) {
                        series.computeIfAbsent(withoutLe(s.labels()), k -> new ArrayList<>()).add(s);
                    }
                }
                assertThat(series).as("series of histogram " + family).isNotEmpty();
                series.forEach((labels, buckets) -> {
                    double previousBound = Double.NEGATIVE_INFINITY;
                    double previous = -1;
                    for (Sample b : buckets) {
                        double bound = number(b.labels().get("le"));
                        assertThat(bound).as("ascending le in " + family + labels).isGreaterThan(previousBound);
                        assertThat(b.value()).as("cumulative buckets in " + family + labels).isGreaterThanOrEqualTo(previous);
                        previousBound = bound;
                        previous = b.value();
                    }
                    assertThat(previousBound).as("last bucket of " + family + labels).isEqualTo(Double.POSITIVE_INFINITY);
                    assertThat(value(samples, family + "_count", labels)).as("_count of " + family + labels).isEqualTo(previous);
                });
            }
        });
        return samples;
    }

    private static Map<String, String> withoutLe(Map<String, String> labels) {
        Map<String, String> out = new HashMap<>(labels);
        out.remove("le");
        return out;
    }

    private static double number(String text) {
        return switch (text) {
            case "+Inf" -> Double.POSITIVE_INFINITY;
            case "-Inf" -> Double.NEGATIVE_INFINITY;
            case "NaN" -> Double.NaN;
            default -> Double.parseDouble(text);
        };
    }

    private static String family(String name, Map<String, String> types) {
        for (String suffix : new String[] {"_bucket", "_sum", "_count"}) {
            if (name.endsWith(suffix)) {
                String base = name.substring(0, name.length() - suffix.length());
                if ("histogram".equals(types.get(base))) {
                    return base;
                }
            }
        }
        return name;
    }

    /** The upper bounds of one histogram series, in the order written. */
    private static List<Double> bucketBounds(List<Sample> samples, String family, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(family + "_bucket") && withoutLe(s.labels()).equals(labels))
            .map(s -> number(s.labels().get("le"))).toList();
    }

    private static double bucket(List<Sample> samples, String family, Map<String, String> labels, double le) {
        return samples.stream().filter(s -> s.name().equals(family + "_bucket") && withoutLe(s.labels()).equals(labels)
                && number(s.labels().get("le")) == le).findFirst()
            .orElseThrow(() -> new AssertionError("no bucket le=" + le + " of " + family + labels)).value();
    }

    static double value(List<Sample> samples, String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).findFirst()
            .orElseThrow(() -> new AssertionError("no sample " + name + labels + " among "
                + new TreeSet<>(samples.stream().filter(s -> s.name().startsWith(name)).map(s -> s.name() + s.labels()).toList())))
            .value();
    }
}
