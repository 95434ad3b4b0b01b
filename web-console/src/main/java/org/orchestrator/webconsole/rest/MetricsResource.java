package org.orchestrator.webconsole.rest;

import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.core.Response;

import org.orchestrator.webconsole.metrics.PrometheusScraper;

/**
 * Prometheus metrics (text format 0.0.4) from the bundle's Micrometer registry. Scrapers
 * authenticate with Basic like any reader. 503 while the metrics component is not active.
 */
@Path("metrics")
@Access(Access.Level.READ)
public final class MetricsResource {

    private final Supplier<PrometheusScraper> metrics;

    public MetricsResource(Supplier<PrometheusScraper> metrics) {
        this.metrics = Objects.requireNonNull(metrics, "metrics");
    }

    @GET
    public Response metrics() {
        return Response.ok(metrics.get().scrape(), PrometheusScraper.CONTENT_TYPE).build();
    }
}
