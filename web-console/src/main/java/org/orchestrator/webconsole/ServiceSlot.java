package org.orchestrator.webconsole;

import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;

import org.orchestrator.api.manage.OrchestratorException;

/**
 * Holds the current instance of a dynamic, optional OSGi service. DS binds a greedy replacement
 * before it unbinds the old one, so {@link #unbind} only clears the slot when it still holds the
 * instance being unbound. Thread-safe.
 *
 * @param <T> the service type
 */
public final class ServiceSlot<T> implements Supplier<T> {

    private final AtomicReference<T> current = new AtomicReference<>();
    private final String description;

    /** @param description names the service in the 503 message when it is missing */
    public ServiceSlot(String description) {
        this.description = Objects.requireNonNull(description, "description");
    }

    /** @return a slot that already holds {@code service} (for tests and fixed wiring) */
    public static <T> ServiceSlot<T> of(String description, T service) {
        ServiceSlot<T> slot = new ServiceSlot<>(description);
        slot.bind(service);
        return slot;
    }

    public void bind(T service) {
        current.set(Objects.requireNonNull(service, "service"));
    }

    public void unbind(T service) {
        current.compareAndSet(service, null);
    }

    /** @return the service, or empty while none is bound */
    public Optional<T> current() {
        return Optional.ofNullable(current.get());
    }

    /**
     * @return the service
     * @throws OrchestratorException UNAVAILABLE while none is bound
     */
    @Override
    public T get() {
        T service = current.get();
        if (service == null) {
            throw new OrchestratorException(OrchestratorException.Reason.UNAVAILABLE, description + " is not available");
        }
        return service;
    }
}
