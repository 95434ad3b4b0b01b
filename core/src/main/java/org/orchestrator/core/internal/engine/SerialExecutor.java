package org.orchestrator.core.internal.engine;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs tasks one at a time per key (never two operations on one client at once) on a shared pool
 * whose size bounds the global concurrency. Tasks of one key run in submission order. Thread-safe.
 */
final class SerialExecutor {

    private static final Logger LOG = LoggerFactory.getLogger(SerialExecutor.class);

    private final Executor pool;
    private final Map<Object, Deque<Runnable>> queues = new HashMap<>(); // guarded by this; present = a task runs or is dispatched

    SerialExecutor(Executor pool) {
        this.pool = Objects.requireNonNull(pool, "pool");
    }

    void execute(Object key, Runnable task) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(task, "task");
        synchronized (this) {
            Deque<Runnable> q = queues.get(key);
            if (q != null) {
                q.add(task);
                return;
            }
            queues.put(key, new ArrayDeque<>());
        }
        dispatch(key, task);
    }

    private void dispatch(Object key, Runnable task) {
        try {
            pool.execute(() -> run(key, task));
        } catch (RejectedExecutionException e) {
            synchronized (this) {
                queues.remove(key);
            }
            LOG.debug("task for {} rejected: executor is shut down", key);
        }
    }

    private void run(Object key, Runnable task) {
        try {
            task.run();
        } catch (RuntimeException | LinkageError | AssertionError e) {
            // Even a class that fails to load (a bundle being updated) must not leave the key stuck forever.
            LOG.error("task for {} failed", key, e);
        } finally {
            advance(key);
        }
    }

    private void advance(Object key) {
        Runnable next;
        synchronized (this) {
            Deque<Runnable> q = queues.get(key);
            next = q == null ? null : q.poll();
            if (next == null) {
                queues.remove(key);
            }
        }
        if (next != null) {
            // Back through the pool so that one busy client cannot starve the others.
            dispatch(key, next);
        }
    }
}
