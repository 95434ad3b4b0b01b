package org.orchestrator.provider.docker;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import com.github.dockerjava.api.DockerClient;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.api.provider.ResourceLimits;

/** Warm-pool personalisation against the shared dockerd. Provider {@value #NAME}, containers {@code orch-dk-*}. */
class DockerPersonaliseTest {

    private static final String NAME = "orch-dk-pers";
    private static final int SAMPLES = 12;

    private static DockerClient docker;

    private DockerProvider provider;

    @BeforeAll
    static void daemon() {
        TestSupport.requireDocker();
        docker = DockerClients.commands(DockerSettings.defaults("orch-dk-test-client", DockerSettings.DEFAULT_HOST));
        TestSupport.sweep(docker, NAME);
    }

    @AfterAll
    static void nothingLeftBehind() throws IOException {
        try {
            TestSupport.sweep(docker, NAME);
            assertThat(TestSupport.containersOf(docker, NAME)).isEmpty();
        } finally {
            docker.close();
        }
    }

    @BeforeEach
    void provider() {
        provider = new DockerProvider(DockerSettings.defaults(NAME, DockerSettings.DEFAULT_HOST)
            .withStopTimeout(Duration.ofSeconds(1)), () -> null);
    }

    @AfterEach
    void close() {
        try {
            for (Instance i : provider.list()) {
                provider.destroy(i.id());
            }
        } finally {
            provider.close();
        }
    }

    @Test
    void personaliseLatency() {
        List<String> spares = new ArrayList<>();
        for (int i = 0; i < SAMPLES; i++) {
            String id = TestSupport.newId("lat");
            provider.provision(spare(id));
            spares.add(id);
        }
        List<Long> micros = new ArrayList<>();
        for (int i = 0; i < SAMPLES; i++) {
            InstanceSpec spec = claim(spares.get(i), TestSupport.duid(100 + i));
            long t0 = System.nanoTime();
            provider.personalise(spec);
            micros.add((System.nanoTime() - t0) / 1000);
        }
        for (int i = 0; i < SAMPLES; i++) {
            String container = provider.inspect(spares.get(i)).orElseThrow().providerRef();
            assertThat(Procs.ok(Duration.ofSeconds(10), "docker", "exec", container, "cat", "/www/duid").out())
                .isEqualTo(TestSupport.duid(100 + i).value() + "\n");
        }
        List<Long> sorted = micros.stream().sorted().toList();
        System.out.printf("personalise latency over %d spares: p50 %.1f ms, min %.1f ms, max %.1f ms; all (ms): %s%n",
            SAMPLES, sorted.get(SAMPLES / 2) / 1000.0, sorted.get(0) / 1000.0, sorted.get(SAMPLES - 1) / 1000.0,
            micros.stream().map(m -> String.format("%.1f", m / 1000.0)).toList());
    }

    static InstanceSpec spare(String id) {
        return new InstanceSpec(id, PoolingProvider.UNASSIGNED, TestSupport.IMAGE, List.of(), Map.of(),
            Map.of(PoolingProvider.POOL_LABEL, "orch-dk-pool", "test.owner", "orch-dk"), ResourceLimits.NONE, false,
            id + ".spare");
    }

    static InstanceSpec claim(String id, Duid client) {
        return new InstanceSpec(id, client, TestSupport.IMAGE, List.of(), Map.of(),
            Map.of(PoolingProvider.POOL_LABEL, "orch-dk-pool", "test.owner", "orch-dk"), ResourceLimits.NONE, false,
            "device-" + client.hex().substring(client.hex().length() - 4) + ".test");
    }
}
