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

/** The active leases in the store. */
@Path("leases")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class LeasesResource {

    private final Supplier<Orchestrator> orchestrator;

    public LeasesResource(Supplier<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public List<Map<String, Object>> list() {
        return Views.list(orchestrator.get().leases(), Views::lease);
    }
}
