package org.orchestrator.core.internal.testing;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.VirtualizationProvider;

/**
 * In-memory provider that records every call and fails the test (via {@link #violations()}) when
 * two operations on one client overlap.
 */
public final class FakeProvider implements VirtualizationProvider {

    private final String name;
    private final Map<String, Instance> instances = new ConcurrentHashMap<>();
    private final Map<String, Duid> owners = new ConcurrentHashMap<>();
    private final Set<Duid> busy = ConcurrentHashMap.newKeySet();
    private final List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
    private final Deque<ProviderException> provisionFailures = new ArrayDeque<>();
    private final Deque<ProviderException> startFailures = new ArrayDeque<>();
    public final AtomicInteger provisionCalls = new AtomicInteger();
    public final AtomicInteger createdCount = new AtomicInteger();
    public final AtomicInteger destroyCalls = new AtomicInteger();
    public volatile long operationMillis;

    public FakeProvider(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    /** The next start calls throw these, in order. */
    public synchronized void failNextStart(ProviderException e) {
        startFailures.add(e);
    }

    /** The next provision calls throw these, in order. */
    public synchronized void failNextProvision(ProviderException e) {
        provisionFailures.add(e);
    }

    public List<String> violations() {
        return List.copyOf(violations);
    }

    public Map<String, Instance> instances() {
        return Map.copyOf(instances);
    }

    /** Simulates a removal outside the platform. */
    public void removeBehindOurBack(String id) {
        instances.remove(id);
    }

    /** Adds an instance the store does not know. */
    public void addStray(String id, Duid client) {
        instances.put(id, new Instance(id, name, "ref-" + id, id, client, "img", InstanceState.RUNNING, Instant.now(), Map.of()));
        owners.put(id, client);
    }

    private void enter(Duid duid, String op) {
        if (duid == null) {
            return;
        }
        if (!busy.add(duid)) {
            violations.add("overlapping " + op + " on " + duid);
        }
        if (operationMillis > 0) {
            try {
                Thread.sleep(operationMillis);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private void exit(Duid duid) {
        if (duid != null) {
            busy.remove(duid);
        }
    }

    @Override
    public Instance provision(InstanceSpec spec) {
        owners.put(spec.instanceId(), spec.client());
        enter(spec.client(), "provision");
        try {
            provisionCalls.incrementAndGet();
            ProviderException failure;
            synchronized (this) {
                failure = provisionFailures.poll();
            }
            if (failure != null) {
                throw failure;
            }
            if (!spec.environment().get("ORCHESTRATOR_CLIENT").equals(spec.client().value())) {
                violations.add("environment lacks ORCHESTRATOR_CLIENT");
            }
            return instances.compute(spec.instanceId(), (id, old) -> {
                if (old != null && old.state() == InstanceState.RUNNING) {
                    return old;
                }
                createdCount.incrementAndGet();
                return new Instance(id, name, "ref-" + id + "-" + createdCount.get(), id, spec.client(), spec.image(),
                    InstanceState.RUNNING, Instant.now(), spec.labels());
            });
        } finally {
            exit(spec.client());
        }
    }

    @Override
    public void start(String instanceId) {
        Duid d = owners.get(instanceId);
        enter(d, "start");
        try {
            ProviderException failure;
            synchronized (this) {
                failure = startFailures.poll();
            }
            if (failure != null) {
                throw failure;
            }
            instances.computeIfPresent(instanceId, (id, i) -> new Instance(id, name, i.providerRef(), i.name(), i.client(), i.image(),
                InstanceState.RUNNING, i.createdAt(), i.labels()));
        } finally {
            exit(d);
        }
    }

    @Override
    public void stop(String instanceId) {
        instances.computeIfPresent(instanceId, (id, i) -> new Instance(id, name, i.providerRef(), i.name(), i.client(), i.image(),
            InstanceState.STOPPED, i.createdAt(), i.labels()));
    }

    @Override
    public void destroy(String instanceId) {
        Duid d = owners.get(instanceId);
        enter(d, "destroy");
        try {
            destroyCalls.incrementAndGet();
            instances.remove(instanceId);
        } finally {
            exit(d);
        }
    }

    @Override
    public List<Instance> list() {
        return new ArrayList<>(instances.values());
    }

    @Override
    public Optional<Instance> inspect(String instanceId) {
        Duid d = owners.get(instanceId);
        enter(d, "inspect");
        try {
            return Optional.ofNullable(instances.get(instanceId));
        } finally {
            exit(d);
        }
    }

    @Override
    public NetnsHandle networkNamespace(String instanceId) {
        Instance i = instances.get(instanceId);
        if (i == null || i.state() != InstanceState.RUNNING) {
            throw new ProviderException("instance " + instanceId + " is not running", false);
        }
        return new NetnsHandle(0, Path.of("/run/netns/" + instanceId));
    }

    @Override
    public ExportResult export(ExportRequest request) {
        if (!instances.containsKey(request.instanceId())) {
            throw new ProviderException("no such instance", false);
        }
        return new ExportResult("sha256:abc", request.imageTag(), null, 0);
    }
}
