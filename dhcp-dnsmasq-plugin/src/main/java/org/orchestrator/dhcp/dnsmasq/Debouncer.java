package org.orchestrator.dhcp.dnsmasq;

import java.util.Objects;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Coalesces requests for an action: the action runs once, {@code delay} after the last request of
 * a burst, but no later than {@code maxWait} after the first request that is still waiting, so a
 * steady stream of requests cannot postpone it for ever. A request made while the action runs
 * leads to one more run. The action runs on the debouncer's own thread (created on first use),
 * never twice at once. Thread-safe.
 */
final class Debouncer implements AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(Debouncer.class);

    private final String name;
    private final Runnable action;
    private final long delayNanos;
    private final long maxWaitNanos;
    private final ScheduledThreadPoolExecutor executor;
    /** Held while the action runs: {@link #flush()} runs it in the caller's thread. */
    private final Object running = new Object();
    private ScheduledFuture<?> pending;
    /** Identifies the pending run; a run whose ticket is stale was superseded and does nothing. */
    private long ticket;
    private long firstRequestNanos;
    private boolean closed;
    private int requests;
    private int runs;

    /**
     * @param name     names the thread
     * @param delayMillis quiet time after the last request before the action runs (0: at once)
     * @param maxWaitMillis longest time a request waits, at least {@code delayMillis}
     */
    Debouncer(String name, long delayMillis, long maxWaitMillis, Runnable action) {
        this.name = Objects.requireNonNull(name, "name");
        this.action = Objects.requireNonNull(action, "action");
        if (delayMillis < 0 || maxWaitMillis < delayMillis) {
            throw new IllegalArgumentException("debounce needs 0 <= delay <= maximum wait");
        }
        this.delayNanos = TimeUnit.MILLISECONDS.toNanos(delayMillis);
        this.maxWaitNanos = TimeUnit.MILLISECONDS.toNanos(maxWaitMillis);
        this.executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, name);
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
    }

    /** Asks for the action to run; requests closer together than the delay share one run. Ignored after {@link #close()}. */
    synchronized void request() {
        if (closed) {
            return;
        }
        requests++;
        long now = System.nanoTime();
        if (pending == null) {
            firstRequestNanos = now;
        } else {
            pending.cancel(false);
        }
        long due = Math.min(now + delayNanos, firstRequestNanos + maxWaitNanos);
        long mine = ++ticket;
        try {
            pending = executor.schedule(() -> fire(mine), Math.max(0, due - now), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            pending = null;
        }
    }

    /** Runs a waiting action now, in the calling thread; does nothing when none waits. */
    void flush() {
        synchronized (this) {
            if (pending == null || closed) {
                return;
            }
            pending.cancel(false);
            pending = null;
            ticket++;
            runs++;
        }
        run();
    }

    /** @return whether a run is waiting */
    synchronized boolean pending() {
        return pending != null;
    }

    /** @return how many times the action ran */
    synchronized int runs() {
        return runs;
    }

    /** @return how many requests were made */
    synchronized int requests() {
        return requests;
    }

    /** Drops a waiting run and stops the thread; later requests are ignored. */
    @Override
    public void close() {
        synchronized (this) {
            closed = true;
            pending = null;
            ticket++;
        }
        executor.shutdownNow();
    }

    private void fire(long mine) {
        synchronized (this) {
            if (closed || mine != ticket) {
                return;
            }
            pending = null;
            runs++;
        }
        run();
    }

    private void run() {
        synchronized (running) {
            try {
                action.run();
            } catch (RuntimeException e) {
                LOG.warn("Debounced action {} failed: {}", name, e.getMessage());
            }
        }
    }
}
