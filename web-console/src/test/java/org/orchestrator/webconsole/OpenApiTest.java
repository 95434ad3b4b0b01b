package org.orchestrator.webconsole;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.glassfish.jersey.server.model.Resource;
import org.glassfish.jersey.server.model.ResourceMethod;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.orchestrator.webconsole.rest.ApiApplication;

import com.fasterxml.jackson.databind.JsonNode;

/** openapi.json is valid JSON, OpenAPI 3, and describes every route that Jersey actually serves. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class OpenApiTest {

    private TestServer server;
    private JsonNode document;

    @BeforeAll
    void start() throws Exception {
        server = TestServer.start();
        HttpResponse<String> r = server.send(server.api("openapi.json").GET().build());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        document = TestServer.json(r);
    }

    @AfterAll
    void stop() throws Exception {
        server.close();
    }

    @Test
    void isOpenApi3WithOurServer() {
        assertThat(document.get("openapi").asText()).startsWith("3.");
        assertThat(document.get("info").get("title").asText()).isNotBlank();
        assertThat(document.get("servers").get(0).get("url").asText()).isEqualTo("/orchestrator/api/v1");
    }

    @Test
    void everyRouteAndMethodIsDescribed() {
        List<String> routes = routes();
        assertThat(routes).hasSizeGreaterThanOrEqualTo(16);
        for (String route : routes) {
            String[] parts = route.split(" ", 2);
            JsonNode path = document.get("paths").get(parts[1]);
            assertThat(path).as("path %s in openapi.json", parts[1]).isNotNull();
            assertThat(path.get(parts[0])).as("%s in openapi.json", route).isNotNull();
            assertThat(path.get(parts[0]).get("responses")).as("responses of %s", route).isNotNull();
        }
    }

    @Test
    void describesNothingThatDoesNotExist() {
        List<String> routes = routes();
        document.get("paths").fields().forEachRemaining(path -> path.getValue().fieldNames().forEachRemaining(method ->
            assertThat(routes).as("openapi.json describes a route that does not exist").contains(method + " " + path.getKey())));
    }

    @Test
    void everySchemaReferenceResolves() {
        List<String> refs = new ArrayList<>();
        collectRefs(document, refs);
        assertThat(refs).isNotEmpty();
        for (String ref : refs) {
            assertThat(ref).startsWith("#/components/schemas/");
            assertThat(document.get("components").get("schemas").get(ref.substring("#/components/schemas/".length())))
                .as(ref).isNotNull();
        }
    }

    /** @return "method /path" for every resource method of every resource class, as Jersey models them */
    private static List<String> routes() {
        List<String> out = new ArrayList<>();
        for (Class<?> type : ApiApplication.RESOURCES) {
            Resource resource = Resource.from(type);
            String base = "/" + trim(resource.getPath());
            for (ResourceMethod m : resource.getResourceMethods()) {
                out.add(m.getHttpMethod().toLowerCase(Locale.ROOT) + " " + base);
            }
            for (Resource child : resource.getChildResources()) {
                for (ResourceMethod m : child.getResourceMethods()) {
                    out.add(m.getHttpMethod().toLowerCase(Locale.ROOT) + " " + base + "/" + trim(child.getPath()));
                }
            }
        }
        return out;
    }

    private static String trim(String path) {
        String p = path.startsWith("/") ? path.substring(1) : path;
        return p.endsWith("/") ? p.substring(0, p.length() - 1) : p;
    }

    private static void collectRefs(JsonNode node, List<String> refs) {
        if (node.isObject()) {
            node.fields().forEachRemaining(f -> {
                if (f.getKey().equals("$ref")) {
                    refs.add(f.getValue().asText());
                } else {
                    collectRefs(f.getValue(), refs);
                }
            });
        } else if (node.isArray()) {
            node.forEach(n -> collectRefs(n, refs));
        }
    }
}
