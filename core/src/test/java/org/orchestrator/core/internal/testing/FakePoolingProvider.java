package org.orchestrator.core.internal.testing;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.PoolingProvider;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.VirtualizationProvider;

/** A {@link FakeProvider} that also supports the warm pool: it records who each spare was personalised for. */
public final class FakePoolingProvider implements VirtualizationProvider, PoolingProvider {

    public final FakeProvider delegate;
    private final Map<String, Duid> personalised = new ConcurrentHashMap<>();
    private final List<String> violations = java.util.Collections.synchronizedList(new ArrayList<>());
    public final AtomicInteger personaliseCalls = new AtomicInteger();
    private volatile boolean failPersonalise;
    private volatile java.util.concurrent.CountDownLatch personaliseHold = new java.util.concurrent.CountDownLatch(0);

    public FakePoolingProvider(String name) {
        this.delegate = new FakeProvider(name);
    }

    public void failPersonalise(boolean fail) {
        failPersonalise = fail;
    }

    /** Makes personalise calls wait (at most 10 s) until {@link #releasePersonalise()}. */
    public void holdPersonalise() {
        personaliseHold = new java.util.concurrent.CountDownLatch(1);
    }

    public void releasePersonalise() {
        personaliseHold.countDown();
    }

    public Map<String, Duid> personalised() {
        return Map.copyOf(personalised);
    }

    public List<String> violations() {
        return List.copyOf(violations);
    }

    /** @return the running spares (client still the placeholder and never personalised) */
    public List<Instance> spares() {
        return delegate.instances().values().stream()
            .filter(i -> i.client().equals(UNASSIGNED) && !personalised.containsKey(i.id())).toList();
    }

    @Override
    public Instance personalise(InstanceSpec spec) {
        personaliseCalls.incrementAndGet();
        try {
            if (!personaliseHold.await(10, java.util.concurrent.TimeUnit.SECONDS)) {
                throw new ProviderException("personalise held for 10 s by the test", true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ProviderException("interrupted while held", true);
        }
        if (failPersonalise) {
            throw new ProviderException("personalise refused by the test", false);
        }
        Instance i = delegate.instances().get(spec.instanceId());
        if (i == null || i.state() != InstanceState.RUNNING) {
            throw new ProviderException("spare " + spec.instanceId() + " is not running", false);
        }
        if (!i.client().equals(UNASSIGNED)) {
            violations.add("personalised a non-spare " + spec.instanceId());
        }
        Duid before = personalised.putIfAbsent(spec.instanceId(), spec.client());
        if (before != null && !before.equals(spec.client())) {
            violations.add("spare " + spec.instanceId() + " claimed by " + before + " and " + spec.client());
        }
        return i;
    }

    @Override
    public String name() {
        return delegate.name();
    }

    @Override
    public Instance provision(InstanceSpec spec) {
        return delegate.provision(spec);
    }

    @Override
    public void start(String instanceId) {
        delegate.start(instanceId);
    }

    @Override
    public void stop(String instanceId) {
        delegate.stop(instanceId);
    }

    @Override
    public void destroy(String instanceId) {
        delegate.destroy(instanceId);
        personalised.remove(instanceId);
    }

    @Override
    public List<Instance> list() {
        return delegate.list();
    }

    @Override
    public Optional<Instance> inspect(String instanceId) {
        return delegate.inspect(instanceId);
    }

    @Override
    public NetnsHandle networkNamespace(String instanceId) {
        return delegate.networkNamespace(instanceId);
    }

    @Override
    public ExportResult export(ExportRequest request) {
        return delegate.export(request);
    }
}
