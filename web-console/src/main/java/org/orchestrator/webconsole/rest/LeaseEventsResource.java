package org.orchestrator.webconsole.rest;

import java.io.InputStream;
import java.net.Inet6Address;
import java.time.Clock;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.Objects;
import java.util.function.Supplier;

import javax.ws.rs.Consumes;
import javax.ws.rs.POST;
import javax.ws.rs.Path;
import javax.ws.rs.Produces;
import javax.ws.rs.core.MediaType;
import javax.ws.rs.core.Response;

import org.orchestrator.api.lease.Duid;
import org.orchestrator.api.lease.Identifiers;
import org.orchestrator.api.lease.Lease;
import org.orchestrator.api.lease.LeaseEvent;
import org.orchestrator.api.lease.LeaseEventType;
import org.orchestrator.api.lease.LeaseSink;
import org.orchestrator.api.lease.MacAddress;
import org.orchestrator.webconsole.ApiError;
import org.orchestrator.webconsole.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/**
 * What a DHCP server hook posts when a lease changes. Authenticated by the shared token only.
 * Answers 204 once the {@link LeaseSink} has stored the event (the hook may then acknowledge it),
 * 400 for an invalid event, 503 when the sink is missing or its store cannot be written (the hook
 * should retry). Unknown fields are ignored, so hooks can send more than this version reads.
 */
@Path("lease-events")
@Access(Access.Level.TOKEN)
public final class LeaseEventsResource {

    private static final Logger LOG = LoggerFactory.getLogger(LeaseEventsResource.class);

    private final Supplier<LeaseSink> sink;
    private final Clock clock;

    public LeaseEventsResource(Supplier<LeaseSink> sink, Clock clock) {
        this.sink = Objects.requireNonNull(sink, "sink");
        this.clock = Objects.requireNonNull(clock, "clock");
    }

    @POST
    @Consumes(MediaType.WILDCARD)
    @Produces(MediaType.APPLICATION_JSON)
    public Response post(InputStream body) {
        LeaseEvent event = parse(Json.readObject(body), clock.instant());
        sink.get().accept(event);
        LOG.debug("Lease event {} for {} accepted", event.type(), event.lease().duid());
        return Response.noContent().build();
    }

    /**
     * @throws ApiError 400 naming the first invalid field
     */
    static LeaseEvent parse(ObjectNode json, Instant now) {
        LeaseEventType type = type(Json.requiredText(json, "type"));
        Duid duid;
        long iaid;
        Inet6Address address;
        MacAddress mac;
        String hostname;
        try {
            duid = Duid.parse(Json.requiredText(json, "duid"));
            iaid = iaid(json.get("iaid"));
            address = Identifiers.ipv6(Json.requiredText(json, "address"));
            String macText = Json.optionalText(json, "mac");
            mac = macText == null || macText.isEmpty() ? null : MacAddress.parse(macText);
            String host = Json.optionalText(json, "hostname");
            hostname = host == null || host.isEmpty() ? null : Identifiers.hostname(host);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(e.getMessage());
        }
        Instant expiresAt = expiresAt(json.get("expiresAt"));
        String source = Json.requiredText(json, "source");
        String network = Json.optionalText(json, "network");
        try {
            Lease lease = new Lease(duid, iaid, address, mac, hostname, expiresAt, source,
                network == null || network.isEmpty() ? null : network);
            return new LeaseEvent(type, lease, now);
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest(e.getMessage());
        }
    }

    private static LeaseEventType type(String text) {
        try {
            return LeaseEventType.valueOf(text.toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ApiError.badRequest("field 'type' must be ADDED, RENEWED, RELEASED or EXPIRED");
        }
    }

    private static long iaid(JsonNode node) {
        if (node == null || node.isNull()) {
            throw ApiError.badRequest("field 'iaid' is required");
        }
        if (node.isTextual()) {
            return Identifiers.iaid(node.textValue());
        }
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            return Identifiers.checkIaid(node.longValue());
        }
        throw ApiError.badRequest("field 'iaid' must be a whole number from 0 to 4294967295");
    }

    /** ISO-8601 instant text or epoch seconds; absent or null for an infinite lease. */
    private static Instant expiresAt(JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (node.isIntegralNumber() && node.canConvertToLong()) {
            long seconds = node.longValue();
            if (seconds < 0 || seconds > 253_402_300_799L) {
                throw ApiError.badRequest("field 'expiresAt' is out of range");
            }
            return Instant.ofEpochSecond(seconds);
        }
        if (node.isTextual() && node.textValue().length() <= 64) {
            try {
                return Instant.parse(node.textValue());
            } catch (DateTimeParseException e) {
                // fall through to the uniform message
            }
        }
        throw ApiError.badRequest("field 'expiresAt' must be an ISO-8601 instant (2026-11-25T12:00:00Z) or epoch seconds");
    }
}
