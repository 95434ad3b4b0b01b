package org.orchestrator.webconsole.rest;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.QueryParam;
import javax.ws.rs.core.MediaType;

import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Views;

/**
 * The audit log, ascending by sequence number. With {@code since} the entries after that sequence
 * number (for polling: pass the last seq seen); without it the newest {@code limit} entries.
 */
@Path("events")
@Produces(MediaType.APPLICATION_JSON)
@Access(Access.Level.READ)
public final class EventsResource {

    /** Entries returned when no limit is given. */
    static final int DEFAULT_LIMIT = 100;
    /** Largest limit the orchestrator accepts. */
    static final int MAX_LIMIT = 10_000;

    private final Supplier<Orchestrator> orchestrator;

    public EventsResource(Supplier<Orchestrator> orchestrator) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
    }

    @GET
    public List<Map<String, Object>> list(@QueryParam("since") String since, @QueryParam("limit") String limit) {
        int max = (int) Rest.longParam("limit", limit, DEFAULT_LIMIT, 1, MAX_LIMIT);
        if (since == null || since.isEmpty()) {
            return Views.list(orchestrator.get().recentEvents(max), Views::event);
        }
        long after = Rest.longParam("since", since, 0, 0, Long.MAX_VALUE);
        return Views.list(orchestrator.get().events(after, max), Views::event);
    }
}
