package org.orchestrator.itests.bench;

import java.nio.file.Path;

/**
 * Sizes of one benchmark run. {@link #smoke} is the quick run of the normal test suite;
 * {@link #full} is {@code ./orchestrator bench}. Every size can be overridden by a system property
 * {@code bench.<name>} (e.g. {@code -Dbench.sequential=60}).
 */
public record BenchSettings(String profile, int sequential, int burst, int floorSequential, int floorParallel,
                            int parallelism, int prototypeSequential, int prototypeBurst, int concurrency,
                            int burstTimeoutSeconds, int records, Path outDir, Path repoRoot) {

    public static BenchSettings smoke(Path outDir, Path repoRoot) {
        return new BenchSettings("smoke", prop("sequential", 5), prop("burst", 5), prop("floorSequential", 3),
            prop("floorParallel", 5), prop("parallelism", 8), prop("prototypeSequential", 3), prop("prototypeBurst", 5),
            prop("concurrency", 8), prop("burstTimeoutSeconds", 90), prop("records", 0), outDir, repoRoot);
    }

    public static BenchSettings full(Path outDir, Path repoRoot) {
        return new BenchSettings("full", prop("sequential", 50), prop("burst", 100), prop("floorSequential", 20),
            prop("floorParallel", 100), prop("parallelism", 8), prop("prototypeSequential", 20), prop("prototypeBurst", 100),
            prop("concurrency", 8), prop("burstTimeoutSeconds", 400), prop("records", 1000), outDir, repoRoot);
    }

    private static int prop(String name, int dflt) {
        return Integer.getInteger("bench." + name, dflt);
    }
}
