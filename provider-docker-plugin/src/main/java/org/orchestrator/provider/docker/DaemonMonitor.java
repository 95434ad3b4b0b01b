package org.orchestrator.provider.docker;

import java.io.Closeable;
import java.io.IOException;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Supplier;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;
import com.github.dockerjava.api.model.EventType;

import org.orchestrator.api.provider.InstanceChangeSink;
import org.orchestrator.api.provider.InstanceState;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Follows one Docker daemon: pings it every {@code monitorInterval}, keeps a subscription to its
 * container events (filtered by the provider's labels) and reports to the
 * {@link InstanceChangeSink}:
 * <ul>
 *   <li>a container of ours that dies or is removed by someone else, at once;</li>
 *   <li>{@code providerAvailable} when the daemon answers again after an outage, or after the event
 *       stream broke (events may have been missed, so core must re-sync).</li>
 * </ul>
 * All state changes happen on the monitor's single thread; event callbacks only read.
 */
final class DaemonMonitor implements Closeable {

    private static final Logger LOG = LoggerFactory.getLogger(DaemonMonitor.class);

    private final DockerSettings settings;
    private final DockerClient commands;
    private final OwnActions ownActions;
    private final Supplier<InstanceChangeSink> sink;
    private final ScheduledExecutorService executor;
    private final AtomicBoolean closed = new AtomicBoolean();

    /** Whether the last ping succeeded. */
    private volatile boolean available;
    /** Whether an outage (failed ping or broken event stream) was seen since the last recovery. */
    private volatile boolean outage;
    private volatile EventCallback subscription;
    private DockerClient events;

    DaemonMonitor(DockerSettings settings, DockerClient commands, OwnActions ownActions,
                  Supplier<InstanceChangeSink> sink) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.commands = Objects.requireNonNull(commands, "commands");
        this.ownActions = Objects.requireNonNull(ownActions, "ownActions");
        this.sink = Objects.requireNonNull(sink, "sink");
        this.executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "orchestrator-docker-monitor-" + settings.name());
            t.setDaemon(true);
            return t;
        });
    }

    void start() {
        executor.scheduleWithFixedDelay(this::check, 0, settings.monitorInterval().toMillis(), TimeUnit.MILLISECONDS);
    }

    boolean available() {
        return available;
    }

    /** @return whether the daemon answers a ping now */
    boolean ping() {
        try {
            commands.pingCmd().exec();
            return true;
        } catch (RuntimeException e) {
            LOG.debug("ping of Docker daemon at {} failed", settings.dockerHost(), e);
            return false;
        }
    }

    private void checkSoon() {
        try {
            executor.execute(this::check);
        } catch (RejectedExecutionException e) {
            LOG.debug("monitor of provider {} is closed", settings.name());
        }
    }

    private void check() {
        if (closed.get()) {
            return;
        }
        try {
            boolean up = ping();
            if (!up) {
                if (available || !outage) {
                    LOG.warn("Docker daemon at {} (provider {}) is not reachable; calls fail until it is back",
                        settings.dockerHost(), settings.name());
                }
                available = false;
                outage = true;
                unsubscribe();
                return;
            }
            EventCallback current = subscription;
            if (current == null || current.ended) {
                if (current != null) {
                    outage = true;
                }
                unsubscribe();
                subscribe();
            }
            available = true;
            if (outage) {
                outage = false;
                LOG.info("Docker daemon at {} (provider {}) is available again", settings.dockerHost(), settings.name());
                InstanceChangeSink s = sink.get();
                if (s != null) {
                    s.providerAvailable(settings.name());
                }
            }
        } catch (RuntimeException e) {
            // Keep the monitor alive whatever happens: it is the only way back from an outage.
            LOG.warn("monitor of provider {} failed a check", settings.name(), e);
            outage = true;
        }
    }

    private void subscribe() {
        if (events == null) {
            events = DockerClients.events(settings);
        }
        EventCallback callback = new EventCallback();
        subscription = callback;
        events.eventsCmd()
            .withEventTypeFilter(EventType.CONTAINER)
            .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.PROVIDER, settings.name()))
            .exec(callback);
        LOG.debug("provider {} subscribed to events of Docker daemon at {}", settings.name(), settings.dockerHost());
    }

    private void unsubscribe() {
        EventCallback callback = subscription;
        subscription = null;
        if (callback != null) {
            callback.closeQuietly();
        }
        if (events != null) {
            // A fresh client after an outage: pooled connections to the old daemon are dead.
            try {
                events.close();
            } catch (IOException e) {
                LOG.debug("closing the event client failed", e);
            }
            events = null;
        }
    }

    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        executor.shutdownNow();
        try {
            if (!executor.awaitTermination(5, TimeUnit.SECONDS)) {
                LOG.warn("monitor of provider {} did not stop within 5 s", settings.name());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        EventCallback callback = subscription;
        subscription = null;
        if (callback != null) {
            callback.closeQuietly();
        }
        if (events != null) {
            try {
                events.close();
            } catch (IOException e) {
                LOG.debug("closing the event client failed", e);
            }
        }
    }

    void onEvent(Event event) {
        if (event.getType() != EventType.CONTAINER || event.getActor() == null) {
            return;
        }
        Map<String, String> attributes = event.getActor().getAttributes() == null
            ? Map.of() : event.getActor().getAttributes();
        String instanceId = attributes.get(Labels.INSTANCE);
        if (instanceId == null || !settings.name().equals(attributes.get(Labels.PROVIDER))) {
            return;
        }
        String containerId = event.getActor().getId() != null ? event.getActor().getId() : event.getId();
        String action = event.getAction() == null ? String.valueOf(event.getStatus()) : event.getAction();
        InstanceState state;
        String reason;
        switch (action) {
            case "die" -> {
                state = InstanceState.STOPPED;
                String code = attributes.get("exitCode");
                reason = "exited with code " + (code == null ? "?" : code) + " outside the orchestrator";
            }
            case "oom" -> {
                state = InstanceState.STOPPED;
                reason = "killed: out of memory";
            }
            case "destroy" -> {
                state = InstanceState.REMOVED;
                reason = "container removed outside the orchestrator";
            }
            case "start" -> {
                state = InstanceState.RUNNING;
                reason = "started outside the orchestrator";
            }
            default -> {
                return;
            }
        }
        if (containerId != null && ownActions.isOwn(containerId, action)) {
            LOG.debug("event {} on instance {} was caused by provider {} itself", action, instanceId, settings.name());
            return;
        }
        LOG.info("instance {} of provider {}: {}", instanceId, settings.name(), reason);
        InstanceChangeSink s = sink.get();
        if (s != null) {
            try {
                s.instanceChanged(settings.name(), instanceId, state, reason);
            } catch (RuntimeException e) {
                LOG.warn("instance change sink failed for instance {}", instanceId, e);
            }
        }
    }

    /** One subscription to the event stream; {@link #ended} once it broke or completed. */
    private final class EventCallback extends ResultCallback.Adapter<Event> {

        private volatile boolean ended;
        private volatile boolean closing;

        @Override
        public void onNext(Event event) {
            try {
                onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("provider {} could not handle event {}", settings.name(), event, e);
            }
        }

        @Override
        public void onError(Throwable throwable) {
            if (!closing) {
                LOG.warn("event stream of Docker daemon at {} broke: {}", settings.dockerHost(), throwable.toString());
            }
            finish();
        }

        @Override
        public void onComplete() {
            if (!closing) {
                LOG.info("event stream of Docker daemon at {} ended", settings.dockerHost());
            }
            finish();
        }

        private void finish() {
            ended = true;
            try {
                super.close();
            } catch (IOException e) {
                LOG.debug("closing the event stream failed", e);
            }
            if (!closing && !closed.get()) {
                checkSoon();
            }
        }

        void closeQuietly() {
            closing = true;
            try {
                close();
            } catch (IOException e) {
                LOG.debug("closing the event stream failed", e);
            }
        }
    }
}
