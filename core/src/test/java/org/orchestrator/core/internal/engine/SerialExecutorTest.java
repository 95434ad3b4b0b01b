package org.orchestrator.core.internal.engine;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

/** One task at a time per key, in order; the pool bounds the total. */
class SerialExecutorTest {

    @Test
    void tasksOfOneKeyNeverOverlapAndRunInOrderWhileKeysRunInParallel() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        SerialExecutor serial = new SerialExecutor(pool);
        Map<Integer, AtomicInteger> running = new ConcurrentHashMap<>();
        Map<Integer, List<Integer>> order = new ConcurrentHashMap<>();
        AtomicInteger overlaps = new AtomicInteger();
        AtomicInteger maxParallel = new AtomicInteger();
        AtomicInteger parallel = new AtomicInteger();
        CountDownLatch done = new CountDownLatch(400);
        for (int i = 0; i < 100; i++) {
            for (int key = 0; key < 4; key++) {
                int k = key;
                int seq = i;
                serial.execute(k, () -> {
                    if (running.computeIfAbsent(k, x -> new AtomicInteger()).incrementAndGet() > 1) {
                        overlaps.incrementAndGet();
                    }
                    maxParallel.accumulateAndGet(parallel.incrementAndGet(), Math::max);
                    order.computeIfAbsent(k, x -> Collections.synchronizedList(new ArrayList<>())).add(seq);
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    parallel.decrementAndGet();
                    running.get(k).decrementAndGet();
                    done.countDown();
                });
            }
        }
        assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
        pool.shutdown();
        assertThat(overlaps.get()).isZero();
        assertThat(maxParallel.get()).isBetween(2, 4);
        for (List<Integer> seqs : order.values()) {
            assertThat(seqs).isSorted().hasSize(100);
        }
    }

    @Test
    void aFailingTaskDoesNotBlockTheKey() throws Exception {
        ExecutorService pool = Executors.newSingleThreadExecutor();
        SerialExecutor serial = new SerialExecutor(pool);
        CountDownLatch after = new CountDownLatch(1);
        serial.execute("k", () -> {
            throw new IllegalStateException("boom");
        });
        serial.execute("k", after::countDown);
        assertThat(after.await(5, TimeUnit.SECONDS)).isTrue();
        pool.shutdown();
    }
}
