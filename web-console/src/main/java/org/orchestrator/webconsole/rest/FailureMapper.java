package org.orchestrator.webconsole.rest;

import javax.ws.rs.WebApplicationException;
import javax.ws.rs.core.Response;
import javax.ws.rs.ext.ExceptionMapper;

import org.orchestrator.webconsole.Failures;

/**
 * Turns every exception into the API's JSON error body. Jersey's own exceptions (unknown route
 * 404, 405 with its Allow header, 406, 415) keep their status and headers.
 */
public final class FailureMapper implements ExceptionMapper<Throwable> {

    @Override
    public Response toResponse(Throwable exception) {
        if (exception instanceof WebApplicationException wae) {
            Response original = wae.getResponse();
            int status = original == null ? 500 : original.getStatus();
            String message = switch (status) {
                case 404 -> "no such resource";
                case 405 -> "method not allowed";
                case 406 -> "cannot produce an acceptable media type";
                case 415 -> "unsupported media type";
                default -> status >= 500 ? "internal error" : "bad request";
            };
            if (status >= 500) {
                Failures.of(exception); // logs it
            }
            Response.ResponseBuilder builder = Response.fromResponse(Responses.error(status, message));
            if (original != null) {
                original.getHeaders().forEach((name, values) -> {
                    if (!"Content-Type".equalsIgnoreCase(name) && !"Content-Length".equalsIgnoreCase(name)) {
                        values.forEach(v -> builder.header(name, v));
                    }
                });
            }
            return builder.build();
        }
        Failures.Failure failure = Failures.of(exception);
        return Responses.error(failure.status(), failure.message());
    }
}
