package org.orchestrator.core.internal.engine;

import java.net.Inet6Address;
import java.time.Clock;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.manage.ActivityListener;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.EventRecord;
import org.orchestrator.api.manage.Health;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.manage.ReconcileReport;
import org.orchestrator.api.manage.Statistics;
import org.orchestrator.api.network.AddressPool;
import org.orchestrator.api.network.Ipv6Prefix;
import org.orchestrator.api.network.NetworkAttacher;
import org.orchestrator.api.provider.ExportRequest;
import org.orchestrator.api.provider.ExportResult;
import org.orchestrator.api.provider.InstanceChangeSink;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.api.provider.ResourceLimits;
import org.orchestrator.api.provider.VirtualizationProvider;
import org.orchestrator.core.internal.store.Store;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Core's OSGi face: registers the lease sink, the instance-change sink, the address pool and the
 * management service, and feeds every DHCP source, provider and network that comes and goes to
 * the {@link Engine}. Thin by design; the logic lives in the engine.
 */
@Component(service = {LeaseSink.class, InstanceChangeSink.class, AddressPool.class, Orchestrator.class},
    configurationPid = CoreComponent.PID, configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true)
@Designate(ocd = CoreComponent.Config.class)
public final class CoreComponent implements LeaseSink, InstanceChangeSink, AddressPool, Orchestrator {

    /** The configuration PID. */
    private static final Logger LOG = LoggerFactory.getLogger(CoreComponent.class);

    public static final String PID = "org.orchestrator.core";

    /** Core policy. */
    @ObjectClassDefinition(name = "Orchestrator core", description = "Where and how client instances run.")
    public @interface Config {
        @AttributeDefinition(description = "Routes '<source>[/<network>]=<provider>,<network>'; source '*' matches any; several in one value separated by ';'."
            + " Without routes, the only provider and network are used.", required = false)
        String[] routes() default {};

        @AttributeDefinition(description = "Image of every instance")
        String image() default Policy.DEFAULT_IMAGE;

        @AttributeDefinition(description = "Command (one argument per entry); empty for the image's default", required = false)
        String[] command() default {};

        @AttributeDefinition(description = "Environment NAME=value; core adds ORCHESTRATOR_CLIENT and ORCHESTRATOR_HOSTNAME",
            required = false)
        String[] environment() default {};

        @AttributeDefinition(description = "Memory limit per instance in MiB (0 = none)", min = "0")
        long memoryMb() default 128;

        @AttributeDefinition(description = "CPU limit per instance in cores (0 = none)", min = "0")
        double cpus() default 0.5;

        @AttributeDefinition(description = "Process limit per instance (0 = none)", min = "0")
        long pidsLimit() default 128;

        @AttributeDefinition(description = "Mount the instance's root file system read-only")
        boolean readOnlyRootFs() default false;

        @AttributeDefinition(description = "Instance lifetime in minutes; it self-destructs after (0 = off)", min = "0")
        long instanceTtlMinutes() default 0;

        @AttributeDefinition(description = "Seconds an instance is kept after its lease is released or expired", min = "0")
        long releaseGraceSeconds() default 300;

        @AttributeDefinition(description = "Maximum number of live instances (0 = no limit)", min = "0")
        int maxInstances() default 100;

        @AttributeDefinition(description = "Seconds between full reconciliation passes", min = "1")
        long reconcileIntervalSeconds() default 60;

        @AttributeDefinition(description = "Clients reconciled at once", min = "1", max = "256")
        int concurrency() default 8;

        @AttributeDefinition(description = "First retry delay in milliseconds (doubles per failure)", min = "1")
        long retryBaseMillis() default 2000;

        @AttributeDefinition(description = "Longest retry delay in seconds", min = "1")
        long retryMaxSeconds() default 300;

        @AttributeDefinition(description = "Failures after which a client stays FAILED until the next event or pass", min = "1")
        int maxAttempts() default 10;

        @AttributeDefinition(description = "Spare instances kept started per policy (provider, network, image, limits)"
            + " for providers that support pooling, at least; 0 disables the warm pool", min = "0", max = "256")
        int poolSize() default 0;

        @AttributeDefinition(description = "Spare instances kept at most: while devices arrive faster, the pool keeps as"
            + " many spares as devices asked for one in the last minute, between poolSize and this; 0 (or a value below"
            + " poolSize) keeps exactly poolSize", min = "0", max = "256")
        int poolMax() default 0;

        @AttributeDefinition(description = "Spare instances created at once while the warm pool refills", min = "1", max = "32")
        int poolRefillConcurrency() default 2;
    }

    private final PluginRegistry registry = new PluginRegistry();
    private final Engine engine;
    private final StoreAddressPool addressPool;

    @Activate
    public CoreComponent(@Reference Store store, Config config) {
        this.engine = new Engine(store, registry, policy(config), Clock.systemUTC());
        this.addressPool = new StoreAddressPool(store);
        engine.start();
    }

    static Policy policy(Config c) {
        return Policy.builder()
            .routes(Arrays.asList(c.routes()))
            .image(c.image())
            .command(Arrays.asList(c.command()))
            .environment(Policy.parseEnvironment(c.environment()))
            .limits(new ResourceLimits(Math.max(0, c.memoryMb()) * 1024 * 1024, Math.max(0, c.cpus()), Math.max(0, c.pidsLimit())))
            .readOnlyRootFs(c.readOnlyRootFs())
            .instanceTtl(Duration.ofMinutes(Math.max(0, c.instanceTtlMinutes())))
            .releaseGrace(Duration.ofSeconds(Math.max(0, c.releaseGraceSeconds())))
            .maxInstances(Math.max(0, c.maxInstances()))
            .reconcileInterval(Duration.ofSeconds(Math.max(1, c.reconcileIntervalSeconds())))
            .concurrency(Math.max(1, Math.min(256, c.concurrency())))
            .retryBase(Duration.ofMillis(Math.max(1, c.retryBaseMillis())))
            .retryMax(Duration.ofSeconds(Math.max(1, c.retryMaxSeconds())))
            .maxAttempts(Math.max(1, c.maxAttempts()))
            .poolSize(Math.max(0, Math.min(256, c.poolSize())))
            .poolMax(c.poolMax() <= 0 ? 0 : Math.min(256, Math.max(Math.max(0, Math.min(256, c.poolSize())), c.poolMax())))
            .poolRefillConcurrency(Math.max(1, Math.min(32, c.poolRefillConcurrency())))
            .build();
    }

    @Modified
    void modified(Config config) {
        engine.updatePolicy(policy(config));
    }

    @Deactivate
    void deactivate() {
        engine.close();
    }

    private static PluginRegistry.Origin origin(ServiceReference<?> ref) {
        Bundle b = ref.getBundle();
        if (b == null) {
            return new PluginRegistry.Origin(-1, "unknown", () -> "UNINSTALLED");
        }
        return new PluginRegistry.Origin(b.getBundleId(), b.getSymbolicName() == null ? "unknown" : b.getSymbolicName(),
            () -> bundleState(b.getState()));
    }

    static String bundleState(int state) {
        return switch (state) {
            case Bundle.ACTIVE -> "ACTIVE";
            case Bundle.STARTING -> "STARTING";
            case Bundle.STOPPING -> "STOPPING";
            case Bundle.RESOLVED -> "RESOLVED";
            case Bundle.INSTALLED -> "INSTALLED";
            case Bundle.UNINSTALLED -> "UNINSTALLED";
            default -> "UNKNOWN";
        };
    }

    // Plug-ins are bound by ServiceReference and obtained on first use, never during core's own
    // activation: a plug-in needs core's services (LeaseSink, AddressPool) to activate, so getting
    // it while core activates is a cycle that Declarative Services cannot resolve.

    @Reference(service = DhcpSource.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindDhcpSource(ServiceReference<DhcpSource> ref) {
        bindLazily(ComponentKind.DHCP_SOURCE, ref, "dhcp.source.name");
    }

    void unbindDhcpSource(ServiceReference<DhcpSource> ref) {
        unbindLazily(ComponentKind.DHCP_SOURCE, ref);
    }

    @Reference(service = VirtualizationProvider.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindProvider(ServiceReference<VirtualizationProvider> ref) {
        bindLazily(ComponentKind.PROVIDER, ref, "provider.name");
    }

    void unbindProvider(ServiceReference<VirtualizationProvider> ref) {
        unbindLazily(ComponentKind.PROVIDER, ref);
    }

    @Reference(service = NetworkAttacher.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindNetwork(ServiceReference<NetworkAttacher> ref) {
        bindLazily(ComponentKind.NETWORK, ref, "network.name");
    }

    void unbindNetwork(ServiceReference<NetworkAttacher> ref) {
        unbindLazily(ComponentKind.NETWORK, ref);
    }

    // Activity listeners (metrics front ends) are bound the same lazy way: the web console's
    // listener references core's Orchestrator, so getting it while core activates could be a cycle.

    @Reference(service = ActivityListener.class, cardinality = ReferenceCardinality.MULTIPLE,
        policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    void bindActivityListener(ServiceReference<ActivityListener> ref) {
        BundleContext context = ownContext();
        if (context == null) {
            LOG.warn("core has no bundle context; ignoring activity listener {}", ref);
            return;
        }
        engine.addListener(ref, lazy(context, ref));
    }

    void unbindActivityListener(ServiceReference<ActivityListener> ref) {
        engine.removeListener(ref);
        unget(ref);
    }

    private static BundleContext ownContext() {
        Bundle own = FrameworkUtil.getBundle(CoreComponent.class);
        return own == null ? null : own.getBundleContext();
    }

    /** @return a supplier that gets the service on first use and then keeps it */
    private static <T> Supplier<T> lazy(BundleContext context, ServiceReference<T> ref) {
        return new Supplier<>() {
            private T service;

            @Override
            public synchronized T get() {
                if (service == null) {
                    service = context.getService(ref);
                }
                return service;
            }
        };
    }

    private static void unget(ServiceReference<?> ref) {
        BundleContext context = ownContext();
        if (context != null) {
            try {
                context.ungetService(ref);
            } catch (IllegalStateException e) {
                // core's bundle is stopping: nothing to release
            }
        }
    }

    private void bindLazily(ComponentKind kind, ServiceReference<?> ref, String nameProperty) {
        Object published = ref.getProperty(nameProperty);
        BundleContext context = ownContext();
        if (context == null) {
            LOG.warn("core has no bundle context; ignoring {} service {}", kind, ref);
            return;
        }
        Supplier<?> lazy = lazy(context, ref);
        String name;
        if (published instanceof String s && !s.isBlank()) {
            name = s;
        } else {
            // the plug-in does not publish its name: ask it (this activates it now)
            Object service = lazy.get();
            if (service == null) {
                LOG.warn("{} service {} could not be obtained; ignoring it", kind, ref);
                return;
            }
            name = switch (kind) {
                case DHCP_SOURCE -> ((DhcpSource) service).name();
                case PROVIDER -> ((VirtualizationProvider) service).name();
                case NETWORK -> ((NetworkAttacher) service).name();
            };
        }
        registry.add(kind, ref, name, lazy::get, origin(ref));
    }

    private void unbindLazily(ComponentKind kind, ServiceReference<?> ref) {
        registry.remove(kind, ref);
        unget(ref);
    }

    // ---- delegation

    @Override
    public void accept(LeaseEvent event) {
        engine.accept(event);
    }

    @Override
    public List<Lease> activeLeases(String source) {
        return engine.activeLeases(source);
    }

    @Override
    public void instanceChanged(String provider, String instanceId, InstanceState state, String reason) {
        engine.instanceChanged(provider, instanceId, state, reason);
    }

    @Override
    public void providerAvailable(String provider) {
        engine.providerAvailable(provider);
    }

    @Override
    public Inet6Address allocate(String network, String owner, Ipv6Prefix prefix, Set<Inet6Address> excluded) {
        return addressPool.allocate(network, owner, prefix, excluded);
    }

    @Override
    public void release(String network, String owner) {
        addressPool.release(network, owner);
    }

    @Override
    public Map<String, Inet6Address> allocations(String network) {
        return addressPool.allocations(network);
    }

    @Override
    public List<ClientView> clients() {
        return engine.clients();
    }

    @Override
    public Optional<ClientView> client(Duid duid) {
        return engine.client(duid);
    }

    @Override
    public Optional<ClientView> clientByAddress(Inet6Address address) {
        return engine.clientByAddress(address);
    }

    @Override
    public Optional<ClientView> awaitClient(Duid duid, Set<ClientState> states, Duration wait) {
        return engine.awaitClient(duid, states, wait);
    }

    @Override
    public List<InstanceView> instances() {
        return engine.instances();
    }

    @Override
    public Optional<InstanceView> instance(String instanceId) {
        return engine.instance(instanceId);
    }

    @Override
    public List<Lease> leases() {
        return engine.leases();
    }

    @Override
    public List<ComponentView> components() {
        return engine.components();
    }

    @Override
    public ClientView provision(Duid duid, Duration wait) {
        return engine.provision(duid, wait);
    }

    @Override
    public ClientView deprovision(Duid duid, Duration wait) {
        return engine.deprovision(duid, wait);
    }

    @Override
    public ExportResult export(ExportRequest request) {
        return engine.export(request);
    }

    @Override
    public ReconcileReport reconcile() {
        return engine.reconcile();
    }

    @Override
    public List<EventRecord> events(long afterSeq, int limit) {
        return engine.events(afterSeq, limit);
    }

    @Override
    public List<EventRecord> recentEvents(int limit) {
        return engine.recentEvents(limit);
    }

    @Override
    public Health health() {
        return engine.health();
    }

    @Override
    public Statistics statistics() {
        return engine.statistics();
    }

    @Override
    public java.util.List<org.orchestrator.api.manage.PoolView> pool() {
        return engine.pool();
    }
}
