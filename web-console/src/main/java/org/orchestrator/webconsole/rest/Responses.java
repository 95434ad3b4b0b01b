package org.orchestrator.webconsole.rest;

import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

import org.orchestrator.webconsole.Json;

/** Builders of the API's JSON responses. */
final class Responses {

    private Responses() {
    }

    /** @return a JSON response with {@code entity} */
    static Response json(int status, Object entity) {
        return Response.status(status).type(MediaType.APPLICATION_JSON_TYPE).entity(entity).build();
    }

    /** @return {@code {"error": message, "status": status}} with that status */
    static Response error(int status, String message) {
        return json(status, Json.error(status, message));
    }
}
