package org.orchestrator.webconsole.rest;

import java.io.IOException;
import java.io.InputStream;

import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

/** The API's OpenAPI 3 description, a resource file kept next to this class. No credentials. */
@Path("openapi.json")
@Access(Access.Level.OPEN)
public final class OpenApiResource {

    /** The resource file's name, relative to this class. */
    public static final String FILE = "openapi.json";

    private final byte[] document;

    public OpenApiResource() {
        try (InputStream in = OpenApiResource.class.getResourceAsStream(FILE)) {
            if (in == null) {
                throw new IllegalStateException("the bundle lacks " + FILE);
            }
            document = in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + FILE, e);
        }
    }

    @GET
    public Response get() {
        return Response.ok(document.clone(), MediaType.APPLICATION_JSON_TYPE).build();
    }
}
