package org.orchestrator.itests;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;

import org.junit.jupiter.api.Test;
import org.orchestrator.itests.bench.BenchResult;
import org.orchestrator.itests.bench.BenchRun;
import org.orchestrator.itests.bench.BenchSettings;
import org.orchestrator.itests.bench.Report;

/**
 * The benchmark harness of {@code ./orchestrator bench}, run small (5 devices one at a time, a burst
 * of 5, 3 with the warm pool, a small floor and prototype sample, a store of 20 instance records)
 * as part of the normal test run: the report and both plots are written and the numbers are sane
 * (every device reached its instance, nothing lost or duplicated, the pool phase ran and at least
 * one device claimed a spare, the instance records were read back after the restart).
 * With {@code -Dbench.full=true -Dbench.out=<dir>} the same class is the full run (scripts/bench.sh).
 */
class BenchSmokeIT {

    @Test
    void benchmarkHarnessWritesASaneReport() throws Exception {
        Path repoRoot = Path.of("").toAbsolutePath().getParent();
        assertThat(repoRoot.resolve("bench/floor/floor-one.sh")).as("bench scripts in the repository").exists();
        boolean full = Boolean.getBoolean("bench.full");
        Path out = Path.of(System.getProperty("bench.out",
            Path.of(System.getProperty("itests.work.dir", "target/it-work"), "bench-smoke").toString())).toAbsolutePath();
        BenchSettings settings = full ? BenchSettings.full(out, repoRoot) : BenchSettings.smoke(out, repoRoot);
        Instant t0 = Instant.now();
        BenchResult result;
        try (BenchRun run = new BenchRun(settings)) {
            result = run.run();
        }
        Path report = Report.write(result);
        System.out.printf("BenchSmokeIT: %s run took %d s; report %s%n", settings.profile(),
            Duration.between(t0, Instant.now()).toSeconds(), report);
        System.out.println(Files.readString(report));

        assertThat(report).exists();
        assertThat(Files.readString(report)).contains("## Summary").contains("lease-to-ready p50");
        for (String png : new String[] {Report.CDF_FILE, Report.TIMELINE_FILE}) {
            Path p = out.resolve(png);
            assertThat(p).exists();
            byte[] head = Files.readAllBytes(p);
            assertThat(head.length).isGreaterThan(1000);
            assertThat(new String(head, 1, 3, java.nio.charset.StandardCharsets.US_ASCII)).isEqualTo("PNG");
        }
        assertThat(result.sequentialCount()).isEqualTo(settings.sequential());
        assertThat(result.burstCount()).isEqualTo(settings.burst());
        assertThat(result.sequentialLost()).as("devices (one at a time) that never reached their instance").isZero();
        assertThat(result.burstLost()).as("devices (burst) that never reached their instance").isZero();
        assertThat(result.duplicated()).as("duplicated containers, instances or addresses").isZero();
        // failures (FAILED transitions later retried) are reported, not asserted: a loaded CI machine may time out once
        assertThat(result.failures()).as("FAILED transitions in the event log").isLessThanOrEqualTo(settings.burst());
        assertThat(result.sequentialP50()).as("p50 lease-to-ready (ms)").isBetween(1.0, 60_000.0);

        assertThat(result.pooledCount()).as("devices of the warm-pool phase").isEqualTo(settings.poolSequential());
        assertThat(result.pooledLost()).as("devices (warm pool) that never reached their instance").isZero();
        assertThat(result.poolHits()).as("devices that claimed a warm spare (CLAIMED, no fallback)").isGreaterThanOrEqualTo(1);
        assertThat(result.pooledP50()).as("p50 lease-to-ready with the pool (ms)").isBetween(1.0, 60_000.0);
        assertThat(result.orphanContainers()).as("containers of the bench provider that are no live instance").isZero();
        assertThat(Files.readString(report)).contains("lease-to-ready with the warm pool p50").contains("With the warm pool");

        if (settings.records() > 0) {
            assertThat(result.recordsInstances()).as("instance records read back after the store was filled")
                .isGreaterThanOrEqualTo(settings.records());
            assertThat(result.recordsClients()).as("client records read back").isGreaterThanOrEqualTo(settings.records());
            assertThat(result.recordsRssKb()).as("RSS sampled with the filled store (kB)").isPositive();
        }
    }
}
