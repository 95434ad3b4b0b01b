package org.orchestrator.core.internal.testing;

import java.net.Inet6Address;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.NetworkAttacher;

/** In-memory network that hands out fd00:99::N addresses. */
public final class FakeNetwork implements NetworkAttacher {

    private final String name;
    private final Map<String, Attachment> attachments = new ConcurrentHashMap<>();
    private final AtomicInteger next = new AtomicInteger(1);
    public final AtomicInteger attachCalls = new AtomicInteger();
    public final AtomicInteger detachCalls = new AtomicInteger();
    /** Every attach request, in order. */
    public final List<AttachRequest> requests = new java.util.concurrent.CopyOnWriteArrayList<>();
    /** What {@link #isolates()} answers. */
    public volatile boolean isolating;
    private volatile CountDownLatch hold = new CountDownLatch(0);
    private final java.util.Deque<org.orchestrator.api.network.NetworkException> attachFailures = new java.util.concurrent.ConcurrentLinkedDeque<>();

    public FakeNetwork(String name) {
        this.name = name;
    }

    @Override
    public String name() {
        return name;
    }

    public Map<String, Attachment> attachments() {
        return Map.copyOf(attachments);
    }

    public void removeBehindOurBack(String instanceId) {
        attachments.remove(instanceId);
    }

    public void addStray(String instanceId) {
        attachments.put(instanceId, new Attachment(instanceId, name, "veth-stray", "eth1", null,
            Identifiers.ipv6("fd00:99::ffff"), 64, null, null));
    }

    /** The next attach calls throw these, in order. */
    public void failNextAttach(org.orchestrator.api.network.NetworkException e) {
        attachFailures.add(e);
    }

    /** Makes attach calls wait (at most 30 s) until {@link #releaseAttaches()}. */
    public void holdAttaches() {
        hold = new CountDownLatch(1);
    }

    public void releaseAttaches() {
        hold.countDown();
    }

    @Override
    public boolean isolates() {
        return isolating;
    }

    @Override
    public Attachment attach(AttachRequest request) {
        attachCalls.incrementAndGet();
        requests.add(request);
        try {
            if (!hold.await(30, TimeUnit.SECONDS)) {
                throw new org.orchestrator.api.network.NetworkException("attach held for 30 s by the test", true);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new org.orchestrator.api.network.NetworkException("interrupted while held", true);
        }
        org.orchestrator.api.network.NetworkException failure = attachFailures.poll();
        if (failure != null) {
            throw failure;
        }
        return attachments.compute(request.instanceId(), (id, old) -> {
            Inet6Address address = old != null ? old.address() : Identifiers.ipv6("fd00:99::" + Integer.toHexString(next.getAndIncrement()));
            return new Attachment(id, name, "veth" + Math.abs(id.hashCode() % 100000), "eth1", null, address, 64,
                Identifiers.ipv6("fd00:99::1"), request.peer());
        });
    }

    @Override
    public void detach(String instanceId) {
        detachCalls.incrementAndGet();
        attachments.remove(instanceId);
    }

    @Override
    public List<Attachment> list() {
        return new ArrayList<>(attachments.values());
    }
}
