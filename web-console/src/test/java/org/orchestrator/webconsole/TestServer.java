package org.orchestrator.webconsole;

import java.io.ByteArrayInputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.Base64;
import java.util.Map;

import javax.servlet.Servlet;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.orchestrator.webconsole.rest.RestContainer;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.rest.ApiApplication;
import org.orchestrator.webconsole.rest.RestApiComponent;
import org.orchestrator.webconsole.rest.ApiSettings;
import org.orchestrator.webconsole.metrics.MicrometerMetrics;
import org.orchestrator.webconsole.metrics.PrometheusScraper;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Jetty 9.4 (the servlet engine of Pax Web in Karaf 4.4) with the API's Jersey servlet at its
 * production path, on loopback only: 127.0.0.1 and, for the IPv6 tests, [::1].
 */
public final class TestServer implements AutoCloseable {

    public static final String TOKEN = "s3cret-token-for-tests";
    public static final Clock CLOCK = Clock.fixed(FakeOrchestrator.T0, ZoneOffset.UTC);

    public final FakeOrchestrator orchestrator;
    public final FakeLeaseSink sink = new FakeLeaseSink();
    public final ServiceSlot<Orchestrator> orchestratorSlot;
    public final ServiceSlot<LeaseSink> sinkSlot;
    /** The metrics component over {@link #orchestrator}, JVM meters included. */
    public final MicrometerMetrics metrics;
    public final ServiceSlot<PrometheusScraper> metricsSlot;
    private final Server server;
    private final ServerConnector v4;
    private final ServerConnector v6;
    private final HttpClient client = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    /** A server with the standard fake data and default settings (64 KiB body limit). */
    public static TestServer start() throws Exception {
        return start(ApiSettings.defaults(TOKEN), FakeOrchestrator.standard(), Map.of());
    }

    /**
     * @param extra more servlets, path spec to servlet
     */
    public static TestServer start(ApiSettings settings, FakeOrchestrator orchestrator, Map<String, Servlet> extra) throws Exception {
        return new TestServer(settings, orchestrator, extra);
    }

    private TestServer(ApiSettings settings, FakeOrchestrator orchestrator, Map<String, Servlet> extra) throws Exception {
        this.orchestrator = orchestrator;
        orchestratorSlot = ServiceSlot.of("the orchestrator core", orchestrator);
        sinkSlot = ServiceSlot.of("the lease sink", sink);
        metrics = new MicrometerMetrics(orchestratorSlot, true);
        metricsSlot = ServiceSlot.of("the metrics registry", metrics);
        server = new Server();
        v4 = new ServerConnector(server);
        v4.setHost("127.0.0.1");
        v4.setPort(0);
        server.addConnector(v4);
        v6 = new ServerConnector(server);
        v6.setHost("::1");
        v6.setPort(0);
        server.addConnector(v6);
        ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
        context.setContextPath("/");
        RestContainer api = new RestContainer(ApiApplication.create(settings, orchestratorSlot, sinkSlot,
            metricsSlot, new FakeAuthenticator(), CLOCK));
        context.addServlet(new ServletHolder(api), RestApiComponent.PATTERN);
        extra.forEach((path, servlet) -> context.addServlet(new ServletHolder(servlet), path));
        server.setHandler(context);
        server.start();
    }

    public URI uri(String path) {
        return URI.create("http://127.0.0.1:" + v4.getLocalPort() + path);
    }

    public URI uri6(String path) {
        return URI.create("http://[::1]:" + v6.getLocalPort() + path);
    }

    /** @return a request builder for an API path relative to /orchestrator/api/v1/ */
    public HttpRequest.Builder api(String path) {
        return HttpRequest.newBuilder(uri("/orchestrator/api/v1/" + path)).timeout(Duration.ofSeconds(20));
    }

    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    public HttpResponse<String> send(HttpRequest request) throws Exception {
        return client.send(request, HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> getAs(String user, String password, String path) throws Exception {
        return send(api(path).header("Authorization", basic(user, password)).GET().build());
    }

    public HttpResponse<String> get(String path) throws Exception {
        return getAs("viewer", "viewer-pw", path);
    }

    public HttpResponse<String> postJson(String user, String password, String path, String json) throws Exception {
        return send(api(path).header("Authorization", basic(user, password)).header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    /** Sends a body without Content-Length (chunked), as a client that streams would. */
    public HttpResponse<String> postChunked(HttpRequest.Builder builder, byte[] body) throws Exception {
        return send(builder.header("Content-Type", "application/json")
            .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(body))).build());
    }

    public static JsonNode json(HttpResponse<String> response) throws Exception {
        return Json.MAPPER.readTree(response.body());
    }

    @Override
    public void close() throws Exception {
        server.stop();
    }
}
