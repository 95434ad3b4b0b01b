package org.orchestrator.webconsole.rest;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.ApiError;
import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.Views;

/** Clients: devices known by their DUID. */
@Path("clients")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class ClientsResource {

    private final Supplier<Orchestrator> orchestrator;

    public ClientsResource(Supplier<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public List<Map<String, Object>> list() {
        return Views.list(orchestrator.get().clients(), Views::client);
    }

    @GET
    @Path("{duid}")
    public Map<String, Object> get(@PathParam("duid") String duid) {
        Duid id = Operations.duid(duid);
        return orchestrator.get().client(id).map(Views::client)
            .orElseThrow(() -> ApiError.notFound("no client " + id));
    }
}
