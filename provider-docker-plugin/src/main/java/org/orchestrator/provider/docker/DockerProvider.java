package org.orchestrator.provider.docker;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.command.InspectContainerResponse;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.exception.NotModifiedException;
import com.github.dockerjava.api.model.Capability;
import com.github.dockerjava.api.model.Container;
import com.github.dockerjava.api.model.HostConfig;
import com.github.dockerjava.api.model.PullResponseItem;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceChangeSink;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.ResourceLimits;
import org.orchestrator.api.provider.VirtualizationProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A {@link VirtualizationProvider} backed by one Docker daemon. It owns the containers labelled
 * {@code org.orchestrator.managed=true} and {@code org.orchestrator.provider=<name>}, so a
 * restarted provider of the same name adopts them again.
 *
 * <p>Thread-safe. Calls on the same instance id are serialised; calls on different ids run in
 * parallel. {@link #start()} starts the {@link DaemonMonitor} that follows the daemon's event
 * stream and reports to the {@link InstanceChangeSink}; {@link #close()} stops it.
 */
public final class DockerProvider implements VirtualizationProvider, PoolingProvider, AutoCloseable {

    private static final Logger LOG = LoggerFactory.getLogger(DockerProvider.class);

    private static final Pattern ENV_NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]{0,127}");
    private static final int MAX_LABEL_KEY = 255;
    private static final int MAX_LABEL_VALUE = 4096;
    private static final int LOCK_STRIPES = 64;
    private static final long OWN_ACTION_GRACE_MILLIS = 3000;
    /** How long {@link #close()} lets a rename that has begun finish. */
    private static final long RENAME_DRAIN_MILLIS = 2000;
    /**
     * How long after {@code personalise} a spare is renamed. The device waits next for its network
     * attach (ip and nft processes, and the daemon), and a rename sent at once ran in dockerd at
     * that very moment: on a 2-core machine the attach's processes then took 2-4 times as long. A
     * lease-to-ready takes well under a second, so after this delay the device is normally ready
     * and the rename, which only {@code docker ps} shows, costs it nothing.
     */
    static final long RENAME_DELAY_MILLIS = 1500;
    private static final String IN_PLACE = "in place";
    private static final String THROUGH_ARCHIVE = "through the archive API";

    private final DockerSettings settings;
    private final DockerErrors errors;
    private final DockerClient docker;
    private final OwnActions ownActions = new OwnActions(OWN_ACTION_GRACE_MILLIS);
    private final DaemonMonitor monitor;
    private final ReentrantLock[] locks = new ReentrantLock[LOCK_STRIPES];
    /** Writes identity files in place; {@code null} for a remote daemon or with directWrite off. */
    private final ProcRootWriter rootWriter;
    /** Container id by instance id: a hint that saves a look-up by label, checked on every use. */
    private final ConcurrentMap<String, String> containers = new ConcurrentHashMap<>();
    /** Checks processes in this host's {@code /proc}; {@code null} for a remote daemon. */
    private final ProcRootWriter localProcesses;
    /**
     * The init process of each instance's container as last inspected (local daemons), with the
     * instance as it was then: lets {@link #networkNamespace} and {@link #personalise} go without
     * asking the daemon, checked on every use.
     */
    private final ConcurrentMap<String, ContainerProcess> processes = new ConcurrentHashMap<>();
    /**
     * When each image was last found on the daemon: a provision within {@link #IMAGE_SEEN_NANOS} of
     * that does not ask again (one round trip less per container in a burst); a create that then
     * finds the image gone checks and pulls it as usual.
     */
    private final ConcurrentMap<String, Long> imagesSeen = new ConcurrentHashMap<>();
    private static final long IMAGE_SEEN_NANOS = TimeUnit.SECONDS.toNanos(30);
    /**
     * Runs the cosmetic renames of personalised spares off the caller's thread, one at a time,
     * {@link #RENAME_DELAY_MILLIS} after each personalise; drops those still waiting when closed.
     */
    private final ScheduledThreadPoolExecutor renamer;
    private final LongAdder writesInPlace = new LongAdder();
    private final LongAdder namespacesFromProc = new LongAdder();
    private final LongAdder personalisedFromProc = new LongAdder();
    private final LongAdder containerLookups = new LongAdder();
    private final LongAdder renameFailures = new LongAdder();
    private final LongAdder writesThroughArchive = new LongAdder();
    private final AtomicBoolean fallbackReported = new AtomicBoolean();

    /**
     * @param settings the endpoint
     * @param sink     where outside changes are reported; returns {@code null} while there is none
     */
    public DockerProvider(DockerSettings settings, Supplier<InstanceChangeSink> sink) {
        this.settings = Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(sink, "sink");
        this.errors = new DockerErrors(settings.dockerHost());
        this.docker = DockerClients.commands(settings);
        this.monitor = new DaemonMonitor(settings, docker, ownActions, sink);
        for (int i = 0; i < locks.length; i++) {
            locks[i] = new ReentrantLock();
        }
        this.localProcesses = settings.localDaemon() ? new ProcRootWriter(Path.of("/proc")) : null;
        this.rootWriter = settings.directWrite() ? localProcesses : null;
        this.renamer = new ScheduledThreadPoolExecutor(1, task -> {
            Thread thread = new Thread(task, "orchestrator-docker-rename-" + settings.name());
            thread.setDaemon(true);
            return thread;
        });
        renamer.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        // The thread waits for queued renames, whatever their delay, and ends after 30 s without any.
        renamer.setKeepAliveTime(30, TimeUnit.SECONDS);
        renamer.allowCoreThreadTimeOut(true);
    }

    /** Starts following the daemon (events, outages, recoveries). */
    public void start() {
        monitor.start();
    }

    /** @return whether the monitor saw the daemon answer at its last check */
    public boolean daemonAvailable() {
        return monitor.available();
    }

    /** @return how many network namespaces were answered from {@code /proc} without asking the daemon (tests) */
    long namespacesFromProc() {
        return namespacesFromProc.sum();
    }

    /** @return how many spares were personalised without asking the daemon, their process remembered (tests) */
    long personalisedFromProc() {
        return personalisedFromProc.sum();
    }

    /** @return how many times one instance's container was inspected or listed on the daemon (tests) */
    long containerLookups() {
        return containerLookups.sum();
    }

    /** @return how many renames failed with a warning (tests) */
    long renameFailures() {
        return renameFailures.sum();
    }

    /** @return renames waiting for their delay or running (tests) */
    int renamesPending() {
        return renamer.getQueue().size() + renamer.getActiveCount();
    }

    /** @return how many spares were personalised by writing into their root file system directly */
    long writesInPlace() {
        return writesInPlace.sum();
    }

    /** @return how many spares were personalised through the archive API */
    long writesThroughArchive() {
        return writesThroughArchive.sum();
    }

    /** @return the settings of this endpoint */
    public DockerSettings settings() {
        return settings;
    }

    @Override
    public void close() {
        int delayed = renamer.getQueue().size();
        // drops the renames still waiting for their delay (cosmetic: docker ps keeps the old names)
        renamer.shutdown();
        if (delayed > 0) {
            LOG.debug("provider {} closes; {} delayed renames dropped", settings.name(), delayed);
        }
        try {
            if (!renamer.awaitTermination(RENAME_DRAIN_MILLIS, TimeUnit.MILLISECONDS)) {
                LOG.debug("provider {} closes with {} renames pending", settings.name(), renamer.getQueue().size());
                renamer.shutdownNow();
            }
        } catch (InterruptedException e) {
            renamer.shutdownNow();
            Thread.currentThread().interrupt();
        }
        monitor.close();
        try {
            docker.close();
        } catch (IOException e) {
            LOG.debug("closing the Docker client of provider {} failed", settings.name(), e);
        }
    }

    @Override
    public String name() {
        return settings.name();
    }

    @Override
    public Instance provision(InstanceSpec spec) {
        Objects.requireNonNull(spec, "spec");
        List<String> env = environment(spec);
        Map<String, String> labels = labels(spec);
        String action = "provision instance " + spec.instanceId();
        ReentrantLock lock = lockFor(spec.instanceId());
        lock.lock();
        try {
            long t0 = System.nanoTime();
            Optional<Container> existing = find(spec.instanceId(), action);
            if (existing.isPresent()) {
                Container c = existing.get();
                String client = label(c.getLabels(), Labels.CLIENT);
                if (!spec.client().value().equals(client)) {
                    throw new ProviderException("instance " + spec.instanceId() + " exists on provider " + name()
                        + " for another client (" + Identifiers.quote(client) + "), not " + spec.client(), false);
                }
                String status = lower(c.getState());
                if (status.equals("dead") || status.equals("removing")) {
                    LOG.info("instance {} on provider {} is {}; replacing its container {}", spec.instanceId(), name(),
                        status, c.getId());
                    remove(c.getId(), action);
                } else {
                    if (!status.equals("running")) {
                        startContainer(c.getId(), status, action);
                    }
                    containers.put(spec.instanceId(), c.getId());
                    return instanceOf(inspectContainer(c.getId(), action));
                }
            }
            long t1 = System.nanoTime();
            boolean imageKnown = imageSeenRecently(spec.image());
            if (!imageKnown) {
                ensureImage(spec.image(), action);
                imagesSeen.put(spec.image(), System.nanoTime());
            }
            long t2 = System.nanoTime();
            String containerId;
            try {
                containerId = create(spec, env, labels, action);
            } catch (ProviderException e) {
                if (!imageKnown || !(e.getCause() instanceof NotFoundException)) {
                    throw e;
                }
                // removed since it was last seen: pull it (or fail clearly) and try once more
                imagesSeen.remove(spec.image());
                ensureImage(spec.image(), action);
                imagesSeen.put(spec.image(), System.nanoTime());
                containerId = create(spec, env, labels, action);
            }
            long t3 = System.nanoTime();
            try {
                startContainer(containerId, "created", action);
            } catch (ProviderException e) {
                // Leave nothing half-made behind: a retry creates the container afresh.
                remove(containerId, action);
                throw e;
            }
            long t4 = System.nanoTime();
            InspectContainerResponse started = inspectContainer(containerId, action);
            Instance instance = instanceOf(started);
            containers.put(spec.instanceId(), containerId);
            rememberProcess(spec.instanceId(), started);
            long t5 = System.nanoTime();
            LOG.info("provider {} provisioned instance {} for client {} as container {} ({}) in {} ms"
                + " (find {}, image {}, create {}, start {}, inspect {})", name(), spec.instanceId(), spec.client(),
                instance.name(), shortId(containerId), millis(t0, t5), millis(t0, t1), millis(t1, t2), millis(t2, t3),
                millis(t3, t4), millis(t4, t5));
            return instance;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Writes the client's identity files ({@link IdentityArchive}) into the running spare and has
     * the container renamed to {@code orch-<instance>.<DUID tail>}, so that {@code docker ps} shows
     * whose it is. The labels stay those of the spare (Docker cannot change them); core's store
     * holds the binding, and nothing ({@link #list()}, adoption after a restart) depends on the name.
     *
     * <p>With a daemon on this host ({@code unix://} endpoint, {@link DockerSettings#directWrite()})
     * the files are written straight into the container's root file system through
     * {@code /proc/<pid>/root} by {@link ProcRootWriter}, which follows no symbolic link; when that
     * is refused or fails (a link or a missing directory in the image, no root privileges, a
     * user-namespaced daemon, a read-only root file system), and always for a remote daemon, they
     * are copied through the archive API ({@code PUT /containers/{id}/archive}), which has dockerd
     * unpack a tar and takes about 100 ms.
     *
     * <p>With a local daemon, a spare whose init process the provider remembers from its last
     * inspection ({@link #provision}, {@link #networkNamespace}, an earlier personalise) and which
     * {@code /proc} shows still to be that process (same start time, in a cgroup of the container) is
     * taken as running and written in place without asking the daemon; otherwise the container is
     * looked up and inspected first ({@link #locate}). The rename is cosmetic and runs
     * {@link #RENAME_DELAY_MILLIS} later on the provider's own thread; the returned instance
     * already carries the new name.
     */
    @Override
    public Instance personalise(InstanceSpec spec) {
        Objects.requireNonNull(spec, "spec");
        if (UNASSIGNED.equals(spec.client())) {
            throw new ProviderException("personalise needs a real client, not the placeholder", false);
        }
        String action = "personalise instance " + spec.instanceId();
        Map<String, String> files = IdentityArchive.files(spec);
        String hex = spec.client().hex();
        String newName = Labels.NAME_PREFIX + spec.instanceId() + "." + hex.substring(Math.max(0, hex.length() - 12));
        ReentrantLock lock = lockFor(spec.instanceId());
        lock.lock();
        try {
            long t0 = System.nanoTime();
            String via = null;
            Instance before = null;
            boolean remembered = false;
            ContainerProcess known = rootWriter == null ? null : stillRunning(spec.instanceId());
            if (known != null && known.instance() != null) {
                String obstacle = writeInPlace(known.pid(), known.containerId(), known.startTime(),
                    known.readOnlyRootFs(), files);
                if (obstacle == null) {
                    via = IN_PLACE;
                } else if (localProcesses.isProcessOf(known.pid(), known.containerId(), known.startTime())) {
                    reportFallback(spec.instanceId(), obstacle);
                    via = writeThroughArchive(known.containerId(), files, action);
                } else {
                    // stopped or replaced meanwhile: the daemon says what it is now
                    processes.remove(spec.instanceId(), known);
                }
                if (via != null) {
                    remembered = true;
                    before = known.instance();
                    containers.put(spec.instanceId(), known.containerId());
                    personalisedFromProc.increment();
                }
            }
            long t1 = t0;
            if (via == null) {
                InspectContainerResponse r = locate(spec.instanceId(), action);
                t1 = System.nanoTime();
                String status = r.getState() == null ? "" : lower(r.getState().getStatus());
                if (!"running".equals(status)) {
                    throw new ProviderException("instance " + spec.instanceId() + " is " + status
                        + ", not running; it cannot be personalised", false);
                }
                before = instanceOf(r);
                rememberProcess(spec.instanceId(), r);
                via = writeIdentity(r, spec.instanceId(), files, action);
            }
            long t2 = System.nanoTime();
            boolean rename = !newName.equals(before.name());
            if (rename) {
                renameLater(before.providerRef(), spec.instanceId(), newName);
            }
            Instance instance = new Instance(before.id(), before.provider(), before.providerRef(), newName,
                before.client(), before.image(), InstanceState.RUNNING, before.createdAt(), before.labels());
            // the next personalise of this instance (a retry) needs no second rename
            processes.computeIfPresent(spec.instanceId(), (id, p) -> p.containerId().equals(instance.providerRef())
                ? p.with(instance) : p);
            long t3 = System.nanoTime();
            LOG.info("provider {} personalised spare {} for client {} as container {} ({}) in {} ms"
                + " (find {}, write {} {}, rename {})", name(), spec.instanceId(), spec.client(), newName,
                shortId(instance.providerRef()), tenths(t0, t3), remembered ? "skipped (process remembered)"
                : tenths(t0, t1), tenths(t1, t2), via, rename ? "in " + RENAME_DELAY_MILLIS + " ms" : "not needed");
            return instance;
        } finally {
            lock.unlock();
        }
    }

    /**
     * @return the container of the instance, inspected: by the container id remembered for the
     * instance (one call), else found by its labels (two calls)
     */
    private InspectContainerResponse locate(String instanceId, String action) {
        String known = containers.get(instanceId);
        if (known != null) {
            try {
                containerLookups.increment();
                InspectContainerResponse r = docker.inspectContainerCmd(known).exec();
                Map<String, String> labels = r.getConfig() == null ? null : r.getConfig().getLabels();
                // A stopped container may have a running sibling; find() prefers that one.
                if ("true".equals(label(labels, Labels.MANAGED)) && name().equals(label(labels, Labels.PROVIDER))
                    && instanceId.equals(label(labels, Labels.INSTANCE)) && r.getState() != null
                    && "running".equals(lower(r.getState().getStatus()))) {
                    return r;
                }
            } catch (NotFoundException e) {
                LOG.debug("container {} of instance {} is gone; looking the instance up by label", shortId(known),
                    instanceId);
            } catch (RuntimeException e) {
                throw errors.translate(action, e);
            }
            containers.remove(instanceId, known);
        }
        Container c = require(instanceId, action);
        containers.put(instanceId, c.getId());
        return inspectContainer(c.getId(), action);
    }

    /** @return how the files were written: {@link #IN_PLACE} or {@link #THROUGH_ARCHIVE} */
    private String writeIdentity(InspectContainerResponse r, String instanceId, Map<String, String> files,
                                 String action) {
        if (rootWriter != null) {
            Long pid = r.getState().getPidLong();
            String obstacle = writeInPlace(pid == null ? 0 : pid, r.getId(), -1, readOnlyRootFs(r), files);
            if (obstacle == null) {
                return IN_PLACE;
            }
            reportFallback(instanceId, obstacle);
        }
        return writeThroughArchive(r.getId(), files, action);
    }

    /**
     * @param startTime the start time the process must still have; -1 = any
     * @return {@code null} when written in place, else why not
     */
    private String writeInPlace(long pid, String containerId, long startTime, boolean readOnlyRootFs,
                                Map<String, String> files) {
        if (readOnlyRootFs) {
            return "its root file system is read-only";
        }
        if (pid <= 0) {
            return "the daemon reports no process id";
        }
        try {
            rootWriter.write(pid, containerId, startTime, files);
            writesInPlace.increment();
            return null;
        } catch (ProcRootWriter.Refused e) {
            return e.getMessage();
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

    private void reportFallback(String instanceId, String obstacle) {
        // Once at INFO, so that a provider that can never write in place (e.g. not root) is noticed.
        if (fallbackReported.compareAndSet(false, true)) {
            LOG.info("provider {} writes the identity files of instance {} through the archive API, not in place:"
                + " {}; further such fallbacks are logged at DEBUG", name(), instanceId, obstacle);
        } else {
            LOG.debug("provider {} writes the identity files of instance {} through the archive API, not in place: {}",
                name(), instanceId, obstacle);
        }
    }

    private String writeThroughArchive(String containerId, Map<String, String> files, String action) {
        byte[] tar = IdentityArchive.tar(files, Instant.now().getEpochSecond());
        try (InputStream in = new ByteArrayInputStream(tar)) {
            docker.copyArchiveToContainerCmd(containerId).withRemotePath("/").withTarInputStream(in).exec();
        } catch (IOException e) {
            throw new ProviderException("could not " + action + ": " + e.getMessage(), true, e);
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
        writesThroughArchive.increment();
        return THROUGH_ARCHIVE;
    }

    private void renameLater(String containerId, String instanceId, String newName) {
        try {
            renamer.schedule(() -> rename(containerId, instanceId, newName), RENAME_DELAY_MILLIS, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException e) {
            LOG.debug("provider {} is closing; container {} of instance {} is not renamed to {}", name(),
                shortId(containerId), instanceId, newName);
        }
    }

    private void rename(String containerId, String instanceId, String newName) {
        if (!containerId.equals(containers.get(instanceId))) {
            LOG.debug("container {} is no longer instance {}'s (destroyed or replaced); not renamed to {}",
                shortId(containerId), instanceId, newName);
            return;
        }
        long t0 = System.nanoTime();
        try {
            docker.renameContainerCmd(containerId).withName(newName).exec();
            LOG.debug("provider {} renamed container {} of instance {} to {} in {} ms", name(), shortId(containerId),
                instanceId, newName, tenths(t0, System.nanoTime()));
        } catch (NotFoundException e) {
            LOG.debug("container {} of instance {} is gone; not renamed to {}", shortId(containerId), instanceId,
                newName);
        } catch (ConflictException e) {
            // the name is held by another container, or this one is being removed: nothing to fix for a cosmetic name
            LOG.debug("container {} of instance {} not renamed to {}: {}", shortId(containerId), instanceId, newName,
                DockerErrors.daemonMessage(e));
        } catch (RuntimeException e) {
            ProviderException failure = errors.translate("rename container " + shortId(containerId) + " to " + newName, e);
            if (failure.getMessage().contains("same name")) {
                LOG.debug("container {} of instance {} is named {} already", shortId(containerId), instanceId, newName);
            } else {
                renameFailures.increment();
                LOG.warn("provider {} could not rename the container of instance {}; only docker ps shows it: {}",
                    name(), instanceId, failure.getMessage());
            }
        }
    }

    @Override
    public void start(String instanceId) {
        String action = "start instance " + instanceId;
        ReentrantLock lock = lockFor(instanceId);
        lock.lock();
        try {
            Container c = require(instanceId, action);
            startContainer(c.getId(), lower(c.getState()), action);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void stop(String instanceId) {
        String action = "stop instance " + instanceId;
        ReentrantLock lock = lockFor(instanceId);
        lock.lock();
        try {
            Container c = require(instanceId, action);
            ownActions.begin(c.getId(), OwnActions.STOP);
            try {
                docker.stopContainerCmd(c.getId()).withTimeout((int) settings.stopTimeout().toSeconds()).exec();
                LOG.info("provider {} stopped instance {}", name(), instanceId);
            } catch (NotModifiedException e) {
                LOG.debug("instance {} on provider {} was not running", instanceId, name());
            } catch (NotFoundException e) {
                throw new ProviderException("instance " + instanceId + " does not exist on provider " + name(), false, e);
            } catch (RuntimeException e) {
                throw errors.translate(action, e);
            } finally {
                ownActions.end(c.getId(), OwnActions.STOP);
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void destroy(String instanceId) {
        String action = "destroy instance " + instanceId;
        ReentrantLock lock = lockFor(instanceId);
        lock.lock();
        try {
            containers.remove(instanceId);
            processes.remove(instanceId);
            for (Container c : owned(instanceId, action)) {
                remove(c.getId(), action);
                LOG.info("provider {} destroyed instance {} (container {})", name(), instanceId, shortId(c.getId()));
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public List<Instance> list() {
        String action = "list instances";
        List<Container> found;
        try {
            found = docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.PROVIDER, name())).exec();
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
        List<Instance> out = new ArrayList<>(found.size());
        for (Container c : found) {
            instanceOf(c).ifPresent(out::add);
        }
        // Refresh the hints (e.g. after a restart); running containers win over stopped siblings.
        for (Instance i : out) {
            if (i.state() == InstanceState.RUNNING || !containers.containsKey(i.id())) {
                containers.put(i.id(), i.providerRef());
            }
        }
        Set<String> listed = out.stream().map(Instance::id).collect(Collectors.toSet());
        containers.keySet().retainAll(listed);
        out.sort(Comparator.comparing(Instance::id));
        return List.copyOf(out);
    }

    @Override
    public Optional<Instance> inspect(String instanceId) {
        return find(instanceId, "inspect instance " + instanceId).flatMap(this::instanceOf);
    }

    /**
     * The namespace of the container's init process. With a daemon on this host, the process
     * remembered from the last inspection of the container (provisioned, personalised) is used
     * without asking the daemon again, when {@code /proc} shows it is still that process: same start
     * time, in a cgroup of that container. Otherwise, and for remote daemons, the container is
     * inspected. Saves a round trip on a device's path, which may also queue behind the rename of a
     * just personalised spare.
     */
    @Override
    public NetnsHandle networkNamespace(String instanceId) {
        ContainerProcess known = stillRunning(instanceId);
        if (known != null) {
            namespacesFromProc.increment();
            return NetnsHandle.ofPid(known.pid());
        }
        String action = "find the network namespace of instance " + instanceId;
        InspectContainerResponse inspect = locate(instanceId, action);
        InspectContainerResponse.ContainerState state = inspect.getState();
        Long pid = state == null ? null : state.getPidLong();
        if (state == null || !Boolean.TRUE.equals(state.getRunning()) || pid == null || pid <= 0) {
            throw new ProviderException("instance " + instanceId + " on provider " + name() + " is not running ("
                + (state == null ? "no state" : state.getStatus()) + "); it has no network namespace", false);
        }
        rememberProcess(instanceId, inspect);
        return NetnsHandle.ofPid(pid);
    }

    /**
     * @return the remembered init process of the instance's container when {@code /proc} shows it is
     * still that process (same start time, in a cgroup of the container), else {@code null} (a
     * remote daemon, nothing remembered, or the container stopped, restarted or was replaced)
     */
    private ContainerProcess stillRunning(String instanceId) {
        ContainerProcess known = processes.get(instanceId);
        if (known == null || localProcesses == null) {
            return null;
        }
        if (localProcesses.isProcessOf(known.pid(), known.containerId(), known.startTime())) {
            return known;
        }
        processes.remove(instanceId, known);
        return null;
    }

    /** Remembers the init process of a running container, as this host's {@code /proc} shows it. */
    private void rememberProcess(String instanceId, InspectContainerResponse r) {
        if (localProcesses == null) {
            return;
        }
        Long pid = r.getState() == null ? null : r.getState().getPidLong();
        long started = pid == null || pid <= 1 || !Boolean.TRUE.equals(r.getState().getRunning()) ? -1
            : localProcesses.startTimeIfProcessOf(pid, r.getId());
        if (started < 0) {
            processes.remove(instanceId);
        } else {
            processes.put(instanceId, new ContainerProcess(r.getId(), pid, started, readOnlyRootFs(r),
                instanceFrom(r, stripSlash(r.getName())).orElse(null)));
        }
    }

    /**
     * A container's init process: its pid and start time (clock ticks after boot), whether the
     * container's root file system is read-only, and the instance as inspected then ({@code null}
     * when its labels are not valid).
     */
    private record ContainerProcess(String containerId, long pid, long startTime, boolean readOnlyRootFs,
                                    Instance instance) {

        ContainerProcess with(Instance now) {
            return new ContainerProcess(containerId, pid, startTime, readOnlyRootFs, now);
        }
    }

    @Override
    public ExportResult export(ExportRequest request) {
        Objects.requireNonNull(request, "request");
        String action = "export instance " + request.instanceId() + " as " + request.imageTag();
        Path target = null;
        if (request.archiveName() != null) {
            if (settings.exportFolder() == null) {
                throw new ProviderException("provider " + name() + " has no exportFolder configured; cannot save "
                    + request.archiveName(), false);
            }
            try {
                target = ArchivePaths.resolve(settings.exportFolder(), request.archiveName());
            } catch (IllegalArgumentException e) {
                throw new ProviderException(e.getMessage(), false, e);
            } catch (IOException e) {
                throw new ProviderException("export folder " + settings.exportFolder() + " of provider " + name()
                    + " is not usable: " + e, false, e);
            }
        }
        ImageReference ref = ImageReference.parse(request.imageTag());
        String imageId;
        ReentrantLock lock = lockFor(request.instanceId());
        lock.lock();
        try {
            Container c = require(request.instanceId(), action);
            // The image would inherit the container's labels, and containers made from it would look
            // like ours; blank them out.
            Map<String, String> imageLabels = new LinkedHashMap<>();
            imageLabels.put(Labels.MANAGED, "");
            imageLabels.put(Labels.PROVIDER, "");
            imageLabels.put(Labels.INSTANCE, "");
            imageLabels.put(Labels.CLIENT, "");
            imageLabels.put(Labels.EXPORTED_FROM, request.instanceId());
            imageId = docker.commitCmd(c.getId()).withRepository(ref.repository()).withTag(ref.tag())
                .withLabels(imageLabels).withPause(Boolean.TRUE)
                .withMessage("exported by the orchestrator from instance " + request.instanceId()).exec();
        } catch (ProviderException e) {
            throw e;
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        } finally {
            lock.unlock();
        }
        LOG.info("provider {} committed instance {} as image {} ({})", name(), request.instanceId(),
            request.imageTag(), shortId(imageId));
        if (target == null) {
            return new ExportResult(imageId, request.imageTag(), null, 0);
        }
        long size = save(ref, target, action);
        LOG.info("provider {} saved image {} to {} ({} bytes)", name(), request.imageTag(), target, size);
        return new ExportResult(imageId, request.imageTag(), target, size);
    }

    private long save(ImageReference ref, Path target, String action) {
        Path temp;
        try {
            temp = Files.createTempFile(target.getParent(), ".orch-export-", ".tmp");
        } catch (IOException e) {
            throw new ProviderException("cannot write to export folder " + target.getParent() + ": " + e, false, e);
        }
        try {
            try (InputStream in = docker.saveImageCmd(ref.repository()).withTag(ref.tag()).exec()) {
                try (FileChannel channel = FileChannel.open(temp, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING);
                     OutputStream out = java.nio.channels.Channels.newOutputStream(channel)) {
                    in.transferTo(out);
                    out.flush();
                    channel.force(true);
                }
            } catch (IOException e) {
                throw new ProviderException("saving image " + ref + " to " + target + " failed: " + e, true, e);
            } catch (RuntimeException e) {
                throw errors.translate(action, e);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            return Files.size(target);
        } catch (IOException e) {
            throw new ProviderException("moving the archive into place at " + target + " failed: " + e, true, e);
        } finally {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException e) {
                LOG.warn("could not remove temporary archive {}", temp, e);
            }
        }
    }

    // --- containers ---------------------------------------------------------------------------

    private String create(InstanceSpec spec, List<String> env, Map<String, String> labels, String action) {
        String containerName = Labels.NAME_PREFIX + spec.instanceId();
        ResourceLimits defaults = settings.defaultLimits();
        long memory = spec.limits().memoryBytes() > 0 ? spec.limits().memoryBytes() : defaults.memoryBytes();
        double cpus = spec.limits().cpus() > 0 ? spec.limits().cpus() : defaults.cpus();
        long pids = spec.limits().pids() > 0 ? spec.limits().pids() : defaults.pids();

        HostConfig host = HostConfig.newHostConfig()
            .withNetworkMode("none")
            .withPrivileged(Boolean.FALSE)
            .withSysctls(Map.of("net.ipv6.conf.all.disable_ipv6", "0", "net.ipv6.conf.default.disable_ipv6", "0"))
            .withCapDrop(capabilities(settings.capDrop()))
            .withCapAdd(capabilities(settings.capAdd()))
            .withSecurityOpts(List.of("no-new-privileges:true"))
            .withReadonlyRootfs(spec.readOnlyRootFs());
        if (spec.readOnlyRootFs() && !settings.tmpfs().isEmpty()) {
            host.withTmpFs(settings.tmpfs());
        }
        if (memory > 0) {
            host.withMemory(memory).withMemorySwap(memory);
        }
        if (cpus > 0) {
            host.withNanoCPUs(Math.round(cpus * 1_000_000_000d));
        }
        if (pids > 0) {
            host.withPidsLimit(pids);
        }
        try {
            var cmd = docker.createContainerCmd(spec.image())
                .withName(containerName)
                .withHostName(hostname(spec.hostname()))
                .withEnv(env)
                .withLabels(labels)
                .withHostConfig(host);
            if (!spec.command().isEmpty()) {
                cmd.withCmd(spec.command());
            }
            CreateContainerResponse created = cmd.exec();
            for (String warning : created.getWarnings() == null ? new String[0] : created.getWarnings()) {
                LOG.warn("Docker daemon at {} warns about instance {}: {}", settings.dockerHost(), spec.instanceId(),
                    warning);
            }
            return created.getId();
        } catch (ConflictException e) {
            throw new ProviderException("container name " + containerName + " is taken on Docker daemon at "
                + settings.dockerHost() + " by a container provider " + name() + " does not own for instance "
                + spec.instanceId() + "; remove it or pick another instance id", false, e);
        } catch (NotFoundException e) {
            throw new ProviderException("image " + spec.image() + " is not available on Docker daemon at "
                + settings.dockerHost() + ": " + DockerErrors.daemonMessage(e), false, e);
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
    }

    private void startContainer(String containerId, String status, String action) {
        ownActions.begin(containerId, OwnActions.START);
        try {
            if ("paused".equals(status)) {
                docker.unpauseContainerCmd(containerId).exec();
            } else if (!"running".equals(status)) {
                docker.startContainerCmd(containerId).exec();
            }
        } catch (NotModifiedException e) {
            LOG.debug("container {} was running already", containerId);
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        } finally {
            ownActions.end(containerId, OwnActions.START);
        }
    }

    private void remove(String containerId, String action) {
        ownActions.begin(containerId, OwnActions.REMOVE);
        try {
            docker.removeContainerCmd(containerId).withForce(Boolean.TRUE).withRemoveVolumes(Boolean.TRUE).exec();
        } catch (NotFoundException e) {
            LOG.debug("container {} was gone already", containerId);
        } catch (ConflictException e) {
            // "removal already in progress": the daemon finishes it for us.
            LOG.debug("container {} is being removed already: {}", containerId, e.getMessage());
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        } finally {
            ownActions.end(containerId, OwnActions.REMOVE);
        }
    }

    private static long millis(long fromNanos, long toNanos) {
        return (toNanos - fromNanos) / 1_000_000;
    }

    /** @return milliseconds with one decimal, for steps that take less than one */
    private static String tenths(long fromNanos, long toNanos) {
        long tenths = (toNanos - fromNanos) / 100_000;
        return tenths / 10 + "." + tenths % 10;
    }

    private boolean imageSeenRecently(String image) {
        Long seen = imagesSeen.get(image);
        return seen != null && System.nanoTime() - seen < IMAGE_SEEN_NANOS;
    }

    private void ensureImage(String image, String action) {
        try {
            docker.inspectImageCmd(image).exec();
            return;
        } catch (NotFoundException e) {
            LOG.info("image {} is missing on Docker daemon at {}; pulling it", image, settings.dockerHost());
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
        ImageReference ref = ImageReference.parse(image);
        PullCallback pull = new PullCallback();
        try {
            docker.pullImageCmd(ref.repository()).withTag(ref.tag()).exec(pull);
            if (!pull.awaitCompletion(settings.pullTimeout().toMillis(), TimeUnit.MILLISECONDS)) {
                pull.closeQuietly();
                throw new ProviderException("pulling image " + image + " on Docker daemon at " + settings.dockerHost()
                    + " did not finish within " + settings.pullTimeout().toSeconds() + " s", true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            pull.closeQuietly();
            throw new ProviderException("interrupted while pulling image " + image, true, e);
        } catch (ProviderException e) {
            throw e;
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
        Throwable failure = pull.error;
        if (failure != null) {
            if (DockerErrors.ioCause(failure) != null && !monitor.ping()) {
                throw errors.unreachable(action, failure);
            }
            String detail = failure instanceof DockerException de ? DockerErrors.daemonMessage(de) : String.valueOf(failure.getMessage());
            throw new ProviderException("image " + image + " is not available on Docker daemon at "
                + settings.dockerHost() + " and could not be pulled: " + detail
                + "; load or build it there (docker load / docker build)", false, failure);
        }
        try {
            docker.inspectImageCmd(image).exec();
        } catch (NotFoundException e) {
            throw new ProviderException("image " + image + " is still missing on Docker daemon at "
                + settings.dockerHost() + " after a pull", false, e);
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
    }

    /** Collects a pull's outcome without docker-java's error logging; the caller reports it. */
    private static final class PullCallback extends ResultCallback.Adapter<PullResponseItem> {

        private volatile Throwable error;

        @Override
        public void onNext(PullResponseItem item) {
            if (item != null && item.isErrorIndicated() && error == null) {
                String message = item.getErrorDetail() != null && item.getErrorDetail().getMessage() != null
                    ? item.getErrorDetail().getMessage() : item.getError();
                error = new IllegalStateException(message);
            }
        }

        @Override
        public void onError(Throwable throwable) {
            if (error == null) {
                error = throwable;
            }
            closeQuietly();
        }

        void closeQuietly() {
            try {
                close();
            } catch (IOException e) {
                LOG.debug("closing the pull stream failed", e);
            }
        }
    }

    private InspectContainerResponse inspectContainer(String containerId, String action) {
        containerLookups.increment();
        try {
            return docker.inspectContainerCmd(containerId).exec();
        } catch (NotFoundException e) {
            throw new ProviderException("container " + shortId(containerId) + " vanished while trying to " + action,
                true, e);
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
    }

    private List<Container> owned(String instanceId, String action) {
        Identifiers.name(instanceId);
        containerLookups.increment();
        try {
            return docker.listContainersCmd().withShowAll(true)
                .withLabelFilter(Map.of(Labels.MANAGED, "true", Labels.PROVIDER, name(), Labels.INSTANCE, instanceId))
                .exec();
        } catch (RuntimeException e) {
            throw errors.translate(action, e);
        }
    }

    /** @return the container of the instance; a running one wins over others should there be several */
    private Optional<Container> find(String instanceId, String action) {
        List<Container> containers = owned(instanceId, action);
        if (containers.size() > 1) {
            LOG.warn("provider {} has {} containers for instance {}; using the running one", name(),
                containers.size(), instanceId);
        }
        return containers.stream()
            .min(Comparator.comparing((Container c) -> !"running".equals(lower(c.getState())))
                .thenComparing(c -> c.getCreated() == null ? 0L : -c.getCreated()));
    }

    private Container require(String instanceId, String action) {
        return find(instanceId, action).orElseThrow(() -> new ProviderException(
            "instance " + instanceId + " does not exist on provider " + name() + " (could not " + action + ")", false));
    }

    // --- mapping ------------------------------------------------------------------------------

    private Optional<Instance> instanceOf(Container c) {
        Map<String, String> labels = c.getLabels() == null ? Map.of() : c.getLabels();
        String name = c.getNames() == null || c.getNames().length == 0 ? c.getId() : stripSlash(c.getNames()[0]);
        Instant created = c.getCreated() == null ? Instant.EPOCH : Instant.ofEpochSecond(c.getCreated());
        return instance(labels, c.getId(), name, c.getImage(), c.getState(), created);
    }

    private Instance instanceOf(InspectContainerResponse r) {
        return instanceFrom(r, stripSlash(r.getName())).orElseThrow(
            () -> new ProviderException("container " + shortId(r.getId()) + " lacks the orchestrator's labels", false));
    }

    private Optional<Instance> instanceFrom(InspectContainerResponse r, String containerName) {
        Map<String, String> labels = r.getConfig() == null || r.getConfig().getLabels() == null
            ? Map.of() : r.getConfig().getLabels();
        Instant created;
        try {
            created = r.getCreated() == null ? Instant.EPOCH : Instant.parse(r.getCreated());
        } catch (DateTimeParseException e) {
            created = Instant.EPOCH;
        }
        String image = r.getConfig() == null ? null : r.getConfig().getImage();
        String status = r.getState() == null ? null : r.getState().getStatus();
        return instance(labels, r.getId(), containerName, image, status, created);
    }

    private Optional<Instance> instance(Map<String, String> labels, String containerId, String containerName,
                                        String image, String status, Instant created) {
        String id = labels.get(Labels.INSTANCE);
        String client = labels.get(Labels.CLIENT);
        try {
            Identifiers.name(id);
            Duid duid = Duid.parse(client);
            return Optional.of(new Instance(id, name(), containerId, containerName, duid, image, state(status), created,
                labels));
        } catch (IllegalArgumentException | NullPointerException e) {
            LOG.warn("provider {} ignores container {}: its orchestrator labels are invalid ({})", name(),
                shortId(containerId), e.getMessage());
            return Optional.empty();
        }
    }

    private static boolean readOnlyRootFs(InspectContainerResponse r) {
        return r.getHostConfig() != null && Boolean.TRUE.equals(r.getHostConfig().getReadonlyRootfs());
    }

    /** Maps Docker's container status to the platform's states. */
    static InstanceState state(String status) {
        return switch (lower(status)) {
            case "created" -> InstanceState.CREATED;
            case "running", "restarting" -> InstanceState.RUNNING;
            case "exited", "paused" -> InstanceState.STOPPED;
            case "removing" -> InstanceState.REMOVED;
            default -> InstanceState.DEAD;
        };
    }

    private List<String> environment(InstanceSpec spec) {
        Map<String, String> env = new LinkedHashMap<>();
        env.put("ORCHESTRATOR_CLIENT", spec.client().value());
        env.put("ORCHESTRATOR_HOSTNAME", spec.hostname());
        spec.environment().forEach((key, value) -> {
            if (!ENV_NAME.matcher(key).matches()) {
                throw new ProviderException("environment variable name is not valid: " + Identifiers.quote(key), false);
            }
            if (value == null || value.indexOf('\0') >= 0) {
                throw new ProviderException("environment variable " + key + " has a NUL or no value", false);
            }
            env.put(key, value);
        });
        List<String> out = new ArrayList<>(env.size());
        env.forEach((key, value) -> out.add(key + "=" + value));
        return out;
    }

    private Map<String, String> labels(InstanceSpec spec) {
        Map<String, String> labels = new LinkedHashMap<>();
        spec.labels().forEach((key, value) -> {
            if (key.startsWith(Labels.RESERVED_PREFIX)) {
                LOG.debug("label {} of instance {} is reserved; ignored", key, spec.instanceId());
                return;
            }
            if (key.isEmpty() || key.length() > MAX_LABEL_KEY || value == null || value.length() > MAX_LABEL_VALUE
                || hasControl(key) || hasControl(value)) {
                throw new ProviderException("label is not valid: " + Identifiers.quote(key), false);
            }
            labels.put(key, value);
        });
        labels.put(Labels.MANAGED, "true");
        labels.put(Labels.PROVIDER, name());
        labels.put(Labels.INSTANCE, spec.instanceId());
        labels.put(Labels.CLIENT, spec.client().value());
        return labels;
    }

    private static boolean hasControl(String text) {
        return text.chars().anyMatch(ch -> ch < 0x20 || ch == 0x7f);
    }

    private static String hostname(String hostname) {
        // The kernel allows 64 bytes; a long FQDN keeps its first label.
        if (hostname.length() <= 63) {
            return hostname;
        }
        int dot = hostname.indexOf('.');
        return dot > 0 && dot <= 63 ? hostname.substring(0, dot) : hostname.substring(0, 63);
    }

    private static Capability[] capabilities(List<String> names) {
        return names.stream().map(Capability::valueOf).toArray(Capability[]::new);
    }

    private ReentrantLock lockFor(String instanceId) {
        return locks[Math.floorMod(instanceId.hashCode(), locks.length)];
    }

    private static String label(Map<String, String> labels, String key) {
        return labels == null ? null : labels.get(key);
    }

    private static String lower(String text) {
        return text == null ? "" : text.toLowerCase(Locale.ROOT);
    }

    private static String stripSlash(String name) {
        return name != null && name.startsWith("/") ? name.substring(1) : name;
    }

    static String shortId(String id) {
        if (id == null) {
            return "?";
        }
        String plain = id.startsWith("sha256:") ? id.substring(7) : id;
        return plain.length() > 12 ? plain.substring(0, 12) : plain;
    }
}
