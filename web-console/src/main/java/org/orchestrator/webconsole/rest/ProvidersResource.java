package org.orchestrator.webconsole.rest;

import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.MediaType;

import org.orchestrator.api.manage.ComponentKind;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.ApiError;
import org.orchestrator.webconsole.Views;

/**
 * The plug-in components core knows: DHCP sources, virtualization providers and networks, with
 * their bundle and availability. {@code ?kind=PROVIDER} (or DHCP_SOURCE, NETWORK) narrows the list.
 */
@Path("providers")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class ProvidersResource {

    private final Supplier<Orchestrator> orchestrator;

    public ProvidersResource(Supplier<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public List<Map<String, Object>> list(@QueryParam("kind") String kind) {
        ComponentKind wanted = kind == null || kind.isEmpty() ? null : kind(kind);
        return Views.list(orchestrator.get().components().stream()
            .filter(c -> wanted == null || c.kind() == wanted).toList(), Views::component);
    }

    private static ComponentKind kind(String text) {
        try {
            return ComponentKind.valueOf(text.toUpperCase(Locale.ROOT).replace('-', '_'));
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("query parameter 'kind' must be DHCP_SOURCE, PROVIDER or NETWORK");
        }
    }
}
