package org.orchestrator.webconsole.rest;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;

import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Views;

/**
 * The warm pools of spare instances, one per policy (provider, network, image, limits): configured
 * size, spares ready and starting, claims since core started. Empty when pooling is off.
 */
@Path("pool")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class PoolResource {

    private final Supplier<Orchestrator> orchestrator;

    public PoolResource(Supplier<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public List<Map<String, Object>> list() {
        return Views.list(orchestrator.get().pool(), Views::pool);
    }
}
