package org.orchestrator.core.internal.engine;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import org.orchestrator.api.lease.DhcpSource;
import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.network.NetworkAttacher;
import org.orchestrator.api.provider.VirtualizationProvider;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plug-in services core currently has, by kind and name, with the bundle that registered each.
 * A component that went away stays listed as unavailable. Thread-safe: bound and unbound from DS
 * threads, read from reconciler threads.
 */
public final class PluginRegistry {

    private static final Logger LOG = LoggerFactory.getLogger(PluginRegistry.class);

    /** Where a service came from. */
    public record Origin(long bundleId, String bundleSymbolicName, Supplier<String> bundleState) {
        public Origin {
            Objects.requireNonNull(bundleSymbolicName, "bundleSymbolicName");
            Objects.requireNonNull(bundleState, "bundleState");
        }
    }

    /** A bound service; {@code key} identifies it for removal, {@code service} resolves it on first use. */
    private record Entry(ComponentKind kind, String name, Object key, Supplier<Object> service, Origin origin) {
        Object resolve() {
            try {
                return service.get();
            } catch (RuntimeException e) {
                LOG.warn("{} {} is registered but could not be obtained: {}", kind, name, e.toString());
                return null;
            }
        }
    }

    private final List<Entry> entries = new ArrayList<>(); // guarded by this; bound services in bind order
    private final Map<String, Entry> seen = new LinkedHashMap<>(); // guarded by this; kind:name -> last entry
    private volatile Runnable listener = () -> { };

    /** Sets what to run after every change (core schedules a full reconciliation pass). */
    public void onChange(Runnable changeListener) {
        listener = Objects.requireNonNull(changeListener, "changeListener");
    }

    /** Adds a service object that is already at hand. */
    public void add(ComponentKind kind, Object service, Origin origin) {
        add(kind, service, nameOf(kind, service), () -> service, origin);
    }

    /**
     * Adds a service that is obtained only when first used. Core binds plug-ins this way so that its
     * own activation never activates a plug-in that in turn needs core's services (a cycle that
     * Declarative Services cannot resolve).
     *
     * @param key     identifies the service for {@link #remove}
     * @param name    the service's name, as published in its service properties
     * @param service obtains the service object; may return {@code null} when it cannot be had
     */
    public void add(ComponentKind kind, Object key, String name, Supplier<Object> service, Origin origin) {
        Objects.requireNonNull(name, "name");
        synchronized (this) {
            for (Entry e : entries) {
                if (e.kind == kind && e.name.equals(name) && e.key != key) {
                    LOG.warn("two {} services are named {}; using the one bound first", kind, name);
                }
            }
            Entry e = new Entry(kind, name, key, service, origin);
            entries.add(e);
            seen.put(kind + ":" + name, e);
        }
        LOG.info("{} {} bound (bundle {} {})", kind, name, origin.bundleId(), origin.bundleSymbolicName());
        listener.run();
    }

    /** Removes the service added with {@code key} (the service object, or the key given to {@link #add}). */
    public void remove(ComponentKind kind, Object key) {
        String name = null;
        synchronized (this) {
            for (int i = 0; i < entries.size(); i++) {
                if (entries.get(i).key == key) {
                    name = entries.remove(i).name;
                    break;
                }
            }
        }
        if (name != null) {
            LOG.info("{} {} unbound", kind, name);
            listener.run();
        }
    }

    private static String nameOf(ComponentKind kind, Object service) {
        String name;
        try {
            name = switch (kind) {
                case DHCP_SOURCE -> ((DhcpSource) service).name();
                case PROVIDER -> ((VirtualizationProvider) service).name();
                case NETWORK -> ((NetworkAttacher) service).name();
            };
        } catch (RuntimeException e) {
            throw new IllegalArgumentException(kind + " service failed to report its name: " + e.getMessage(), e);
        }
        return Objects.requireNonNull(name, "name");
    }

    private synchronized <T> T find(ComponentKind kind, String name, Class<T> type) {
        if (name == null) {
            return null;
        }
        for (Entry e : entries) {
            if (e.kind == kind && e.name.equals(name)) {
                Object service = e.resolve();
                if (service != null) {
                    return type.cast(service);
                }
            }
        }
        return null;
    }

    private synchronized <T> Map<String, T> all(ComponentKind kind, Class<T> type) {
        Map<String, T> out = new LinkedHashMap<>();
        for (Entry e : entries) {
            if (e.kind == kind && !out.containsKey(e.name)) {
                Object service = e.resolve();
                if (service != null) {
                    out.put(e.name, type.cast(service));
                }
            }
        }
        return out;
    }

    public VirtualizationProvider provider(String name) {
        return find(ComponentKind.PROVIDER, name, VirtualizationProvider.class);
    }

    public NetworkAttacher network(String name) {
        return find(ComponentKind.NETWORK, name, NetworkAttacher.class);
    }

    public DhcpSource source(String name) {
        return find(ComponentKind.DHCP_SOURCE, name, DhcpSource.class);
    }

    /** @return name to service, one per name */
    public Map<String, VirtualizationProvider> providers() {
        return all(ComponentKind.PROVIDER, VirtualizationProvider.class);
    }

    public Map<String, NetworkAttacher> networks() {
        return all(ComponentKind.NETWORK, NetworkAttacher.class);
    }

    public Map<String, DhcpSource> sources() {
        return all(ComponentKind.DHCP_SOURCE, DhcpSource.class);
    }

    /** @return every component seen since start, available or not, by kind and name */
    public synchronized List<ComponentView> views() {
        List<ComponentView> out = new ArrayList<>();
        for (Entry e : seen.values()) {
            boolean available = find(e.kind, e.name, Object.class) != null;
            Entry current = e;
            for (Entry b : entries) {
                if (b.kind == e.kind && b.name.equals(e.name)) {
                    current = b;
                    break;
                }
            }
            String state;
            try {
                state = current.origin.bundleState().get();
            } catch (RuntimeException ex) {
                state = "UNKNOWN";
            }
            out.add(new ComponentView(e.kind, e.name, current.origin.bundleId(), current.origin.bundleSymbolicName(),
                state, available, null));
        }
        out.sort(Comparator.comparing(ComponentView::kind).thenComparing(ComponentView::name));
        return out;
    }
}
