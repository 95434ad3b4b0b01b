package org.orchestrator.webconsole.rest;

import java.lang.reflect.Method;
import java.util.Objects;

import javax.ws.rs.Priorities;
import javax.ws.rs.container.DynamicFeature;
import javax.ws.rs.container.ResourceInfo;
import javax.ws.rs.core.FeatureContext;

import org.orchestrator.webconsole.auth.Authenticator;

/**
 * Gives every resource method an {@link AuthFilter} for its {@link Access} level, decided once
 * at start-up: the method's annotation, else its class's, else WRITE (fail closed).
 */
public final class AccessFeature implements DynamicFeature {

    private final ApiSettings settings;
    private final Authenticator authenticator;

    public AccessFeature(ApiSettings settings, Authenticator authenticator) {
        this.settings = Objects.requireNonNull(settings, "settings");
        this.authenticator = Objects.requireNonNull(authenticator, "authenticator");
    }

    @Override
    public void configure(ResourceInfo resourceInfo, FeatureContext context) {
        context.register(new AuthFilter(level(resourceInfo), settings, authenticator), Priorities.AUTHENTICATION);
    }

    static Access.Level level(ResourceInfo resourceInfo) {
        Method method = resourceInfo.getResourceMethod();
        Access access = method == null ? null : method.getAnnotation(Access.class);
        if (access == null && resourceInfo.getResourceClass() != null) {
            access = resourceInfo.getResourceClass().getAnnotation(Access.class);
        }
        return access == null ? Access.Level.WRITE : access.value();
    }
}
