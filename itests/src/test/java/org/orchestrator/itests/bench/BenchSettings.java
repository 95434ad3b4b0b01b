package org.orchestrator.itests.bench;

import java.nio.file.Path;

/**
 * Sizes of one benchmark run. {@link #smoke} is the quick run of the normal test suite;
 * {@link #full} is {@code ./orchestrator bench}. Every size can be overridden by a system property
 * {@code bench.<name>} (e.g. {@code -Dbench.sequential=60}).
 *
 * <p>{@code poolSequential} devices join one at a time with the warm pool on ({@code poolSize}
 * spares); {@code records} is the number of instance records (and ghost clients) the store holds
 * when the Karaf JVM's RSS is sampled at the end (0 = skip that step).
 */
public record BenchSettings(String profile, int sequential, int burst, int floorSequential, int floorParallel,
                            int parallelism, int prototypeSequential, int prototypeBurst, int concurrency,
                            int burstTimeoutSeconds, int poolSequential, int poolSize, int records, Path outDir,
                            Path repoRoot) {

    public static BenchSettings smoke(Path outDir, Path repoRoot) {
        return new BenchSettings("smoke", prop("sequential", 5), prop("burst", 5), prop("floorSequential", 3),
            prop("floorParallel", 5), prop("parallelism", 8), prop("prototypeSequential", 3), prop("prototypeBurst", 5),
            prop("concurrency", 8), prop("burstTimeoutSeconds", 90), prop("poolSequential", 3), prop("poolSize", 4),
            prop("records", 20), outDir, repoRoot);
    }

    public static BenchSettings full(Path outDir, Path repoRoot) {
        return new BenchSettings("full", prop("sequential", 50), prop("burst", 100), prop("floorSequential", 20),
            prop("floorParallel", 100), prop("parallelism", 8), prop("prototypeSequential", 20), prop("prototypeBurst", 100),
            prop("concurrency", 8), prop("burstTimeoutSeconds", 400), prop("poolSequential", 30), prop("poolSize", 4),
            prop("records", 1000), outDir, repoRoot);
    }

    private static int prop(String name, int dflt) {
        return Integer.getInteger("bench." + name, dflt);
    }
}
