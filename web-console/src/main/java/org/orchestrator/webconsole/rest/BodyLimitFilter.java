package org.orchestrator.webconsole.rest;

import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;

import org.orchestrator.webconsole.BoundedInputStream;

/**
 * Bounds request bodies: a declared Content-Length over the limit is refused at once with 413,
 * and the entity stream is wrapped so that an undeclared (chunked) or understated body fails with
 * 413 as soon as it passes the limit. Registered after {@link AuthFilter}.
 */
public final class BodyLimitFilter implements ContainerRequestFilter {

    private final int maxBodyBytes;

    public BodyLimitFilter(int maxBodyBytes) {
        this.maxBodyBytes = maxBodyBytes;
    }

    @Override
    public void filter(ContainerRequestContext request) {
        String declared = request.getHeaderString("Content-Length");
        if (declared != null) {
            long length;
            try {
                length = Long.parseLong(declared.trim());
            } catch (NumberFormatException e) {
                request.abortWith(Responses.error(400, "Content-Length is not a number"));
                return;
            }
            if (length > maxBodyBytes) {
                request.abortWith(Responses.error(413, "request body is larger than " + maxBodyBytes + " bytes"));
                return;
            }
        }
        if (request.hasEntity()) {
            request.setEntityStream(new BoundedInputStream(request.getEntityStream(), maxBodyBytes));
        }
    }
}
