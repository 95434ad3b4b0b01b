package org.orchestrator.bench;

import java.net.Inet6Address;
import java.net.UnknownHostException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.Reservation;
import org.orchestrator.api.network.AttachRequest;
import org.orchestrator.api.network.Attachment;
import org.orchestrator.api.network.NetworkAttacher;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.Instance;
import org.orchestrator.api.provider.InstanceSpec;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.NetnsHandle;
import org.orchestrator.api.provider.ProviderException;
import org.orchestrator.api.provider.VirtualizationProvider;

/**
 * Minimal in-memory doubles of the three plug-in services (copied in spirit from core's test
 * doubles, which are not published): they cost nothing, so a benchmark measures core only.
 */
final class InMemoryPlugins {

    private InMemoryPlugins() {
    }

    /** Provider whose instances are map entries. */
    static final class Provider implements VirtualizationProvider {
        private final String name;
        private final Map<String, Instance> instances = new ConcurrentHashMap<>();

        Provider(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Instance provision(InstanceSpec spec) {
            return instances.computeIfAbsent(spec.instanceId(), id -> new Instance(id, name, "ref-" + id, id, spec.client(),
                spec.image(), InstanceState.RUNNING, Instant.now(), spec.labels()));
        }

        @Override
        public void start(String instanceId) {
        }

        @Override
        public void stop(String instanceId) {
        }

        @Override
        public void destroy(String instanceId) {
            instances.remove(instanceId);
        }

        @Override
        public List<Instance> list() {
            return new ArrayList<>(instances.values());
        }

        @Override
        public Optional<Instance> inspect(String instanceId) {
            return Optional.ofNullable(instances.get(instanceId));
        }

        @Override
        public NetnsHandle networkNamespace(String instanceId) {
            if (!instances.containsKey(instanceId)) {
                throw new ProviderException("instance " + instanceId + " is not running", false);
            }
            return new NetnsHandle(0, Path.of("/run/netns/" + instanceId));
        }

        @Override
        public ExportResult export(ExportRequest request) {
            throw new ProviderException("not supported", false);
        }
    }

    /** Network that hands out fd00:99::N addresses. */
    static final class Network implements NetworkAttacher {
        private final String name;
        private final Map<String, Attachment> attachments = new ConcurrentHashMap<>();
        private final AtomicInteger next = new AtomicInteger(2);

        Network(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public Attachment attach(AttachRequest request) {
            return attachments.computeIfAbsent(request.instanceId(), id -> new Attachment(id, name, "veth" + (id.hashCode() & 0xffff),
                "eth1", null, address(next.getAndIncrement()), 64, Identifiers.ipv6("fd00:99::1"), request.peer()));
        }

        /**
         * @return fd00:99::/64 with {@code n} in the low 32 bits; "fd00:99::" + hex(n) stopped being
         *         an address at n = 65 536, and every later attach failed
         */
        private static Inet6Address address(int n) {
            byte[] a = {(byte) 0xfd, 0, 0, (byte) 0x99, 0, 0, 0, 0, 0, 0, 0, 0, (byte) (n >>> 24), (byte) (n >>> 16), (byte) (n >>> 8), (byte) n};
            try {
                return Inet6Address.getByAddress(null, a, -1);
            } catch (UnknownHostException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public void detach(String instanceId) {
            attachments.remove(instanceId);
        }

        @Override
        public List<Attachment> list() {
            return new ArrayList<>(attachments.values());
        }
    }

    /** DHCP source that keeps pins in a map. */
    static final class Source implements DhcpSource {
        private final String name;
        private final Map<Duid, Reservation> pins = new ConcurrentHashMap<>();

        Source(String name) {
            this.name = name;
        }

        @Override
        public String name() {
            return name;
        }

        @Override
        public List<Lease> leases() {
            return List.of();
        }

        @Override
        public void pin(Reservation reservation) {
            pins.put(reservation.duid(), reservation);
        }

        @Override
        public void unpin(Duid duid) {
            pins.remove(duid);
        }

        @Override
        public List<Reservation> reservations() {
            return new ArrayList<>(pins.values());
        }
    }
}
