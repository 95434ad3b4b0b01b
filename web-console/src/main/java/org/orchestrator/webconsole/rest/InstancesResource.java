package org.orchestrator.webconsole.rest;

import java.io.InputStream;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.Consumes;
import javax.ws.rs.DELETE;
import javax.ws.rs.GET;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.PathParam;
import javax.ws.rs.Produces;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.SecurityContext;
import javax.ws.rs.core.UriInfo;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.manage.ClientState;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Json;
import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.Views;

import com.fasterxml.jackson.databind.node.ObjectNode;

/** Instances: list, provision for a DUID, deprovision, export. */
@Path("instances")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class InstancesResource {

    private final Supplier<Orchestrator> orchestrator;
    private final Operations operations;
    private final Clock clock;

    public InstancesResource(Supplier<Orchestrator> orchestrator, Operations operations, Clock clock) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
        this.operations = Objects.requireNonNull(operations, "operations");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @GET
    public List<Map<String, Object>> list() {
        java.time.Instant now = clock.instant();
        return Views.list(orchestrator.get().instances(), i -> Views.instance(i, now));
    }

    @GET
    @Path("{id}")
    public Map<String, Object> get(@PathParam("id") String id) {
        return Views.instance(operations.instance(id), clock.instant());
    }

    /**
     * Provisions an instance for a DUID: 201 with Location when the client is READY, 202 while it
     * is still on its way, 502 when provisioning FAILED.
     */
    @POST
    @Consumes(MediaType.WILDCARD)
    @Access(Access.Level.WRITE)
    public Response provision(InputStream body, @Context SecurityContext security, @Context UriInfo uri) {
        ObjectNode json = Json.readObject(body);
        Json.onlyFields(json, "duid");
        Duid duid = Operations.duid(Json.requiredText(json, "duid"));
        ClientView client = operations.provision(duid, Rest.caller(security));
        Map<String, Object> out = clientAndInstance(client);
        if (client.state() == ClientState.FAILED) {
            return failed(client, out, "provisioning failed");
        }
        if (client.state() == ClientState.READY && client.instanceId() != null) {
            return Response.created(uri.getBaseUriBuilder().path("instances").path(client.instanceId()).build())
                .type(MediaType.APPLICATION_JSON_TYPE).entity(out).build();
        }
        return Responses.json(202, out);
    }

    /** Releases the instance now: 200 when its client is GONE, 202 while in progress, 502 when FAILED. */
    @DELETE
    @Path("{id}")
    @Access(Access.Level.WRITE)
    public Response deprovision(@PathParam("id") String id, @Context SecurityContext security) {
        ClientView client = operations.deprovisionInstance(id, Rest.caller(security));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("client", Views.client(client));
        if (client.state() == ClientState.FAILED) {
            return failed(client, out, "deprovisioning failed");
        }
        return Responses.json(client.state() == ClientState.GONE ? 200 : 202, out);
    }

    @POST
    @Path("{id}/export")
    @Consumes(MediaType.WILDCARD)
    @Access(Access.Level.WRITE)
    public Map<String, Object> export(@PathParam("id") String id, InputStream body, @Context SecurityContext security) {
        Operations.instanceId(id);
        ObjectNode json = Json.readObject(body);
        Json.onlyFields(json, "image", "archive");
        return Views.export(operations.export(id, Json.requiredText(json, "image"), Json.optionalText(json, "archive"),
            Rest.caller(security)));
    }

    private Map<String, Object> clientAndInstance(ClientView client) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("client", Views.client(client));
        out.put("instance", client.instanceId() == null ? null
            : orchestrator.get().instance(client.instanceId()).map(i -> Views.instance(i, clock.instant())).orElse(null));
        return out;
    }

    private static Response failed(ClientView client, Map<String, Object> body, String what) {
        Map<String, Object> out = new LinkedHashMap<>(Json.error(502, what + ": " + (client.reason() == null ? "unknown reason" : client.reason())));
        out.putAll(body);
        return Responses.json(502, out);
    }
}
