package org.orchestrator.dhcp.dnsmasq;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The reload debouncer: coalescing, the maximum wait, requests during a run, flush and close. */
@Timeout(60)
class DebouncerTest {

    private static void sleep(long millis) throws InterruptedException {
        Thread.sleep(millis);
    }

    private static void awaitRuns(Debouncer d, int runs, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (d.runs() < runs && System.nanoTime() < deadline) {
            sleep(10);
        }
        assertThat(d.runs()).as("runs").isEqualTo(runs);
    }

    @Test
    void aBurstOfRequestsRunsTheActionOnceAfterTheLast() throws InterruptedException {
        List<Long> at = new CopyOnWriteArrayList<>();
        try (Debouncer d = new Debouncer("test-debounce", 300, 3000, () -> at.add(System.nanoTime()))) {
            long start = System.nanoTime();
            long last = 0;
            for (int i = 0; i < 10; i++) {
                d.request();
                last = System.nanoTime();
                sleep(20);
            }
            assertThat(d.pending()).isTrue();
            awaitRuns(d, 1, 5000);
            assertThat(at.get(0) - last).as("ran no earlier than the delay after the last request")
                    .isGreaterThanOrEqualTo(TimeUnit.MILLISECONDS.toNanos(300));
            assertThat(d.pending()).isFalse();
            assertThat(d.requests()).isEqualTo(10);
            sleep(500);
            assertThat(d.runs()).as("nothing more without a request").isEqualTo(1);
            // A later request gets its own run.
            d.request();
            awaitRuns(d, 2, 5000);
            assertThat(at.get(1)).isGreaterThan(start);
        }
    }

    @Test
    void aSteadyStreamOfRequestsStillRunsWithinTheMaximumWait() throws InterruptedException {
        List<Long> at = new CopyOnWriteArrayList<>();
        try (Debouncer d = new Debouncer("test-debounce", 200, 600, () -> at.add(System.nanoTime()))) {
            long first = System.nanoTime();
            long end = first + TimeUnit.MILLISECONDS.toNanos(1500);
            while (System.nanoTime() < end) {
                d.request();
                sleep(50);
            }
            assertThat(at).as("runs during a stream of requests 50 ms apart").isNotEmpty();
            assertThat(at.get(0) - first).as("the first run waited at most the maximum wait (plus scheduling slack)")
                    .isBetween(TimeUnit.MILLISECONDS.toNanos(590), TimeUnit.MILLISECONDS.toNanos(1200));
        }
    }

    @Test
    void aRequestDuringARunLeadsToOneMoreRunAndRunsNeverOverlap() throws InterruptedException {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        AtomicInteger concurrent = new AtomicInteger();
        AtomicInteger most = new AtomicInteger();
        try (Debouncer d = new Debouncer("test-debounce", 50, 500, () -> {
            most.accumulateAndGet(concurrent.incrementAndGet(), Math::max);
            inside.countDown();
            try {
                release.await(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            concurrent.decrementAndGet();
        })) {
            d.request();
            assertThat(inside.await(5, TimeUnit.SECONDS)).isTrue();
            // Made while the action runs: the change may have come too late for it, so one more run.
            d.request();
            d.request();
            assertThat(d.pending()).isTrue();
            // flush() from another thread waits for the running action instead of overlapping it.
            Thread flusher = new Thread(d::flush);
            flusher.start();
            sleep(200);
            assertThat(flusher.isAlive()).as("flush waits for the running action").isTrue();
            assertThat(most.get()).isEqualTo(1);
            release.countDown();
            flusher.join(5000);
            assertThat(flusher.isAlive()).isFalse();
            assertThat(d.runs()).isEqualTo(2);
            sleep(200);
            assertThat(d.runs()).as("the flush took the waiting run").isEqualTo(2);
            assertThat(most.get()).isEqualTo(1);
        }
    }

    @Test
    void flushRunsAWaitingActionAtOnceAndCloseDropsIt() throws InterruptedException {
        AtomicInteger runs = new AtomicInteger();
        Debouncer d = new Debouncer("test-debounce", 10_000, 10_000, runs::incrementAndGet);
        d.flush();
        assertThat(runs.get()).as("nothing waits").isZero();
        d.request();
        d.flush();
        assertThat(runs.get()).isEqualTo(1);
        assertThat(d.pending()).isFalse();
        d.request();
        d.close();
        d.request();
        d.flush();
        assertThat(runs.get()).as("closed: dropped").isEqualTo(1);
        assertThat(d.runs()).isEqualTo(1);

        AtomicInteger failing = new AtomicInteger();
        try (Debouncer f = new Debouncer("test-debounce", 0, 0, () -> {
            failing.incrementAndGet();
            throw new IllegalStateException("expected by the test");
        })) {
            f.request();
            awaitRuns(f, 1, 5000);
            f.request();
            awaitRuns(f, 2, 5000);
            assertThat(failing.get()).as("a failing action does not stop later runs").isEqualTo(2);
        }
        assertThatThrownBy(() -> new Debouncer("x", 100, 50, () -> { })).isInstanceOf(IllegalArgumentException.class);
    }
}
