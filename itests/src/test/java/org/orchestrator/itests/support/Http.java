package org.orchestrator.itests.support;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * Plain HTTP calls to the running distribution (java.net.http), with optional Basic credentials
 * and extra headers, bounded in time. Responses are kept as text; {@link #json} parses them.
 */
public final class Http {

    public static final ObjectMapper JSON = new ObjectMapper();

    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5))
        .followRedirects(HttpClient.Redirect.NEVER).build();
    private final String base;

    /** @param base the URL every relative path is resolved against (ends with '/') */
    public Http(String base) {
        this.base = base;
    }

    /** One request being built. */
    public final class Call {
        private final HttpRequest.Builder builder;
        private String method = "GET";
        private HttpRequest.BodyPublisher body = HttpRequest.BodyPublishers.noBody();

        private Call(String path) {
            builder = HttpRequest.newBuilder(URI.create(base).resolve(path)).timeout(Duration.ofSeconds(60));
        }

        public Call basic(String user, String password) {
            String pair = user + ":" + password;
            builder.header("Authorization", "Basic " + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
            return this;
        }

        public Call header(String name, String value) {
            builder.header(name, value);
            return this;
        }

        public Call method(String m) {
            method = m;
            return this;
        }

        /** A JSON (or any text) body sent with Content-Type application/json and the given method. */
        public Call json(String m, String text) {
            method = m;
            builder.header("Content-Type", "application/json");
            body = HttpRequest.BodyPublishers.ofString(text);
            return this;
        }

        public HttpResponse<String> send() throws IOException, InterruptedException {
            return client.send(builder.method(method, body).build(), HttpResponse.BodyHandlers.ofString());
        }
    }

    public Call call(String path) {
        return new Call(path);
    }

    public static JsonNode json(HttpResponse<String> response) throws IOException {
        return JSON.readTree(response.body());
    }
}
