package org.orchestrator.webconsole.rest;

import java.net.Inet6Address;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;

import javax.servlet.http.HttpServletRequest;
import javax.ws.rs.GET;
import javax.ws.rs.Path;
import javax.ws.rs.core.Context;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

import org.orchestrator.api.manage.ClientView;
import org.orchestrator.api.manage.InstanceView;
import org.orchestrator.api.manage.Orchestrator;
import org.orchestrator.webconsole.Addresses;
import org.orchestrator.webconsole.Html;
import org.orchestrator.webconsole.Views;

/**
 * The caller's own client and instance, found by the caller's source IPv6 address: a device asks
 * "what is mine?". HTML when the request's Accept names text/html explicitly (a browser), JSON
 * otherwise; 404 when the address belongs to no client. No credentials: the answer only ever
 * concerns the asking address.
 */
@Path("me")
@Access(Access.Level.OPEN)
public final class MeResource {

    private final Supplier<Orchestrator> orchestrator;
    private final Clock clock;

    public MeResource(Supplier<Orchestrator> orchestrator, Clock clock) {
        this.orchestrator = Objects.requireNonNull(orchestrator, "orchestrator");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @GET
    public Response me(@Context HttpServletRequest request, @Context HttpHeaders headers) {
        boolean html = wantsHtml(headers);
        Optional<Inet6Address> address = Addresses.remote(request.getRemoteAddr());
        Optional<ClientView> client = address.flatMap(a -> orchestrator.get().clientByAddress(a));
        if (client.isEmpty()) {
            String message = address.isEmpty()
                ? "this service identifies devices by their IPv6 address; you came over IPv4"
                : "no client holds the address " + Addresses.format(address.get());
            if (html) {
                return Response.status(404).type(MediaType.TEXT_HTML_TYPE.withCharset("utf-8"))
                    .entity(page("Unknown device", "<p class=\"error\">" + Html.escape(message) + "</p>")).build();
            }
            return Responses.error(404, message);
        }
        ClientView c = client.get();
        Optional<InstanceView> instance = c.instanceId() == null ? Optional.empty() : orchestrator.get().instance(c.instanceId());
        if (html) {
            return Response.ok(page("Your instance", body(c, instance.orElse(null))), MediaType.TEXT_HTML_TYPE.withCharset("utf-8")).build();
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("client", Views.client(c));
        out.put("instance", instance.map(i -> Views.instance(i, clock.instant())).orElse(null));
        return Responses.json(200, out);
    }

    private static boolean wantsHtml(HttpHeaders headers) {
        for (MediaType type : headers.getAcceptableMediaTypes()) {
            if (!type.isWildcardType() && "text".equals(type.getType()) && "html".equals(type.getSubtype())) {
                return true;
            }
        }
        return false;
    }

    private String body(ClientView c, InstanceView i) {
        StringBuilder sb = new StringBuilder();
        sb.append("<dl id=\"me-client\">");
        row(sb, "Device", c.hostname() == null ? c.duid() : c.hostname());
        row(sb, "DUID", c.duid());
        row(sb, "Address", Addresses.format(c.address()));
        row(sb, "State", c.state());
        if (c.reason() != null) {
            row(sb, "Reason", c.reason());
        }
        row(sb, "Lease ends", c.leaseExpiresAt() == null ? "never" : c.leaseExpiresAt());
        sb.append("</dl>");
        if (i == null) {
            sb.append("<p id=\"me-no-instance\">No instance runs for this device yet.</p>");
        } else {
            sb.append("<dl id=\"me-instance\">");
            row(sb, "Instance", i.id());
            row(sb, "Image", i.image());
            row(sb, "State", i.state());
            row(sb, "Created", i.createdAt());
            row(sb, "Expires", i.expiresAt() == null ? "no TTL" : i.expiresAt());
            sb.append("</dl>");
            if (i.address() != null) {
                String text = Addresses.format(i.address());
                sb.append("<p><a id=\"me-instance-link\" href=\"http://[").append(Html.escape(text)).append("]/\">Open http://[")
                    .append(Html.escape(text)).append("]/</a></p>");
            }
        }
        return sb.toString();
    }

    private static void row(StringBuilder sb, String term, Object value) {
        sb.append("<dt>").append(Html.escape(term)).append("</dt><dd>").append(Html.escape(value)).append("</dd>");
    }

    private static String page(String title, String body) {
        return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + Html.escape(title)
            + "</title><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><style>"
            + "body{font-family:sans-serif;max-width:40em;margin:2em auto;padding:0 1em}"
            + "dt{font-weight:bold}dd{margin:0 0 .5em 0;font-family:monospace}.error{color:#a00}"
            + "</style></head><body><h1>" + Html.escape(title) + "</h1>" + body + "</body></html>\n";
    }
}
