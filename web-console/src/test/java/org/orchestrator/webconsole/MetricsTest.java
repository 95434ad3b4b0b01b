package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.Statistics;

/** GET metrics is valid Prometheus text format 0.0.4 and carries core's numbers. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class MetricsTest {

    private static final Pattern SAMPLE = Pattern.compile(
        "([a-zA-Z_:][a-zA-Z0-9_:]*)(\\{(.*)\\})? (\\S+)");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\\\n]|\\\\[\\\\\"n])*)\"(,|$)");
    private static final Pattern TYPE = Pattern.compile("# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)");
    private static final Pattern HELP = Pattern.compile("# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .*");

    private TestServer server;

    /** One parsed sample. */
    record Sample(String name, Map<String, String> labels, double value) {
    }

    @BeforeAll
    void start() throws Exception {
        server = TestServer.start();
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
    }

    @Test
    void endpointServesParsableTextWithCoreNumbers() throws Exception {
        HttpResponse<String> r = server.get("metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/plain").contains("version=0.0.4"));
        List<Sample> samples = parse(r.body());
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "lease.added"))).isEqualTo(3);
        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "provision"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "lease"))).isEqualTo(4);
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "READY"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_clients", Map.of("state", "PENDING"))).isEqualTo(0);
        assertThat(value(samples, "orchestrator_instances", Map.of())).isEqualTo(1);
        assertThat(value(samples, "orchestrator_instances_by_state", Map.of("state", "RUNNING"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_up", Map.of())).isEqualTo(1);
        assertThat(value(samples, "orchestrator_provision_latency_seconds_bucket", Map.of("le", "0.5"))).isEqualTo(0);
        assertThat(value(samples, "orchestrator_provision_latency_seconds_bucket", Map.of("le", "1"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_provision_latency_seconds_bucket", Map.of("le", "+Inf"))).isEqualTo(2);
        assertThat(value(samples, "orchestrator_provision_latency_seconds_sum", Map.of())).isEqualTo(3.25);
        assertThat(value(samples, "orchestrator_provision_latency_seconds_count", Map.of())).isEqualTo(2);
    }

    @Test
    void poolCountersAndGaugesAreRendered() {
        Statistics pool = new Statistics(Map.of("pool.hit", 5L, "pool.miss", 2L, "pool.refill.failed", 1L),
            Map.of(ClientState.READY, 5L), 5, List.of(0.5), List.of(5L), 5, 1.5,
            Map.of("pool.ready", 3L, "pool.starting", 0L, "pool.refill.last.millis", 540L));
        List<Sample> samples = parse(PrometheusText.render(pool, null, true));
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "pool.hit"))).isEqualTo(5);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "pool.miss"))).isEqualTo(2);
        assertThat(value(samples, "orchestrator_failures_total", Map.of("operation", "pool.refill"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_gauge", Map.of("name", "pool.ready"))).isEqualTo(3);
        assertThat(value(samples, "orchestrator_gauge", Map.of("name", "pool.refill.last.millis"))).isEqualTo(540);
    }

    @Test
    void labelValuesAreEscapedAndEmptyStatisticsStillParse() {
        Statistics odd = new Statistics(Map.of("we\"ird\\name\nx", 1L), Map.of(ClientState.GONE, 2L), 0,
            List.of(), List.of(), 0, 0.0);
        String text = PrometheusText.render(odd, List.of(), false);
        List<Sample> samples = parse(text);
        assertThat(value(samples, "orchestrator_events_total", Map.of("event", "we\\\"ird\\\\name\\nx"))).isEqualTo(1);
        assertThat(value(samples, "orchestrator_provision_latency_seconds_bucket", Map.of("le", "+Inf"))).isEqualTo(0);
        assertThat(value(samples, "orchestrator_up", Map.of())).isEqualTo(0);
    }

    /**
     * A strict reader of the text format: every line is HELP, TYPE or a sample; a family's TYPE
     * comes once and before its samples; histogram buckets are cumulative and end with +Inf equal
     * to _count; no sample repeats.
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
            double value = switch (m.group(4)) {
                case "+Inf" -> Double.POSITIVE_INFINITY;
                case "-Inf" -> Double.NEGATIVE_INFINITY;
                case "NaN" -> Double.NaN;
                default -> Double.parseDouble(m.group(4));
            };
            assertThat(seen.add(m.group(1) + labels)).as("duplicate sample " + line).isTrue();
            samples.add(new Sample(m.group(1), labels, value));
        }
        types.forEach((family, type) -> {
            if (type.equals("histogram")) {
                double previous = -1;
                double inf = -1;
                for (Sample s : samples) {
                    if (s.name().equals(family + "_bucket")) {
                        assertThat(s.value()).as("cumulative buckets").isGreaterThanOrEqualTo(previous);
                        previous = s.value();
                        if (s.labels().get("le").equals("+Inf")) {
                            inf = s.value();
                        }
                    }
                }
                assertThat(inf).as("+Inf bucket of " + family).isGreaterThanOrEqualTo(0);
                assertThat(value(samples, family + "_count", Map.of())).isEqualTo(inf);
            }
        });
        return samples;
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

    private static double value(List<Sample> samples, String name, Map<String, String> labels) {
        return samples.stream().filter(s -> s.name().equals(name) && s.labels().equals(labels)).findFirst()
            .orElseThrow(() -> new AssertionError("no sample " + name + labels)).value();
    }
}
