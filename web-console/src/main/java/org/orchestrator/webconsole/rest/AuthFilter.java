package org.orchestrator.webconsole.rest;

import java.security.Principal;
import java.util.Arrays;
import java.util.Objects;
import java.util.Optional;

import javax.ws.rs.container.ContainerRequestContext;
import javax.ws.rs.container.ContainerRequestFilter;
import javax.ws.rs.core.HttpHeaders;
import javax.ws.rs.core.Response;
import javax.ws.rs.core.SecurityContext;

import org.orchestrator.webconsole.auth.Authenticator;
import org.orchestrator.webconsole.auth.Caller;
import org.orchestrator.webconsole.auth.Credentials;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Enforces one {@link Access} level on the resource methods {@link AccessFeature} gives it: Basic credentials checked by the
 * {@link Authenticator} for READ and WRITE (401 with {@code WWW-Authenticate} when missing or
 * wrong, 403 for a user without the role), the shared token for TOKEN (401 when missing, 403 when
 * wrong or when the endpoint is disabled). Neither password nor token is ever logged. Registered
 * with priority {@code Priorities.AUTHENTICATION}.
 */
public final class AuthFilter implements ContainerRequestFilter {

    /** The header a DHCP hook may use instead of {@code Authorization: Bearer}. */
    public static final String TOKEN_HEADER = "X-Orchestrator-Token";

    private static final Logger LOG = LoggerFactory.getLogger(AuthFilter.class);

    private final Access.Level level;
    private final ApiSettings settings;
    private final Authenticator authenticator;

    public AuthFilter(Access.Level level, ApiSettings settings, Authenticator authenticator) {
        this.level = Objects.requireNonNull(level, "level");
        this.settings = Objects.requireNonNull(settings, "settings");
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
    }

    @Override
    public void filter(ContainerRequestContext request) {
        switch (level) {
            case OPEN -> {
                // nothing to check
            }
            case TOKEN -> checkToken(request);
            case READ -> checkUser(request, false);
            case WRITE -> checkUser(request, true);
        }
    }

    private void checkToken(ContainerRequestContext request) {
        if (settings.leaseEventToken().isEmpty()) {
            request.abortWith(Responses.error(403, "the lease-events endpoint is disabled (no leaseEventToken configured)"));
            return;
        }
        String token = request.getHeaderString(TOKEN_HEADER);
        if (token == null || token.isBlank()) {
            token = Credentials.bearer(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        }
        if (token == null || token.isBlank()) {
            request.abortWith(Response.fromResponse(Responses.error(401, "a lease-event token is required"))
                .header(HttpHeaders.WWW_AUTHENTICATE, "Bearer realm=\"orchestrator\"").build());
            return;
        }
        if (!Credentials.tokenMatches(token.trim(), settings.leaseEventToken())) {
            LOG.warn("Lease event with a wrong token from {}", remote(request));
            request.abortWith(Responses.error(403, "wrong lease-event token"));
        }
    }

    private void checkUser(ContainerRequestContext request, boolean write) {
        Optional<Credentials.Basic> basic = Credentials.basic(request.getHeaderString(HttpHeaders.AUTHORIZATION));
        if (basic.isEmpty()) {
            request.abortWith(challenge("authentication required"));
            return;
        }
        Optional<Caller> caller;
        try {
            caller = authenticator.authenticate(basic.get().user(), basic.get().password());
        } catch (IllegalStateException e) {
            request.abortWith(Responses.error(503, "authentication is unavailable"));
            return;
        } finally {
            Arrays.fill(basic.get().password(), '\0');
        }
        if (caller.isEmpty()) {
            LOG.info("Failed REST login of user {} from {}", org.orchestrator.api.lease.Identifiers.quote(basic.get().user()), remote(request));
            request.abortWith(challenge("wrong user name or password"));
            return;
        }
        Caller who = caller.get();
        boolean allowed = write
            ? who.roles().contains(settings.writeRole())
            : who.roles().contains(settings.readRole()) || who.roles().contains(settings.writeRole());
        if (!allowed) {
            String role = write ? settings.writeRole() : settings.readRole();
            request.abortWith(Responses.error(403, "user " + who.name() + " lacks the role " + role));
            return;
        }
        boolean secure = request.getSecurityContext() != null && request.getSecurityContext().isSecure();
        request.setSecurityContext(new SecurityContext() {
            @Override
            public Principal getUserPrincipal() {
                return who::name;
            }

            @Override
            public boolean isUserInRole(String role) {
                return who.roles().contains(role);
            }

            @Override
            public boolean isSecure() {
                return secure;
            }

            @Override
            public String getAuthenticationScheme() {
                return SecurityContext.BASIC_AUTH;
            }
        });
    }

    private Response challenge(String message) {
        return Response.fromResponse(Responses.error(401, message))
            .header(HttpHeaders.WWW_AUTHENTICATE, "Basic realm=\"" + settings.realm() + "\", charset=\"UTF-8\"")
            .build();
    }

    private static String remote(ContainerRequestContext request) {
        Object remote = request.getProperty(RestContainer.REMOTE_ADDRESS);
        return remote == null ? "?" : remote.toString();
    }
}
