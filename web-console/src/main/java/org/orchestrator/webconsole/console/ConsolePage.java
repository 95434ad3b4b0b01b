package org.orchestrator.webconsole.console;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.Supplier;

import javax.servlet.http.HttpServletRequest;
import javax.servlet.http.HttpServletResponse;

import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.ComponentView;
import org.orchestrator.api.manage.Health;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.api.provider.InstanceState;
import org.orchestrator.webconsole.ApiError;
import org.orchestrator.webconsole.BoundedInputStream;
import org.orchestrator.webconsole.Failures;
import org.orchestrator.webconsole.Html;
import org.orchestrator.webconsole.Json;
import org.orchestrator.webconsole.Operations;
import org.orchestrator.webconsole.Views;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * The "Orchestrator" page of the Felix Web Console, below {@code /system/console/orchestrator}:
 * <ul>
 * <li>{@code GET} (no extension): the page's HTML fragment; the web console wraps it in its frame;</li>
 * <li>{@code GET orchestrator.js|orchestrator.css}: the page's script and style;</li>
 * <li>{@code GET data.json}: everything the page shows, polled by the script;</li>
 * <li>{@code POST action}: deprovision, provision, export, reconcile.</li>
 * </ul>
 * All of it sits behind the web console's own authentication (in Karaf: JAAS realm karaf, role
 * admin). POSTs must carry JSON and the header {@value #CSRF_HEADER}, which a cross-site form
 * cannot send.
 */
public final class ConsolePage {

    /** The plugin's label: its path segment below /system/console. */
    public static final String LABEL = "orchestrator";
    /** Header that the page's script sends with every POST. */
    public static final String CSRF_HEADER = "X-Requested-By";
    /** Largest action body accepted. */
    static final int MAX_BODY = 64 * 1024;
    /** Events shown on the page. */
    static final int EVENTS = 50;

    private static final Logger LOG = LoggerFactory.getLogger(ConsolePage.class);
    private static final String RESOURCES = "/org/orchestrator/webconsole/console/";
    /** Felix sets this request attribute to the plugin's URL root. */
    private static final String ATTR_PLUGIN_ROOT = "felix.webconsole.pluginRoot";
    /** Felix sets this request attribute to the authenticated user's name. */
    private static final String ATTR_USER = "org.apache.felix.webconsole.user";

    private final Supplier<Orchestrator> orchestrator;
    private final Operations operations;
    private final Clock clock;
    private final String fragment;

    public ConsolePage(Supplier<Orchestrator> orchestrator, Operations operations, Clock clock) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
        this.operations = Objects.requireNonNull(operations, "operations");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.fragment = new String(resource("console.html"), StandardCharsets.UTF_8);
    }

    public void doGet(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setHeader("X-Content-Type-Options", "nosniff");
        switch (subPath(request)) {
            case "", "/", "/index.html" -> page(request, response);
            case "/orchestrator.js" -> file(response, "orchestrator.js", "application/javascript; charset=utf-8");
            case "/orchestrator.css" -> file(response, "orchestrator.css", "text/css; charset=utf-8");
            case "/data.json" -> data(response);
            default -> json(response, 404, Json.error(404, "no such page"));
        }
    }

    public void doPost(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setHeader("X-Content-Type-Options", "nosniff");
        if (!"/action".equals(subPath(request))) {
            json(response, 404, Json.error(404, "no such action endpoint"));
            return;
        }
        try {
            json(response, 200, action(request));
        } catch (RuntimeException e) {
            Failures.Failure failure = Failures.of(e);
            json(response, failure.status(), Json.error(failure.status(), failure.message()));
        }
    }

    private Map<String, Object> action(HttpServletRequest request) throws IOException {
        if (!"orchestrator-console".equals(request.getHeader(CSRF_HEADER))) {
            throw new ApiError(403, "missing header " + CSRF_HEADER + ": orchestrator-console");
        }
        String type = request.getContentType();
        if (type == null || !type.toLowerCase(java.util.Locale.ROOT).startsWith("application/json")) {
            throw new ApiError(415, "actions must be sent as application/json");
        }
        if (request.getContentLengthLong() > MAX_BODY) {
            throw new ApiError(413, "request body is larger than " + MAX_BODY + " bytes");
        }
        ObjectNode body;
        try (InputStream in = new BoundedInputStream(request.getInputStream(), MAX_BODY)) {
            body = Json.readObject(in);
        }
        String caller = caller(request);
        String action = Json.requiredText(body, "action");
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ok", true);
        switch (action) {
            case "deprovision" -> {
                Json.onlyFields(body, "action", "instanceId");
                String id = Json.requiredText(body, "instanceId");
                ClientView client = operations.deprovisionInstance(id, caller);
                out.put("message", "Instance " + id + ": client " + client.duid() + " is " + client.state());
                out.put("client", Views.client(client));
            }
            case "provision" -> {
                Json.onlyFields(body, "action", "duid");
                ClientView client = operations.provision(Operations.duid(Json.requiredText(body, "duid")), caller);
                out.put("message", "Client " + client.duid() + " is " + client.state()
                    + (client.reason() == null ? "" : " (" + client.reason() + ")"));
                out.put("client", Views.client(client));
            }
            case "export" -> {
                Json.onlyFields(body, "action", "instanceId", "image", "archive");
                String id = Json.requiredText(body, "instanceId");
                String archive = Json.optionalText(body, "archive");
                Map<String, Object> result = Views.export(operations.export(id, Json.requiredText(body, "image"),
                    archive == null || archive.isBlank() ? null : archive.trim(), caller));
                out.put("message", "Instance " + id + " exported as " + result.get("imageTag")
                    + (result.get("archive") == null ? "" : " and saved to " + result.get("archive")));
                out.put("export", result);
            }
            case "reconcile" -> {
                Json.onlyFields(body, "action");
                Map<String, Object> report = Views.reconcile(operations.reconcile(caller));
                out.put("message", "Reconciled: " + report.get("clientsChecked") + " clients checked, " + report.get("repaired")
                    + " repaired, " + report.get("orphansRemoved") + " orphans removed");
                out.put("report", report);
            }
            default -> throw ApiError.badRequest("unknown action " + org.orchestrator.api.lease.Identifiers.quote(action)
                + "; expected deprovision, provision, export or reconcile");
        }
        return out;
    }

    private void page(HttpServletRequest request, HttpServletResponse response) throws IOException {
        response.setContentType("text/html; charset=utf-8");
        response.getWriter().write(fragment.replace("${root}", Html.escape(pluginRoot(request))));
    }

    private void data(HttpServletResponse response) throws IOException {
        response.setHeader("Cache-Control", "no-store");
        Orchestrator core;
        try {
            core = orchestrator.get();
        } catch (RuntimeException e) {
            Failures.Failure failure = Failures.of(e);
            json(response, failure.status(), Json.error(failure.status(), failure.message()));
            return;
        }
        Instant now = clock.instant();
        Map<String, Object> out = new LinkedHashMap<>();
        Map<String, Object> errors = new LinkedHashMap<>();
        out.put("generatedAt", now.toString());
        // each part on its own, so that one failing query still leaves the rest of the page useful
        Health health = part(errors, "health", core::health);
        out.put("health", health == null ? null : Views.health(health));
        List<ClientView> clients = part(errors, "clients", core::clients);
        List<InstanceView> instances = part(errors, "instances", core::instances);
        List<Lease> leases = part(errors, "leases", core::leases);
        List<ComponentView> components = part(errors, "components", core::components);
        out.put("clients", clients == null ? List.of() : Views.list(clients, Views::client));
        out.put("instances", instances == null ? List.of() : Views.list(instances, i -> Views.instance(i, now)));
        out.put("leases", leases == null ? List.of() : Views.list(leases, Views::lease));
        out.put("components", components == null ? List.of() : Views.list(components, Views::component));
        out.put("pools", Views.list(orEmpty(part(errors, "pool", core::pool)), Views::pool));
        out.put("events", Views.list(orEmpty(part(errors, "events", () -> core.recentEvents(EVENTS))), Views::event));
        Map<String, Object> counts = new LinkedHashMap<>();
        counts.put("clients", clients == null ? null : clients.size());
        counts.put("instances", instances == null ? null : instances.size());
        counts.put("leases", leases == null ? null : leases.size());
        counts.put("clientsByState", clients == null ? Map.of() : Views.countByState(clients));
        counts.put("instancesByState", instances == null ? Map.of() : instancesByState(instances));
        out.put("counts", counts);
        out.put("errors", errors);
        json(response, 200, out);
    }

    private static <T> List<T> orEmpty(List<T> list) {
        return list == null ? List.of() : list;
    }

    private static Map<String, Long> instancesByState(List<InstanceView> instances) {
        Map<InstanceState, Long> counts = new EnumMap<>(InstanceState.class);
        for (InstanceState s : InstanceState.values()) {
            counts.put(s, 0L);
        }
        instances.forEach(i -> {
            if (i.state() != null) {
                counts.merge(i.state(), 1L, Long::sum);
            }
        });
        Map<String, Long> out = new LinkedHashMap<>();
        counts.forEach((k, v) -> out.put(k.name(), v));
        return out;
    }

    private static <T> T part(Map<String, Object> errors, String name, Supplier<T> query) {
        try {
            return query.get();
        } catch (RuntimeException e) {
            errors.put(name, Failures.of(e).message());
            return null;
        }
    }

    private void file(HttpServletResponse response, String name, String type) throws IOException {
        response.setContentType(type);
        response.setHeader("Cache-Control", "no-cache");
        response.getOutputStream().write(resource(name));
    }

    private static void json(HttpServletResponse response, int status, Object body) throws IOException {
        response.setStatus(status);
        response.setContentType("application/json; charset=utf-8");
        response.getOutputStream().write(Json.write(body).getBytes(StandardCharsets.UTF_8));
    }

    /** @return the path below the plugin's label, e.g. {@code /data.json}, or {@code ""} for the page */
    static String subPath(HttpServletRequest request) {
        String info = request.getPathInfo();
        if (info == null) {
            return "";
        }
        String prefix = "/" + LABEL;
        if (info.equals(prefix)) {
            return "";
        }
        return info.startsWith(prefix + "/") ? info.substring(prefix.length()) : info;
    }

    private static String pluginRoot(HttpServletRequest request) {
        Object root = request.getAttribute(ATTR_PLUGIN_ROOT);
        if (root instanceof String text && !text.isEmpty()) {
            return text;
        }
        return request.getContextPath() + request.getServletPath() + "/" + LABEL;
    }

    private static String caller(HttpServletRequest request) {
        Object user = request.getAttribute(ATTR_USER);
        if (user == null) {
            user = request.getRemoteUser();
        }
        return user == null ? "web console user" : "web console user " + user;
    }

    private static byte[] resource(String name) {
        try (InputStream in = ConsolePage.class.getResourceAsStream(RESOURCES + name)) {
            if (in == null) {
                throw new IllegalStateException("the bundle lacks " + RESOURCES + name);
            }
            return in.readAllBytes();
        } catch (IOException e) {
            LOG.error("Cannot read {}", name, e);
            throw new IllegalStateException("cannot read " + name, e);
        }
    }
}
