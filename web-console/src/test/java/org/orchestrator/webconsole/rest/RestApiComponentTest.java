package org.orchestrator.webconsole.rest;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.annotation.Annotation;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.servlet.ServletContextHandler;
import org.eclipse.jetty.servlet.ServletHolder;
import org.junit.jupiter.api.Test;
import org.orchestrator.webconsole.FakeLeaseSink;
import org.orchestrator.webconsole.FakeOrchestrator;
import org.orchestrator.webconsole.TestServer;

/**
 * The DS component as Pax Web would run it: built from its configuration, references bound and
 * unbound at run time, real JAAS authenticator (this JVM has no JAAS configuration, so Basic
 * requests must get 503, not 500 or 200).
 */
@SuppressWarnings("unchecked")
class RestApiComponentTest {

    private static RestApiComponent.Config config(String token) {
        return new RestApiComponent.Config() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return RestApiComponent.Config.class;
            }

            @Override
            public String leaseEventToken() {
                return token;
            }

            @Override
            public int maxBodyBytes() {
                return 2048;
            }

            @Override
            public String realm() {
                return "karaf";
            }

            @Override
            public String readRole() {
                return "viewer";
            }

            @Override
            public String writeRole() {
                return "admin";
            }

            @Override
            public int loginCacheSeconds() {
                return 10;
            }

            @Override
            public int operationWaitSeconds() {
                return 1;
            }
        };
    }

    @Test
    void registersTheServletWithWhiteboardPropertiesOnlyNeverTheToken() {
        java.util.List<java.util.Dictionary<String, ?>> registered = new java.util.ArrayList<>();
        java.util.List<Object> services = new java.util.ArrayList<>();
        boolean[] unregistered = {false};
        org.osgi.framework.ServiceRegistration<?> registration = (org.osgi.framework.ServiceRegistration<?>) java.lang.reflect.Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] {org.osgi.framework.ServiceRegistration.class}, (proxy, method, args) -> {
                if (method.getName().equals("unregister")) {
                    unregistered[0] = true;
                }
                return null;
            });
        org.osgi.framework.BundleContext context = (org.osgi.framework.BundleContext) java.lang.reflect.Proxy.newProxyInstance(
            getClass().getClassLoader(), new Class<?>[] {org.osgi.framework.BundleContext.class}, (proxy, method, args) -> {
                if (method.getName().equals("registerService")) {
                    assertThat(args[0]).isEqualTo(javax.servlet.Servlet.class);
                    services.add(args[1]);
                    registered.add((java.util.Dictionary<String, ?>) args[2]);
                    return registration;
                }
                throw new UnsupportedOperationException(method.getName());
            });
        RestApiComponent component = new RestApiComponent(context, config("very-secret"));
        assertThat(services).containsExactly(component.servlet());
        java.util.Dictionary<String, ?> properties = registered.get(0);
        assertThat(properties.get("osgi.http.whiteboard.servlet.pattern")).isEqualTo("/orchestrator/api/v1/*");
        assertThat(properties.get("osgi.http.whiteboard.context.select")).isEqualTo("(osgi.http.whiteboard.context.name=default)");
        assertThat(java.util.Collections.list(properties.keys())).allMatch(k -> k.startsWith("osgi.http.whiteboard."));
        assertThat(java.util.Collections.list(properties.elements())).noneMatch(v -> String.valueOf(v).contains("very-secret"));
        component.deactivate();
        assertThat(unregistered[0]).isTrue();
    }

    @Test
    void componentServesWithDynamicReferencesAndConfiguredLimits() throws Exception {
        RestApiComponent component = new RestApiComponent(config("tok"));
        Server server = new Server();
        ServerConnector connector = new ServerConnector(server);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        server.addConnector(connector);
        ServletContextHandler context = new ServletContextHandler(ServletContextHandler.NO_SESSIONS);
        context.addServlet(new ServletHolder(component.servlet()), RestApiComponent.PATTERN);
        server.setHandler(context);
        server.start();
        try {
            HttpClient client = HttpClient.newHttpClient();
            String base = "http://127.0.0.1:" + connector.getLocalPort() + "/orchestrator/api/v1/";
            HttpRequest health = HttpRequest.newBuilder(URI.create(base + "health")).timeout(Duration.ofSeconds(20)).build();

            assertThat(client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);
            FakeOrchestrator orchestrator = FakeOrchestrator.standard();
            component.bindOrchestrator(orchestrator);
            assertThat(client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(200);
            component.unbindOrchestrator(orchestrator);
            assertThat(client.send(health, HttpResponse.BodyHandlers.ofString()).statusCode()).isEqualTo(503);

            HttpResponse<String> basic = client.send(HttpRequest.newBuilder(URI.create(base + "clients"))
                .header("Authorization", TestServer.basic("karaf", "karaf")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(basic.statusCode()).isEqualTo(503);
            assertThat(basic.body()).contains("authentication is unavailable");

            FakeLeaseSink sink = new FakeLeaseSink();
            component.bindLeaseSink(sink);
            String event = "{\"type\":\"ADDED\",\"duid\":\"00:01:02:03\",\"iaid\":1,\"address\":\"fd00::9\",\"source\":\"lan\"}";
            HttpResponse<String> accepted = client.send(HttpRequest.newBuilder(URI.create(base + "lease-events"))
                .header("Authorization", "Bearer tok").POST(HttpRequest.BodyPublishers.ofString(event)).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(accepted.statusCode()).isEqualTo(204);
            assertThat(sink.accepted).hasSize(1);

            HttpResponse<String> big = client.send(HttpRequest.newBuilder(URI.create(base + "lease-events"))
                .header("Authorization", "Bearer tok").POST(HttpRequest.BodyPublishers.ofString("{\"pad\":\"" + "x".repeat(3000) + "\"}")).build(),
                HttpResponse.BodyHandlers.ofString());
            assertThat(big.statusCode()).isEqualTo(413);
        } finally {
            server.stop();
        }
    }
}
