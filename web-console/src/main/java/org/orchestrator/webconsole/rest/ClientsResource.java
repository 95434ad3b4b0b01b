package org.orchestrator.webconsole.rest;

import java.net.Inet6Address;
import java.time.Duration;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.function.Supplier;

import javax.ws.rs.DefaultValue;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.MediaType;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.webconsole.ApiError;
import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.Views;

/**
 * Clients: devices known by their DUID. {@code GET clients/{duid}?state=READY&state=FAILED&wait=30}
 * answers once the client is in one of the states, or after {@code wait} seconds with what it is
 * then: a script (or a portal page) waiting for a device's instance asks once instead of polling.
 * The waiting is core's {@link Orchestrator#awaitClient}, which wakes when the client changes. One
 * client's answer also carries its instance's address ({@code instanceAddress}), so that the
 * script learns where its instance is without a second request.
 */
@Path("clients")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class ClientsResource {

    /** Requests waiting at once; each holds a request thread. More get 429. */
    static final int MAX_WAITING = 64;

    private final Supplier<Orchestrator> orchestrator;
    private final Duration maxWait;
    private final Semaphore waiting = new Semaphore(MAX_WAITING);

    /** @param maxWait the longest {@code wait} a request may ask for */
    public ClientsResource(Supplier<Orchestrator> orchestrator, Duration maxWait) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
        this.maxWait = Objects.requireNonNull(maxWait, "maxWait");
    }

    @GET
    public List<Map<String, Object>> list() {
        return Views.list(orchestrator.get().clients(), Views::client);
    }

    @GET
    @Path("{duid}")
    public Map<String, Object> get(@PathParam("duid") String duid, @QueryParam("state") List<String> states,
                                   @QueryParam("wait") @DefaultValue("0") String wait) {
        Duid id = Operations.duid(duid);
        Set<ClientState> wanted = states(states);
        long waitMillis = waitMillis(wait);
        Orchestrator o = orchestrator.get();
        Optional<ClientView> client = o.client(id);
        if (!wanted.isEmpty() && waitMillis > 0 && !in(client, wanted)) {
            client = await(o, id, wanted, waitMillis);
        }
        ClientView c = client.orElseThrow(() -> ApiError.notFound("no client " + id));
        return Views.client(c, instanceAddress(o, c));
    }

    private Optional<ClientView> await(Orchestrator o, Duid id, Set<ClientState> wanted, long waitMillis) {
        if (!waiting.tryAcquire()) {
            throw new ApiError(429, "already " + MAX_WAITING + " requests waiting for clients; ask again later or without wait");
        }
        try {
            return o.awaitClient(id, wanted, Duration.ofMillis(waitMillis));
        } finally {
            waiting.release();
        }
    }

    /**
     * The address of the client's instance while it has a live one that is attached; {@code null}
     * without an instance, before its attachment, while the client is being released (the
     * attachment may already be gone) and when the instance is dead or removed.
     */
    private static Inet6Address instanceAddress(Orchestrator o, ClientView c) {
        if (c.instanceId() == null || c.state() == ClientState.RELEASING || c.state() == ClientState.GONE) {
            return null;
        }
        return o.instance(c.instanceId())
            .filter(i -> c.duid().equals(i.client()) && i.state() != InstanceState.DEAD && i.state() != InstanceState.REMOVED)
            .map(InstanceView::address)
            .orElse(null);
    }

    private static boolean in(Optional<ClientView> client, Set<ClientState> wanted) {
        return client.isPresent() && wanted.contains(client.get().state());
    }

    private static Set<ClientState> states(List<String> names) {
        Set<ClientState> out = EnumSet.noneOf(ClientState.class);
        for (String name : names == null ? List.<String>of() : names) {
            try {
                out.add(ClientState.valueOf(name.strip().toUpperCase(Locale.ROOT)));
            } catch (IllegalArgumentException e) {
                throw ApiError.badRequest("unknown client state " + Identifiers.quote(name) + "; one of "
                    + EnumSet.allOf(ClientState.class));
            }
        }
        return out;
    }

    private long waitMillis(String text) {
        long seconds;
        try {
            seconds = Long.parseLong(text.strip());
        } catch (NumberFormatException e) {
            throw ApiError.badRequest("wait must be a whole number of seconds");
        }
        if (seconds < 0 || seconds > maxWait.toSeconds()) {
            throw ApiError.badRequest("wait must be between 0 and " + maxWait.toSeconds() + " seconds");
        }
        return seconds * 1000;
    }
}
