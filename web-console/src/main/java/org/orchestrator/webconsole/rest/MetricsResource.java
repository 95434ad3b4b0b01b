package org.orchestrator.webconsole.rest;

import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.core.Response;

import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.PrometheusText;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Prometheus metrics (text format 0.0.4). Scrapers authenticate with Basic like any reader. */
@Path("metrics")
@Access(Access.Level.READ)
public final class MetricsResource {

    private static final Logger LOG = LoggerFactory.getLogger(MetricsResource.class);

    private final Supplier<Orchestrator> orchestrator;

    public MetricsResource(Supplier<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public Response metrics() {
        Orchestrator core = orchestrator.get();
        // the per-state gauge and health are extras: a failing store must not cost the counters
        List<InstanceView> instances = null;
        Boolean up = null;
        try {
            instances = core.instances();
        } catch (RuntimeException e) {
            LOG.debug("Metrics without instances: {}", e.toString());
        }
        try {
            up = core.health().up();
        } catch (RuntimeException e) {
            up = false;
        }
        String text = PrometheusText.render(core.statistics(), instances, up);
        return Response.ok(text, PrometheusText.CONTENT_TYPE).build();
    }
}
