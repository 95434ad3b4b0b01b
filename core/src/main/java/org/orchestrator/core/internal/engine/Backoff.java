package org.orchestrator.core.internal.engine;

import java.time.Duration;
import java.util.concurrent.ThreadLocalRandom;

/** Exponential backoff with a cap and +-20 % jitter, so that failed clients do not retry in lock step. */
final class Backoff {

    private Backoff() {
    }

    /**
     * @param attempt the number of consecutive failures so far (1 for the first)
     * @return the delay before the next attempt
     */
    static Duration delay(Duration base, Duration max, int attempt) {
        long baseMs = Math.max(1, base.toMillis());
        long maxMs = Math.max(baseMs, max.toMillis());
        int shift = Math.min(Math.max(attempt - 1, 0), 30);
        long raw = baseMs << shift;
        long capped = raw <= 0 || raw > maxMs ? maxMs : raw;
        double jitter = 0.8 + ThreadLocalRandom.current().nextDouble() * 0.4;
        return Duration.ofMillis(Math.min(maxMs, Math.max(1, Math.round(capped * jitter))));
    }
}
