package org.orchestrator.webconsole.rest;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.CacheControl;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

import org.orchestrator.api.manage.Health;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Json;
import org.orchestrator.webconsole.ServiceSlot;
import org.orchestrator.webconsole.Views;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the store, a DHCP source, a provider and a network are up: 200 when all are, 503
 * otherwise (also when core itself is missing), for load balancers and probes. No credentials.
 */
@Path("health")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.OPEN)
public final class HealthResource {

    private static final Logger LOG = LoggerFactory.getLogger(HealthResource.class);

    private final ServiceSlot<Orchestrator> orchestrator;

    public HealthResource(ServiceSlot<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public Response health() {
        CacheControl noCache = new CacheControl();
        noCache.setNoStore(true);
        Optional<Orchestrator> core = orchestrator.current();
        if (core.isEmpty()) {
            Map<String, Object> body = Json.error(503, "the orchestrator core is not available");
            body.put("up", false);
            return Response.fromResponse(Responses.json(503, body)).cacheControl(noCache).build();
        }
        Health health;
        try {
            health = core.get().health();
        } catch (RuntimeException e) {
            LOG.warn("Health check failed: {}", e.toString());
            Map<String, Object> body = Json.error(503, "the health check failed");
            body.put("up", false);
            return Response.fromResponse(Responses.json(503, body)).cacheControl(noCache).build();
        }
        return Response.fromResponse(Responses.json(health.up() ? 200 : 503, Views.health(health))).cacheControl(noCache).build();
    }
}
